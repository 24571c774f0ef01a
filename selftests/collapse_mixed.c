// SPDX-License-Identifier: GPL-2.0
/*
 * Every write path at once against collapse and splits of the same ranges: owners
 * rotate each epoch, so a block written through the mapping in one epoch is written by
 * write(), io_uring or O_DIRECT in the next, and readers verify through read() and
 * two mappings while it all races.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "write=1,pwritev2=1,uring=1,uring-fixed=1,mmap=2,direct=1",
	.readers = "read=1,map=1,map2=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_mixed",
	.desc = "MADV_COLLAPSE vs every write path at once, with splits and verifying readers",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02 collapse-vs-write (Zi Yan, David Hildenbrand)",
	.scenario = &scenario,
);
