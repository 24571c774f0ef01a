/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evidence: what the logs and the ledger say about a bad block, the queries the
 * known-issue matchers (known.c) share.  Read after the roles quiesced.
 */
#ifndef FTR_EVIDENCE_H
#define FTR_EVIDENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "oplog.h"
#include "role.h"

/* Every bad block is class cls and was last written by path. */
bool ftr_ev_all_bad(const struct ftr_ledger *l, enum ftr_class cls, unsigned path);
/* Some bad block is class cls and was last written by path. */
bool ftr_ev_any_bad(const struct ftr_ledger *l, enum ftr_class cls, unsigned path);
/*
 * The operations op of epoch on [off, off+len), every role's whole log (not the most
 * recent entries: the run went on after that epoch), into hits; how many, at most max.
 */
int ftr_ev_epoch_ops(const struct ftr_roles *rs, uint32_t epoch, uint64_t off, uint64_t len, enum ftr_op op,
		     struct ftr_op_hit *hits, int max);
/* What the ledger holds of block b in epoch: whether a quiesced check (not a racing
 * reader alone) saw it bad, and the disk's reading of it (NULL: the disk was right). */
bool ftr_ev_quiesced_bad(const struct ftr_ledger *l, uint32_t b, uint32_t epoch, const struct ftr_bad **disk);
/* Room for every logged operation of every role; NULL when out of memory. */
struct ftr_op_hit *ftr_ev_all_hits(const struct ftr_roles *rs, int *max);
/* The last O_DIRECT write of block b in epoch, from hits (room for max): its entry
 * and the thread that made it; false when none is logged. */
bool ftr_ev_last_direct(const struct ftr_roles *rs, uint32_t b, uint32_t epoch, struct ftr_op_hit *hits, int max,
			struct ftr_op_entry *w, int *tid);
/* Whether a quiesced check of the page cache (read(), the mappings) saw block b bad
 * in epoch; *on_disk: whether a check of the disk (the O_DIRECT reads, the read after
 * eviction) did too. */
bool ftr_ev_seen_cached(const struct ftr_ledger *l, uint32_t b, uint32_t epoch, bool *on_disk);
/*
 * What a stale page cache written back over an O_DIRECT write of block b leaves:
 * every quiesced reading of b in epoch (page cache and disk) found the same version,
 * and a write that dirties the page cache (not O_DIRECT) went into b's PMD
 * [pmd_off, +pmd_len) after the last writeback of it that began before `before` (into
 * a source folio of a collapse then, or into its THP after).  An O_DIRECT write that
 * never reached the disk has the first, not the second unless a writer happened by.
 */
bool ftr_ev_written_back(const struct ftr_ledger *l, const struct ftr_roles *rs, uint32_t b, uint32_t epoch,
			 uint64_t pmd_off, uint64_t pmd_len, uint64_t before, struct ftr_op_hit *hits, int max);
/* When an openw write's open() returned (its whole operation, in a log without it). */
uint64_t ftr_ev_open_end(const struct ftr_op_entry *o);
/* Whether a logged operation of kind op, that worked, on [off, off+len) in epoch,
 * ran within (from, to): began after from and ended before to. */
bool ftr_ev_op_between(const struct ftr_roles *rs, uint32_t epoch, uint64_t off, uint64_t len, enum ftr_op op,
		       uint64_t from, uint64_t to);
/* The openw writers' writes of epoch, one at a time: start with *role and *k at 0;
 * NULL after the last. */
const struct ftr_op_entry *ftr_ev_next_openw(const struct ftr_roles *rs, uint32_t epoch, int *role, uint64_t *k);
/* Whether another openw writer's open() than o returned in (from, to): it truncated the
 * page cache first, with every THP in it. */
bool ftr_ev_open_between(const struct ftr_roles *rs, uint32_t epoch, const struct ftr_op_entry *o, uint64_t from,
			 uint64_t to);

#endif
