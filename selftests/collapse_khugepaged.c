// SPDX-License-Identifier: GPL-2.0
/*
 * khugepaged instead of MADV_COLLAPSE: the same collapse_file() from a kernel thread
 * that chooses its own time, with aggressive scan knobs (saved and restored) and
 * MADV_HUGEPAGE on the mapping, against writers through every buffered path and the
 * mapping.  khugepaged collapses only clean folios and reads holes in itself; its
 * windows are not lined up with anything the test does, so the run counts full scans
 * and pages_collapsed and treats no collapse at all as "not exercised".
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,uring=1,mmap=1",
	.churn = "fsync=1",
	.readers = "read=1,map2=1",
	.collapse = "khugepaged",
	.pause_us = 500,
};

FTR_TEST(
	.name = "collapse_khugepaged",
	.desc = "khugepaged collapse vs pwrite, io_uring and mmap writers, with writeback",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: khugepaged_scan_file() / collapse_file() vs writers",
	.scenario = &scenario,
);
