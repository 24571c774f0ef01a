/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control: what roles tell the controller while they race.  A role never calls up:
 * it writes into the arena's shared area (or its own log), and the controller reads
 * that after quiescing, so forked roles report the same way as threads.
 */
#ifndef FTR_CONTROL_H
#define FTR_CONTROL_H

#include <stdint.h>

#include "oplog.h"
#include "oracle.h"
#include "role.h"
#include "waiver.h"

/* A churn op names the range it works on, so its overlaps count collapses of that
 * PMD only (by default: any collapse). */
void ftr_churn_range(struct ftr_role *r, uint64_t off, uint64_t len);
/* A churn role saw the kernel break a contract its scenario states; the first one is
 * reported as the churn subtest's failure. */
void ftr_contract_fail(struct ftr_role *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a contract the kernel is known to break, where the role has the evidence
 * of that issue (known.h): still a failure, unless a waiver covers it. */
void ftr_contract_known(struct ftr_role *r, enum ftr_known_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A role saw nbad blocks of wrong data (up to FTR_FATAL_BADS of them described in bad)
 * or a hard error (nbad 0): the first one is reported. */
void ftr_fatal(struct ftr_role *r, const struct ftr_bad *bad, uint32_t nbad, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
