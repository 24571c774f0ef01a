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
 *   xfs-zero-range-beside [--seconds N] [--epoch N] [--read] DIR
 *
 * A new file every --epoch seconds (default 2).  --read checks through read()
 * instead of the mapping.
 */
#include <pthread.h>
#include "repro.h"

#define FILE_SIZE	(8 << 20)
#define FILL		0xab
#define NPAGES		(FILE_SIZE / PAGE)

static int fd, stop, files;
static unsigned long checks;
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

/*
 * One epoch on a new file: its page cache starts as the large folios the 8 MiB write
 * made.  ZERO_RANGE splits them as it goes, and zeros beside it were only ever seen in
 * the first seconds of a file, so a long run is a series of short ones.
 */
static void epoch(const char *dir, char *buf, double until, double t0, int use_read)
{
	const char *via = use_read ? "read()" : "the mapping";
	pthread_t zt, st;

	fd = repro_file(dir, 0);
	memset(buf, FILL, FILE_SIZE);
	if (pwrite(fd, buf, FILE_SIZE, 0) != FILE_SIZE || fsync(fd))
		repro_fail("filling the file");
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 2048, 512))
		repro_exit(REPRO_CANNOT, "fallocate(ZERO_RANGE) on %s: %s", dir, strerror(errno));
	if (pwrite(fd, buf, 512, 2048) != 512)
		repro_fail("pwrite");
	map = repro_map(fd, FILE_SIZE, PROT_READ | PROT_WRITE);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	if (pthread_create(&zt, NULL, zeroer, NULL) || pthread_create(&st, NULL, storer, NULL))
		repro_fail("pthread_create");
	while (repro_now() < until) {
		off_t page = (off_t)(checks * 104729 % NPAGES) * PAGE;
		const char *p = map + page;

		checks++;
		if (use_read && pread(fd, buf, 2048, page) == 2048)
			p = buf;
		for (int j = 0; j < 2048; j++)
			if (p[j] != (char)FILL)
				repro_exit(REPRO_FOUND, "after %.1f s (file %d), %s saw %#x at offset %#llx, %d bytes "
					   "before a ZERO_RANGE of 512 bytes in the same page (check %lu)",
					   repro_now() - t0, files + 1, via, (unsigned char)p[j],
					   (unsigned long long)page + j, 2048 - j, checks);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(zt, NULL);
	pthread_join(st, NULL);
	munmap(map, FILE_SIZE);
	close(fd);
	unlink(repro_path);
	repro_path[0] = 0;
	files++;
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--epoch N] [--read] DIR";
	double seconds = 60, epoch_s = 2, use_read = 0, t0;
	const struct repro_opt opts[] = { { "--read", &use_read, 0 }, { "--epoch", &epoch_s, 1 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	char *buf;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs directory)");
	buf = malloc(FILE_SIZE);
	if (!buf)
		repro_fail("malloc");
	for (t0 = repro_now(); repro_now() < t0 + seconds;) {
		double until = repro_now() + epoch_s;

		epoch(dir, buf, until < t0 + seconds ? until : t0 + seconds, t0, use_read);
	}
	repro_exit(REPRO_NONE, "%lu checks of %d files in %.0f s through %s: every byte as written", checks,
		   files, seconds, use_read ? "read()" : "the mapping");
}
