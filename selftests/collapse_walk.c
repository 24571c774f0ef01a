// SPDX-License-Identifier: GPL-2.0
/*
 * Page-cache walkers while ranges are collapsed and split: large read()s, splice and
 * sendfile into a pipe, copy_file_range, reads through a mapping, SEEK_DATA/SEEK_HOLE,
 * mincore and cachestat.  The seed thread's worry: a walker that processed three small
 * folios suddenly meets one large folio covering them.  Every byte they return is
 * checked, and SEEK_HOLE may not find a hole in data nobody punched.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.readers = "bigread=1,splice=1,sendfile=1,copy=1,map2=1",
	.churn = "seek=1,mincore=1,cachestat=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_walk",
	.desc = "MADV_COLLAPSE vs read, splice, sendfile, copy_file_range, SEEK_HOLE, mincore, cachestat",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02: a page-cache walker meets a large folio where it saw small ones",
	.scenario = &scenario,
);
