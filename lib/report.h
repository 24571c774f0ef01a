/* SPDX-License-Identifier: GPL-2.0 */
/*
 * report: what a failure report says, and nothing of what it means (verdict.h judges):
 * where (file, offset), what was expected and found, decoded, which operations touched
 * it recently, the THP state there, and one command line that replays the run.  Also
 * the run's counters and the --record log.
 */
#ifndef FTR_REPORT_H
#define FTR_REPORT_H

#include <stdint.h>

#include "arena.h"
#include "ledger.h"
#include "role.h"

/* nbad bad blocks seen through how after the ledger's last epoch; the first detail
 * ones described in full. */
void ftr_report_bad(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
		    const char *how, const struct ftr_bad *bad, uint32_t nbad, uint32_t detail);
/* The operations of every role on [off, off+len) (op_mask: 1 << enum ftr_op) that
 * began no later than until (ns since the start; UINT64_MAX: any), at most max. */
void ftr_report_ops(const struct ftr_roles *rs, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
		    int max, const char *title);
void ftr_report_replay(const struct ftr_arena *a, const struct ftr_roles *rs);
void ftr_report_summary(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l);
/* --record FILE: every role's operation log, merged by time. */
void ftr_report_record(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l);

#endif
