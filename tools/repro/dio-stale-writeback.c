// SPDX-License-Identifier: GPL-2.0
/*
 * dio-stale-writeback - O_DIRECT writes lost on the disk: a stale large folio,
 * dirtied as a whole by a store through the mapping into another of its blocks, is
 * written back over them.
 *
 * An O_DIRECT write invalidates the page cache of its range before and after the I/O
 * (kiocb_invalidate_pages(), kiocb_invalidate_post_direct_write()).  If a fault reads
 * the range into a new folio while the write is in flight, that folio holds the old
 * data of the written block; when it is dirty by then, the invalidation after the
 * write fails (folio_unmap_invalidate(): -EBUSY for a dirty folio) and the kernel
 * only warns "Page cache invalidation failure on direct I/O".  With small folios the
 * stale page stays clean and is dropped later; with one folio over the whole PMD a
 * store to any other block of it marks the stale block dirty too, and the next
 * writeback puts the old data on the disk over the O_DIRECT write.
 *
 *   dio-stale-writeback [--seconds N] [--no-collapse] DIR
 *
 * One PMD of a file in DIR: its first half is written only by O_DIRECT (the main
 * thread, one write of the half per round, each 4 KiB block stamped with the round),
 * its second half only by a store through a MADV_HUGEPAGE mapping (a thread, once per
 * write, timed by mincore()).  Each round starts from one folio over the PMD, read
 * in by a fault of the mapping; --collapse also runs MADV_COLLAPSE on it in a loop.
 * After every round: fsync, then an O_DIRECT read of the first half must return this
 * round in every block.
 */
#include <pthread.h>
#include <stdbool.h>
#include "repro.h"

#define NPAGES		(PMD_SIZE / PAGE)
#define DIO_PAGES	(NPAGES / 2)	/* [0, DIO_PAGES) O_DIRECT, the rest stores */
#define MAGIC		0x4f444952u	/* "RIDO" */

struct stamp {
	uint32_t magic, round, page, pad;
};

static char *pmd;
static int fd, stop, in_dio;
static unsigned long collapses, collapsed, stores, eio;

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

/*
 * One store into the second half per O_DIRECT write, as soon as the write's first
 * invalidation has dropped the PMD folio (mincore() says the page left the page cache):
 * the store faults the PMD back in, reading the first half while the write is still in
 * flight, and dirties it before the write's second invalidation.  Storing earlier, or
 * all the time, would make the first invalidation fail and the write fall back to a
 * buffered one.
 */
static void *storer(void *arg)
{
	char *page = pmd + DIO_PAGES * PAGE;
	unsigned char vec;

	(void)arg;
	while (!stopped()) {
		if (!__atomic_load_n(&in_dio, __ATOMIC_ACQUIRE) || mincore(page, PAGE, &vec) || (vec & 1))
			continue;
		__atomic_store_n((uint64_t *)page + 1, ++stores, __ATOMIC_RELAXED);
		while (__atomic_load_n(&in_dio, __ATOMIC_ACQUIRE) && !stopped())
			;
	}
	return NULL;
}

static void *collapser(void *arg)
{
	(void)arg;
	while (!stopped()) {
		if (!madvise(pmd, PMD_SIZE, MADV_COLLAPSE))
			__atomic_fetch_add(&collapsed, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&collapses, 1, __ATOMIC_RELAXED);
		usleep(1000);
	}
	return NULL;
}

/*
 * One folio over both halves, so that the write's first invalidation drops it whole:
 * the page cache (clean since the last fsync) is dropped and a read fault of the
 * MADV_HUGEPAGE mapping reads the PMD back, as one folio unless a PMD-sized
 * allocation failed, so a few tries.  The second half resident means one folio.
 */
static bool pmd_folio(void)
{
	unsigned char vec;

	for (int try = 0; try < 20; try++, usleep(50000)) {
		if (madvise(pmd, PMD_SIZE, MADV_DONTNEED) || posix_fadvise(fd, 0, PMD_SIZE, POSIX_FADV_DONTNEED))
			repro_fail("dropping the page cache");
		(void)*(volatile char *)pmd;
		if (!mincore(pmd + DIO_PAGES * PAGE, PAGE, &vec) && (vec & 1))
			return true;
	}
	return false;
}

