// SPDX-License-Identifier: GPL-2.0
/*
 * The collapser: MADV_COLLAPSE of every PMD of the file (but the one the splitter owns
 * whole this epoch), in a fresh random order each round, with the THP contract checked
 * right after each call that returned 0 (contract.h).  And its counterpart for
 * khugepaged mode, which only watches khugepaged's full scans: what it collapsed of
 * our file comes from the trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "collapser.h"
#include "contract.h"
#include "control.h"
#include "knob.h"
#include "mapping.h"
#include "replay.h"
#include "role.h"
#include "thp.h"

#define CALL_GAP_NS	2000

static uint64_t ld(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static int collapser_setup(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	p->perm = calloc(r->arena->npmds, sizeof(*p->perm));
	if (!p->perm)
		return -ENOMEM;
	p->perm_pos = r->arena->npmds;
	return 0;
}

static void collapser_teardown(struct ftr_role *r)
{
	free(((struct role_priv *)r->priv)->perm);
}

static int collapser_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t s0, st0, w0, t0, t1;
	struct ftr_pmd_state *s;
	bool fz = a->sc->fzsync;
	const struct ftr_replay_op *rop = NULL;
	bool checked = false;
	uint32_t pmd;
	int ret;

	/* --replay: the recorded PMD, collapsed whatever its state (the skip below is timing). */
	if (a->replay) {
		if (!(rop = ftr_replay_peek(a->replay, r->id, r->epoch, 0)))
			return ftr_pause_us(r, 1000), 0;
		if (rop->op == FTR_OP_SYNC) {
			ftr_role_writeback(r, rop->off / a->pmd);
			ftr_replay_advance(a->replay, r->id, 1);
			return 0;
		}
		pmd = rop->off / a->pmd;
		s = &a->pmds[pmd];
		goto collapse;
	}
	if (p->perm_pos == a->npmds) {
		for (uint32_t i = 0; i < a->npmds; i++)
			p->perm[i] = i;
		for (uint32_t i = a->npmds - 1; i > 0; i--) {
			uint32_t j = ftr_rng_below(&r->rng, i + 1), t = p->perm[i];

			p->perm[i] = p->perm[j];
			p->perm[j] = t;
		}
		p->perm_pos = 0;
	}
	pmd = p->perm[p->perm_pos++];
	/* The PMD the splitter owns whole this epoch, it collapses itself: a collapse of
	 * ours over its 2 MiB write would seal the PMD and end its dirty THP splits for
	 * the rest of the epoch. */
	if (!fz && pmd == ftr_owned_pmd(a, r->epoch))
		return 0;
	/* Window targeting: the paired writer names the PMD it is about to write. */
	if (fz && !ftr_fzsync_start_a(&a->sh->fz, &pmd))
		return 0;
	s = &a->pmds[pmd];
	/* Collapsed and untouched since: MADV_COLLAPSE would return 0 without doing a
	 * thing, and burn the CPU the writers need. */
	if (!fz && ftr_pmd_collapsed(a, pmd) &&
	    (a->env->caps.is_shmem || ftr_seqc_same(&s->store, ld(&s->ok_store)))) {
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
	if (!rop && ftr_rng_below(&r->rng, 4) && !a->env->caps.is_shmem)
		ftr_role_writeback(r, pmd);
	/* Calls at least 2 us apart: tracefs prints event times rounded to the
	 * microsecond, and an event that may be either call's is not attributed
	 * (outcome.h).  Regular files spend longer than that in the flush above. */
	while (ftr_now_ns() < p->last_end + CALL_GAP_NS)
		;
	/* How often a call meets writeback in flight (as far as mapped pages show it). */
	if (!a->env->caps.is_shmem && ftr_pages_with_flag(a->map + (size_t)pmd * a->pmd, a->pmd, FTR_KPF_WRITEBACK) > 0)
		r->st->over_writeback++;
	/* What overlapped the call, not the writeback point (slow under TCG). */
	st0 = ftr_seqc_read(&s->store);
	s0 = ftr_seqc_read(&s->split);
	ftr_seqc_begin(&a->sh->collapse_any);
	ftr_seqc_begin(&s->collapse);
	t0 = ftr_now_ns();
	/* --inject thp-call: a success without a collapse, on a PMD we never collapsed;
	 * the check right after the call must see that no THP is there. */
	if (a->env->opts->inject == FTR_INJECT_THP_CALL && !ftr_pmd_collapsed(a, pmd) &&
	    !__atomic_load_n(&a->sh->thp, __ATOMIC_ACQUIRE))
		ret = 0;
	else
		ret = madvise(a->map + (size_t)pmd * a->pmd, a->pmd, MADV_COLLAPSE) ? errno : 0;
	t1 = ftr_now_ns();
	if (ret == EAGAIN && a->env->opts->inject == FTR_INJECT_ERRNO)
		ret = EINVAL;
	/* A collapse that raced a write: writers keep off it from now until the check
	 * after eviction (contract.h), before anything else can dirty the THP. */
	if (!ret && !ftr_seqc_same(&s->write, w0))
		ftr_contract_seal(a, pmd, t0, t1, false);
	if (fz)
		ftr_fzsync_end_a(&a->sh->fz);
	r->st->busy_ns += t1 - t0;
	ftr_seqc_end(&s->collapse);
	ftr_seqc_end(&a->sh->collapse_any);
	/* Race density: a write into this PMD was in flight during the call. */
	if (!ftr_seqc_same(&s->write, w0))
		r->st->overlaps++;
	if (!ret && ftr_seqc_same(&s->split, s0)) {
		/* Before the splitter may see it collapsed and split it under the check. */
		if ((checked = ftr_contract_after_call(a, pmd, s0, st0)))
			r->st->thp_checked++;
		__atomic_store_n(&s->ok_store, st0, __ATOMIC_RELEASE);
		__atomic_store_n(&s->ok_split, s0 + 1, __ATOMIC_RELEASE);
	}
	/* A split overlapped the call or its check: still a THP now, the call made or
	 * found one (its trace may say only pte_mapped_hugepage); gone, nothing is proven. */
	if (!ret && !checked)
		checked = ftr_contract_is_thp(a, pmd, true);
	ftr_op_count(r, ret);
	ftr_role_log(r, FTR_OP_COLLAPSE, t0, (uint64_t)pmd * a->pmd, a->pmd, checked ? FTR_GEN_CHECKED : 0, ret);
	p->last_end = ftr_now_ns();
	if (rop)
		ftr_replay_advance(a->replay, r->id, 1);
	if (ret == EINVAL)
		ftr_pause_us(r, 1000);	/* not supported here: don't steal the writers' CPU */
	return 0;
}

