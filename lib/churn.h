/* SPDX-License-Identifier: GPL-2.0 */
/* churn: churn roles of writeback, walkers and reclaim hints. */
#ifndef FTR_CHURN_H
#define FTR_CHURN_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_fsync, ftr_churn_fdatasync, ftr_churn_msync, ftr_churn_msync_async, ftr_churn_sync_range, ftr_churn_seek, ftr_churn_mincore, ftr_churn_cachestat, ftr_churn_pageout, ftr_churn_cold, ftr_churn_compact;

#endif
