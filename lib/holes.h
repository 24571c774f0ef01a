/* SPDX-License-Identifier: GPL-2.0 */
/* holes: roles that punch, zero, truncate and shift ranges, then put the data back. */
#ifndef FTR_HOLES_H
#define FTR_HOLES_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_punch, ftr_churn_zero, ftr_churn_truncate;

#endif
