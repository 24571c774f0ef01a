/* SPDX-License-Identifier: GPL-2.0 */
/*
 * disk: damage on the device under the test file, for --inject.
 */
#ifndef FTR_DISK_H
#define FTR_DISK_H

#include <stdint.h>

#include "arena.h"

/*
 * The disk gets block b's previous version (after an fsync of fd), the page cache
 * keeps the current one, clean: what a kernel that lost a folio's dirty state leaves
 * behind.  Only a read of the disk sees it: after eviction, or with O_DIRECT where the
 * page stays resident.  Says what it did, or why it could not.
 */
void ftr_disk_stale(struct ftr_arena *a, int fd, uint32_t b);

#endif
