/* SPDX-License-Identifier: GPL-2.0 */
/* aspace: roles that change the address spaces around the file: fork, mremap, exit, misaligned maps. */
#ifndef FTR_ASPACE_H
#define FTR_ASPACE_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_fork, ftr_churn_mremap, ftr_churn_exit,
	ftr_churn_misaligned;

#endif
