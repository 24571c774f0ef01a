// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against truncation and holes: punch-hole and zero-range inside large
 * folios, ftruncate of the tail down to an unaligned size and back up (the mapping
 * past EOF must raise SIGBUS), and collapse-range / insert-range that move the data
 * behind them.  collapse_file() must notice a folio that was truncated under it
 * (result "truncated") and zero-fill holes; a partial punch must split the THP.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "punch=1,zero-range=1,truncate=1",
	.readers = "read=1,map=1",
	.split = "none",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_holes",
	.desc = "MADV_COLLAPSE vs punch-hole, zero-range, ftruncate and collapse/insert-range",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: collapse_file() result=truncated; truncate_inode_partial_folio()",
	.scenario = &scenario,
);
