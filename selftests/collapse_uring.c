// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against io_uring writes: buffered writes with several in flight (io-wq
 * workers and inline issue), and writes from registered fixed buffers.  They reach
 * write_begin from other contexts than write(), with the folio lookup racing the
 * multi-index store that installs the new THP.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "uring=2,uring-fixed=1",
	.readers = "read=1,map=1",
	.pause_us = 200,
};

FTR_TEST(
	.name = "collapse_uring",
	.desc = "MADV_COLLAPSE vs io_uring buffered and fixed-buffer writes, several in flight",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02 collapse-vs-write (Zi Yan, David Hildenbrand)",
	.scenario = &scenario,
);
