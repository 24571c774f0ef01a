/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ledger: what a run found, for the report and the verdicts: every bad block every
 * check saw, the windows of the collapses that built something, and the counters of
 * what was checked.  Written by the controller only (verify, contract), after roles
 * were quiesced.
 */
#ifndef FTR_LEDGER_H
#define FTR_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle.h"
#include "outcome.h"

/* A bad block as one check saw it (verify.c): for the report, and for the evidence
 * of known issues, which must cover every one (known.h). */
enum ftr_stage {
	FTR_ST_RACING, FTR_ST_READ, FTR_ST_MAP, FTR_ST_MAP2, FTR_ST_DURABLE, FTR_ST_EVICTED, FTR_ST_DISK,
	FTR_ST_NR
};
extern const char *const ftr_stage_names[FTR_ST_NR];

struct ftr_bad_rec {
	struct ftr_bad b;
	enum ftr_stage stage;
	uint32_t epoch;
	int32_t role;		/* the role whose racing check saw it; -1 for the others */
};

/* When a MADV_COLLAPSE call that ran collapse_file() was in progress (ftr_now_ns()),
 * whether that built a THP, and of which PMD. */
struct ftr_window {
	uint64_t t0, t1;
	uint32_t epoch;
	bool built;
	uint32_t pmd;
};

struct ftr_ledger {
	uint64_t epochs, verified_bytes, verify_ns, evicted_epochs, resident_after_evict;
	uint64_t thp_checked, thp_pmd_mapped_checked;	/* at epoch ends (contract.h) */
	/* Seals (contract.h): set, masked by a write that ended after the collapse
	 * returned, checked against the disk, found a THP already there, not checked. */
	uint64_t sealed, sealed_masked, sealed_checked, sealed_no_collapse, sealed_unchecked;
	uint64_t sealed_other, sealed_other_checked;	/* by other roles' collapses, apart */
	uint64_t khugepaged_attempts, khugepaged_collapsed;	/* its collapse_file events on our file */
	struct ftr_outcome_tab errnos;	/* the collapser's errno by trace outcome */
	uint64_t errnos_head;		/* its log entries judged so far */
	bool data_bad, errno_bad;
	struct ftr_bad_rec *bads;	/* every bad block every check saw */
	size_t nbads, bads_cap;
	struct ftr_window *cwin;	/* every call with a collapse_file event of its own, and
				 * every other role's collapse call (verify.c) */
	size_t ncwin, cwin_cap;
	/* Out of memory keeping the above: evidence is incomplete, no waiver holds. */
	bool lost;
	/* A check that could not run (out of memory): the data verdict fails with it. */
	char broken[200];
	/* Writeback that reported an error (msync, fsync): a failure, unless a known issue
	 * explains it (dio_warn_stale_pagecache() sets EIO on the mapping on purpose). */
	int sync_err;
	char sync_msg[160];
	/* Epochs whose whole file was read from the disk with O_DIRECT; pages that
	 * neither that nor the eviction got to the disk for. */
	uint64_t disk_epochs, pages_not_on_disk;
	/* Epochs that found wrong data (each put right, and the run went on), and
	 * epochs verified from the first of them on. */
	uint64_t bad_epochs, epochs_after_bad;
};

/* Keeps nbad bad blocks a check at stage (by role, or -1) saw in epoch; false when
 * out of memory. */
bool ftr_ledger_add_bads(struct ftr_ledger *l, enum ftr_stage stage, uint32_t epoch, int32_t role,
			 const struct ftr_bad *bad, uint32_t nbad);
/* Keeps a collapse window; false when out of memory. */
bool ftr_ledger_add_window(struct ftr_ledger *l, const struct ftr_window *w);
void ftr_ledger_free(struct ftr_ledger *l);

#endif
