// SPDX-License-Identifier: GPL-2.0
/*
 * ro-thp-openw-truncate - with CONFIG_READ_ONLY_THP_FOR_FS, a writable open of a file
 * whose page cache holds a collapsed THP truncates the page cache, dirty pages of
 * other writers included.
 *
 * do_dentry_open() of a writable file reads filemap_nr_thps() and, when it is not
 * zero, takes invalidate_lock and truncate_inode_pages(mapping, 0).  Two writable
 * opens that both saw the THP do that twice: the first truncation drops the THP, its
 * opener writes (dirty, not yet written back), and the second truncation, which only
 * waited for invalidate_lock, throws that write away.  Nothing rechecks nr_thps under
 * the lock, and truncate_inode_pages() discards dirty data by design.
 *
 *   ro-thp-openw-truncate [--seconds N] [--writers N] DIR
 *
 * DIR on a filesystem without large folios where read-only collapse works (ext4,
 * btrfs on 6.12).  Each round: fsync and MADV_COLLAPSE of a read-only mapping until a
 * THP is built, then --writers threads (default 3) are released at once; each opens
 * the file O_WRONLY, writes one page of its own, closes it; then read() of every such
 * page must return what was written.  --writers 1 is the control: one writable open
 * at a time truncates only clean pages.
 */
#include <pthread.h>
#include "repro.h"

#define MAGIC		0x54504f52u	/* "ROPT" */

struct stamp {
	uint32_t magic, round, writer, pad;
};

static pthread_barrier_t go, done;
static uint32_t round_no;
static int stop;

static off_t page_of(long w)
{
	return (off_t)(w * 61 + 5) * PAGE;
}

static void *writer(void *arg)
{
	long w = (long)arg;
	char buf[PAGE];

	for (;;) {
		pthread_barrier_wait(&go);
		if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
			return NULL;
		memset(buf, 0, sizeof(buf));
		*(struct stamp *)buf = (struct stamp){ MAGIC, round_no, (uint32_t)w, 0 };
		int wfd = open(repro_path, O_WRONLY | O_CLOEXEC);

		if (wfd < 0 || pwrite(wfd, buf, PAGE, page_of(w)) != (ssize_t)PAGE)
			repro_fail("writable open and pwrite");
		close(wfd);
		pthread_barrier_wait(&done);
	}
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--writers N] DIR";
	double seconds = 60, writers = 3, t0;
	const struct repro_opt opts[] = { { "--writers", &writers, 1 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	unsigned long collapses = 0, thps = 0;
	pthread_t t;
	char *pmd;
	int fd;

	if (!dir)
		repro_usage(usage, "DIR is required (an ext4 directory)");
	if (writers > 64)
		repro_usage(usage, "--writers: 1 to 64");
	fd = repro_file(dir, 0);
	repro_fill(fd, PMD_SIZE, 0);
	fd = repro_reopen_rdonly(fd);
	pmd = repro_map(fd, PMD_SIZE, PROT_READ);
	repro_probe_collapse(pmd, dir);
	pthread_barrier_init(&go, NULL, (unsigned int)writers + 1);
	pthread_barrier_init(&done, NULL, (unsigned int)writers + 1);
	for (long w = 0; w < writers; w++)
		if (pthread_create(&t, NULL, writer, (void *)w))
			repro_fail("pthread_create");

	for (t0 = repro_now(); repro_now() < t0 + seconds;) {
		/* A THP in the page cache, i.e. nr_thps raised: what a writable open checks. */
		if (fsync(fd))
			repro_fail("fsync");
		collapses++;
		if (madvise(pmd, PMD_SIZE, MADV_COLLAPSE))
			continue;
		thps++;
		round_no++;
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		for (long w = 0; w < writers; w++) {
			struct stamp s;

			if (pread(fd, &s, sizeof(s), page_of(w)) != sizeof(s))
				repro_fail("read");
			if (s.magic == MAGIC && s.round == round_no && s.writer == w)
				continue;
			repro_exit(REPRO_FOUND, "after %.1f s, round %u: read() of the page at %#llx returned %s %u "
				   "after writer %ld's open(O_WRONLY), pwrite() of round %u and close(); %.0f writers "
				   "opened the file at once after MADV_COLLAPSE built a THP (%lu of %lu calls did)",
				   repro_now() - t0, round_no, (unsigned long long)page_of(w),
				   s.magic == MAGIC ? "round" : "never-written data, round", s.magic == MAGIC ? s.round : 0,
				   w, round_no, writers, thps, collapses);
		}
	}
	if (!thps)
		repro_exit(REPRO_CANNOT, "MADV_COLLAPSE built no THP in %lu calls in %.0f s", collapses, seconds);
	repro_exit(REPRO_NONE, "%lu rounds of %.0f concurrent writable opens after MADV_COLLAPSE built a THP "
		   "(%lu calls) in %.0f s: every write read back", thps, writers, collapses, seconds);
}
