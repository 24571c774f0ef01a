/* SPDX-License-Identifier: GPL-2.0 */
/* fadvise: the churn role that drops a PMD's page cache behind the collapser. */
#ifndef FTR_FADVISE_H
#define FTR_FADVISE_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_fadvise;

#endif
