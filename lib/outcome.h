/* SPDX-License-Identifier: GPL-2.0 */
/*
 * outcome: what the kernel did inside each MADV_COLLAPSE call, and whether the errno
 * it returned says the same.
 *
 * MADV_COLLAPSE folds every reason a collapse failed into a handful of errnos, so an
 * EINVAL alone cannot say whether collapse_file() found the range dirty, truncated or
 * holding buffer heads.  The collapse_file and scan_file tracepoints name the reason
 * of every attempt.  The collapser brackets each call with CLOCK_MONOTONIC stamps, the
 * test's trace instance stamps events with the same clock (trace.h), and an event
 * belongs to a call when the collapser's thread emitted it inside the call's window
 * (and, for collapse_file, on the call's range).  An event that may fall inside the
 * windows of two calls (tracefs prints microseconds, rounded) is dropped, never
 * guessed.
 *
 * The last attributed event is the outcome the errno was made from: scan_file
 * repeats collapse_file's result, and is the only event when the scan failed first.
 *
 * The contract checked: a call that ended on a transient outcome returns EAGAIN, so
 * that its caller retries instead of giving the range up.  Transient are a folio
 * that someone else referenced, locked or took off the LRU, a hole filled meanwhile
 * (madvise_collapse_errno() since 6.3), and dirty or writeback folios
 * (page_dirty_or_writeback): MADV_COLLAPSE writes the range back and retries, so a
 * writer that dirtied it again meanwhile does not make it ineligible.  A kernel
 * without a result name never reports that outcome, so is not judged on it (older
 * kernels fold dirty folios into "failed", and EINVAL).
 */
#ifndef FTR_OUTCOME_H
#define FTR_OUTCOME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ftr_call {
	uint64_t t0, t1;	/* CLOCK_MONOTONIC ns around the call */
	long index;		/* first page index of the PMD it collapsed */
	int err;		/* its errno, 0 on success */
	/* attributed from the trace: */
	uint8_t attempts;	/* collapse_file events; two: it wrote back and retried */
	uint8_t dirty;		/* of them, page_dirty_or_writeback */
	uint8_t collapsed;	/* of them, one that built the THP (ftr_trace_collapsed()) */
	uint8_t succeeded;	/* ... and said "succeeded", not "pte_mapped_hugepage" */
	uint8_t checked;	/* the caller found its PMD one PMD-order folio right after it */
	char outcome[40];	/* the last event's result; "" when none was attributed */
};

struct ftr_outcome_stats {
	unsigned long events;		/* collapse_file/scan_file events of the thread */
	unsigned long attributed;
	unsigned long ambiguous;	/* inside two calls' windows: dropped */
	unsigned long outside;		/* in no logged call: older than the log, or a mismatch */
};

/* Attributes the events of thread tid in trace f to calls, sorted by t0. */
void ftr_outcome_attribute(FILE *f, int tid, struct ftr_call *calls, size_t n,
			   struct ftr_outcome_stats *st);
/* Why call c should have returned EAGAIN when it did not, or NULL. */
const char *ftr_outcome_broken(const struct ftr_call *c);

/* Errno by outcome, summed over the calls of a run. */
struct ftr_outcome_tab {
	unsigned nrows;
	struct ftr_outcome_row { unsigned long n; int err; char outcome[40]; } row[32];
	unsigned long calls, dirty, retried;
	/* Calls that returned 0 after a collapse_file success: "succeeded", or
	 * "pte_mapped_hugepage" (the THP is built, the PMD not yet mapped) where the
	 * caller then checked the PMD as one folio. */
	unsigned long collapsed;
	unsigned long unlogged;		/* calls the log no longer held: not judged */
	struct ftr_outcome_stats st;
};

void ftr_outcome_add(struct ftr_outcome_tab *t, const struct ftr_call *calls, size_t n,
		     const struct ftr_outcome_stats *st);
/* Prints the table, most frequent first, and the attribution counts as diagnostics:
 *   # errno by outcome: succeeded=ok:40 page_dirty_or_writeback=EAGAIN:12 -=EINVAL:1
 * ("-": no event attributed).  */
void ftr_outcome_print(const struct ftr_outcome_tab *t);
/* Prints up to max trace lines of thread tid inside the window of c, one of calls, for
 * a failure report. */
void ftr_outcome_lines(FILE *f, int tid, struct ftr_call *calls, size_t n, const struct ftr_call *c,
		       int max);

#endif
