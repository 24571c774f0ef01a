// SPDX-License-Identifier: GPL-2.0
/*
 * The THP contract per PMD uses sequence counters (struct ftr_seqc) instead of flags,
 * because a flag set after MADV_COLLAPSE returns can land after a split that the
 * kernel did later: the collapser snapshots split before its call and records
 * ok_split = snapshot + 1 only if no split overlapped the call; after quiescing,
 * ok_split == split.seq + 1 holds exactly when a collapse succeeded and no split began
 * since, whatever the interleaving.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contract.h"
#include "crash.h"
#include "engine.h"
#include "knob.h"
#include "ktap.h"
#include "replay.h"
#include "role.h"
#include "roster.h"
#include "thp.h"
#include "mapping.h"

#define SEG_PAGES	8
#define LOG_CAP		4096
/* The errno check after each epoch (verify.c) needs every call of the epoch: see
 * collapser_log_half_full(). */
#define LOG_CAP_COLLAPSER (1 << 15)
#define LOG_CAP_RECORD	(1 << 17)	/* --record: every op of a run, for --replay */
#define MAX_SHOWN	4

static void sleep_us(unsigned us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	nanosleep(&ts, NULL);
}

static uint32_t load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static void store32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Segments: the file cut at seg_shift + k * seg, so owned extents straddle page and
 * PMD edges in some epochs and not in others. */
void ftr_seg_range(const struct ftr_engine *e, uint32_t seg, uint32_t *first, uint32_t *n)
{
	uint64_t shift = load32(&e->sh->seg_shift), lo, hi;

	lo = seg ? shift + (uint64_t)(seg - 1) * e->seg : 0;
	hi = shift + (uint64_t)seg * e->seg;
	if (hi > e->size)
		hi = e->size;
	if (lo > hi)
		lo = hi;
	*first = lo / FTR_BLOCK;
	*n = (hi - lo) / FTR_BLOCK;
}

static int seg_owner(const struct ftr_engine *e, uint32_t epoch, uint32_t seg)
{
	uint32_t first, n;

	/* The tail role owns the last two segments' worth of the file, always. */
	ftr_seg_range(e, seg, &first, &n);
	if (e->tail_owner >= 0 && (uint64_t)(first + n) * FTR_BLOCK + 2 * e->seg > e->size)
		return e->tail_owner;
	return ftr_mix64(e->seed ^ (uint64_t)epoch << 32 ^ seg) % e->nowners;
}

void ftr_role_epoch_segments(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	int me = -1;

	r->nsegs = 0;
	for (int i = 0; i < e->nowners; i++)
		if (e->owner_role[i] == r->id)
			me = i;
	if (me < 0)
		return;
	for (uint32_t s = 0; s < e->nseg; s++) {
		uint32_t first, n;

		ftr_seg_range(e, s, &first, &n);
		if (n && seg_owner(e, r->epoch, s) == me)
			r->segs[r->nsegs++] = s;
	}
}

static void *role_main(void *arg)
{
	struct ftr_role *r = arg;
	struct ftr_shared *sh = r->eng->sh;
	uint32_t seen = 0;

	__atomic_store_n(&r->st->tid, gettid(), __ATOMIC_RELAXED);
	ftr_crash_who(r->name);
	for (;;) {
		while (load32(&sh->epoch) == seen)
			sleep_us(100);
		seen = load32(&sh->epoch);
		if (load32(&sh->phase) == FTR_PH_STOP)
			break;
		r->epoch = seen;
		ftr_role_epoch_segments(r);
		while (load32(&sh->phase) == FTR_PH_RUN && !load32(&sh->fatal)) {
			int ret;

			__atomic_store_n(&r->st->in_op, 1, __ATOMIC_RELAXED);
			r->cs = &sh->collapse_any;
			r->cs_snap = ftr_seqc_read(r->cs);
			ret = ftr_role_op(r);
			if (r->counts_overlaps && !ftr_seqc_same(r->cs, r->cs_snap))
				r->st->overlaps++;
			__atomic_store_n(&r->st->in_op, 0, __ATOMIC_RELAXED);
			if (ret < 0) {
				ftr_fatal(r, NULL, "%s: %s", r->name, strerror(-ret));
				break;
			}
		}
		if (r->eng->env->opts->inject == FTR_INJECT_STUCK && r->id == 0 && seen == 2)
			for (;;)
				pause();	/* never acks: the watchdog must notice */
		if (r->eng->env->opts->inject == FTR_INJECT_CRASH && r->id == 0 && seen == 2)
			ftr_inject_crash(r->eng);
		__atomic_add_fetch(&sh->acks, 1, __ATOMIC_ACQ_REL);
	}
	return NULL;
}