static void collapser_describe(const struct ftr_role *r, char *buf, size_t len)
{
	const struct ftr_role_stats *st = r->st;
	char res[160];

	ftr_role_res_str(r, res, sizeof(res));
	snprintf(buf, len, "%8llu ops:%s, %.0f us per call, %llu raced a write into their PMD, %llu began with "
		 "a page of it under writeback", (unsigned long long)st->ops, res,
		 st->ops ? st->busy_ns / 1e3 / st->ops : 0.0, (unsigned long long)st->overlaps,
		 (unsigned long long)st->over_writeback);
}

static bool collapser_fits(const struct ftr_role *r, const struct ftr_replay_op *o)
{
	return (o->op == FTR_OP_COLLAPSE || o->op == FTR_OP_SYNC) && o->off % r->arena->pmd == 0;
}

const struct ftr_role_ops ftr_collapser_ops = {
	.name = "collapser", .setup = collapser_setup, .op = collapser_op, .teardown = collapser_teardown,
	.describe = collapser_describe, .replay_fits = collapser_fits,
};

static int khugepaged_setup(struct ftr_role *r)
{
	ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/full_scans", &((struct role_priv *)r->priv)->scans);
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

const struct ftr_role_ops ftr_khugepaged_ops = {
	.name = "khugepaged-watch", .setup = khugepaged_setup, .op = khugepaged_op,
};
