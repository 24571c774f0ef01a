/* SPDX-License-Identifier: GPL-2.0 */
/*
 * waiver: the ids of the known kernel issues (known.h says what evidence each needs)
 * and the waiver file that turns one into XFAIL for some tests and filesystems.
 */
#ifndef FTR_WAIVER_H
#define FTR_WAIVER_H

#include <stdbool.h>
#include <stddef.h>

enum ftr_known_id {
	FTR_KI_NONE,
	FTR_KI_RO_THP_TRUNCATE,
	FTR_KI_DIO_STALE,
	FTR_KI_DIO_WRITEBACK,
	FTR_KI_DIO_COLLAPSE,
	FTR_KI_ZERO_BESIDE,
	FTR_KI_CACHESTAT,
	FTR_KI_NR
};

extern const char *const ftr_known_names[FTR_KI_NR];

/* Reads the waiver file; 0, or -1 after one line on stderr naming file and line. */
int ftr_known_load(const char *prog, const char *file);
/*
 * The waiver line for issue id in test on a filesystem of type fstype (probed, not
 * the --fs label) under kernel release kernel, or NULL.  Lines are
 * "TEST:FSTYPE ID [KERNEL]", globs; without KERNEL, any kernel.
 */
const char *ftr_known_waiver(const char *test, const char *fstype, const char *kernel, enum ftr_known_id id);

#endif
