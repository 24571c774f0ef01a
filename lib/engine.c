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
#include "control.h"
#include "crash.h"
#include "engine.h"
#include "inject.h"
#include "knob.h"
#include "ktap.h"
#include "mapping.h"
#include "replay.h"
#include "report.h"
#include "role.h"
#include "roster.h"
#include "thp.h"
#include "verdict.h"
#include "verify.h"

/* The three parts of a run, which only this file sees together. */
struct ftr_engine {
	struct ftr_arena a;	/* the file, the mappings, the shared area */
	struct ftr_roles rs;	/* who plays */
	struct ftr_ledger l;	/* what the checks found */
};

#define SEG_PAGES	8
/* Known issues are matched after the run: a quick run's reader makes about 5,600
 * reads, and with 4096 a racing report of epoch 2 had left its ring by then. */
#define LOG_CAP		(1 << 14)
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

static void *role_main(void *arg)
{
	struct ftr_role *r = arg;
	struct ftr_shared *sh = r->arena->sh;
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
			/* --inject stuck: an operation that never returns; quiesce() must say so. */
			while (r->arena->env->opts->inject == FTR_INJECT_STUCK && r->id == 0 && seen == 2)
				pause();
			r->cs = &sh->collapse_any;
			r->cs_snap = ftr_seqc_read(r->cs);
			ret = ftr_role_op(r);
			if (r->counts_overlaps && !ftr_seqc_same(r->cs, r->cs_snap))
				r->st->overlaps++;
			__atomic_store_n(&r->st->in_op, 0, __ATOMIC_RELAXED);
			if (ret < 0) {
				ftr_fatal(r, NULL, 0, "%s: %s", r->name, strerror(-ret));
				break;
			}
		}
		if (r->arena->env->opts->inject == FTR_INJECT_CRASH && r->id == 0 && seen == 2)
			ftr_inject_crash(r->arena);
		__atomic_add_fetch(&sh->acks, 1, __ATOMIC_ACQ_REL);
	}
	return NULL;
}

