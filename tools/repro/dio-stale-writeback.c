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
 * its second half only by stores through a MADV_HUGEPAGE mapping (two threads); one
 * thread loads from the first half through the mapping, and another collapses the range (MADV_COLLAPSE, where this kernel can;
 * --no-collapse leaves large folios to the fault path).  After every round: fsync,
 * then an O_DIRECT read of the first half must return this round in every block.
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
static int fd, stop;
static unsigned long collapses, collapsed, stores, eio;

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void *storer(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (unsigned long i = 0; !stopped(); i++) {
		size_t page = DIO_PAGES + rand_r(&seed) % (NPAGES - DIO_PAGES);

		__atomic_store_n((uint64_t *)(pmd + page * PAGE + (rand_r(&seed) % 512) * 8), i,
				 __ATOMIC_RELAXED);
		__atomic_fetch_add(&stores, 1, __ATOMIC_RELAXED);
		/*
		 * Pauses let the O_DIRECT write's first invalidation succeed (a folio
		 * dirtied again after its writeback makes it fall back to a buffered
		 * write); the next store then faults the PMD back in while the write is
		 * in flight.
		 */
		usleep(100);
	}
	return NULL;
}

/*
 * Loads from the O_DIRECT half: after the write's first invalidation unmapped the
 * range, one of them faults it back in, reading the blocks the write has not yet put
 * on the disk.  Reading what is being written may see old or new data; it must not
 * make the write disappear later.
 */
static void *loader(void *arg)
{
	uint64_t sum = 0;

	(void)arg;
	while (!stopped())
		for (size_t page = 0; page < DIO_PAGES; page += 64)
			sum += __atomic_load_n((uint64_t *)(pmd + page * PAGE), __ATOMIC_RELAXED);
	return (void *)(uintptr_t)sum;
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
	return "no";
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--no-collapse] DIR";
	double seconds = 60, no_collapse = 0, t0;
	const struct repro_opt opts[] = { { "--no-collapse", &no_collapse, 0 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	char *buf;
	pthread_t st[2], ct, lt;
	int dfd;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs directory)");
	fd = repro_file(dir, 0);
	dfd = open(repro_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		repro_exit(REPRO_CANNOT, "O_DIRECT open on %s: %s", dir, strerror(errno));
	if (posix_memalign((void **)&buf, PAGE, DIO_PAGES * PAGE))
		repro_fail("posix_memalign");
	repro_fill(fd, PMD_SIZE, 0x5a);
	pmd = repro_map(fd, PMD_SIZE, PROT_READ | PROT_WRITE);
	if (madvise(pmd, PMD_SIZE, MADV_HUGEPAGE))
		repro_fail("MADV_HUGEPAGE");
	if (!no_collapse)
		repro_probe_collapse(pmd, dir);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);

	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&st[i], NULL, storer, (void *)(i + 2));
	pthread_create(&lt, NULL, loader, NULL);
	if (!no_collapse)
		pthread_create(&ct, NULL, collapser, NULL);
	t0 = repro_now();
	for (uint32_t round = 1; repro_now() < t0 + seconds; round++) {
		unsigned int lost = 0, first = 0, first_round = 0;

		for (uint32_t page = 0; page < DIO_PAGES; page++)
			*(struct stamp *)(buf + page * PAGE) = (struct stamp){ MAGIC, round, page, 0 };
		if (pwrite(dfd, buf, DIO_PAGES * PAGE, 0) != (ssize_t)(DIO_PAGES * PAGE))
			repro_fail("O_DIRECT write");
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
				   "stores through the mapping touched only the other half of the PMD; kernel logged "
				   "\"Page cache invalidation failure on direct I/O\": %s; fsync EIO %lu times; "
				   "MADV_COLLAPSE %lu of %lu", repro_now() - t0, round, lost, DIO_PAGES, first * PAGE,
				   first_round, kmsg_saw_stale(), eio, collapsed, collapses);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	repro_exit(REPRO_NONE, "every O_DIRECT block read back as written in %.0f s (%lu stores through "
		   "the mapping, fsync EIO %lu times, MADV_COLLAPSE %lu of %lu)", seconds, stores, eio,
		   collapsed, collapses);
}
