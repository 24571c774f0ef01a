/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scenario: all a selftest sees.  A scenario only declares its role mix; the engine
 * (engine.h) creates the file, runs the roles in epochs and judges the file after
 * each.  A custom body (collapse_basic, collapse_uffd) gets the same environment.
 */
#ifndef FTR_SCENARIO_H
#define FTR_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kmsg.h"
#include "opts.h"
#include "probe.h"

struct ftr_ledger;
struct ftr_replay;
struct ftr_roles;

struct ftr_scenario {
	const char *writers;	/* "write=1,pwrite=1,pwritev2=1,uring=1,uring-fixed=1,mmap=2,direct=1,openw=2" */
	const char *collapse;	/* "madvise" (default), "khugepaged", "none" */
	const char *split;	/* "auto" (default): debugfs if writable, else punch, else pageout; or "none" */
	const char *readers;	/* "read=1,map=1,map2=1" */
	const char *churn;	/* page-cache churn roles by name, see churn.c: "fsync=1,msync=1" */
	bool ro_mapping;	/* the test process holds only read-only fds and mappings */
	unsigned file_pmds;	/* file size in PMDs, default 4 */
	unsigned pause_us;	/* a writer pauses up to this long after each write (duty cycle) */
	/* Window targeting instead of free running: the collapser and the first writer
	 * meet before every operation and one of them is delayed so that the write
	 * slides across the collapse (fzsync.h); the writer names the PMD. */
	bool fzsync;
	/* Hooks for tools/thp-race, unset in selftests. */
	uint64_t max_ops;	/* end once the writers completed this many writes; 0: by time */
	void (*progress)(const struct ftr_roles *rs, const struct ftr_ledger *l);	/* after each verified epoch */
	/* thp-race --replay: the recorded operations to run again (replay.h). */
	struct ftr_replay *replay;
};

/* What the test harness hands to a test. */
struct ftr_env {
	const struct ftr_opts *opts;
	struct ftr_caps caps;
	const char *dir;
	const char *fs;		/* label */
	struct ftr_kmsg kmsg;
	const char *name;	/* test name */
	const char *kernel;	/* uname -r */
	FILE *record;		/* --record, opened before the private tmpfs hides /tmp */
	/* A kernel-log line that a waived known issue logs as its own evidence (the
	 * kernel subtest is XFAIL, not FAIL, when it is the only splat), and why. */
	const char *waived_splat;
	char waived_why[200];
};

#endif