/* One shared area for everything roles touch: control, PMD state, oracle, stats, logs. */
static int setup_shared(struct ftr_engine *e)
{
	size_t off_pmds = sizeof(struct ftr_shared);
	size_t off_oracle = off_pmds + e->a.npmds * sizeof(struct ftr_pmd_state);
	size_t off_stats = off_oracle + ftr_oracle_mem(e->a.nblocks);
	size_t off_logs = off_stats + FTR_MAX_ROLES * sizeof(struct ftr_role_stats), off_log[FTR_MAX_ROLES];
	uint32_t cap[FTR_MAX_ROLES];
	char *p;

	e->a.shm_len = off_logs;
	for (int i = 0; i < e->rs.nroles; i++) {
		cap[i] = e->a.env->record ? LOG_CAP_RECORD :
			 e->rs.roles[i].kind == FTR_R_COLLAPSER ? LOG_CAP_COLLAPSER : LOG_CAP;
		off_log[i] = e->a.shm_len;
		e->a.shm_len += (ftr_oplog_size(cap[i]) + 63) & ~63UL;
	}
	p = mmap(NULL, e->a.shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	e->a.shm = p;
	e->a.sh = (struct ftr_shared *)p;
	e->a.pmds = (struct ftr_pmd_state *)(p + off_pmds);
	ftr_oracle_init(&e->a.oracle, p + off_oracle, e->a.nblocks, e->a.seed, 1);
	ftr_fzsync_init(&e->a.sh->fz, e->a.seed);
	for (int i = 0; i < e->rs.nroles; i++) {
		struct ftr_role *r = &e->rs.roles[i];

		r->st = (struct ftr_role_stats *)(p + off_stats) + i;
		r->log = (struct ftr_oplog *)(p + off_log[i]);
		ftr_oplog_init(r->log, cap[i], i);
		ftr_rng_seed(&r->rng, e->a.seed, i + 1);
		r->segs = calloc(e->a.nseg, sizeof(*r->segs));
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

	fd = open(e->a.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !buf) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < e->a.size && !ret; off += chunk) {
		size_t len = e->a.size - off < chunk ? e->a.size - off : chunk;
		uint32_t first = off / FTR_BLOCK, n = len / FTR_BLOCK;

		ftr_oracle_begin_stamp(&e->a.oracle, buf, first, n, FTR_P_INIT);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			ret = -(errno ?: EIO);
		ftr_oracle_commit(&e->a.oracle, first, n);
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
	for (int i = 0; i < e->rs.nroles; i++) {
		struct ftr_role *r = &e->rs.roles[i];

		if (!r->process)
			continue;
		r->pid = fork();
		if (r->pid < 0)
			return -errno;
		if (!r->pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* Another process: it holds neither the test's fd nor its mappings. */
			munmap(e->a.map, e->a.size);
			munmap(e->a.map2, e->a.size);
			close(e->a.fd);
			if (ftr_role_setup(r))
				_exit(1);
			role_main(r);
			ftr_role_teardown(r);
			_exit(0);
		}
	}
	for (int i = 0; i < e->rs.nroles; i++) {
		struct ftr_role *r = &e->rs.roles[i];
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
	store32(&e->a.sh->phase, FTR_PH_STOP);
	__atomic_add_fetch(&e->a.sh->epoch, 1, __ATOMIC_ACQ_REL);
	for (int i = 0; i < e->rs.nroles; i++) {
		struct ftr_role *r = &e->rs.roles[i];

		if (r->process && r->pid > 0)
			waitpid(r->pid, NULL, 0);
		else if (!r->process && r->thread) {
			pthread_join(r->thread, NULL);
			ftr_role_teardown(r);
		}
	}
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The p99 latency of r's last logged operations (at most 512); 0 without any. */
static uint64_t p99_ns(const struct ftr_role *r)
{
	uint64_t head = __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE), lat[512];
	size_t n = 0;

	for (uint64_t k = head > 512 ? head - 512 : 0; k < head && k >= ftr_oplog_first(r->log, head); k++) {
		const struct ftr_op_entry *x = &r->log->e[k % r->log->cap];

		lat[n++] = x->t1 > x->t0 ? x->t1 - x->t0 : 0;
	}
	if (!n)
		return 0;
	qsort(lat, n, sizeof(*lat), u64_cmp);
	return lat[(n * 99 - 1) / 100];
}

/*
 * Ends an epoch: every role finishes its operation and acks.  A role still inside one
 * after 50 times its own p99 latency (never under 10 s) is stuck: a deadlock is named
 * in seconds, not after the fixed ceiling of 60 s (both times --timeout-mul), which
 * stays the last resort for a role that never acks.
 */
static bool quiesce(struct ftr_engine *e)
{
	const struct ftr_opts *o = e->a.env->opts;
	uint64_t ceiling = (uint64_t)(60 * o->timeout_mul * 1e9), floor = (uint64_t)(10 * o->timeout_mul * 1e9);
	uint64_t t0 = ftr_now_ns(), lim[FTR_MAX_ROLES], p99[FTR_MAX_ROLES];

	store32(&e->a.sh->phase, FTR_PH_QUIESCE);
	/* Neither side of a pair may wait at its barrier for one that already left. */
	ftr_fzsync_stop(&e->a.sh->fz);
	for (int i = 0; i < e->rs.nroles; i++) {
		p99[i] = p99_ns(&e->rs.roles[i]);
		lim[i] = 50 * p99[i] < floor ? floor : 50 * p99[i] > ceiling ? ceiling : 50 * p99[i];
	}
	while (load32(&e->a.sh->acks) < (uint32_t)e->rs.nroles) {
		uint64_t waited = ftr_now_ns() - t0;
		bool stuck = waited > ceiling;

		for (int i = 0; i < e->rs.nroles; i++)
			stuck |= __atomic_load_n(&e->rs.roles[i].st->in_op, __ATOMIC_RELAXED) && waited > lim[i];
		if (!stuck) {
			sleep_us(200);
			continue;
		}
		ftr_diag("HANG: %u of %d roles did not finish their operation within %.1f s:",
			 e->rs.nroles - load32(&e->a.sh->acks), e->rs.nroles, waited / 1e9);
		for (int i = 0; i < e->rs.nroles; i++) {
			struct ftr_role *r = &e->rs.roles[i];
			uint64_t h = __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE);
			struct ftr_op_hit hit = { .role = i };
			char line[256] = "no operation logged";

			if (!__atomic_load_n(&r->st->in_op, __ATOMIC_RELAXED))
				continue;
			if (h) {
				hit.e = r->log->e[(h - 1) % r->log->cap];
				ftr_op_format(&hit, r->name, line, sizeof(line));
			}
			ftr_diag("  %s stuck in an operation for over %.1f s (its p99 latency: %.3f ms, limit %.1f s); its "
				 "last completed operation: %s", r->name, waited / 1e9, p99[i] / 1e6, lim[i] / 1e9, line);
		}
		return false;
	}
	return true;
}

static void khugepaged_setup(struct ftr_engine *e)
{
	char v[32];

	/* Scan the whole file many times per epoch instead of 4096 pages every 10 s. */
	snprintf(v, sizeof(v), "%zu", e->a.size / e->a.psz * 8);
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/pages_to_scan", v);
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/scan_sleep_millisecs", "10");
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/alloc_sleep_millisecs", "10");
	if (madvise(e->a.map, e->a.size, MADV_HUGEPAGE))
		ftr_diag("MADV_HUGEPAGE: %s", strerror(errno));
}

static int engine_setup(struct ftr_engine *e, const struct ftr_scenario *sc, struct ftr_env *env)
{
	const struct ftr_opts *o = env->opts;
	unsigned pmds = sc->file_pmds ?: 4;
	int ret;

	e->a.sc = sc;
	e->a.env = env;
	e->a.seed = o->seed;
	e->a.psz = ftr_page_size();
	e->a.pmd = ftr_pmd_size();
	e->a.size = o->file_size ? (o->file_size + e->a.pmd - 1) / e->a.pmd * e->a.pmd : pmds * e->a.pmd;
	e->a.seg = SEG_PAGES * e->a.psz;
	e->a.nblocks = e->a.size / FTR_BLOCK;
	e->a.npmds = e->a.size / e->a.pmd;
	e->a.nseg = e->a.size / e->a.seg + 1;
	e->a.fd = -1;
	e->a.tail_owner = e->a.pmd_owner = -1;
	e->a.map = e->a.map2 = MAP_FAILED;
	snprintf(e->a.path, sizeof(e->a.path), "%s/ftr%d", env->dir, getpid());
	if (ftr_roster_build(&e->a, &e->rs))
		return -EINVAL;
	e->a.replay = sc->replay;
	if (e->a.replay) {
		char why[200];

		if (!ftr_replay_check(e->a.replay, &e->a, &e->rs, why, sizeof(why))) {
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
	e->a.fd = open(e->a.path, (sc->ro_mapping ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (e->a.fd < 0)
		return -errno;
	e->a.map = ftr_mmap_aligned(e->a.size, PROT_READ | (sc->ro_mapping ? 0 : PROT_WRITE), MAP_SHARED, e->a.fd);
	e->a.map2 = mmap(NULL, e->a.size, PROT_READ, MAP_SHARED, e->a.fd, 0);
	if (e->a.map == MAP_FAILED || e->a.map2 == MAP_FAILED)
		return -errno;
	if (e->a.khugepaged)
		khugepaged_setup(e);
	return start_roles(e);
}

static void engine_teardown(struct ftr_engine *e)
{
	ftr_ledger_free(&e->l);
	if (e->a.pinned)
		munmap(e->a.pinned, e->a.psz);
	for (int i = 0; i < e->rs.nroles; i++)
		free(e->rs.roles[i].segs);
	if (e->a.map != MAP_FAILED)
		munmap(e->a.map, e->a.size);
	if (e->a.map2 != MAP_FAILED)
		munmap(e->a.map2, e->a.size);
	if (e->a.fd >= 0)
		close(e->a.fd);
	unlink(e->a.path);
	if (e->a.shm)
		munmap(e->a.shm, e->a.shm_len);
}

/*
 * After an epoch that found wrong data: every bad block of it gets its expected
 * version again, so that the run can go on and check what else is wrong (a waiver
 * needs evidence for every failure of the whole run, known.h).  Through an fd of its
 * own: the controller's is read-only in scenarios that hold no writable one.
 */
static bool repair(struct ftr_engine *e)
{
	struct ftr_arena *a = &e->a;
	char blk[FTR_BLOCK];
	size_t n = 0;
	int fd = open(a->path, O_RDWR | O_CLOEXEC);

	for (size_t i = 0; fd >= 0 && i < e->l.nbads; i++) {
		uint32_t b = e->l.bads[i].b.block;
		uint64_t v = __atomic_load_n(&a->oracle.done[b], __ATOMIC_ACQUIRE);

		if (e->l.bads[i].epoch != e->l.epochs)
			continue;
		ftr_stamp(&a->oracle, blk, b, ftr_ver_gen(v), ftr_ver_path(v));
		if (pwrite(fd, blk, FTR_BLOCK, (off_t)b * FTR_BLOCK) != FTR_BLOCK)
			break;
		n++;
	}
	if (fd < 0 || fsync(fd)) {
		ftr_diag("repair of the bad blocks failed: %s; the run ends here", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	ftr_diag("epoch %llu: %zu bad block readings put back to their expected versions; the run goes on",
		 (unsigned long long)e->l.epochs, n);
	e->l.bad_epochs++;
	__atomic_store_n(&a->sh->fatal, 0, __ATOMIC_RELEASE);
	return true;
}

static bool ops_done(const struct ftr_engine *e)
{
	return e->a.sc->max_ops && ftr_roles_writes(&e->rs) >= e->a.sc->max_ops;
}

/*
 * The errno check after each epoch (verify.c) needs every call of the epoch still in
 * the collapser's log, so an epoch ends early once half of it was written.  A
 * collapser whose calls find nothing to do (while compaction holds every PMD's split
 * count busy) makes 100,000 calls a second.
 */
static bool collapser_log_half_full(const struct ftr_engine *e)
{
	const struct ftr_role *r = ftr_roles_collapser(&e->rs);

	return r && __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE) - e->l.errnos_head >= r->log->cap / 2;
}

void ftr_engine_run(const struct ftr_scenario *sc, struct ftr_env *env)
{
	const struct ftr_opts *o = env->opts;
	/*
	 * The duration is racing time: the checks between epochs do not eat it, so a
	 * quick test verifies six epochs even where they are slow (a debug kernel under
	 * TCG), and a bug with a narrow window gets six chances to leave a trace.  An
	 * epoch that overran its time (a slow guest oversleeps) does not cost one.
	 */
	double duration = o->duration ?: (o->quick ? 2 : 10);
	double epoch_s = duration / 6 < 0.25 ? 0.25 : duration / 6 > 2 ? 2 : duration / 6;
	struct ftr_engine *e = calloc(1, sizeof(*e));
	uint64_t raced = 0, t_run;
	bool ok = true;
	int ret;

	ftr_now_reset();
	ret = e ? engine_setup(e, sc, env) : -ENOMEM;
	if (ret) {
		ftr_ktap_result(FTR_FAIL, "setup", "could not set up the scenario: %s", strerror(-ret));
		if (e) {
			if (e->a.sh)
				stop_roles(e);
			engine_teardown(e);
		}
		free(e);
		return;
	}
	ftr_diag("file %s: %zu bytes = %u PMDs of %zu, %u blocks of %d, %d roles, epochs of %.2f s",
		 e->a.path, e->a.size, e->a.npmds, e->a.pmd, e->a.nblocks, FTR_BLOCK, e->rs.nroles, epoch_s);
	do {
		struct ftr_rng rng;

		ftr_rng_seed(&rng, e->a.seed, 1000 + e->l.epochs);
		store32(&e->a.sh->seg_shift, ftr_rng_below(&rng, e->a.seg / FTR_BLOCK) * FTR_BLOCK);
		store32(&e->a.sh->acks, 0);
		ftr_fzsync_reset(&e->a.sh->fz);
		store32(&e->a.sh->phase, FTR_PH_RUN);
		__atomic_add_fetch(&e->a.sh->epoch, 1, __ATOMIC_ACQ_REL);
		/* A replayed epoch ends when its operations are done, or at a generous limit. */
		t_run = ftr_now_ns();
		for (uint64_t t = t_run + (uint64_t)((e->a.replay ? 120 * o->timeout_mul : epoch_s) * 1e9);;) {
			if (load32(&e->a.sh->fatal) || ftr_kmsg_poll(&env->kmsg) || ops_done(e) ||
			    (!e->a.replay && (collapser_log_half_full(e) || ftr_contract_all_sealed(&e->a))))
				break;
			if (e->a.replay && ftr_replay_epoch_done(e->a.replay, load32(&e->a.sh->epoch)))
				break;
			if (ftr_now_ns() >= t) {
				if (e->a.replay)
					ftr_diag("replay: epoch %llu ended by the time limit, operations left",
						 (unsigned long long)e->l.epochs + 1);
				break;
			}
			sleep_us(e->a.replay ? 1000 : 10000);
		}
		raced += ftr_now_ns() - t_run;
		if (!quiesce(e)) {
			ftr_crash_hang();
			ftr_ktap_result(FTR_FAIL, "data", "HANG: roles stuck (see above)");
			ftr_report_replay(&e->a, &e->rs);
			fflush(stdout);
			exit(FTR_EXIT_FAIL);	/* a stuck thread cannot be joined; atexit restores */
		}
		e->l.epochs++;
		if (o->inject && e->l.epochs == 1)
			ftr_inject(&e->a);
		ok = ftr_verify_epoch(&e->a, &e->rs, &e->l);
		e->l.epochs_after_bad += e->l.bad_epochs > 0;
		/* Wrong data: put it right and go on.  Not after a hard error (nothing to
		 * put right), a splat (the kernel is not to be trusted now), nor in a replay
		 * (it reproduces the run up to its failure). */
		if ((!ok || load32(&e->a.sh->fatal)) && e->l.data_bad && !e->l.broken[0] && !e->a.replay &&
		    !env->kmsg.nr_splats && !(load32(&e->a.sh->fatal) && !e->a.sh->fatal_nbad))
			ok = repair(e);
		/* Here, with every role quiesced, its counters can be read without a race. */
		if (sc->progress)
			sc->progress(&e->rs, &e->l);
	} while (ok && !load32(&e->a.sh->fatal) && !env->kmsg.nr_splats && !ops_done(e) &&
		 (e->a.replay ? e->l.epochs < e->a.replay->epochs :
		  raced < (uint64_t)(duration * 1e9) || e->l.epochs < 6));
	stop_roles(e);
	if (e->a.replay)
		ftr_replay_summary(e->a.replay, e->l.epochs);
	if (env->record)
		ftr_report_record(&e->a, &e->rs, &e->l);
	ftr_verdicts(&e->a, &e->rs, &e->l);
	engine_teardown(e);
	free(e);
}
