/* SPDX-License-Identifier: GPL-2.0 */
/*
 * knob: change sysfs/procfs knobs and put them back on every exit path.
 *
 * The first ftr_knob_set() of a path records its value; ftr_knob_restore_all() writes
 * every recorded value back, newest first.  Restoring uses only open/write/close on
 * preallocated storage, so the harness may call it from a signal handler.  Values of
 * the "always [madvise] never" kind are read as the bracketed word.
 *
 * FTR_SYSFS_ROOT, when set, is prefixed to every absolute path: the unit tests run
 * against a fake sysfs tree.
 */
#ifndef FTR_KNOB_H
#define FTR_KNOB_H

#include <stddef.h>

#define FTR_THP_SYSFS "/sys/kernel/mm/transparent_hugepage"

/* Resolves path under FTR_SYSFS_ROOT; returns buf. */
const char *ftr_knob_path(const char *path, char *buf, size_t len);
/* Reads a knob; bracketed selections are reduced to the selected word. 0 or -errno. */
int ftr_knob_read(const char *path, char *buf, size_t len);
/* Reads a knob as an unsigned number. 0 or -errno. */
int ftr_knob_read_ul(const char *path, unsigned long *val);
/* Writes val after saving the original value once. 0 or -errno (nothing saved then). */
int ftr_knob_set(const char *path, const char *val);
/* Async-signal-safe; returns the number of knobs that could not be restored. */
int ftr_knob_restore_all(void);

#endif
