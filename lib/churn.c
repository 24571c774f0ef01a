// SPDX-License-Identifier: GPL-2.0
/*
 * Churn roles: what else happens to page cache while it is collapsed.  Each is one
 * short operation on its own fd or on the shared mapping; the registry at the end is
 * what a scenario's .churn mix names.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "churn.h"
#include "control.h"
#include "role.h"

/* A random PMD-sized range, where collapse happens. */
static uint64_t churn_pmd(struct ftr_role *r)
{
	uint64_t off = ftr_rng_below(&r->rng, r->arena->npmds) * r->arena->pmd;

	ftr_churn_range(r, off, r->arena->pmd);
	return off;
}

/* Writeback: folios go dirty -> writeback -> clean under the collapser, whose
 * dirty/writeback checks (and MADV_COLLAPSE's write-back-and-retry) they race. */
static int op_fsync(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns();

	return ftr_op_done(r, FTR_OP_SYNC, t0, 0, r->arena->size, fsync(p->fd) ? errno : 0, 500);
}

static int op_fdatasync(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns();

	return ftr_op_done(r, FTR_OP_SYNC, t0, 0, r->arena->size, fdatasync(p->fd) ? errno : 0, 500);
}

static int do_msync(struct ftr_role *r, int flags)
{
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);

	return ftr_op_done(r, FTR_OP_SYNC, t0, off, r->arena->pmd,
			  msync(r->arena->map + off, r->arena->pmd, flags) ? errno : 0, 500);
}

static int op_msync(struct ftr_role *r) { return do_msync(r, MS_SYNC); }
static int op_msync_async(struct ftr_role *r) { return do_msync(r, MS_ASYNC); }

static int op_sync_range(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);
	unsigned flags = SYNC_FILE_RANGE_WRITE;

	/* Sometimes only start writeback, so collapse meets folios under writeback. */
	if (ftr_rng_below(&r->rng, 2))
		flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
	return ftr_op_done(r, FTR_OP_SYNC, t0, off, r->arena->pmd,
			  sync_file_range(p->fd, off, r->arena->pmd, flags) ? errno : 0, 500);
}

/* Page-cache walkers that return no data: their answers must still agree with what
 * was written.  SEEK_HOLE may only find a hole where a punch, zero-range or truncate
 * could have made one meanwhile. */
static int op_seek(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t snap[64], t0 = ftr_now_ns(), off = ftr_rng_below(&r->rng, a->nblocks) * (uint64_t)FTR_BLOCK;
	off_t hole, data;
	uint32_t pmd;

	for (pmd = 0; pmd < a->npmds && pmd < 64; pmd++)
		snap[pmd] = ftr_seqc_read(&a->pmds[pmd].split);
	hole = lseek(p->fd, off, SEEK_HOLE);
	data = lseek(p->fd, off, SEEK_DATA);
	if (hole < 0 || data < 0)
		return ftr_op_done(r, FTR_OP_READ, t0, off, 0, errno, 500);
	if ((uint64_t)hole < a->size && (pmd = hole / a->pmd) < 64 &&
	    ftr_seqc_same(&a->pmds[pmd].split, snap[pmd]))
		ftr_contract_fail(r, "SEEK_HOLE from %#llx found a hole at %#llx, inside data nothing punched",
				  (unsigned long long)off, (unsigned long long)hole);
	if ((uint64_t)data != off && (pmd = off / a->pmd) < 64 &&
	    ftr_seqc_same(&a->pmds[pmd].split, snap[pmd]))
		ftr_contract_fail(r, "SEEK_DATA from %#llx answered %#llx: written data reported as a hole",
				  (unsigned long long)off, (unsigned long long)data);
	return ftr_op_done(r, FTR_OP_READ, t0, off, 0, 0, 500);
}

static int op_mincore(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);
	unsigned char vec[4096];
	size_t pages = a->pmd / a->psz < sizeof(vec) ? a->pmd / a->psz : sizeof(vec);

	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd,
			  mincore(a->map + off, pages * a->psz, vec) ? errno : 0, 500);
}

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cachestat_range { uint64_t off, len; };
struct cachestat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

