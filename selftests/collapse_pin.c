// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against pinned pages: O_DIRECT writes whose user buffer is the collapsing
 * mapping, io_uring fixed buffers registered from it (a long-term pin, collapsed
 * while held), and vmsplice of it into a pipe.  collapse_file() must refuse a folio
 * with extra references (not_suitable_page_count, EAGAIN); a pinned page that were
 * replaced anyway would show up as data through the pin lagging the file.
 * The dma roles pin in the dangerous direction: O_DIRECT reads and io_uring
 * READ_FIXED (one or several in flight) into the mapping.  A read that lands in a
 * page collapse replaced is lost to the file: class LOST at its blocks.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "pin-dio=1,pin-uring=1,vmsplice=1,dma-dio=1,dma-uring=1,dma-uring-qd=1",
	.readers = "read=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_pin",
	.desc = "MADV_COLLAPSE vs GUP pins: O_DIRECT and io_uring fixed buffers from and into the mapping, vmsplice",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: collapse_file() refcount check (not_suitable_page_count)",
	.scenario = &scenario,
);
