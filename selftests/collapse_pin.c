// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against pinned pages: O_DIRECT writes whose user buffer is the collapsing
 * mapping, io_uring fixed buffers registered from it (a long-term pin, collapsed
 * while held), and vmsplice of it into a pipe.  collapse_file() must refuse a folio
 * with extra references (not_suitable_page_count, EAGAIN); a pinned page that were
 * replaced anyway would show up as data through the pin lagging the file.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "pin-dio=1,pin-uring=1,vmsplice=1",
	.readers = "read=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_pin",
	.desc = "MADV_COLLAPSE vs GUP pins: O_DIRECT from the mapping, io_uring fixed buffers, vmsplice",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: collapse_file() refcount check (not_suitable_page_count)",
	.scenario = &scenario,
);
