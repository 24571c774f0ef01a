// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd on shmem against MADV_COLLAPSE: a hole registered for missing faults
 * and a write-protected range are promises that the next access raises an event.
 * collapse_file() zero-fills holes and replaces folios and page tables under both, so
 * it must refuse or keep the markers; the access afterwards must still trap.  The
 * fault handling lives in lib/uffd.c.
 */
#include "test.h"
#include "uffd.h"

FTR_TEST(
	.name = "collapse_uffd",
	.desc = "userfaultfd missing and write-protect on shmem survive MADV_COLLAPSE",
	.fs = "tmpfs",
	.timeout = 60,
	.tags = "collapse_file(): roll back over holes in a uffd-missing VMA (David Stevens, 2023); retract_page_tables() skips uffd-wp VMAs",
	.run = ftr_uffd_run,
	.nr_subtests = FTR_UFFD_SUBTESTS,
);
