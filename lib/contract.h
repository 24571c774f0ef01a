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
 * dirty the THP and repair the loss before anyone saw it, so the seal is set as soon
 * as the call returns, and every rewrite (writers, the punch splitter, the hole and
 * truncate roles) checks it again inside its write bracket (extent.h) and keeps off a
 * sealed PMD until the epoch's check against the disk.  A rewrite already past that
 * point masks the seal: each run counts seals set, masked, checked on the disk, and
 * not checked (verdict.c).
 */
#ifndef FTR_CONTRACT_H
#define FTR_CONTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ledger.h"

/* A role, right after its MADV_COLLAPSE of pmd (begun at t0, returned at t1) returned
 * 0 while a write into the PMD was in flight: seals the PMD of a regular file.  other:
 * not the collapser, whose calls alone the trace attributes (counted apart). */
void ftr_contract_seal(struct ftr_arena *a, uint32_t pmd, uint64_t t0, uint64_t t1, bool other);
/* The collapser, after its call on pmd returned 0: split0 and store0 are the PMD's
 * split and store counters from before the call.  Whether the contract was checked
 * (a split or a store that overlapped leaves nothing to check). */
bool ftr_contract_after_call(struct ftr_arena *a, uint32_t pmd, uint64_t split0, uint64_t store0);
/* Whether PMD pmd is one PMD-order folio now: no contract, only evidence that a call
 * a split overlapped did make (or find) the THP it says it did.  fault: read the PMD in
 * first (IO where pages were reclaimed); else only what is mapped counts. */
bool ftr_contract_is_thp(struct ftr_arena *a, uint32_t pmd, bool fault);
/* After each epoch, roles quiesced: every PMD still collapsed and untouched, and
 * khugepaged's collapses of the epoch (ftr_contract_khugepaged_event). */
void ftr_contract_epoch(struct ftr_arena *a, struct ftr_ledger *l);
/* A collapse_file success of khugepaged on pmd at t_ns (ftr_now_ns() clock). */
void ftr_contract_khugepaged_event(struct ftr_arena *a, struct ftr_ledger *l, uint32_t pmd, uint64_t t_ns);
/* Whether a write into [off, off+len) may start: not into a sealed PMD. */
bool ftr_contract_may_write(const struct ftr_arena *a, uint64_t off, uint64_t len);
/* Every PMD is sealed: the writers have nothing left to do this epoch. */
bool ftr_contract_all_sealed(const struct ftr_arena *a);
/* After the epoch's checks against the disk: on_disk, every block was read from the
 * disk with O_DIRECT; else resident (per page, from mincore after the eviction; NULL:
 * unknown) says which pages the read after eviction did not get from the disk.
 * Counts every seal (masked, checked, unchecked) and lifts them all. */
void ftr_contract_unseal(struct ftr_arena *a, struct ftr_ledger *l, bool on_disk, const unsigned char *resident);

#endif
