/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmsg: turn kernel splats and new taint into test failures.
 *
 * A watch starts at the test's beginning (positioned at the end of /dev/kmsg and
 * remembering /proc/sys/kernel/tainted); every poll reads what the kernel logged since
 * and counts the lines that mean the kernel went wrong (BUG, WARNING, Oops, Bad page,
 * KASAN, ...).  The lines are kept so a failure report can show the log.  FTR_KMSG and
 * FTR_TAINT name files to read instead, for the unit tests.
 */
#ifndef FTR_KMSG_H
#define FTR_KMSG_H

#include <stdbool.h>

#define FTR_KMSG_KEEP 64

struct ftr_kmsg {
	int fd;
	bool is_dev;			/* /dev/kmsg records, not a plain text file */
	unsigned long taint0;
	int nr_splats;
	char first_splat[256];
	int nr_lines;			/* lines seen since start */
	char lines[FTR_KMSG_KEEP][256];	/* ring of the last FTR_KMSG_KEEP lines */
};

bool ftr_kmsg_is_splat(const char *line);
int ftr_kmsg_start(struct ftr_kmsg *k);
/* Reads new lines; returns how many splat lines were seen in total so far. */
int ftr_kmsg_poll(struct ftr_kmsg *k);
/* Current taint if it changed since start (returns true), else false. */
bool ftr_kmsg_taint_changed(struct ftr_kmsg *k, unsigned long *now);
/* Whether one of the kept lines contains needle. */
/* Every splat line seen so far is still kept and contains needle. */
bool ftr_kmsg_splats_all(const struct ftr_kmsg *k, const char *needle);
bool ftr_kmsg_seen(const struct ftr_kmsg *k, const char *needle);
/* Prints the kept lines as diagnostics. */
void ftr_kmsg_dump(const struct ftr_kmsg *k, int max);
void ftr_kmsg_stop(struct ftr_kmsg *k);
/* Writes a line to the kernel log (for --inject kmsg). */
int ftr_kmsg_write(const char *line);

#endif
