/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verify: the checks after each epoch, with every role quiesced, into the ledger: the
 * THP contract (contract.h), every byte through read(), the mapping, a second mapping
 * and read() after eviction, and the errno of every MADV_COLLAPSE call against what
 * the kernel's trace says it did (outcome.h).
 */
#ifndef FTR_VERIFY_H
#define FTR_VERIFY_H

#include <stdbool.h>

#include "arena.h"
#include "ledger.h"
#include "role.h"

/* false when the epoch found wrong data. */
bool ftr_verify_epoch(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l);

#endif
