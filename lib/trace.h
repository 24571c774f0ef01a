/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace: which collapse outcomes a run really produced, from the kernel's own
 * tracepoints.
 *
 * A race test that never made collapse_file() fail with page_locked, truncated or
 * page_dirty_or_writeback did not run the code it is named after, however long it
 * ran.  ftr_trace_start() gives the test a tracefs instance of its own
 * (instances/ftr-<pid>), so concurrent tests and other tracers do not see or disturb
 * each other's events, and enables only huge_memory:mm_khugepaged_collapse_file and
 * mm_khugepaged_scan_file there, filtered in the kernel on the file name the
 * tracepoints record (d_iname).  ftr_trace_drain() consumes what was traced so far
 * (the engine drains every epoch, so a long run never overflows the buffer) and
 * ftr_trace_report() drains the rest, prints the histogram and removes the instance.
 *
 * If tracefs is not mounted it is mounted at /sys/kernel/tracing and lazily unmounted
 * again at exit; all later accesses go through directory fds, so a concurrent test
 * that unmounts "its" tracefs does not pull ours away.  ftr_trace_cleanup() removes
 * the instance and the mount and is async-signal-safe: the harness calls it from
 * atexit and its signal handlers.  An instance left by a test that was SIGKILLed is
 * removed by the next test that starts (ftr-<pid> of a pid that no longer exists).
 *
 * Output, as KTAP diagnostics:
 *   # coverage: result=succeeded 164             collapse_file outcomes, most first
 *   # coverage: scan result=succeeded 167        scan_file outcomes
 *   # coverage: ftr1234: 331 events, 0 lost; collapse_file 164 succeeded of 208, ...
 *   # coverage-table: collapse.succeeded=164 collapse.page_locked=3 scan.succeeded=167 lost=0
 * or, once, "# coverage: tracefs not usable: <why>" and "# coverage-table: unavailable".
 *
 * coverage-table is the machine-readable line: space-separated KEY=COUNT pairs, KEY
 * being "collapse.<result>" or "scan.<result>" with the kernel's result names, plus
 * "lost=N" (events the ring buffer overwrote; nonzero means the counts are low).  A
 * runner aggregates it into an outcome x test table (tools/coverage-table.awk).
 *
 * The instance's trace_clock is "mono" where the kernel allows it, so an event's
 * timestamp is CLOCK_MONOTONIC and can be matched with the clock_gettime() around
 * the call that caused it (outcome.h).
 */
#ifndef FTR_TRACE_H
#define FTR_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Starts tracing collapses of files whose name matches match (a tracefs filter glob,
 * e.g. "ftr1234" or "*1234").  0, or -errno with why filled; the caller says why once
 * and carries on without coverage.
 */
int ftr_trace_start(const char *match, char *why, size_t len);
/* Whether a started trace is collecting. */
bool ftr_trace_active(void);
/* Whether event timestamps are CLOCK_MONOTONIC. */
bool ftr_trace_mono(void);

/* One collapse_file or scan_file event of the trace file. */
struct ftr_trace_ev {
	char ev;		/* 'c' mm_khugepaged_collapse_file, 's' mm_khugepaged_scan_file */
	int tid;		/* the task that emitted it */
	uint64_t us;		/* timestamp in microseconds, the resolution tracefs prints */
	long index;		/* collapse_file: the page index it stopped at, else -1 */
	long nr;		/* collapse_file: pages in the range it collapsed into one folio */
	char file[64];		/* d_iname */
	char result[40];	/* the kernel's name of the outcome */
};

/* Whether a collapse_file result means it built the THP: "succeeded", or on kernels
 * that leave the PMD mapping to the caller, "pte_mapped_hugepage".  A call that found
 * the range collapsed already has a scan_file event only. */
bool ftr_trace_collapsed(const char *result);
/* Parses one line of a tracefs "trace" file; false for anything else. */
bool ftr_trace_parse(const char *line, struct ftr_trace_ev *ev);
typedef void (*ftr_trace_fn)(const struct ftr_trace_ev *ev, const char *line, void *arg);
/* Consumes the events traced so far: each one of the test's files is added to the
 * coverage histogram and handed to fn (if set) with its line.  0 or -errno. */
int ftr_trace_drain(ftr_trace_fn fn, void *arg);
/* Drains in a thread of its own, for tests that do not drain as they go (the engine
 * does, every epoch).  Only one side may drain at a time. */
void ftr_trace_background(bool on);
/* Stops tracing, prints the coverage lines and removes the instance. */
void ftr_trace_report(void);
/* Removes the instance and our tracefs mount, if any.  Async-signal-safe; only the
 * process that started the trace acts (forked roles share the handlers). */
void ftr_trace_cleanup(void);

#endif
