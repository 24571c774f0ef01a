// SPDX-License-Identifier: GPL-2.0
/*
 * The splitter keeps collapses coming: it splits a PMD that is collapsed now, through
 * debugfs (to random orders, around random pages), a punched and rewritten page, or
 * MADV_PAGEOUT, whichever this kernel and filesystem allow (roster.c picks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contract.h"
#include "control.h"
#include "extent.h"
#include "mapping.h"
#include "replay.h"
#include "role.h"
#include "splitter.h"

/*
 * A PMD that is collapsed now, if any: that keeps collapses coming.  Otherwise, one
 * time in four, any PMD (a split racing a collapse of the same range); not more
 * often, or under TCG, where a collapse takes 10 ms, a split overlaps nearly every
 * call and leaves no collapse whose THP contract can be checked.  UINT32_MAX: none.
 */
static uint32_t pick_collapsed_pmd(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	uint32_t start = ftr_rng_below(&r->rng, a->npmds);

	for (uint32_t i = 0; i < a->npmds; i++) {
		uint32_t p = (start + i) % a->npmds;

		if (ftr_pmd_collapsed(a, p) && !__atomic_load_n(&a->pmds[p].sealed, __ATOMIC_ACQUIRE))
			return p;
	}
	return ftr_rng_below(&r->rng, 4) ? UINT32_MAX : start;
}

/* A whole page the punch splitter owns inside the given PMD. */
static bool pick_page_in(struct ftr_role *r, uint32_t pmd, uint32_t *first)
{
	struct ftr_arena *a = r->arena;
	uint32_t per_page = a->psz / FTR_BLOCK, per_pmd = a->pmd / FTR_BLOCK;

	for (uint32_t i = 0, k = ftr_rng_below(&r->rng, r->nsegs + 1); i < r->nsegs; i++) {
		uint32_t f, n, pf;

		ftr_seg_range(a, r->segs[(k + i) % r->nsegs], &f, &n);
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
	struct ftr_arena *a = r->arena;
	const struct ftr_replay_op *rop = NULL;
	uint32_t pmd, seg, first, n, arg = 0, gen = 0;
	uint64_t t0, off, len = a->pmd;
	enum ftr_op op = FTR_OP_SPLIT;
	char cmd[4200];
	int ret = 0, fd, c;

	/* --replay: the recorded PMD (or punched page) and split order, no choices drawn. */
	if (a->replay) {
		if (!(rop = ftr_replay_peek(a->replay, r->id, r->epoch, 0)))
			return ftr_pause_us(r, 1000), 0;
		pmd = rop->off / a->pmd;
		arg = rop->arg;
		gen = rop->gen;
	} else {
		pmd = pick_collapsed_pmd(r);
		if (pmd == UINT32_MAX || !ftr_contract_may_write(a, (uint64_t)pmd * a->pmd, a->pmd))
			return ftr_pause_us(r, 1000), 0;	/* nothing to split, or sealed */
	}
	t0 = ftr_now_ns();
	off = (uint64_t)pmd * a->pmd;
	switch (r->mode) {
	case FTR_SPLIT_DEBUGFS:
		ftr_seqc_begin(&a->pmds[pmd].split);
		ftr_seqc_begin(&a->pmds[pmd].resplit);
		/* Page offsets in the file, and a random target order where the page cache
		 * takes large folios: splitting a shmem folio, or the folio of a filesystem
		 * without large folios, to a non-zero order is a VM_WARN (6.12).  Half the
		 * time a non-uniform split around a page inside the folio: the in-folio
		 * offset that newer kernels take and older ones do not parse (kept in gen). */
		if (!rop) {
			unsigned order = a->env->caps.is_shmem || a->env->caps.max_folio_order <= 0 ? 0 :
					 (unsigned)ftr_rng_below(&r->rng, 4) * 2;
			bool has_off = ftr_rng_below(&r->rng, 2);

			if (has_off)
				gen = ftr_rng_below(&r->rng, a->pmd / a->psz);
			arg = FTR_ARG_SPLIT(order, has_off);
		}
		c = snprintf(cmd, sizeof(cmd), "%s,%#llx,%#llx,%u", a->path,
			     (unsigned long long)(off / a->psz), (unsigned long long)((off + len) / a->psz),
			     FTR_ARG_SPLIT_ORDER(arg));
		if (FTR_ARG_SPLIT_HAS_OFF(arg))
			c += snprintf(cmd + c, sizeof(cmd) - c, ",%llu", (unsigned long long)gen);
		fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, cmd, c) != c)
			ret = errno;
		if (fd >= 0)
			close(fd);
		ftr_seqc_end(&a->pmds[pmd].resplit);
		ftr_seqc_end(&a->pmds[pmd].split);
		break;
	case FTR_SPLIT_PUNCH:
		if (rop)
			first = rop->off / FTR_BLOCK;
		else if (!pick_page_in(r, pmd, &first) && !ftr_pick_extent(r, true, UINT32_MAX, &seg, &first, &n))
			return ftr_pause_us(r, 1000), 0;
		op = FTR_OP_PUNCH;
		off = (uint64_t)first * FTR_BLOCK;
		len = a->psz;
		n = a->psz / FTR_BLOCK;
		pmd = off / a->pmd;
		/* A punch and rewrite is a write for the seal too. */
		if (!ftr_extent_begin(a, off, len, FTR_ALSO_RESPLIT))
			return ftr_pause_us(r, 1000), 0;
		ftr_oracle_begin_stamp(&a->oracle, p->buf, first, n, FTR_P_PUNCH);
		if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			ret = errno;
		/* Put the page back: the oracle wants it written whether or not the punch worked. */
		c = ftr_pwrite_full(p->fd, p->buf, len, off);
		ftr_extent_end(a, off, len, FTR_ALSO_RESPLIT);
		if (c)
			return c;
		ftr_oracle_commit(&a->oracle, first, n);
		break;
	default:
		op = FTR_OP_PAGEOUT;
		ftr_seqc_begin(&a->pmds[pmd].split);
		ftr_seqc_begin(&a->pmds[pmd].resplit);
		if (madvise(a->map + off, len, MADV_PAGEOUT))
			ret = errno;
		ftr_seqc_end(&a->pmds[pmd].resplit);
		ftr_seqc_end(&a->pmds[pmd].split);
		break;
	}
	/* As ftr_op_done(), with the replay argument; let collapses happen in between. */
	ftr_op_count(r, ret);
	ftr_role_log_arg(r, op, t0, off, len, op == FTR_OP_SPLIT ? gen : 0, ret, arg);
	if (rop)
		ftr_replay_advance(a->replay, r->id, 1);
	/* khugepaged collapses at its own pace, and only a THP that no split followed
	 * before the epoch's end can be checked (contract.h): split it less often. */
	ftr_pause_us(r, a->khugepaged ? 100000 : 1000);
	return 0;
}

static bool splitter_fits(const struct ftr_role *r, const struct ftr_replay_op *o)
{
	static const uint8_t split_op[] = { 0, FTR_OP_SPLIT, FTR_OP_PUNCH, FTR_OP_PAGEOUT };
	const struct ftr_arena *a = r->arena;

	if (o->op != split_op[r->mode])
		return false;
	if (o->op == FTR_OP_PUNCH)
		return o->off % a->psz == 0 && o->len == a->psz;
	return o->off % a->pmd == 0 && (!FTR_ARG_SPLIT_HAS_OFF(o->arg) || o->gen < a->pmd / a->psz);
}

const struct ftr_role_ops ftr_splitter_ops = { .name = "splitter", .op = splitter_op, .replay_fits = splitter_fits };
