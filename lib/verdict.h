/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verdict: the KTAP verdicts of a run (data, churn, collapse), from the ledger and the
 * arena's shared area; the one place that judges.  A verdict passes only on evidence
 * that the work it judges happened.
 */
#ifndef FTR_VERDICT_H
#define FTR_VERDICT_H

#include "arena.h"
#include "ledger.h"
#include "role.h"

void ftr_verdicts(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l);

#endif
