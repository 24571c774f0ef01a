// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse and split of the same ranges at once: debugfs split_huge_pages to random
 * orders where it is writable (else partial punch-hole), MADV_PAGEOUT and MADV_COLD,
 * so folios are split and reclaimed while collapse_file() holds their replacements.
 * Compaction is collapse_migrate's: beside these splits it stalled 7.2 guests.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1,uring=1",
	.churn = "pageout=1,cold=1",
	.readers = "read=1,map2=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_split",
	.desc = "MADV_COLLAPSE vs split_huge_pages, partial punch and MADV_PAGEOUT/COLD",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "folio_split() vs collapse_file(): both replace page-cache folios",
	.scenario = &scenario,
);
