// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against stores through a writable shared mapping: the window found by
 * reasoning in the seed thread.  collapse_file() checks that an old folio is clean and
 * only then unmaps it; a store through a still-writable PTE in between dirties a folio
 * whose data is copied into a THP that is never marked dirty, and the write is lost
 * once the page cache is evicted.  Stores of every width from 8 bytes to 16 KiB cross
 * page and PMD edges; the eviction check after every epoch is what catches the loss.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "mmap=3",
	.readers = "read=1,map2=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_mmap",
	.desc = "MADV_COLLAPSE vs stores through writable MAP_SHARED mappings (dirty check vs try_to_unmap)",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02 collapse-vs-write: folio_test_dirty() before try_to_unmap() hole",
	.scenario = &scenario,
);
