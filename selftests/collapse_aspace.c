// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse while other address spaces change: fork() with children writing their
 * MAP_PRIVATE copies, mremap of collapsed ranges (to aligned and misaligned places),
 * processes killed in the middle of MADV_COLLAPSE, and mappings whose file offset is
 * not PMD-aligned with the address, which collapse must refuse.  Page-table
 * retraction walks every VMA of the file without their mmap_lock.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "fork=1,mremap=1,exit=1,misaligned=1",
	.readers = "read=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_aspace",
	.desc = "MADV_COLLAPSE vs fork+CoW, mremap, exit during collapse, misaligned mappings",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: retract_page_tables() vs other mms",
	.scenario = &scenario,
);