/* Did the kernel warn about the failed invalidation since we started?  (-1: no kmsg) */
static int kmsg_fd = -1;

static const char *kmsg_saw_stale(void)
{
	char rec[1024];
	ssize_t n;

	if (kmsg_fd < 0)
		return "unknown (no /dev/kmsg)";
	while ((n = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, "Page cache invalidation failure on direct I/O"))
			return "yes";
	}
	return "no (it is rate-limited to 10 a day)";
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--collapse] DIR";
	double seconds = 60, collapse = 0, t0;
	const struct repro_opt opts[] = { { "--collapse", &collapse, 0 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	char *buf;
	pthread_t st, ct;
	uint32_t round;
	int dfd;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs directory)");
	fd = repro_file(dir, 0);
	dfd = repro_open_direct(dir);
	if (posix_memalign((void **)&buf, PAGE, DIO_PAGES * PAGE))
		repro_fail("posix_memalign");
	repro_fill(fd, PMD_SIZE, 0x5a);
	pmd = repro_map(fd, PMD_SIZE, PROT_READ | PROT_WRITE);
	if (madvise(pmd, PMD_SIZE, MADV_HUGEPAGE))
		repro_fail("MADV_HUGEPAGE");
	if (collapse)
		repro_probe_collapse(pmd, dir);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);

	pthread_create(&st, NULL, storer, NULL);
	if (collapse)
		pthread_create(&ct, NULL, collapser, NULL);
	t0 = repro_now();
	for (round = 1; repro_now() < t0 + seconds; round++) {
		unsigned int lost = 0, first = 0, first_round = 0;

		if (!pmd_folio() && round == 1)
			repro_exit(REPRO_CANNOT, "20 read faults of a MADV_HUGEPAGE mapping on %s brought in no "
				   "folio over the whole PMD (no large folios?)", dir);

		for (uint32_t page = 0; page < DIO_PAGES; page++)
			*(struct stamp *)(buf + page * PAGE) = (struct stamp){ MAGIC, round, page, 0 };
		__atomic_store_n(&in_dio, 1, __ATOMIC_RELEASE);
		if (pwrite(dfd, buf, DIO_PAGES * PAGE, 0) != (ssize_t)(DIO_PAGES * PAGE))
			repro_fail("O_DIRECT write");
		__atomic_store_n(&in_dio, 0, __ATOMIC_RELEASE);
		/* dio_warn_stale_pagecache() also sets -EIO in the mapping's wb_err */
		if (fsync(fd) && (errno != EIO || !++eio))
			repro_fail("fsync");
		if (pread(dfd, buf, DIO_PAGES * PAGE, 0) != (ssize_t)(DIO_PAGES * PAGE))
			repro_fail("O_DIRECT read");
		for (uint32_t page = 0; page < DIO_PAGES; page++) {
			struct stamp *sp = (struct stamp *)(buf + page * PAGE);

			if (sp->magic == MAGIC && sp->round == round && sp->page == page)
				continue;
			if (!lost++)
				first = page, first_round = sp->magic == MAGIC ? sp->round : 0;
		}
		if (lost)
			repro_exit(REPRO_FOUND, "after %.1f s, round %u: %u of %lu blocks of an O_DIRECT write that "
				   "returned before fsync read back older from the disk (first at %#lx: round %u); "
				   "%lu stores through the mapping touched only the other half; kernel logged "
				   "\"Page cache invalidation failure on direct I/O\": %s; fsync EIO %lu times; "
				   "MADV_COLLAPSE %lu of %lu", repro_now() - t0, round, lost, DIO_PAGES, first * PAGE,
				   first_round, stores, kmsg_saw_stale(), eio, collapsed, collapses);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	repro_exit(REPRO_NONE, "every O_DIRECT block read back as written in %.0f s (%u rounds, %lu stores "
		   "through the mapping, fsync EIO %lu times, MADV_COLLAPSE %lu of %lu)", seconds, round - 1,
		   stores, eio, collapsed, collapses);
}
