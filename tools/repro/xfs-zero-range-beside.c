// SPDX-License-Identifier: GPL-2.0
/*
 * xfs-zero-range-beside - does fallocate(ZERO_RANGE) of part of a page make a
 * concurrent reader see zeros in another part of it?
 *
 * The suite saw it on xfs (Linux 6.18, large folios) in collapse_holes: a reader of
 * the mapping found zeros in blocks nobody wrote, beside a sub-page ZERO_RANGE of
 * another thread, and the file read back intact afterwards.  This is the same without
 * the engine: a file of 0xab bytes; one thread zeroes 512 bytes in the middle of a
 * page and writes them back; one dirties the last quarter of pages through a shared
 * mapping; the main thread checks the first half of pages, which only ever hold 0xab.
 * No collapse: MADV_COLLAPSE of xfs files fails on 6.18.
 *
 *   xfs-zero-range-beside [--seconds N] [--read] DIR
 *
 * --read checks through read() instead of the mapping.
 */
#include <pthread.h>
#include "repro.h"

#define FILE_SIZE	(8 << 20)
#define FILL		0xab
#define NPAGES		(FILE_SIZE / PAGE)

static int fd, stop;
static char *map;

static int stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

/* Zeroes [page + 2048, +512) and puts the bytes back, page after page. */
static void *zeroer(void *arg)
{
	char buf[512];

	(void)arg;
	memset(buf, FILL, sizeof(buf));
	for (long i = 0; !stopped(); i++) {
		off_t page = (off_t)(i * 7919 % NPAGES) * PAGE;

		if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, page + 2048, 512) ||
		    pwrite(fd, buf, sizeof(buf), page + 2048) != sizeof(buf))
			repro_fail("fallocate(ZERO_RANGE) of 512 bytes, or pwrite");
	}
	return NULL;
}

/* Dirties [page + 3072, +1024) through the mapping, with what is already there. */
static void *storer(void *arg)
{
	(void)arg;
	for (long i = 0; !stopped(); i++) {
		memset(map + (size_t)(i * 15485863L % NPAGES) * PAGE + 3072, FILL, 1024);
		if (i % 64 == 0)
			usleep(100);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--read] DIR";
	double seconds = 60, use_read = 0, t0;
	const struct repro_opt opts[] = { { "--read", &use_read, 0 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	const char *via = use_read ? "read()" : "the mapping";
	unsigned long checks = 0;
	pthread_t zt, st;
	char *buf;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs directory)");
	buf = malloc(FILE_SIZE);
	if (!buf)
		repro_fail("malloc");
	fd = repro_file(dir, 0);
	memset(buf, FILL, FILE_SIZE);
	if (pwrite(fd, buf, FILE_SIZE, 0) != FILE_SIZE || fsync(fd))
		repro_fail("filling the file");
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 2048, 512))
		repro_exit(REPRO_CANNOT, "fallocate(ZERO_RANGE) on %s: %s", dir, strerror(errno));
	if (pwrite(fd, buf, 512, 2048) != 512)
		repro_fail("pwrite");
	map = repro_map(fd, FILE_SIZE, PROT_READ | PROT_WRITE);
	if (pthread_create(&zt, NULL, zeroer, NULL) || pthread_create(&st, NULL, storer, NULL))
		repro_fail("pthread_create");
	for (t0 = repro_now(); repro_now() < t0 + seconds; checks++) {
		off_t page = (off_t)(checks * 104729 % NPAGES) * PAGE;
		const char *p = map + page;

		if (use_read && pread(fd, buf, 2048, page) == 2048)
			p = buf;
		for (int j = 0; j < 2048; j++)
			if (p[j] != (char)FILL)
				repro_exit(REPRO_FOUND, "after %.1f s, %s saw %#x at offset %#llx, %d bytes before a "
					   "ZERO_RANGE of 512 bytes in the same page (check %lu)", repro_now() - t0, via,
					   (unsigned char)p[j], (unsigned long long)page + j, 2048 - j, checks);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(zt, NULL);
	pthread_join(st, NULL);
	repro_exit(REPRO_NONE, "%lu checks in %.0f s through %s: every byte as written", checks, seconds, via);
}
