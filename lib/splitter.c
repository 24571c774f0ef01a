// SPDX-License-Identifier: GPL-2.0
/*
 * The splitter keeps collapses coming: it splits a PMD that is collapsed now, through
 * debugfs (to random orders, around random pages), a punched and rewritten page, or
 * MADV_PAGEOUT, whichever this kernel and filesystem allow (roster.c picks).
 *
 * It also splits dirty folios on purpose.  A large folio dirtied by write() alone (no
 * PTE carries a dirty bit for it) must leave every piece of a split dirty until it is
 * written back; one that forgets loses the write at the next writeback, and the check
 * at the epoch's end misses it when a later write rewrote the block.  So, one op in
 * two (always on a THP), on a page it owns: collapse its PMD if no THP is there,
 * pwrite() the page, split the PMD (debugfs, or a punch of another page), and read the
 * page with O_DIRECT, which writes the range back first and then reads the disk.
 *
 * That split rarely happens: a dirty large folio with private data is not split
 * (__folio_split() -> filemap_release_folio(); tools/repro/dirty-thp-split measured
 * it on 7.2).  A pwrite() of part of a folio attaches iomap's per-block state on xfs,
 * and ext4 attaches buffer heads to every folio it writes.  So in the epochs where
 * the splitter owns a whole PMD (ftr_owned_pmd()), it writes all of it in one
 * pwrite(), which leaves xfs a dirty THP with nothing attached, and splits that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contract.h"
#include "control.h"
#include "disk.h"
#include "extent.h"
#include "mapping.h"
#include "replay.h"
#include "role.h"
#include "splitter.h"
#include "thp.h"

/*
 * A PMD that is collapsed now, if any: that keeps collapses coming.  Collapsed is the
 * collapser's word (ftr_pmd_collapsed()), or kpageflags' for a few PMDs a look: a THP
 * that khugepaged, a pin or another process built is as good to split.  Otherwise,
 * one time in four, any PMD (a split racing a collapse of the same range); not more
 * often, or under TCG, where a collapse takes 10 ms, a split overlaps nearly every
 * call and leaves no collapse whose THP contract can be checked.  *thp: the PMD is one
 * folio now.  UINT32_MAX: none.
 */
