// SPDX-License-Identifier: GPL-2.0
/*
 * The platform's first proof: a file on the filesystem under test, collapsed with
 * MADV_COLLAPSE through a read-only and through a writable shared mapping, must keep
 * every byte and be PMD-mapped (smaps) by PMD-order folios (kpageflags).  No races:
 * if this fails, nothing else in the suite can be trusted on this kernel.
 *
 * Nothing else touches these ranges, so EAGAIN ("try again") is retried with backoff
 * for a few seconds; a kernel that never collapses a quiescent range fails here, with
 * the outcome its trace gave, instead of skipping.  Only EINVAL (this filesystem's
 * page cache cannot collapse here) is a skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mapping.h"
#include "oracle.h"
#include "test.h"
#include "thp.h"
#include "trace.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PMDS 2
#define RETRY_S 3	/* how long EAGAIN is retried, times --timeout-mul */

/* The last collapse_file or scan_file outcome this thread's calls left in the trace. */
static void last_outcome(const struct ftr_trace_ev *ev, const char *line, void *arg)
{
	(void)line;
	if (ev->tid == gettid())
		snprintf(arg, 64, "%s%s", ev->ev == 's' ? "scan_file " : "", ev->result);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * MADV_COLLAPSE of one PMD, EAGAIN retried: the range written back (dirty folios and
 * writeback are EAGAIN), then a sleep that doubles up to 100 ms, in which the folios
 * this thread faulted in leave the per-CPU LRU batches that hold references to them.
 * Returns 0 or the last errno; the calls made and the kernel's last outcome in how.
 */
static int collapse_retry(struct ftr_env *env, int fd, char *p, size_t pmd, int *calls,
			  char *how, size_t len)
{
	double end = now_s() + RETRY_S * env->opts->timeout_mul;
	struct timespec ts = { 0, 1000 * 1000 };
	int ret;

	snprintf(how, len, "no event in the trace%s", ftr_trace_active() ? "" : " (tracefs not usable)");
	for (*calls = 1;; ++*calls) {
		ret = madvise(p, pmd, MADV_COLLAPSE) ? errno : 0;
		if (env->opts->inject == FTR_INJECT_EAGAIN)
			ret = EAGAIN;
		ftr_trace_drain(last_outcome, how);
		if (ret != EAGAIN || now_s() > end)
			return ret;
		fdatasync(fd);
		nanosleep(&ts, NULL);
		if (ts.tv_nsec < 100 * 1000 * 1000)
			ts.tv_nsec *= 2;
	}
}

static void one(struct ftr_env *env, bool writable)
{
	const struct ftr_cap *cap = writable ? &env->caps.collapse_rw : &env->caps.collapse_ro;
	const char *name = writable ? "collapse-rw" : "collapse-ro";
	size_t pmd = ftr_pmd_size(), size = PMDS * pmd;
	uint64_t *shm = calloc(1, ftr_oracle_mem(size / FTR_BLOCK));
	struct ftr_oracle o;
	struct ftr_bad bad;
	struct ftr_smaps sm;
	char path[4096], *buf = malloc(size), *map;
	unsigned long pmd_kb;
	int fd, order;

	/* The probe tried briefly; only "cannot collapse here" is a reason to skip. */
	if (!cap->ok && cap->err == EINVAL) {
		ftr_ktap_result(FTR_SKIP, name, "%s", cap->why);
		goto out;
	}
	if (!cap->ok)
		ftr_diag("%s: the probe said: %s; retrying on a range of its own", name, cap->why);
	ftr_oracle_init(&o, shm, size / FTR_BLOCK, env->opts->seed, 1);
	ftr_oracle_begin_stamp(&o, buf, 0, size / FTR_BLOCK, FTR_P_INIT);
	ftr_oracle_commit(&o, 0, size / FTR_BLOCK);
	snprintf(path, sizeof(path), "%s/basic%d", env->dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, buf, size, 0) != (ssize_t)size || fsync(fd)) {
		ftr_ktap_result(FTR_FAIL, name, "writing %s: %s", path, strerror(errno));
		goto out_unlink;
	}
	/* A read-only collapse needs nobody to hold the file open for write. */
	if (!writable) {
		close(fd);
		fd = open(path, O_RDONLY);
	}
	map = ftr_mmap_aligned(size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd);
	if (map == MAP_FAILED) {
		ftr_ktap_result(FTR_FAIL, name, "mmap: %s", strerror(errno));
		goto out_close;
	}
	for (int p = 0; p < PMDS; p++) {
		char how[64];
		int calls, ret = collapse_retry(env, fd, map + p * pmd, pmd, &calls, how, sizeof(how));

		if (ret == EINVAL && !cap->ok) {
			ftr_ktap_result(FTR_SKIP, name, "MADV_COLLAPSE of PMD %d: %s", p, strerror(ret));
			goto out_unmap;
		}
		if (ret) {
			ftr_ktap_result(FTR_FAIL, name, "MADV_COLLAPSE of PMD %d of a range nothing else touches: "
					"%s after %d calls over %.0f s (the kernel's last outcome: %s)%s", p,
					strerror(ret), calls, RETRY_S * env->opts->timeout_mul, how,
					env->opts->inject == FTR_INJECT_EAGAIN ? " [--inject eagain]" : "");
			goto out_unmap;
		}
	}
	if (ftr_oracle_check(&o, map, 0, size / FTR_BLOCK, NULL, &bad, 1, NULL)) {
		ftr_ktap_result(FTR_FAIL, name, "block %u through the mapping: class %s", bad.block,
				ftr_class_name(bad.cls));
		goto out_unmap;
	}
	if (pread(fd, buf, size, 0) != (ssize_t)size ||
	    ftr_oracle_check(&o, buf, 0, size / FTR_BLOCK, NULL, &bad, 1, NULL)) {
		ftr_ktap_result(FTR_FAIL, name, "block %u through read(): class %s", bad.block,
				ftr_class_name(bad.cls));
		goto out_unmap;
	}
	ftr_smaps_read(0, (unsigned long)map, &sm);
	pmd_kb = env->caps.is_shmem ? sm.shmem_pmd_kb : sm.file_pmd_kb;
	order = ftr_folio_max_order(map, size);
	ftr_diag("%s: smaps %s %lu kB of %zu kB, largest folio order %d", name,
		 env->caps.is_shmem ? "ShmemPmdMapped" : "FilePmdMapped", pmd_kb, size >> 10, order);
	if (pmd_kb != size >> 10)
		ftr_ktap_result(FTR_FAIL, name, "MADV_COLLAPSE returned 0 for every PMD but smaps shows %lu kB PMD-mapped "
				"(a broken contract, not a reason to skip)", pmd_kb);
	else if (order != __builtin_ctzl(pmd / ftr_page_size()))
		ftr_ktap_result(FTR_FAIL, name, "PMD-mapped, but kpageflags shows largest folio order %d", order);
	else
		ftr_ktap_result(FTR_PASS, name, NULL);
out_unmap:
	munmap(map, size);
out_close:
	if (fd >= 0)
		close(fd);
out_unlink:
	unlink(path);
out:
	free(buf);
	free(shm);
}

static void run(struct ftr_env *env)
{
	/* collapse_retry() drains the trace itself, for its outcomes. */
	ftr_trace_background(false);
	one(env, false);
	one(env, true);
	ftr_trace_background(true);
}

FTR_TEST(
	.name = "collapse_basic",
	.desc = "MADV_COLLAPSE of a read-only and a writable shared file mapping keeps data, maps PMDs",
	.fs = "tmpfs,xfs,ext4,btrfs",
	.timeout = 60,
	.run = run,
	.nr_subtests = 2,
);
