// SPDX-License-Identifier: GPL-2.0
/*
 * The roles: writers (one path each), the collapser, the splitter, the khugepaged
 * watcher and the verifying readers.  Each op is short and self-contained so that a
 * role can stop at any op boundary when the controller quiesces.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "contract.h"
#include "engine.h"
#include "knob.h"
#include "ktap.h"
#include "replay.h"
#include "roles.h"
#include "mapping.h"

#define CALL_GAP_NS	2000

static uint64_t ld(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

void ftr_pause_us(struct ftr_role *r, unsigned max_us)
{
	struct timespec ts;
	unsigned us;

	if (!max_us)
		return;
	us = ftr_rng_below(&r->rng, max_us + 1);
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000L;
	nanosleep(&ts, NULL);
}

int ftr_op_done(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint64_t len,
		int err, unsigned pause)
{
	r->st->ops++;
	r->st->res[ftr_errno_slot(err)]++;
	if (err)
		r->st->last_err = err;
	ftr_role_log(r, op, t0, off, len, 0, err);
	ftr_pause_us(r, pause);
	return 0;
}

bool ftr_path_usable(struct ftr_engine *e, unsigned path, char *why, size_t len)
{
	const struct ftr_caps *c = &e->env->caps;

	if (path == FTR_P_INIT || path > FTR_P_OPENW)
		return snprintf(why, len, "%s is not a writer path", ftr_path_names[path]), false;
	if (e->sc->ro_mapping && path != FTR_P_OPENW)
		return snprintf(why, len, "this scenario holds no writable fd or mapping"), false;
	if ((path == FTR_P_URING || path == FTR_P_URING_FIXED) && !c->io_uring.ok)
		return snprintf(why, len, "%s", c->io_uring.why), false;
	if (path == FTR_P_DIRECT && !c->odirect.ok)
		return snprintf(why, len, "%s", c->odirect.why), false;
	return true;
}

int ftr_role_setup(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	struct role_priv *p = calloc(1, sizeof(*p));
	size_t bufsz = URING_QD * e->seg;
	int flags = O_RDWR | O_CLOEXEC;

	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->fd = -1;
	if (posix_memalign((void **)&p->buf, e->psz, bufsz))
		return -ENOMEM;
	if (r->kind == FTR_R_READER || (r->kind == FTR_R_WRITER && r->mode == FTR_P_OPENW))
		flags = O_RDONLY | O_CLOEXEC;
	if (r->kind == FTR_R_WRITER && r->mode == FTR_P_DIRECT)
		flags |= O_DIRECT;
	if (r->kind == FTR_R_CHURN && e->sc->ro_mapping)
		flags = O_RDONLY | O_CLOEXEC;
	if (r->kind == FTR_R_WRITER || r->kind == FTR_R_READER || r->kind == FTR_R_CHURN ||
	    (r->kind == FTR_R_SPLITTER && r->mode == FTR_SPLIT_PUNCH)) {
		/* openw writers open their own fds per op; a read-only one here is harmless. */
		if (r->kind != FTR_R_WRITER || r->mode != FTR_P_OPENW) {
			p->fd = open(e->path, flags);
			if (p->fd < 0)
				return -errno;
		}
	}
	if (r->kind == FTR_R_WRITER && (r->mode == FTR_P_URING || r->mode == FTR_P_URING_FIXED)) {
		struct iovec iov[URING_QD];
		int ret = io_uring_queue_init(URING_QD * 2, &p->ring, 0);

		if (ret)
			return ret;
		p->ring_ok = true;
		for (int i = 0; i < URING_QD; i++)
			iov[i] = (struct iovec){ p->buf + i * e->seg, e->seg };
		if (r->mode == FTR_P_URING_FIXED && (ret = io_uring_register_buffers(&p->ring, iov, URING_QD)))
			return ret;
	}
	if (r->kind == FTR_R_READER)
		return ftr_reader_setup(r);
	if (r->kind == FTR_R_COLLAPSER) {
		p->perm = calloc(e->npmds, sizeof(*p->perm));
		if (!p->perm)
			return -ENOMEM;
		p->perm_pos = e->npmds;
	}
	if (r->kind == FTR_R_KHUGEPAGED)
		ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/full_scans", &p->scans);
	if (r->kind == FTR_R_CHURN && ftr_churn_roles[r->mode]->setup)
		return ftr_churn_roles[r->mode]->setup(r);
	return 0;
}