static uint32_t pick_collapsed_pmd(struct ftr_role *r, bool *thp)
{
	struct ftr_arena *a = r->arena;
	uint32_t start = ftr_rng_below(&r->rng, a->npmds), looks = 0;

	for (uint32_t i = 0; i < a->npmds; i++) {
		uint32_t p = (start + i) % a->npmds;

		if (__atomic_load_n(&a->pmds[p].sealed, __ATOMIC_ACQUIRE))
			continue;
		*thp = looks++ < 4 && ftr_contract_is_thp(a, p, false);
		if (*thp || ftr_pmd_collapsed(a, p))
			return p;
	}
	*thp = false;
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

/*
 * debugfs split of PMD pmd: page offsets in the file, and a random target order where
 * the page cache takes large folios (splitting a shmem folio, or the folio of a
 * filesystem without large folios, to a non-zero order is a VM_WARN on 6.12).  Half
 * the time a non-uniform split around a page inside the folio: the in-folio offset
 * that newer kernels take and older ones do not parse (kept in *gen).  rop: the
 * recorded order and offset (--replay).  0 or errno.
 */
static int debugfs_split(struct ftr_role *r, uint32_t pmd, const struct ftr_replay_op *rop, uint32_t *arg,
			 uint32_t *gen)
{
	struct ftr_arena *a = r->arena;
	uint64_t off = (uint64_t)pmd * a->pmd;
	char cmd[4200];
	int ret = 0, fd, c;
	uint64_t col;

	if (!rop) {
		unsigned order = a->env->caps.is_shmem || a->env->caps.max_folio_order <= 0 ? 0 :
				 (unsigned)ftr_rng_below(&r->rng, 4) * 2;
		bool has_off = ftr_rng_below(&r->rng, 2);

		*gen = has_off ? ftr_rng_below(&r->rng, a->pmd / a->psz) : 0;
		*arg = FTR_ARG_SPLIT(order, has_off);
	}
	ftr_seqc_begin(&a->pmds[pmd].split);
	ftr_seqc_begin(&a->pmds[pmd].resplit);
	c = snprintf(cmd, sizeof(cmd), "%s,0x%llx,0x%llx,%u", a->path, (unsigned long long)(off / a->psz),
		     (unsigned long long)((off + a->pmd) / a->psz), FTR_ARG_SPLIT_ORDER(*arg));
	if (FTR_ARG_SPLIT_HAS_OFF(*arg))
		c += snprintf(cmd + c, sizeof(cmd) - c, ",%llu", (unsigned long long)*gen);
	col = ftr_seqc_read(&a->pmds[pmd].collapse);
	fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, cmd, c) != c)
		ret = errno;
	if (fd >= 0)
		close(fd);
	/* debugfs says nothing of folios it could not split (an extra reference): a THP
	 * that is still one, with no collapse since, was not split, and evidence that
	 * takes a split to have dropped a THP (known.c) must not count it.  Not known
	 * in khugepaged mode: khugepaged may have collapsed the range again already. */
	if (!ret && !a->khugepaged && ftr_seqc_same(&a->pmds[pmd].collapse, col) &&
	    ftr_contract_is_thp(a, pmd, false))
		ret = EBUSY;
	ftr_seqc_end(&a->pmds[pmd].resplit);
	ftr_seqc_end(&a->pmds[pmd].split);
	return ret;
}

/* Where a dirty split can be read back from the disk, by a splitter that may write. */
static bool dirty_splits(const struct ftr_arena *a)
{
	return a->split != FTR_SPLIT_PAGEOUT && !a->env->caps.is_shmem && !a->sc->ro_mapping &&
	       a->env->caps.odirect.ok;
}

bool ftr_splitter_owns(const struct ftr_arena *a)
{
	return a->split == FTR_SPLIT_PUNCH || (a->split == FTR_SPLIT_DEBUGFS && dirty_splits(a));
}

/* The path of the splitter's versions: one per role, as the oracle wants of an owner
 * (a racing read may see any version since the epoch began, all of the owner's path). */
static unsigned write_path(const struct ftr_role *r)
{
	return r->mode == FTR_SPLIT_PUNCH ? FTR_P_PUNCH : FTR_P_PWRITE;
}

/* The buffer for a write of len bytes, and as much after it for the disk's copy. */
static char *buf_for(struct ftr_role *r, size_t len)
{
	struct role_priv *p = r->priv;

	return len > r->arena->psz ? p->churn : p->buf;
}

/*
 * Writes len bytes (a page, or a whole PMD) at block first, after punching them if
 * punch (a split of the folio around a page, and a write for the seal too).  1 when
 * done (*err: the punch's errno), 0 when its PMD is sealed, -errno when the write
 * failed.
 */
static int write_range(struct ftr_role *r, uint32_t first, size_t len, bool punch, int *err)
{
	enum ftr_also also = punch ? FTR_ALSO_RESPLIT : FTR_ALSO_NONE;
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t off = (uint64_t)first * FTR_BLOCK;
	uint32_t n = len / FTR_BLOCK;
	char *buf = buf_for(r, len);
	int c;

	if (!ftr_extent_begin(a, off, len, also))
		return 0;
	ftr_oracle_begin_stamp(&a->oracle, buf, first, n, write_path(r));
	*err = punch && fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) ? errno : 0;
	/* The oracle wants the range written whether or not the punch worked. */
	c = ftr_pwrite_full(p->fd, buf, len, off);
	ftr_extent_end(a, off, len, also);
	if (c)
		return c;
	ftr_oracle_commit(&a->oracle, first, n);
	return 1;
}

