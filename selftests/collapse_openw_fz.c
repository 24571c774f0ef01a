// SPDX-License-Identifier: GPL-2.0
/*
 * collapse_openw with window targeting: one writer process's open-for-write, write
 * and close is lined up with the collapse of the PMD it writes, at every relative
 * offset, through fzsync state in the engine's shared memory.  The case the removed
 * i_writecount guard and the do_dentry_open() truncation used to keep apart.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "openw=2",
	.readers = "read=1,map=1",
	.ro_mapping = true,
	.pause_us = 500,
	.fzsync = true,
};

FTR_TEST(
	.name = "collapse_openw_fz",
	.desc = "MADV_COLLAPSE of a read-only mapping vs an open for write lined up with it (fzsync)",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm: fs: remove filemap_nr_thps*() functions and their users (v1 03/10)",
	.scenario = &scenario,
);