/* One shared area for everything roles touch: control, PMD state, oracle, stats, logs. */
static int setup_shared(struct ftr_engine *e)
{
	size_t off_pmds = sizeof(struct ftr_shared);
	size_t off_oracle = off_pmds + e->npmds * sizeof(struct ftr_pmd_state);
	size_t off_stats = off_oracle + ftr_oracle_mem(e->nblocks);
	size_t off_logs = off_stats + FTR_MAX_ROLES * sizeof(struct ftr_role_stats), off_log[FTR_MAX_ROLES];
	uint32_t cap[FTR_MAX_ROLES];
	char *p;

	e->shm_len = off_logs;
	for (int i = 0; i < e->nroles; i++) {
		cap[i] = e->env->record ? LOG_CAP_RECORD :
			 e->roles[i].kind == FTR_R_COLLAPSER ? LOG_CAP_COLLAPSER : LOG_CAP;
		off_log[i] = e->shm_len;
		e->shm_len += (ftr_oplog_size(cap[i]) + 63) & ~63UL;
	}
	p = mmap(NULL, e->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	e->shm = p;
	e->sh = (struct ftr_shared *)p;
	e->pmds = (struct ftr_pmd_state *)(p + off_pmds);
	ftr_oracle_init(&e->oracle, p + off_oracle, e->nblocks, e->seed, 1);
	ftr_fzsync_init(&e->sh->fz, e->seed);
	for (int i = 0; i < e->nroles; i++) {
		struct ftr_role *r = &e->roles[i];

		r->eng = e;
		r->st = (struct ftr_role_stats *)(p + off_stats) + i;
		r->log = (struct ftr_oplog *)(p + off_log[i]);
		ftr_oplog_init(r->log, cap[i], i);
		ftr_rng_seed(&r->rng, e->seed, i + 1);
		r->segs = calloc(e->nseg, sizeof(*r->segs));
		if (!r->segs)
			return -ENOMEM;
	}
	return 0;
}

/* Every block at generation 1, on stable storage, so collapse starts from clean folios. */
static int fill_file(struct ftr_engine *e)
{
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	int fd, ret = 0;

	fd = open(e->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !buf) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < e->size && !ret; off += chunk) {
		size_t len = e->size - off < chunk ? e->size - off : chunk;
		uint32_t first = off / FTR_BLOCK, n = len / FTR_BLOCK;

		ftr_oracle_begin_stamp(&e->oracle, buf, first, n, FTR_P_INIT);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			ret = -(errno ?: EIO);
		ftr_oracle_commit(&e->oracle, first, n);
	}
	if (!ret && fsync(fd))
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int start_roles(struct ftr_engine *e)
{
	/* Processes first: fork() before any thread exists keeps the children simple. */
	for (int i = 0; i < e->nroles; i++) {
		struct ftr_role *r = &e->roles[i];

		if (!r->process)
			continue;
		r->pid = fork();
		if (r->pid < 0)
			return -errno;
		if (!r->pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* Another process: it holds neither the test's fd nor its mappings. */
			munmap(e->map, e->size);
			munmap(e->map2, e->size);
			close(e->fd);
			if (ftr_role_setup(r))
				_exit(1);
			role_main(r);
			ftr_role_teardown(r);
			_exit(0);
		}
	}
	for (int i = 0; i < e->nroles; i++) {
		struct ftr_role *r = &e->roles[i];
		int ret;

		if (r->process)
			continue;
		ret = ftr_role_setup(r);
		if (ret)
			return ret;
		ret = pthread_create(&r->thread, NULL, role_main, r);
		if (ret)
			return -ret;
	}
	return 0;
}

static void stop_roles(struct ftr_engine *e)
{
	store32(&e->sh->phase, FTR_PH_STOP);
	__atomic_add_fetch(&e->sh->epoch, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < e->nroles; i++) {
		struct ftr_role *r = &e->roles[i];

		if (r->process && r->pid > 0)
			waitpid(r->pid, NULL, 0);
		else if (!r->process && r->thread) {
			pthread_join(r->thread, NULL);
			ftr_role_teardown(r);
		}
	}
}

/* Waits for every role to finish its operation; a role that does not is a hang. */
static bool quiesce(struct ftr_engine *e)
{
	const struct ftr_opts *o = e->env->opts;
	uint64_t limit = (uint64_t)((o->inject == FTR_INJECT_STUCK ? 3 : 60) * o->timeout_mul * 1e9);
	uint64_t t0 = ftr_now_ns();

	store32(&e->sh->phase, FTR_PH_QUIESCE);
	/* Neither side of a pair may wait at its barrier for one that already left. */
	ftr_fzsync_stop(&e->sh->fz);
	while (load32(&e->sh->acks) < (uint32_t)e->nroles) {
		if (ftr_now_ns() - t0 > limit) {
			ftr_diag("HANG: %u of %d roles did not finish their operation within %.0f s:",
				 e->nroles - load32(&e->sh->acks), e->nroles, limit / 1e9);
			for (int i = 0; i < e->nroles; i++) {
				struct ftr_role *r = &e->roles[i];
				uint64_t h = __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE);
				struct ftr_op_hit hit = { .role = i };
				char line[256] = "no operation logged";

				if (!__atomic_load_n(&r->st->in_op, __ATOMIC_RELAXED) &&
				    !(o->inject == FTR_INJECT_STUCK && i == 0))
					continue;
				if (h) {
					hit.e = r->log->e[(h - 1) % r->log->cap];
					ftr_op_format(&hit, r->name, line, sizeof(line));
				}
				ftr_diag("  %s stuck; its last completed operation: %s", r->name, line);
			}
			return false;
		}
		sleep_us(200);
	}
	return true;
}

