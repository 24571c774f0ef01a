// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against the syscall write paths: write(), pwrite() and pwritev2() with
 * several iovecs, plus O_DIRECT where the filesystem takes it.  Writers lock each folio
 * and recheck folio->mapping in write_begin; collapse_file() locks the old folios and
 * replaces them.  A writer that keeps the old folio after the swap loses its data.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "write=1,pwrite=1,pwritev2=1,direct=1",
	.readers = "read=1,map=1",
	.pause_us = 200,
};

FTR_TEST(
	.name = "collapse_write",
	.desc = "MADV_COLLAPSE vs write(), pwrite(), pwritev2() and O_DIRECT writers",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02 collapse-vs-write (Zi Yan, David Hildenbrand)",
	.scenario = &scenario,
);
