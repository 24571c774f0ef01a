/* SPDX-License-Identifier: GPL-2.0 */
/* pins: roles that pin the mapping (O_DIRECT, io_uring fixed buffers, vmsplice) or migrate it. */
#ifndef FTR_PINS_H
#define FTR_PINS_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_pin_dio, ftr_churn_pin_uring, ftr_churn_pin_vmsplice,
	ftr_churn_migrate;

#endif