static bool own_collapses(const struct ftr_arena *a)
{
	return dirty_splits(a) && !a->khugepaged && a->env->caps.collapse_rw.ok;
}

/*
 * A dirty split's first step where no THP is there: the splitter collapses the PMD
 * itself (ftr_role_collapse()).  Under TCG a collapse takes 10 ms and the splitter
 * splits what the collapser builds within a few, so the collapser's THPs alone gave a
 * quick run on 7.2 fewer than 10 dirty splits of a THP.  Not in khugepaged mode, where
 * only khugepaged collapses, nor where writable mappings do not collapse (the probe).
 */
static void own_collapse(struct ftr_role *r, uint32_t pmd)
{
	int err = ftr_role_collapse(r, pmd);

	/* Once more after EAGAIN (a writer dirtied the range again, a folio was busy). */
	if (err == EAGAIN) {
		ftr_role_writeback(r, pmd);
		err = ftr_role_collapse(r, pmd);
	}

	r->st->own_collapses[0]++;
	r->st->own_collapses[1] += !err && ftr_contract_is_thp(r->arena, pmd, false);
}

/*
 * Whether this op is a dirty split, and its pages: where the role owns a page of pmd
 * (and for a punch another one to punch), always when pmd is a THP now (thp), else
 * one time in two (always for a spare op: nothing collapsed to split), after
 * collapsing it itself (own_collapse()).
 */
static bool dirty_split_pages(struct ftr_role *r, uint32_t pmd, bool thp, bool spare, uint32_t *first,
			      uint32_t *second)
{
	if (!dirty_splits(r->arena) || !r->nsegs || (!thp && !spare && ftr_rng_below(&r->rng, 2)) ||
	    !pick_page_in(r, pmd, first))
		return false;
	if (r->mode == FTR_SPLIT_PUNCH && (!pick_page_in(r, pmd, second) || *second == *first))
		return false;
	/* Written back first, as the collapser does before most calls: writers that
	 * never pause keep the range dirty, and the collapse answers EAGAIN. */
	if (!thp && own_collapses(r->arena)) {
		ftr_role_writeback(r, pmd);
		own_collapse(r, pmd);
	}
	return true;
}

/* Whether the folio of the page at off has kpageflags bit kpf (the page is mapped). */
static bool page_flag(struct ftr_arena *a, uint64_t off, int kpf)
{
	return ftr_pages_with_flag(a->map + off, a->psz, kpf) == 1;
}

/*
 * Writes len bytes (a page, or its whole PMD) at block first, splits the PMD (debugfs,
 * or a punch of the page at block second), and reads them from the disk.  srop: the
 * recorded split or punch that followed the write (--replay).
 */
