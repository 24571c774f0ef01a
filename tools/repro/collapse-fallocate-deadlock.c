// SPDX-License-Identifier: GPL-2.0
/*
 * collapse-fallocate-deadlock - MADV_COLLAPSE of a file against fallocate(PUNCH_HOLE)
 * of single pages of it.
 *
 * collapse_file() locks the small folios of the PMD range one by one and keeps them
 * locked; at an index with no folio (a hole, or a page not resident) it calls
 * page_cache_sync_readahead(), which takes mapping->invalidate_lock shared.
 * fallocate(PUNCH_HOLE/ZERO_RANGE) on ext4 and xfs takes invalidate_lock exclusive
 * and then, in truncate_inode_pages_range(), the lock of every folio in its range.
 * A punch of a page that collapse has already locked, begun after collapse locked it
 * and before collapse reached the next hole, is an ABBA deadlock.  A writable fd is
 * all fallocate needs, and since the series that lets files open for write collapse
 * (7.2), MADV_COLLAPSE and fallocate may use the same file at once.
 *
 *   collapse-fallocate-deadlock [--seconds N] [--stall N] [--zero] [--reopen] DIR
 *
 * DIR must be on the filesystem to test (xfs, ext4).  The last page of the PMD is kept
 * referenced by a pipe (vmsplice), so every collapse walks the whole range and rolls
 * back instead of leaving a THP that the next punch would first have to split.  The
 * race runs in a child; the parent is the watchdog: when neither MADV_COLLAPSE nor
 * fallocate has returned for --stall seconds it reads the child's
 * /proc/PID/task/TID/stack (wchan where there is no stack) and names the two waits.
 * Stuck threads are left behind in D state: a deadlocked kernel cannot be cleaned up
 * from userspace; reboot it.
 *
 * --reopen opens the file for write only around each fallocate (READ_ONLY_THP_FOR_FS
 * kernels collapse only while no one holds it open for write).  --zero uses
 * FALLOC_FL_ZERO_RANGE instead of PUNCH_HOLE.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include "repro.h"

#define NPAGES		(PMD_SIZE / PAGE)

struct shared {
	unsigned long collapses, eagain, punches;
	int collapser_tid, puncher_tid, stop, err;
};

static struct shared *sh;
static char *pmd;
static int fd;
static double zero, reopen;

static void *collapser(void *arg)
{
	(void)arg;
	__atomic_store_n(&sh->collapser_tid, gettid(), __ATOMIC_RELAXED);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		if (madvise(pmd, PMD_SIZE, MADV_COLLAPSE) && errno == EAGAIN)
			__atomic_fetch_add(&sh->eagain, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->collapses, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Punches one page below the pinned last one; each punch is also the next hole. */
