// SPDX-License-Identifier: GPL-2.0
/*
 * cachestat-double-count - cachestat() of one PMD range counts more pages than the
 * range holds when the range is collapsed (or split) during its walk.
 *
 * filemap_cachestat() walks the range under rcu_read_lock() only.  Collapse replaces
 * the 512 small folios with one multi-index entry and split does the reverse; a walk
 * that counted some small folios and then meets the PMD folio counts the whole PMD
 * folio again (its nr_pages, clamped to the range only at its ends), so nr_cache
 * exceeds the range.
 *
 *   cachestat-double-count [--seconds N] [DIR]
 *
 * DIR must be tmpfs (where MADV_COLLAPSE works on kernels without the series);
 * without DIR a tmpfs of its own in a private mount namespace.  One thread collapses
 * the PMD and punches one page of it (which splits it) in turn; the main thread asks
 * cachestat() about the PMD.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include "repro.h"

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

#define NPAGES		(PMD_SIZE / PAGE)

struct cachestat_range { uint64_t off, len; };
struct cachestat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

static char *pmd;
static int fd, stop;
static unsigned long collapses, collapsed, punches;

static void *collapser(void *arg)
{
	unsigned int seed = 3;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (!madvise(pmd, PMD_SIZE, MADV_COLLAPSE))
			__atomic_fetch_add(&collapsed, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&collapses, 1, __ATOMIC_RELAXED);
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(rand_r(&seed) % NPAGES) * PAGE, PAGE))
			break;
		__atomic_fetch_add(&punches, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 60, t0;
	const char *dir = repro_dir(repro_args(argc, argv, &seconds, NULL, "[--seconds N] [DIR]"),
				    "size=64m,huge=never");
	struct cachestat_range range = { 0, PMD_SIZE };
	struct cachestat cs;
	unsigned long calls = 0;
	pthread_t ct;

	fd = repro_file(dir, 0);
	if (syscall(__NR_cachestat, fd, &range, &cs, 0))
		repro_exit(REPRO_CANNOT, "cachestat: %s", strerror(errno));
	repro_fill(fd, PMD_SIZE, 0x5a);
	pmd = repro_map(fd, PMD_SIZE, PROT_READ | PROT_WRITE);
	repro_probe_collapse(pmd, dir);
	if (pthread_create(&ct, NULL, collapser, NULL))
		repro_fail("pthread_create");
	for (t0 = repro_now(); repro_now() < t0 + seconds; calls++) {
		if (syscall(__NR_cachestat, fd, &range, &cs, 0))
			repro_fail("cachestat");
		if (cs.nr_cache > NPAGES)
			repro_exit(REPRO_FOUND, "after %.1f s: cachestat of [0, %#lx) counted %llu cached pages of %lu "
				   "(dirty %llu), call %lu, while MADV_COLLAPSE (%lu of %lu succeeded) and punches "
				   "(%lu) collapsed and split the range", repro_now() - t0, PMD_SIZE,
				   (unsigned long long)cs.nr_cache, NPAGES, (unsigned long long)cs.nr_dirty, calls,
				   collapsed, collapses, punches);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(ct, NULL);
	repro_exit(REPRO_NONE, "%lu cachestat calls in %.0f s never counted more than %lu pages (MADV_COLLAPSE "
		   "%lu of %lu succeeded, %lu punches)", calls, seconds, NPAGES, collapsed, collapses, punches);
}