static int dirty_split(struct ftr_role *r, uint32_t first, size_t len, uint32_t second,
		       const struct ftr_replay_op *srop)
{
	struct ftr_arena *a = r->arena;
	uint32_t n = len / FTR_BLOCK, pmd = (uint64_t)first * FTR_BLOCK / a->pmd, arg = 0, gen = 0, nbad;
	uint64_t off = (uint64_t)first * FTR_BLOCK, t0 = ftr_now_ns();
	char *disk = buf_for(r, len) + len;
	int ret = 0, c = write_range(r, first, len, false, &ret), dfd;
	struct ftr_bad bad[FTR_FATAL_BADS];
	bool thp, dirty = false, kept;

	if (c <= 0)
		return c ? c : (ftr_pause_us(r, 1000), 0);
	/* Whether it wrote into a THP: the PMD is one folio now (kpageflags; a folio's size
	 * shows only in a scan from its head).  What is mapped tells: reading the PMD in
	 * would cost a reclaimed PMD's worth of IO each op, and under TCG that queued
	 * behind the loop device for minutes.  But a store through any mapping, or an
	 * O_DIRECT write, unmaps a file THP's whole PMD: a read of the page just written
	 * (cached, no IO) maps it again, by the PMD where it is still one folio. */
	(void)*(volatile char *)(a->map + off);
	thp = ftr_contract_is_thp(a, pmd, false);
	r->st->whole_splits[0] += thp && len == a->pmd;
	ftr_role_log_entry(r, &(struct ftr_op_entry){ .t0 = t0, .t1 = ftr_now_ns(), .off = off, .len = len,
			   .gen = ftr_ver_gen(__atomic_load_n(&a->oracle.done[first], __ATOMIC_ACQUIRE)),
			   .op = FTR_OP_WRITE, .path = write_path(r) });
	t0 = ftr_now_ns();
	if (r->mode == FTR_SPLIT_DEBUGFS) {
		if (srop)
			arg = srop->arg, gen = srop->gen;
		/* A THP kept whole (EBUSY: debugfs skips a folio it cannot lock, that
		 * holds extra references, or that is dirty with private data) is tried a
		 * few more times.  Whether it was still dirty is asked before each try:
		 * writeback may have cleaned it meanwhile. */
		for (int tries = 0; tries < (srop ? 1 : 4); tries++) {
			dirty = thp && page_flag(a, off, FTR_KPF_DIRTY);
			ret = debugfs_split(r, pmd, srop, &arg, &gen);
			ftr_role_log_arg(r, FTR_OP_SPLIT, t0, (uint64_t)pmd * a->pmd, a->pmd, gen, ret, arg);
			if (ret != EBUSY)
				break;
			ftr_pause_us(r, 2000);
			t0 = ftr_now_ns();
		}
	} else if (!a->replay || srop) {
		second = srop ? srop->off / FTR_BLOCK : second;
		dirty = thp && page_flag(a, off, FTR_KPF_DIRTY);
		if ((c = write_range(r, second, a->psz, true, &ret)) > 0)
			ftr_role_log(r, FTR_OP_PUNCH, t0, (uint64_t)second * FTR_BLOCK, a->psz, 0, ret);
	} else {
		c = 0;	/* the record ends with the write */
	}
	if (c > 0)
		ftr_op_count(r, ret);
	if (c > 0 && !ret && a->env->opts->inject == FTR_INJECT_SPLIT_CLEAN && !r->st->dirty_splits)
		ftr_disk_stale(a, ((struct role_priv *)r->priv)->fd, first);
	/* A dirty THP split is one the PMD is no longer one folio after: debugfs says
	 * nothing of a folio it kept whole (the EBUSY look above is off in khugepaged
	 * mode), nor does a punch whose split failed (it zeroes the range in place). */
	kept = c > 0 && !ret && dirty && ftr_contract_is_thp(a, pmd, false);
	if (c > 0 && !ret) {
		dfd = open(a->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (dfd < 0 || pread(dfd, disk, len, off) != (ssize_t)len) {
			ftr_fatal(r, NULL, 0, "%s: the O_DIRECT read of [%#llx, +%#zx) after a dirty split: %s",
				  r->name, (unsigned long long)off, len, strerror(errno));
		} else {
			r->st->checked_blocks += n, r->st->thp_checked += dirty && !kept, r->st->dirty_splits++;
			r->st->whole_splits[1] += dirty && !kept && len == a->pmd;
			if ((nbad = ftr_oracle_check(&a->oracle, disk, first, n, NULL, bad, FTR_FATAL_BADS, NULL)))
				ftr_fatal(r, bad, nbad, "%s: [%#llx, +%#zx), written by one write() into PMD %u (%s), "
					  "then split, read back from the disk with O_DIRECT: block %u holds older data",
					  r->name, (unsigned long long)off, len, pmd,
					  kept ? "a dirty THP, one folio after the split" : dirty ? "a dirty THP" :
					  thp ? "a THP written back before the split" : "not a THP",
					  bad[0].block);
		}
		if (dfd >= 0)
			close(dfd);
	}
	if (a->replay)
		ftr_replay_advance(a->replay, r->id, srop ? 2 : 1);
	ftr_pause_us(r, 1000);
	return c < 0 ? c : 0;
}

/*
 * A dirty split of the whole PMD the role owns this epoch: collapse it where no THP
 * is there (no other writer dirties it meanwhile), write all of it in one pwrite(),
 * split it and read it back from the disk.
 */
static int whole_split(struct ftr_role *r, uint32_t pmd, bool thp)
{
	struct ftr_arena *a = r->arena;

	if (own_collapses(a) && !thp) {
		ftr_role_writeback(r, pmd);
		own_collapse(r, pmd);
	}
	return dirty_split(r, (uint64_t)pmd * a->pmd / FTR_BLOCK, a->pmd, 0, NULL);
}

static int splitter_setup(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;

	/* A whole PMD's write and the disk's copy of it. */
	if (a->pmd_owner >= 0 && a->owner_role[a->pmd_owner] == r->id &&
	    posix_memalign(&p->churn, a->psz, 2 * a->pmd))
		return -ENOMEM;
	return 0;
}

static void splitter_teardown(struct ftr_role *r)
{
	free(((struct role_priv *)r->priv)->churn);
}

static int splitter_op(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	const struct ftr_replay_op *rop = NULL;
	uint32_t pmd, seg, first, n, arg = 0, gen = 0;
	uint64_t t0, off, len = a->pmd;
	enum ftr_op op = FTR_OP_SPLIT;
	bool thp = false, spare = false, owned = false;
	int ret = 0, c;

	/* --replay: the recorded PMD (or punched page) and split order, no choices drawn. */
	if (a->replay) {
		if (!(rop = ftr_replay_peek(a->replay, r->id, r->epoch, 0)))
			return ftr_pause_us(r, 1000), 0;
		/* a dirty split's own collapse, and its writeback first */
		if (rop->op == FTR_OP_SYNC || rop->op == FTR_OP_COLLAPSE) {
			if (rop->op == FTR_OP_SYNC)
				ftr_role_writeback(r, rop->off / a->pmd);
			else
				ftr_role_collapse(r, rop->off / a->pmd);
			ftr_replay_advance(a->replay, r->id, 1);
			return 0;
		}
		if (rop->op == FTR_OP_WRITE) {	/* a dirty split: the write, then its split */
			const struct ftr_replay_op *next = ftr_replay_peek(a->replay, r->id, r->epoch, 1);

			return dirty_split(r, rop->off / FTR_BLOCK, rop->len, 0,
					   next && next->op != FTR_OP_WRITE ? next : NULL);
		}
		pmd = rop->off / a->pmd;
		arg = rop->arg;
		gen = rop->gen;
	} else if ((pmd = ftr_owned_pmd(a, r->epoch)) != UINT32_MAX && r->nsegs) {
		/* A THP that a store or a partial write gave private data (iomap's
		 * per-block state) stays whole once dirty, the whole PMD written or not:
		 * it is written back and split clean, and a fresh collapse has none. */
		(void)*(volatile char *)(a->map + (uint64_t)pmd * a->pmd);
		thp = own_collapses(a) && ftr_contract_is_thp(a, pmd, false);
		if (!thp || !page_flag(a, (uint64_t)pmd * a->pmd, FTR_KPF_PRIVATE))
			return whole_split(r, pmd, thp);
		ftr_role_writeback(r, pmd);
		owned = true;
	} else {
		pmd = pick_collapsed_pmd(r, &thp);
		/* Nothing collapsed to split: a dirty split with a collapse of its own, of
		 * a PMD that the collapser is not collapsing now. */
		if (pmd == UINT32_MAX && own_collapses(a)) {
			spare = true;
			pmd = ftr_rng_below(&r->rng, a->npmds);
			if (ftr_seqc_read(&a->pmds[pmd].collapse) == FTR_SEQC_BUSY)
				pmd = UINT32_MAX;
		}
		if (pmd == UINT32_MAX || !ftr_contract_may_write(a, (uint64_t)pmd * a->pmd, a->pmd))
			return ftr_pause_us(r, 1000), 0;	/* nothing to split, or sealed */
	}
	t0 = ftr_now_ns();
	off = (uint64_t)pmd * a->pmd;
	if (!rop && !owned && r->mode != FTR_SPLIT_PAGEOUT && dirty_split_pages(r, pmd, thp, spare, &first, &n))
		return dirty_split(r, first, a->psz, n, NULL);
	if (spare)
		return ftr_pause_us(r, 1000), 0;
	switch (r->mode) {
	case FTR_SPLIT_DEBUGFS:
		ret = debugfs_split(r, pmd, rop, &arg, &gen);
		break;
	case FTR_SPLIT_PUNCH:
		if (rop)
			first = rop->off / FTR_BLOCK;
		else if (!pick_page_in(r, pmd, &first) && !ftr_pick_extent(r, true, UINT32_MAX, &seg, &first, &n))
			return ftr_pause_us(r, 1000), 0;
		op = FTR_OP_PUNCH;
		off = (uint64_t)first * FTR_BLOCK;
		len = a->psz;
		pmd = off / a->pmd;
		if ((c = write_range(r, first, a->psz, true, &ret)) <= 0)
			return c ? c : (ftr_pause_us(r, 1000), 0);
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

	if (o->op == FTR_OP_WRITE)	/* a dirty split's, of a page or of a whole PMD */
		return r->mode != FTR_SPLIT_PAGEOUT && ((o->off % a->psz == 0 && o->len == a->psz) ||
							(r->mode == FTR_SPLIT_DEBUGFS && o->off % a->pmd == 0 &&
							 o->len == a->pmd));
	if (o->op == FTR_OP_SYNC || o->op == FTR_OP_COLLAPSE)	/* ... and its own collapse */
		return r->mode != FTR_SPLIT_PAGEOUT && o->off % a->pmd == 0 && o->len == a->pmd;
	if (o->op != split_op[r->mode])
		return false;
	if (o->op == FTR_OP_PUNCH)
		return o->off % a->psz == 0 && o->len == a->psz;
	return o->off % a->pmd == 0 && (!FTR_ARG_SPLIT_HAS_OFF(o->arg) || o->gen < a->pmd / a->psz);
}

static void splitter_describe(const struct ftr_role *r, char *buf, size_t len)
{
	char res[160];
	size_t o;

	ftr_role_res_str(r, res, sizeof(res));
	o = snprintf(buf, len, "%8llu ops:%s", (unsigned long long)r->st->ops, res);
	if (dirty_splits(r->arena) && o < len)
		o += snprintf(buf + o, len - o, ", %llu dirty splits read back from the disk (%llu of a dirty THP; "
			      "%llu of %llu own collapses left one)",
			      (unsigned long long)r->st->dirty_splits, (unsigned long long)r->st->thp_checked,
			      (unsigned long long)r->st->own_collapses[1], (unsigned long long)r->st->own_collapses[0]);
	if (r->st->whole_splits[0] && o < len)
		o += snprintf(buf + o, len - o, "; of %llu THPs it wrote whole, the kernel split %llu dirty",
			      (unsigned long long)r->st->whole_splits[0], (unsigned long long)r->st->whole_splits[1]);
	if (r->st->last_err && o < len)
		snprintf(buf + o, len - o, ", last error %s", strerror(r->st->last_err));
}

const struct ftr_role_ops ftr_splitter_ops = {
	.name = "splitter", .setup = splitter_setup, .op = splitter_op, .teardown = splitter_teardown,
	.describe = splitter_describe, .replay_fits = splitter_fits,
};