static int op_cachestat(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);
	/* Splits proper: O_DIRECT and compaction raise split too, and prove nothing here. */
	struct ftr_seqc *split = &a->pmds[off / a->pmd].resplit;
	uint64_t split0 = ftr_seqc_read(split);
	struct cachestat_range range = { off, a->pmd };
	struct cachestat cs;

	if (syscall(__NR_cachestat, p->fd, &range, &cs, 0)) {
		if (errno == ENOSYS)
			ftr_pause_us(r, 10000);	/* this kernel has no cachestat */
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, errno, 500);
	}
	/* The syscall walks the xarray locklessly and may pause: a range collapsed (or
	 * split) in the middle of the walk is counted as small folios and then again as
	 * the large one.  That is the known issue only where that range's folios were
	 * replaced during the call, and only as a count of too many: more dirty pages
	 * than cached ones is no double count. */
	if (cs.nr_cache + cs.nr_evicted > a->pmd / a->psz || cs.nr_dirty > cs.nr_cache) {
		char what[160];

		snprintf(what, sizeof(what), "cachestat of %#llx+%#zx: cache %llu dirty %llu evicted %llu pages of %zu",
			 (unsigned long long)off, a->pmd, (unsigned long long)cs.nr_cache,
			 (unsigned long long)cs.nr_dirty, (unsigned long long)cs.nr_evicted, a->pmd / a->psz);
		if (cs.nr_dirty <= cs.nr_cache && (!ftr_seqc_same(r->cs, r->cs_snap) || !ftr_seqc_same(split, split0)))
			ftr_contract_known(r, FTR_KI_CACHESTAT, "%s, while a collapse or split of the range ran", what);
		else
			ftr_contract_fail(r, "%s, and no collapse or split of the range ran", what);
	}
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, 0, 500);
}

/* Splits and reclaim of the ranges being collapsed. */
static int do_madvise(struct ftr_role *r, int advice, bool may_split)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);
	struct ftr_seqc *split = &a->pmds[off / a->pmd].split;
	int err;

	if (may_split)
		ftr_seqc_begin(split);
	err = madvise(a->map + off, a->pmd, advice) ? errno : 0;
	if (may_split)
		ftr_seqc_end(split);
	return ftr_op_done(r, may_split ? FTR_OP_PAGEOUT : FTR_OP_READ, t0, off, a->pmd, err, 500);
}

static int op_pageout(struct ftr_role *r) { return do_madvise(r, MADV_PAGEOUT, true); }
static int op_cold(struct ftr_role *r) { return do_madvise(r, MADV_COLD, false); }

/*
 * Writes compact_memory from a child process, killed after limit_ns.  Under TCG on a
 * debug kernel one whole-machine compaction (MIGRATE_SYNC: it waits for every locked
 * folio and every writeback) ran for over 120 s, the roles behind its folio locks
 * with it, and the verdict was a HANG of compaction's pace, not a deadlock.  A fatal
 * signal ends compaction between folios (compact_node()); one that does not is still
 * a HANG.  0, the write's errno, or ETIMEDOUT when cut short.
 */
static int compact_bounded(uint64_t limit_ns)
{
	uint64_t t0 = ftr_now_ns();
	sigset_t all, old;
	int status, err;
	pid_t pid;

	/* The child must not run the test's handlers (they restore knobs, clean up). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (!pid) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		int fd;

		for (int s = 1; s < NSIG; s++)
			sigaction(s, &dfl, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
		_exit(fd < 0 || write(fd, "1", 1) != 1 ? errno : 0);
	}
	err = pid < 0 ? errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return err;
	while (!waitpid(pid, &status, WNOHANG)) {
		if (ftr_now_ns() - t0 > limit_ns) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return ETIMEDOUT;
		}
		usleep(2000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

/* Compaction migrates folios under the collapser; a migration that fails may split.
 * Cut short after 2 s (times --timeout-mul): the op counts say how often. */
static int op_compact(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns();
	int err;

	for (uint32_t i = 0; i < a->npmds; i++)
		ftr_seqc_begin(&a->pmds[i].split);
	err = compact_bounded((uint64_t)(2e9 * a->env->opts->timeout_mul));
	for (uint32_t i = 0; i < a->npmds; i++)
		ftr_seqc_end(&a->pmds[i].split);
	ftr_pause_us(r, 20000);	/* a whole-machine operation: not too often */
	return ftr_op_done(r, FTR_OP_PAGEOUT, t0, 0, a->size, err, 500);
}

const struct ftr_role_ops ftr_churn_fsync = { .name = "fsync", .op = op_fsync };
const struct ftr_role_ops ftr_churn_fdatasync = { .name = "fdatasync", .op = op_fdatasync };
const struct ftr_role_ops ftr_churn_msync = { .name = "msync", .op = op_msync };
const struct ftr_role_ops ftr_churn_msync_async = { .name = "msync-async", .op = op_msync_async };
const struct ftr_role_ops ftr_churn_sync_range = { .name = "sync-range", .op = op_sync_range };
const struct ftr_role_ops ftr_churn_seek = { .name = "seek", .op = op_seek };
const struct ftr_role_ops ftr_churn_mincore = { .name = "mincore", .op = op_mincore };
const struct ftr_role_ops ftr_churn_cachestat = { .name = "cachestat", .op = op_cachestat };
const struct ftr_role_ops ftr_churn_pageout = { .name = "pageout", .op = op_pageout };
const struct ftr_role_ops ftr_churn_cold = { .name = "cold", .op = op_cold };
const struct ftr_role_ops ftr_churn_compact = { .name = "compact", .op = op_compact };