void ftr_role_teardown(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	if (!p)
		return;
	if (p->ring_ok)
		io_uring_queue_exit(&p->ring);
	if (r->kind == FTR_R_READER) {
		if (p->pipe[0] >= 0)
			close(p->pipe[0]);
		if (p->pipe[1] >= 0)
			close(p->pipe[1]);
		if (p->copy_fd >= 0)
			close(p->copy_fd);
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p->buf);
	free(p->pre);
	free(p->perm);
	free(p);
	r->priv = NULL;
}

static struct ftr_role *add_role(struct ftr_engine *e, enum ftr_role_kind kind, unsigned mode,
				 const char *name)
{
	struct ftr_role *r = &e->roles[e->nroles];

	r->id = e->nroles++;
	r->kind = kind;
	r->mode = mode;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

/* "write=1,mmap=2" -> roles; names are writer paths or reader modes.  --threads N
 * spreads N writers over the mix's paths in order instead of the mix's counts. */
static const char *mix_name(enum ftr_role_kind kind, unsigned m)
{
	return kind == FTR_R_WRITER ? ftr_path_names[m] :
	       kind == FTR_R_CHURN ? ftr_churn_roles[m]->name : ftr_read_names[m];
}

static int parse_mix(struct ftr_engine *e, const char *mix, enum ftr_role_kind kind, int total)
{
	unsigned modes[16], counts[16], n = 0;
	unsigned lim = kind == FTR_R_WRITER ? FTR_P_NR : kind == FTR_R_CHURN ? ftr_churn_nr : FTR_READ_NR;
	char buf[256], name[32], *tok, *save;
	struct ftr_role *r;

	if (!mix || !*mix)
		return 0;
	snprintf(buf, sizeof(buf), "%s", mix);
	for (tok = strtok_r(buf, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned m;

		counts[n] = eq ? strtoul(eq + 1, NULL, 10) : 1;
		if (eq)
			*eq = '\0';
		for (m = 0; m < lim; m++)
			if (!strcmp(tok, mix_name(kind, m)))
				break;
		if (m == lim || counts[n] > 16) {
			fprintf(stderr, "unknown role or count '%s' in mix '%s'\n", tok, mix);
			return -1;
		}
		modes[n++] = m;
	}
	for (unsigned k = 0, c = 0; total ? (int)c < total : k < n; ) {
		unsigned m = total ? modes[c % n] : modes[k];

		if (!total && c == counts[k]) {
			k++;
			c = 0;
			continue;
		}
		c++;
		if (e->nroles == FTR_MAX_ROLES)
			return -1;
		snprintf(name, sizeof(name), "%s-%s%d", mix_name(kind, m),
			 kind == FTR_R_WRITER ? "writer" : kind == FTR_R_CHURN ? "churn" : "reader",
			 e->nroles);
		r = add_role(e, kind, m, name);
		r->process = (kind == FTR_R_WRITER && m == FTR_P_OPENW) ||
			     (kind == FTR_R_CHURN && ftr_churn_roles[m]->process);
	}
	return 0;
}

int ftr_setup_roles(struct ftr_engine *e)
{
	const struct ftr_scenario *sc = e->sc;
	const struct ftr_opts *o = e->env->opts;
	const char *split = sc->split ?: "auto";
	char why[160];
	int i, n;

	if (parse_mix(e, sc->writers, FTR_R_WRITER, o->threads))
		return -1;
	/* Drop writer paths this kernel or filesystem cannot do; say why once. */
	for (i = n = 0; i < e->nroles; i++) {
		if (!ftr_path_usable(e, e->roles[i].mode, why, sizeof(why))) {
			ftr_diag("role %s not run: %s", e->roles[i].name, why);
			continue;
		}
		e->roles[n] = e->roles[i];
		e->roles[n].id = n;
		n++;
	}
	e->nroles = n;
	for (i = 0; i < e->nroles; i++)
		e->owner_role[e->nowners++] = i;

	static const char *const split_modes[] = {
		[FTR_SPLIT_NONE] = "none", [FTR_SPLIT_DEBUGFS] = "debugfs",
		[FTR_SPLIT_PUNCH] = "punch", [FTR_SPLIT_PAGEOUT] = "pageout",
	};

	e->split = FTR_SPLIT_NONE;
	if (!strcmp(split, "auto"))
		e->split = e->env->caps.debugfs_split.ok ? FTR_SPLIT_DEBUGFS :
			   e->env->caps.punch.ok && !sc->ro_mapping ? FTR_SPLIT_PUNCH : FTR_SPLIT_PAGEOUT;
	for (i = 0; i < (int)(sizeof(split_modes) / sizeof(split_modes[0])); i++)
		if (!strcmp(split, split_modes[i]))
			e->split = i;
	if (e->split != FTR_SPLIT_NONE) {
		char name[32];

		snprintf(name, sizeof(name), "%s-splitter", split_modes[e->split]);
		add_role(e, FTR_R_SPLITTER, e->split, name);
		/* The punch splitter owns its pages like a writer: it rewrites what it punched. */
		if (e->split == FTR_SPLIT_PUNCH)
			e->owner_role[e->nowners++] = e->nroles - 1;
	}
	if (!sc->collapse || !strcmp(sc->collapse, "madvise")) {
		add_role(e, FTR_R_COLLAPSER, 0, "collapser");
		/* Only MADV_COLLAPSE has a window to line up with; khugepaged picks its own. */
		if (sc->fzsync && e->nowners && e->roles[0].kind == FTR_R_WRITER)
			e->roles[0].fz = true;
	}
	else if (!strcmp(sc->collapse, "khugepaged"))
		e->khugepaged = true, add_role(e, FTR_R_KHUGEPAGED, 0, "khugepaged-watch");
	if (parse_mix(e, sc->churn, FTR_R_CHURN, 0))
		return -1;
	for (i = 0; i < e->nroles; i++) {
		const struct ftr_churn_ops *ops = ftr_churn_roles[e->roles[i].mode];

		if (e->roles[i].kind != FTR_R_CHURN || !ops->owns)
			continue;
		if (ops->tail)
			e->tail_owner = e->nowners;
		e->owner_role[e->nowners++] = i;
	}
	if (parse_mix(e, sc->readers, FTR_R_READER, 0))
		return -1;
	return e->nowners ? 0 : -1;
}

/* MADV_COLLAPSE of every PMD in a fresh random order each round. */
static int collapser_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	uint64_t s0, st0, w0, t0;
	struct ftr_pmd_state *s;
	bool fz = e->sc->fzsync;
	const struct ftr_replay_op *rop = NULL;
	uint32_t pmd;
	int ret;

	/* --replay: the recorded PMD, collapsed whatever its state (the skip below is timing). */
	if (e->replay) {
		if (!(rop = ftr_replay_peek(e->replay, r->id, r->epoch, 0)))
			return ftr_pause_us(r, 1000), 0;
		pmd = rop->off / e->pmd;
		s = &e->pmds[pmd];
		goto collapse;
	}
	if (p->perm_pos == e->npmds) {
		for (uint32_t i = 0; i < e->npmds; i++)
			p->perm[i] = i;
		for (uint32_t i = e->npmds - 1; i > 0; i--) {
			uint32_t j = ftr_rng_below(&r->rng, i + 1), t = p->perm[i];

			p->perm[i] = p->perm[j];
			p->perm[j] = t;
		}
		p->perm_pos = 0;
	}
	pmd = p->perm[p->perm_pos++];
	/* Window targeting: the paired writer names the PMD it is about to write. */
	if (fz && !ftr_fzsync_start_a(&e->sh->fz, &pmd))
		return 0;
	s = &e->pmds[pmd];
	/* Collapsed and untouched since: MADV_COLLAPSE would return 0 without doing a
	 * thing, and burn the CPU the writers need. */
	if (!fz && ld(&s->ok_split) == ld(&s->split.seq) + 1 &&
	    (e->env->caps.is_shmem || ftr_seqc_same(&s->store, ld(&s->ok_store)))) {
		ftr_pause_us(r, 100);
		return 0;
	}
collapse:
	w0 = ftr_seqc_read(&s->write);
	/* A writeback point right before most calls: khugepaged collapses only clean
	 * folios, and MADV_COLLAPSE's own write-back-and-retry loses to writers that
	 * never pause, so without it regular files would hardly ever collapse.  Writers
	 * that dirty the range after this flush are the race; the calls without it meet
	 * dirty folios and run the write-back-and-retry path. */
	if (ftr_rng_below(&r->rng, 4) && !e->env->caps.is_shmem)
		sync_file_range(e->fd, (off_t)pmd * e->pmd, e->pmd,
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	/* Calls at least 2 us apart: tracefs prints event times rounded to the
	 * microsecond, and an event that may be either call's is not attributed
	 * (outcome.h).  Regular files spend longer than that in the flush above. */
	while (ftr_now_ns() < p->last_end + CALL_GAP_NS)
		;
	/* What overlapped the call, not the writeback point (slow under TCG). */
	st0 = ftr_seqc_read(&s->store);
	s0 = ftr_seqc_read(&s->split);
	ftr_seqc_begin(&e->sh->collapse_any);
	ftr_seqc_begin(&s->collapse);
	t0 = ftr_now_ns();
	ret = madvise(e->map + (size_t)pmd * e->pmd, e->pmd, MADV_COLLAPSE) ? errno : 0;
	if (ret == EAGAIN && e->env->opts->inject == FTR_INJECT_ERRNO)
		ret = EINVAL;
	/* The check right after the call must see that no THP is there. */
	if (ret == EAGAIN && e->env->opts->inject == FTR_INJECT_THP_CALL && !__atomic_load_n(&e->sh->thp, __ATOMIC_ACQUIRE))
		ret = 0;
	if (fz)
		ftr_fzsync_end_a(&e->sh->fz);
	r->st->busy_ns += ftr_now_ns() - t0;
	ftr_seqc_end(&s->collapse);
	ftr_seqc_end(&e->sh->collapse_any);
	/* Race density: a write into this PMD was in flight during the call. */
	if (!ftr_seqc_same(&s->write, w0))
		r->st->overlaps++;
	if (!ret && ftr_seqc_same(&s->split, s0)) {
		/* Before the splitter may see it collapsed and split it under the check. */
		ftr_contract_after_call(r, pmd, t0, s0, st0, !ftr_seqc_same(&s->write, w0));
		__atomic_store_n(&s->ok_store, st0, __ATOMIC_RELEASE);
		__atomic_store_n(&s->ok_split, s0 + 1, __ATOMIC_RELEASE);
	}
	r->st->ops++;
	r->st->res[ftr_errno_slot(ret)]++;
	if (ret)
		r->st->last_err = ret;
	ftr_role_log(r, FTR_OP_COLLAPSE, t0, (uint64_t)pmd * e->pmd, e->pmd, 0, ret);
	p->last_end = ftr_now_ns();
	if (rop)
		ftr_replay_advance(e->replay, r->id, 1);
	if (ret == EINVAL)
		ftr_pause_us(r, 1000);	/* not supported here: don't steal the writers' CPU */
	return 0;
}

/*
 * A PMD that is collapsed now, if any: that keeps collapses coming.  Otherwise, one
 * time in four, any PMD (a split racing a collapse of the same range); not more
 * often, or under TCG, where a collapse takes 10 ms, a split overlaps nearly every
 * call and leaves no collapse whose THP contract can be checked.  UINT32_MAX: none.
 */
static uint32_t pick_collapsed_pmd(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	uint32_t start = ftr_rng_below(&r->rng, e->npmds);

	for (uint32_t i = 0; i < e->npmds; i++) {
		struct ftr_pmd_state *s = &e->pmds[(start + i) % e->npmds];

		if (ld(&s->ok_split) == ld(&s->split.seq) + 1 && !__atomic_load_n(&s->sealed, __ATOMIC_ACQUIRE))
			return (start + i) % e->npmds;
	}
	return ftr_rng_below(&r->rng, 4) ? UINT32_MAX : start;
}

/* A whole page the punch splitter owns inside the given PMD. */
static bool pick_page_in(struct ftr_role *r, uint32_t pmd, uint32_t *first)
{
	struct ftr_engine *e = r->eng;
	uint32_t per_page = e->psz / FTR_BLOCK, per_pmd = e->pmd / FTR_BLOCK;

	for (uint32_t i = 0, k = ftr_rng_below(&r->rng, r->nsegs + 1); i < r->nsegs; i++) {
		uint32_t f, n, pf;

		ftr_seg_range(e, r->segs[(k + i) % r->nsegs], &f, &n);
		pf = (f + per_page - 1) / per_page * per_page;
		if (pf + per_page <= f + n && pf / per_pmd == pmd) {
			*first = pf;
			return true;
		}
	}
	return false;
}

static int splitter_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	const struct ftr_replay_op *rop = NULL;
	uint32_t pmd, seg, first, n, arg = 0, gen = 0;
	uint64_t t0, off, len = e->pmd;
	enum ftr_op op = FTR_OP_SPLIT;
	char cmd[4200];
	int ret = 0, fd, c;

	/* --replay: the recorded PMD (or punched page) and split order, no choices drawn. */
	if (e->replay) {
		if (!(rop = ftr_replay_peek(e->replay, r->id, r->epoch, 0)))
			return ftr_pause_us(r, 1000), 0;
		pmd = rop->off / e->pmd;
		arg = rop->arg;
		gen = rop->gen;
	} else {
		pmd = pick_collapsed_pmd(r);
		if (pmd == UINT32_MAX || !ftr_contract_may_write(e, (uint64_t)pmd * e->pmd, e->pmd))
			return ftr_pause_us(r, 1000), 0;	/* nothing to split, or sealed */
	}
	t0 = ftr_now_ns();
	off = (uint64_t)pmd * e->pmd;
	switch (r->mode) {
	case FTR_SPLIT_DEBUGFS:
		ftr_seqc_begin(&e->pmds[pmd].split);
		/* Page offsets in the file, and a random target order where the page cache
		 * takes large folios: splitting a shmem folio, or the folio of a filesystem
		 * without large folios, to a non-zero order is a VM_WARN (6.12).  Half the
		 * time a non-uniform split around a page inside the folio: the in-folio
		 * offset that newer kernels take and older ones do not parse (kept in gen). */
		if (!rop) {
			unsigned order = e->env->caps.is_shmem || e->env->caps.max_folio_order <= 0 ? 0 :
					 (unsigned)ftr_rng_below(&r->rng, 4) * 2;
			bool has_off = ftr_rng_below(&r->rng, 2);

			if (has_off)
				gen = ftr_rng_below(&r->rng, e->pmd / e->psz);
			arg = FTR_ARG_SPLIT(order, has_off);
		}
		c = snprintf(cmd, sizeof(cmd), "%s,%#llx,%#llx,%u", e->path,
			     (unsigned long long)(off / e->psz), (unsigned long long)((off + len) / e->psz),
			     FTR_ARG_SPLIT_ORDER(arg));
		if (FTR_ARG_SPLIT_HAS_OFF(arg))
			c += snprintf(cmd + c, sizeof(cmd) - c, ",%llu", (unsigned long long)gen);
		fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, cmd, c) != c)
			ret = errno;
		if (fd >= 0)
			close(fd);
		ftr_seqc_end(&e->pmds[pmd].split);
		break;
	case FTR_SPLIT_PUNCH:
		if (rop)
			first = rop->off / FTR_BLOCK;
		else if (!pick_page_in(r, pmd, &first) && !ftr_pick_extent(r, true, UINT32_MAX, &seg, &first, &n))
			return ftr_pause_us(r, 1000), 0;
		op = FTR_OP_PUNCH;
		off = (uint64_t)first * FTR_BLOCK;
		len = e->psz;
		n = e->psz / FTR_BLOCK;
		pmd = off / e->pmd;
		ftr_seqc_begin(&e->pmds[pmd].split);
		ftr_oracle_begin_stamp(&e->oracle, p->buf, first, n, FTR_P_PUNCH);
		if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			ret = errno;
		/* Put the page back: the oracle wants it written whether or not the punch worked. */
		c = ftr_pwrite_full(p->fd, p->buf, len, off);
		ftr_seqc_end(&e->pmds[pmd].split);
		if (c)
			return c;
		ftr_oracle_commit(&e->oracle, first, n);
		break;
	default:
		op = FTR_OP_PAGEOUT;
		ftr_seqc_begin(&e->pmds[pmd].split);
		if (madvise(e->map + off, len, MADV_PAGEOUT))
			ret = errno;
		ftr_seqc_end(&e->pmds[pmd].split);
		break;
	}
	/* As ftr_op_done(), with the replay argument; let collapses happen in between. */
	r->st->ops++;
	r->st->res[ftr_errno_slot(ret)]++;
	if (ret)
		r->st->last_err = ret;
	ftr_role_log_arg(r, op, t0, off, len, op == FTR_OP_SPLIT ? gen : 0, ret, arg);
	if (rop)
		ftr_replay_advance(e->replay, r->id, 1);
	/* khugepaged collapses at its own pace, and only a THP that no split followed
	 * before the epoch's end can be checked (contract.h): split it less often. */
	ftr_pause_us(r, e->khugepaged ? 100000 : 1000);
	return 0;
}

/* Logs khugepaged's full scans, so a report shows it was awake.  What it collapsed of
 * our file comes from the trace (verify.c): its global counters count every file. */
static int khugepaged_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	unsigned long scans = 0;
	uint64_t t0 = ftr_now_ns();

	ftr_pause_us(r, 20000);
	ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/full_scans", &scans);
	if (scans == p->scans)
		return 0;
	r->st->ops++;
	ftr_role_log(r, FTR_OP_KHUGEPAGED, t0, 0, 0, 0, 0);
	p->scans = scans;
	return 0;
}

int ftr_role_op(struct ftr_role *r)
{
	switch (r->kind) {
	case FTR_R_WRITER: return ftr_writer_op(r);
	case FTR_R_COLLAPSER: return collapser_op(r);
	case FTR_R_SPLITTER: return splitter_op(r);
	case FTR_R_KHUGEPAGED: return khugepaged_op(r);
	case FTR_R_CHURN: return ftr_churn_roles[r->mode]->op(r);
	default: return ftr_reader_op(r);
	}
}