static void *puncher(void *arg)
{
	int mode = (zero ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE) | FALLOC_FL_KEEP_SIZE;
	unsigned int seed = 1;

	(void)arg;
	__atomic_store_n(&sh->puncher_tid, gettid(), __ATOMIC_RELAXED);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		off_t off = (off_t)(rand_r(&seed) % (NPAGES - 1)) * PAGE;
		int wfd = reopen ? open(repro_path, O_WRONLY | O_CLOEXEC) : fd;

		if (wfd < 0 || fallocate(wfd, mode, off, PAGE)) {
			__atomic_store_n(&sh->err, errno, __ATOMIC_RELAXED);
			break;
		}
		if (reopen)
			close(wfd);
		__atomic_fetch_add(&sh->punches, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void __attribute__((noreturn)) child(void)
{
	pthread_t c, p;

	if (pthread_create(&c, NULL, collapser, NULL) || pthread_create(&p, NULL, puncher, NULL))
		_exit(REPRO_CANNOT);
	pthread_join(p, NULL);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	pthread_join(c, NULL);
	_exit(0);
}

/* "wait_fn < key < key ..." from a task's stack; 1 when the stack could be read. */
static int describe(pid_t pid, int tid, char *out, size_t len, int *stuck)
{
	static const char *const keys[] = {
		"collapse_file", "page_cache_ra", "page_cache_sync_ra", "filemap_invalidate_lock",
		"truncate_inode_pages_range", "truncate_pagecache", "fallocate", "punch", "zero_range",
		"flush_unmap", "free_file_space", "do_dentry_open",
	};
	char path[64], line[256], state = '?';
	size_t n = 0;
	int have_wait = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(line, sizeof(line), f) && strrchr(line, ')'))
			state = strrchr(line, ')')[2];
		fclose(f);
	}
	*stuck = state == 'D';
	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", (int)pid, tid);
	if ((f = fopen(path, "r"))) {
		while (n < len && fgets(line, sizeof(line), f)) {
			char *fn = strstr(line, "] "), *plus;

			fprintf(stderr, "  %d %s", tid, line);	/* the whole stack, for the report */

			if (!fn)
				continue;
			fn += 2;
			if ((plus = strchr(fn, '+')))
				*plus = 0;
			if (!have_wait && (strstr(fn, "schedule") == fn || strstr(fn, "__schedule") == fn ||
					   strstr(fn, "io_schedule") == fn))
				continue;
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				if (!have_wait || strstr(fn, keys[k])) {
					n += snprintf(out + n, len - n, "%s%s", have_wait ? " < " : "", fn);
					have_wait = 1;
					break;
				}
		}
		fclose(f);
	}
	if (have_wait)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(line, sizeof(line), f))
			snprintf(out, len, "%s (wchan; no stack)", line);
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--stall N] [--zero] [--reopen] DIR";
	double seconds = 60, stall = 10, t0, last, end;
	const struct repro_opt opts[] = {
		{ "--stall", &stall, 1 }, { "--zero", &zero, 0 }, { "--reopen", &reopen, 0 }, { 0 },
	};
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	unsigned long seen = ~0UL;
	char c[512], p[512];
	struct statfs sfs;
	int pipefd[2], cs, ps, status;
	pid_t pid;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs or ext4 directory)");
	if (statfs(dir, &sfs))
		repro_fail(dir);
	if (sfs.f_type == TMPFS_MAGIC)
		repro_exit(REPRO_CANNOT, "%s is tmpfs: shmem collapse reads no holes ahead", dir);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		repro_fail("mmap");
	fd = repro_file(dir, 0);
	repro_fill(fd, PMD_SIZE, 0x5a);
	if (reopen)
		fd = repro_reopen_rdonly(fd);
	pmd = repro_map(fd, PMD_SIZE, PROT_READ);
	repro_probe_collapse(pmd, dir);
	if (pipe(pipefd) ||
	    vmsplice(pipefd[1], &(struct iovec){ pmd + PMD_SIZE - PAGE, PAGE }, 1, 0) != (ssize_t)PAGE)
		repro_fail("vmsplice of the last page");

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		repro_fail("fork");
	if (!pid)
		child();

	for (t0 = last = repro_now(), end = t0 + seconds;; usleep(200000)) {
		unsigned long now_seen = __atomic_load_n(&sh->collapses, __ATOMIC_RELAXED) +
					 __atomic_load_n(&sh->punches, __ATOMIC_RELAXED);

		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (sh->err)
				repro_exit(REPRO_CANNOT, "fallocate(%s) of %s: %s", zero ? "ZERO_RANGE" : "PUNCH_HOLE",
					   dir, strerror(sh->err));
			repro_exit(REPRO_NONE, "%lu MADV_COLLAPSE calls (%lu EAGAIN), %lu fallocate(%s) of "
				   "single pages in %.0f s, no stall", sh->collapses, sh->eagain, sh->punches,
				   zero ? "ZERO_RANGE" : "PUNCH_HOLE", repro_now() - t0);
		}
		if (now_seen != seen) {
			seen = now_seen;
			last = repro_now();
		}
		if (repro_now() >= end)
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
		if (repro_now() - last >= stall)
			break;
	}

	/*
	 * Nothing returned for --stall seconds: who waits where?  The file stays: its
	 * unlink would wait for the inode lock that fallocate holds.
	 */
	fprintf(stderr, "%s: the file %s stays\n", repro_name, repro_path);
	repro_path[0] = 0;
	int have_c = describe(pid, sh->collapser_tid, c, sizeof(c), &cs);
	int have_p = describe(pid, sh->puncher_tid, p, sizeof(p), &ps);
	int chain = have_c && have_p ? strstr(c, "collapse_file") && strstr(c, "page_cache_") &&
					strstr(p, "truncate_inode_pages_range")
				     : strstr(c, "rwsem") && strstr(p, "folio");

	/* /proc/PID/stack leaves out __sched functions: down_read() and its slowpath. */
	repro_exit(REPRO_FOUND, "%s after %.1f s (%lu MADV_COLLAPSE calls, %lu fallocate(%s)): nothing returned "
		   "for %.0f s; MADV_COLLAPSE (tid %d, %s) waits in %s%s; fallocate (tid %d, %s) waits in %s%s; "
		   "the threads are left behind (pid %d): a deadlocked kernel cannot be cleaned up from "
		   "userspace, reboot it", chain ? "deadlock" : "stall, not the known chain,",
		   last - t0, sh->collapses, sh->punches, zero ? "ZERO_RANGE" : "PUNCH_HOLE", stall,
		   sh->collapser_tid, cs ? "D" : "not D", c,
		   chain ? " (for invalidate_lock shared, holding the folios it locked)" : "",
		   sh->puncher_tid, ps ? "D" : "not D", p,
		   chain ? " (for a folio lock, holding invalidate_lock exclusive)" : "", (int)pid);
}
