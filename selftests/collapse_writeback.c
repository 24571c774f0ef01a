// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse while writeback cycles folios dirty -> writeback -> clean: fsync,
 * fdatasync, msync (sync and async) and sync_file_range race the collapser's
 * dirty/writeback checks, on both sides of the unmap.  MADV_COLLAPSE writes a dirty
 * range back and retries instead of failing it as ineligible: a call whose trace ends
 * on page_dirty_or_writeback must answer EAGAIN (the engine's errno contract, outcome.h).
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "fsync=1,fdatasync=1,msync=1,msync-async=1,sync-range=1,fadvise=1",
	.readers = "read=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_writeback",
	.desc = "MADV_COLLAPSE vs fsync/fdatasync/msync/sync_file_range cycling dirty and writeback",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/khugepaged: MADV_COLLAPSE writes back dirty file ranges and retries",
	.scenario = &scenario,
);
