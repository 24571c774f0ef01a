// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse of a read-only mapping while other processes open the file for write,
 * write and close it.  READ_ONLY_THP_FOR_FS refused to collapse files open for write
 * and truncated THP page cache on a writable open (filemap_nr_thps() in
 * do_dentry_open()); the series removing it lets a writable open race the collapse
 * and relies on folio locks alone.  The test process itself holds no writable fd.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "openw=2",
	.readers = "read=1,map=1",
	.ro_mapping = true,
	.pause_us = 500,
};

FTR_TEST(
	.name = "collapse_openw",
	.desc = "MADV_COLLAPSE of a read-only mapping vs other processes opening the file for write",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm: fs: remove filemap_nr_thps*() functions and their users (v1 03/10)",
	.scenario = &scenario,
);
