/* SPDX-License-Identifier: GPL-2.0 */
/*
 * opts: the options every selftest binary shares.
 *
 * Parsing only validates and fills struct ftr_opts; it has no side effects, so bad
 * input costs one line on stderr and exit status 2 before anything is created.
 */
#ifndef FTR_OPTS_H
#define FTR_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ftr_inject {
	FTR_INJECT_NONE,
	FTR_INJECT_LOST,	/* a completed write is undone: class LOST */
	FTR_INJECT_STALE,	/* part of a block reverts: class TORN */
	FTR_INJECT_MISPLACE,	/* a block holds another block's data: class MISPLACED */
	FTR_INJECT_ZERO,	/* a block reads as zeros: class ZERO */
	FTR_INJECT_FLIP,	/* one bit flips: class GARBAGE */
	FTR_INJECT_THP,		/* the THP-state check is told a collapse happened that did not */
	FTR_INJECT_KMSG,	/* a splat line is written to the kernel log */
	FTR_INJECT_HANG,	/* changes a knob and hangs: the runner's timeout must fire */
	FTR_INJECT_STUCK,	/* a role's operation never returns: the engine's watchdog must fire */
	FTR_INJECT_ERRNO,	/* MADV_COLLAPSE's EAGAIN is taken for EINVAL: the errno contract fires */
	FTR_INJECT_STALE_DISK,	/* the disk gets a block's previous version under a clean page cache */
	FTR_INJECT_THP_CALL,	/* the collapser reports a success without calling, on a PMD never collapsed */
	FTR_INJECT_RESIDENT,	/* a page stays mapped through the eviction: it must be reported */
	FTR_INJECT_CRASH,	/* a role reads past EOF unguarded: the crash must say where */
	FTR_INJECT_STALE_RESIDENT,	/* stale-disk under a page that stays resident: only the disk shows it */
	FTR_INJECT_DMA_ORPHAN,	/* a DMA pin's read lands in an orphaned page: class LOST */
	FTR_INJECT_EAGAIN,	/* collapse_basic's MADV_COLLAPSE calls answer EAGAIN, always */
	FTR_INJECT_SPLIT_CLEAN,	/* a dirty split's page is stale on the disk, clean in the cache */
	FTR_INJECT_NR,
};

extern const char *const ftr_inject_names[FTR_INJECT_NR];

struct ftr_opts {
	const char *prog;
	const char *dir;	/* NULL: a private tmpfs */
	const char *fs;		/* label for reports */
	double duration;	/* seconds; 0: the test's default */
	uint64_t seed;
	bool seed_given;
	int threads;		/* writer threads; 0: the scenario's mix */
	int verbose;
	bool quick;
	bool describe;
	const char *known_issues;	/* the waiver file (known.h), or NULL */
	double timeout_mul;
	size_t file_size;	/* 0: the scenario's default */
	enum ftr_inject inject;
	const char *record;	/* operation log output file */
	char cmdline[1024];	/* the options as given, for the replay line */
};

/* 0, or -1 after printing one line to stderr (exit status 2 then). */
int ftr_opts_parse(struct ftr_opts *o, int argc, char **argv);
void ftr_opts_usage(const char *prog);
/* "4k", "2M", "1G" -> bytes; -1 on bad input. */
long long ftr_parse_size(const char *s);

#endif
