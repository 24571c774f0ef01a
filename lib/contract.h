/* SPDX-License-Identifier: GPL-2.0 */
/*
 * contract: what a collapse promises about the THP state, and the evidence that a run
 * collapsed at all.
 *
 * A PMD that MADV_COLLAPSE reported collapsed, and that nothing split since, is one
 * PMD-order folio, and mapped by the PMD unless a store through the mapping may have
 * split the mapping (regular files write-protect it for dirty tracking).  The
 * collapser checks that right after every call that returned 0, before anything else
 * can hide a broken promise; the controller again after each epoch for every PMD
 * still untouched.  khugepaged's collapses are known only from the trace: a
 * collapse_file success on our file after which no split of that PMD ended must be
 * one PMD-order folio when the epoch ends.
 *
 * The seal: a collapse of a regular file that returned 0 while a write into the PMD
 * was in flight may have copied data that was never marked dirty into a clean THP
 * (the dirty-check / try_to_unmap() window of the seed thread).  A later write would
 * dirty the THP and repair the loss before anyone saw it, so writers keep off a
 * sealed PMD until the epoch's check after eviction.
 *
 * The collapse verdict passes only on evidence: at least one collapse_file success
 * attributed to the test's own calls (where the trace can attribute) and the THP
 * contract checked on at least one PMD.  A call that found the range already
 * PMD-mapped did not collapse anything.
 */
#ifndef FTR_CONTRACT_H
#define FTR_CONTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ledger.h"

/* The collapser, after its call on pmd begun at t0 returned 0: split0 and store0 are
 * the PMD's split and store counters from before the call, raced_write whether a
 * write into the PMD overlapped it.  Whether the contract was checked (a split or a
 * store that overlapped leaves nothing to check). */
bool ftr_contract_after_call(struct ftr_arena *a, uint32_t pmd, uint64_t t0, uint64_t split0,
			     uint64_t store0, bool raced_write);
/* After each epoch, roles quiesced: every PMD still collapsed and untouched, and
 * khugepaged's collapses of the epoch (ftr_contract_khugepaged_event). */
void ftr_contract_epoch(struct ftr_arena *a, struct ftr_ledger *l);
/* A collapse_file success of khugepaged on pmd at t_ns (ftr_now_ns() clock). */
void ftr_contract_khugepaged_event(struct ftr_arena *a, struct ftr_ledger *l, uint32_t pmd, uint64_t t_ns);
/* Whether a write into [off, off+len) may start: not into a sealed PMD. */
bool ftr_contract_may_write(const struct ftr_arena *a, uint64_t off, uint64_t len);
/* Every PMD is sealed: the writers have nothing left to do this epoch. */
bool ftr_contract_all_sealed(const struct ftr_arena *a);
/* After the check after eviction passed: counts the sealed PMDs whose pages really
 * were evicted (resident: per page, from mincore) and unseals all. */
void ftr_contract_unseal(struct ftr_arena *a, struct ftr_ledger *l, const unsigned char *resident);

#endif
