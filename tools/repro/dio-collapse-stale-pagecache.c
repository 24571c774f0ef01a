// SPDX-License-Identifier: GPL-2.0
/*
 * dio-collapse-stale-pagecache - an O_DIRECT write that ran with a MADV_COLLAPSE of
 * its PMD leaves the page cache holding the data from before the write, and the
 * kernel reports success.
 *
 * An O_DIRECT write invalidates the page cache of its range before the I/O and again
 * after it (kiocb_invalidate_post_direct_write()), to drop what a read brought in
 * while the write was in flight; a folio it cannot drop earns the "Page cache
 * invalidation failure on direct I/O" warning and EIO from the next fsync().
 * collapse_file() reads a page missing from the PMD in itself
 * (page_cache_sync_readahead()), and that read may reach the disk before the write.
 * It then holds the new small folio locked while it copies the PMD into the THP.  The
 * second invalidation's invalidate_inode_pages2_range() sleeps on that lock, wakes to
 * find the folio gone from the mapping, skips the index and returns 0: the THP that
 * replaced the folio, with the old data, stays.
 *
 *   dio-collapse-stale-pagecache [--seconds N] DIR
 *
 * DIR on xfs or ext4, on a kernel that collapses files open for write.  One PMD of a
 * file, 512 small clean folios again at the start of every round (4 KiB writes,
 * fsync).  One thread calls MADV_COLLAPSE on the PMD; another writes its last block,
 * the one collapse_file() reaches last, with O_DIRECT, started after a delay swept
 * over the first half of a collapse: its first invalidation must drop the block
 * before collapse_file() gets there and reads it back.  Then read() of the block must
 * return the write.
 */
#include <pthread.h>
#include "repro.h"

#define NPAGES		(PMD_SIZE / PAGE)
#define BLK		((NPAGES - 1) * PAGE)
#define MAGIC		0x43444f52u	/* "RODC" */

enum { BEFORE = 1, DIRECT = 2 };

struct stamp {
	uint32_t magic, round, version, pad;
};

static pthread_barrier_t go, done;
static char *pmd, *buf;
static int fd, dfd, collapse_err, write_err;
static double delay, c0, c1, w0, w1;

static void *collapser(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&go);
		c0 = repro_now();
		collapse_err = madvise(pmd, PMD_SIZE, MADV_COLLAPSE) ? errno : 0;
		c1 = repro_now();
		pthread_barrier_wait(&done);
	}
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_barrier_wait(&go);
		/* spin: waking from a sleep takes as long as the delays swept here */
		for (double t = repro_now() + delay; repro_now() < t;)
			;
		w0 = repro_now();
		write_err = pwrite(dfd, buf, PAGE, BLK) == (ssize_t)PAGE ? 0 : errno;
		w1 = repro_now();
		pthread_barrier_wait(&done);
	}
	return NULL;
}

/*
 * 512 small clean folios holding BEFORE of this round.  The THP of the last round
 * goes first, or the writes would land in it; where eviction cannot drop it (tmpfs:
 * the page cache is the storage) it is punched out.
 */
static unsigned long small_folios(uint32_t round)
{
	struct stamp s = { MAGIC, round, BEFORE, 0 };
	unsigned char vec;
	char page[PAGE];

	if (madvise(pmd, PMD_SIZE, MADV_DONTNEED) || posix_fadvise(fd, 0, PMD_SIZE, POSIX_FADV_DONTNEED))
		repro_fail("dropping the page cache");
	if (!mincore(pmd, PAGE, &vec) && (vec & 1) &&
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PMD_SIZE))
		repro_fail("punching the THP out");
	memset(page, 0, sizeof(page));
	memcpy(page, &s, sizeof(s));
	for (off_t off = 0; off < (off_t)PMD_SIZE; off += PAGE)
		if (pwrite(fd, page, PAGE, off) != (ssize_t)PAGE)
			repro_fail("writing the PMD");
	/* EIO: an earlier round's write warned that it could not invalidate */
	if (!fsync(fd))
		return 0;
	if (errno != EIO)
		repro_fail("fsync");
	return 1;
}

