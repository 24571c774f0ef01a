// SPDX-License-Identifier: GPL-2.0
/*
 * collapse_mmap with window targeting: the collapser and one mmap writer meet before
 * every operation and a measured, random delay slides the store across the whole
 * collapse, so the stores that land between collapse_file()'s dirty check and
 * try_to_unmap() are made on purpose rather than by scheduler luck.  Free-running
 * writers and readers race beside the pair.
 */
#include "test.h"

static const struct ftr_scenario scenario = {
	.writers = "mmap=1",
	.readers = "map2=1",
	.pause_us = 300,
	.fzsync = true,
};

FTR_TEST(
	.name = "collapse_mmap_fz",
	.desc = "MADV_COLLAPSE vs stores through a writable shared mapping, windows lined up (fzsync)",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.tags = "lkml 2026-04-02 collapse-vs-write: folio_test_dirty() before try_to_unmap() hole",
	.scenario = &scenario,
);
