// SPDX-License-Identifier: GPL-2.0
/*
 * zero-range-beside - does fallocate(ZERO_RANGE) of part of a page make a concurrent
 * reader see zeros in another part of it?
 *
 * The suite saw it on xfs (Linux 6.18, large folios) in collapse_holes: a reader of
 * the mapping found zeros in blocks nobody wrote, beside a sub-page ZERO_RANGE of
 * another thread, and the file read back intact afterwards.  This is the same without
 * the engine: a file of 0xab bytes; one thread zeroes 512 bytes in the middle of a
 * page and writes them back; one dirties the last quarter of pages through a shared
 * mapping; the main thread checks the first half of pages, which only ever hold 0xab.
 *
 *   zero-range-beside [--read] [--seconds N] FILE
 *
 * FILE is created (8 MiB) and removed.  Exit 1 when a reader saw a byte that is not
 * 0xab (the first one is printed), 0 when none was seen in N seconds (default 60),
 * 2 on bad input or a failed system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE	(8 << 20)
#define PAGE		4096
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
		    pwrite(fd, buf, sizeof(buf), page + 2048) != sizeof(buf)) {
			perror("zero-range-beside: fallocate(ZERO_RANGE)/pwrite");
			exit(2);
		}
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int use_read = 0, ret = 0;
	double seconds = 60, end;
	unsigned long checks = 0;
	pthread_t zt, st;
	char *buf;

	for (; argc > 2; argc--, argv++) {
		if (!strcmp(argv[1], "--read")) {
			use_read = 1;
		} else if (!strcmp(argv[1], "--seconds") && argc > 3 && atof(argv[2]) > 0) {
			seconds = atof(argv[2]);
			argc--, argv++;
		} else {
			break;
		}
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: zero-range-beside [--read] [--seconds N] FILE\n");
		return 2;
	}
	buf = malloc(FILE_SIZE);
	fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!buf || fd < 0) {
		fprintf(stderr, "zero-range-beside: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	memset(buf, FILL, FILE_SIZE);
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pwrite(fd, buf, FILE_SIZE, 0) != FILE_SIZE || fsync(fd) || map == MAP_FAILED) {
		perror("zero-range-beside: filling the file");
		ret = 2;
		goto out;
	}
	pthread_create(&zt, NULL, zeroer, NULL);
	pthread_create(&st, NULL, storer, NULL);
	for (end = now() + seconds; !ret && now() < end; checks++) {
		off_t page = (off_t)(checks * 104729 % NPAGES) * PAGE;
		const char *p = map + page;

		if (use_read && pread(fd, buf, 2048, page) == 2048)
			p = buf;
		for (int j = 0; j < 2048; j++)
			if (p[j] != (char)FILL) {
				printf("%s saw %#x at offset %#llx, %d bytes before a ZERO_RANGE of 512 "
				       "bytes in the same page, after %lu checks\n", use_read ? "read()" : "the mapping",
				       (unsigned char)p[j], (unsigned long long)page + j, 2048 - j, checks);
				ret = 1;
				break;
			}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(zt, NULL);
	pthread_join(st, NULL);
	if (!ret)
		printf("%lu checks in %g s through %s: every byte as written\n", checks, seconds,
		       use_read ? "read()" : "the mapping");
out:
	munmap(map, FILE_SIZE);
	close(fd);
	unlink(argv[1]);
	free(buf);
	return ret;
}