static const char *what(const struct stamp *s, char *str)
{
	if (s->magic != MAGIC || (s->version != BEFORE && s->version != DIRECT))
		return "neither";
	sprintf(str, "round %u %s", s->round, s->version == BEFORE ? "from before the write" : "of the write");
	return str;
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] DIR";
	double seconds = 60, span, t0, r0;
	const char *dir = repro_args(argc, argv, &seconds, NULL, usage);
	unsigned long ok = 0, eagain = 0, other = 0, eio = 0;
	char a[64], b[64], c[64];
	struct stamp seen, *disk;
	pthread_t t;
	uint32_t round;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs or ext4 directory)");
	fd = repro_file(dir, 0);
	dfd = repro_open_direct(dir);
	if (posix_memalign((void **)&buf, PAGE, PAGE) || posix_memalign((void **)&disk, PAGE, PAGE))
		repro_fail("posix_memalign");
	pmd = repro_map(fd, PMD_SIZE, PROT_READ | PROT_WRITE);
	small_folios(0);
	span = repro_now();
	repro_probe_collapse(pmd, dir);
	span = repro_now() - span;
	pthread_barrier_init(&go, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	if (pthread_create(&t, NULL, collapser, NULL) || pthread_create(&t, NULL, writer, NULL))
		repro_fail("pthread_create");

	t0 = repro_now();
	for (round = 1; repro_now() < t0 + seconds; round++) {
		eio += small_folios(round);
		*(struct stamp *)buf = (struct stamp){ MAGIC, round, DIRECT, 0 };
		/* from 0 to half a collapse, in 32 steps visited out of order */
		delay = span / 2 * (round * 13 % 32) / 32;
		r0 = repro_now();
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		if (write_err)
			repro_exit(REPRO_CANNOT, "O_DIRECT write of 4 KiB on %s: %s", dir, strerror(write_err));
		if (!collapse_err) {
			ok++;
			span = (7 * span + c1 - c0) / 8;
		}
		eagain += collapse_err == EAGAIN;
		other += collapse_err && collapse_err != EAGAIN;

		if (pread(fd, &seen, sizeof(seen), BLK) != sizeof(seen))
			repro_fail("read");
		if (seen.magic == MAGIC && seen.round == round && seen.version == DIRECT)
			continue;
		if (pread(dfd, disk, PAGE, BLK) != (ssize_t)PAGE)
			repro_fail("O_DIRECT read");
		repro_exit(REPRO_FOUND, "after %.1f s, round %u: read() of the block at %#lx returned %s (the mapping: "
			   "%s) after an O_DIRECT write of it ran at %.2f-%.2f ms and wrote 4096 bytes, while "
			   "MADV_COLLAPSE of its PMD ran at %.2f-%.2f ms and returned %s; an O_DIRECT read returns "
			   "%s; fsync() now: %s; %lu of %u collapses succeeded", repro_now() - t0, round, BLK, what(&seen, a),
			   what((struct stamp *)(pmd + BLK), b), (w0 - r0) * 1e3, (w1 - r0) * 1e3, (c0 - r0) * 1e3,
			   (c1 - r0) * 1e3, collapse_err ? strerror(collapse_err) : "0", what(disk, c),
			   fsync(fd) ? strerror(errno) : "0", ok, round);
	}
	if (!ok)
		repro_exit(REPRO_CANNOT, "no MADV_COLLAPSE succeeded in %u rounds (EAGAIN %lu, other errors %lu)",
			   round - 1, eagain, other);
	repro_exit(REPRO_NONE, "%u rounds in %.0f s: read() returned every O_DIRECT write; MADV_COLLAPSE "
		   "succeeded %lu times, EAGAIN %lu, other errors %lu; fsync EIO after %lu rounds", round - 1,
		   seconds, ok, eagain, other, eio);
}