static void khugepaged_setup(struct ftr_engine *e)
{
	char v[32];

	/* Scan the whole file many times per epoch instead of 4096 pages every 10 s. */
	snprintf(v, sizeof(v), "%zu", e->size / e->psz * 8);
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/pages_to_scan", v);
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/scan_sleep_millisecs", "10");
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/alloc_sleep_millisecs", "10");
	if (madvise(e->map, e->size, MADV_HUGEPAGE))
		ftr_diag("MADV_HUGEPAGE: %s", strerror(errno));
}

static int engine_setup(struct ftr_engine *e, const struct ftr_scenario *sc, struct ftr_env *env)
{
	const struct ftr_opts *o = env->opts;
	unsigned pmds = sc->file_pmds ?: 4;
	int ret;

	e->sc = sc;
	e->env = env;
	e->seed = o->seed;
	e->psz = ftr_page_size();
	e->pmd = ftr_pmd_size();
	e->size = o->file_size ? (o->file_size + e->pmd - 1) / e->pmd * e->pmd : pmds * e->pmd;
	e->seg = SEG_PAGES * e->psz;
	e->nblocks = e->size / FTR_BLOCK;
	e->npmds = e->size / e->pmd;
	e->nseg = e->size / e->seg + 1;
	e->fd = -1;
	e->tail_owner = -1;
	e->map = e->map2 = MAP_FAILED;
	snprintf(e->path, sizeof(e->path), "%s/ftr%d", env->dir, getpid());
	if (ftr_roster_build(e))
		return -EINVAL;
	e->replay = sc->replay;
	if (e->replay) {
		char why[200];

		if (!ftr_replay_check(e->replay, e, why, sizeof(why))) {
			ftr_diag("replay: not the recorded run: %s", why);
			return -EINVAL;
		}
	}
	ret = setup_shared(e);
	if (ret)
		return ret;
	ret = fill_file(e);
	if (ret)
		return ret;
	e->fd = open(e->path, (sc->ro_mapping ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	e->map = ftr_mmap_aligned(e->size, PROT_READ | (sc->ro_mapping ? 0 : PROT_WRITE), MAP_SHARED, e->fd);
	e->map2 = mmap(NULL, e->size, PROT_READ, MAP_SHARED, e->fd, 0);
	if (e->map == MAP_FAILED || e->map2 == MAP_FAILED)
		return -errno;
	if (e->khugepaged)
		khugepaged_setup(e);
	return start_roles(e);
}

static void engine_teardown(struct ftr_engine *e)
{
	free(e->bads);
	free(e->cwin);
	if (e->pinned)
		munmap(e->pinned, e->psz);
	for (int i = 0; i < e->nroles; i++)
		free(e->roles[i].segs);
	if (e->map != MAP_FAILED)
		munmap(e->map, e->size);
	if (e->map2 != MAP_FAILED)
		munmap(e->map2, e->size);
	if (e->fd >= 0)
		close(e->fd);
	unlink(e->path);
	if (e->shm)
		munmap(e->shm, e->shm_len);
}

uint64_t ftr_engine_writes(const struct ftr_engine *e)
{
	uint64_t n = 0;

	for (int i = 0; i < e->nroles; i++)
		if (e->roles[i].kind == FTR_R_WRITER)
			n += __atomic_load_n(&e->roles[i].st->ops, __ATOMIC_RELAXED);
	return n;
}

const struct ftr_role *ftr_engine_collapser(const struct ftr_engine *e)
{
	for (int i = 0; i < e->nroles; i++)
		if (e->roles[i].kind == FTR_R_COLLAPSER)
			return &e->roles[i];
	return NULL;
}

static bool ops_done(const struct ftr_engine *e)
{
	return e->sc->max_ops && ftr_engine_writes(e) >= e->sc->max_ops;
}

/*
 * The errno check after each epoch (verify.c) needs every call of the epoch still in
 * the collapser's log, so an epoch ends early once half of it was written.  A
 * collapser whose calls find nothing to do (while compaction holds every PMD's split
 * count busy) makes 100,000 calls a second.
 */
static bool collapser_log_half_full(const struct ftr_engine *e)
{
	const struct ftr_role *r = ftr_engine_collapser(e);

	return r && __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE) - e->errnos_head >= r->log->cap / 2;
}

void ftr_engine_run(const struct ftr_scenario *sc, struct ftr_env *env)
{
	const struct ftr_opts *o = env->opts;
	double duration = o->duration ?: (o->quick ? 2 : 10);
	double epoch_s = duration / 4 < 0.25 ? 0.25 : duration / 4 > 2 ? 2 : duration / 4;
	struct ftr_engine *e = calloc(1, sizeof(*e));
	uint64_t end;
	bool ok = true;
	int ret;

	ftr_now_reset();
	ret = e ? engine_setup(e, sc, env) : -ENOMEM;
	if (ret) {
		ftr_ktap_result(FTR_FAIL, "setup", "could not set up the scenario: %s", strerror(-ret));
		if (e) {
			if (e->sh)
				stop_roles(e);
			engine_teardown(e);
		}
		free(e);
		return;
	}
	ftr_diag("file %s: %zu bytes = %u PMDs of %zu, %u blocks of %d, %d roles, epochs of %.2f s",
		 e->path, e->size, e->npmds, e->pmd, e->nblocks, FTR_BLOCK, e->nroles, epoch_s);
	end = ftr_now_ns() + (uint64_t)(duration * 1e9);
	do {
		struct ftr_rng rng;

		ftr_rng_seed(&rng, e->seed, 1000 + e->epochs);
		store32(&e->sh->seg_shift, ftr_rng_below(&rng, e->seg / FTR_BLOCK) * FTR_BLOCK);
		store32(&e->sh->acks, 0);
		ftr_fzsync_reset(&e->sh->fz);
		store32(&e->sh->phase, FTR_PH_RUN);
		__atomic_add_fetch(&e->sh->epoch, 1, __ATOMIC_ACQ_REL);
		/* A replayed epoch ends when its operations are done, or at a generous limit. */
		for (uint64_t t = ftr_now_ns() + (uint64_t)((e->replay ? 120 * o->timeout_mul : epoch_s) * 1e9);;) {
			if (load32(&e->sh->fatal) || ftr_kmsg_poll(&env->kmsg) || ops_done(e) ||
			    (!e->replay && (collapser_log_half_full(e) || ftr_contract_all_sealed(e))))
				break;
			if (e->replay && ftr_replay_epoch_done(e->replay, load32(&e->sh->epoch)))
				break;
			if (ftr_now_ns() >= t) {
				if (e->replay)
					ftr_diag("replay: epoch %llu ended by the time limit, operations left",
						 (unsigned long long)e->epochs + 1);
				break;
			}
			sleep_us(e->replay ? 1000 : 10000);
		}
		if (!quiesce(e)) {
			ftr_ktap_result(FTR_FAIL, "data", "HANG: roles stuck (see above)");
			ftr_report_replay(e);
			fflush(stdout);
			exit(FTR_EXIT_FAIL);	/* a stuck thread cannot be joined; atexit restores */
		}
		e->epochs++;
		if (o->inject && e->epochs == 1)
			ftr_inject(e);
		ok = ftr_verify_epoch(e);
		/* Here, with every role quiesced, its counters can be read without a race. */
		if (sc->progress)
			sc->progress(e);
	} while (ok && !load32(&e->sh->fatal) && !env->kmsg.nr_splats && !ops_done(e) &&
		 (e->replay ? e->epochs < e->replay->epochs : ftr_now_ns() < end));
	stop_roles(e);
	if (e->replay)
		ftr_replay_summary(e->replay, e->epochs);
	if (env->record)
		ftr_report_record(e);
	ftr_results(e);
	engine_teardown(e);
	free(e);
}
