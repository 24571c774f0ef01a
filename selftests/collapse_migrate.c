// SPDX-License-Identifier: GPL-2.0
/*
 * Collapse against migration: move_pages() and mbind(MPOL_MF_MOVE) of collapsing
 * ranges to other NUMA nodes (libnuma), and compaction, which migrates folios within
 * a node.  A folio replaced by migration while collapse_file() holds it must make the
 * collapse back off, not copy stale data.  On a single node the migrate role says so
 * and compaction carries the scenario.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "pwrite=1,mmap=1",
	.churn = "migrate=1,compact=1",
	.readers = "read=1,map2=1",
	.pause_us = 300,
};

FTR_TEST(
	.name = "collapse_migrate",
	.desc = "MADV_COLLAPSE vs move_pages/mbind migration and compaction",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "mm/migrate vs mm/khugepaged: folio replaced under collapse",
	.scenario = &scenario,
);
