// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence.h"
#include "holes.h"
#include "known.h"
#include "ktap.h"
#include "role.h"

void ftr_known_result(const struct ftr_arena *a, const char *name, enum ftr_known_id id, const char *evidence)
{
	const char *w = ftr_known_waiver(a->env->name, a->env->caps.fstype, a->env->kernel, id);

	if (w && (id == FTR_KI_DIO_STALE || id == FTR_KI_DIO_WRITEBACK)) {
		/* Its own evidence is a kernel-log line the kernel subtest counts as a splat. */
		a->env->waived_splat = "Page cache invalidation failure on direct I/O";
		snprintf(a->env->waived_why, sizeof(a->env->waived_why), "KNOWN ISSUE %s (waived by %s)",
			 ftr_known_names[id], w);
	}
	if (w)
		ftr_ktap_result(FTR_XFAIL, name, "KNOWN ISSUE %s (waived by %s): %s", ftr_known_names[id], w, evidence);
	else
		ftr_ktap_result(FTR_FAIL, name, "KNOWN ISSUE %s: %s", ftr_known_names[id], evidence);
}

/* A matcher: 0 when the failure does not look like its issue, 1 with the evidence
 * for every bad block in ev, -1 after saying what evidence was missing; *id: which. */
typedef int (*matcher)(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l, char *ev, size_t len, enum ftr_known_id *id);

static int missing(enum ftr_known_id id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int missing(enum ftr_known_id id, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ftr_diag("looks like known issue %s, but not every bad block has the evidence: %s", ftr_known_names[id], why);
	return -1;
}

/* Whether the zero-range churn zeroed another part of off's page while [r0, r1] with a
 * call that succeeded: that fallocate() in *z, its role's name in *who. */
static bool zeroed_beside(const struct ftr_arena *a, const struct ftr_roles *rs, uint32_t epoch, uint64_t off,
			  uint64_t r0, uint64_t r1, struct ftr_op_hit *hits, int max, struct ftr_op_entry *z,
			  const char **who)
{
	uint64_t page = off & ~(uint64_t)(a->psz - 1);
	int n = ftr_ev_epoch_ops(rs, epoch, page, a->psz, FTR_OP_PUNCH, hits, max);

	for (int i = 0; i < n; i++) {
		const struct ftr_role *r = &rs->roles[hits[i].role];
		const struct ftr_op_entry *o = &hits[i].e;

		if (r->ops == &ftr_churn_zero && !o->res && o->t0 <= r1 && o->t1 >= r0 &&
		    (off + FTR_BLOCK <= o->off || off >= o->off + o->len)) {
			*who = r->name, *z = *o;
			return true;
		}
	}
	return false;
}

/* What one racing report's evidence names: the read, its first block, the zero-range. */
struct zero_ev {
	uint64_t r0, r1;
	uint32_t block;
	struct ftr_op_entry z;
	const char *who;
};

/*
 * One epoch's racing report, records [from, to) of l: the reader that reported them
 * logged a read that saw exactly that many bad blocks, each inside it, each zero and
 * beside a zero-range of its own page that overlapped the read.  1, or -1 after
 * saying what is missing.
 */
static int zero_report(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
		       size_t from, size_t to, struct ftr_op_hit *hits, int max, struct zero_ev *zev)
{
	const struct ftr_bad_rec *rec = &l->bads[from];
	uint64_t off = (uint64_t)rec->b.block * FTR_BLOCK, roff = 0, rlen = 0;
	int n, seen = 0;

	if (rec->role < 0 || rec->role >= rs->nroles || rs->roles[rec->role].kind != FTR_R_READER)
		return missing(FTR_KI_ZERO_BESIDE, "block %u was not seen by a reader", rec->b.block);
	zev->r1 = 0;
	n = ftr_ev_epoch_ops(rs, rec->epoch, off, FTR_BLOCK, FTR_OP_READ, hits, max);
	for (int i = 0; i < n; i++)
		if (hits[i].e.res > 0 && hits[i].role == (uint32_t)rec->role)
			zev->r0 = hits[i].e.t0, zev->r1 = hits[i].e.t1, seen = hits[i].e.res, roff = hits[i].e.off,
			rlen = hits[i].e.len;
	if (!zev->r1)	/* matching runs at the end: a ring that wrapped since says so */
		return missing(FTR_KI_ZERO_BESIDE, "no logged read saw block %u bad%s", rec->b.block,
			       ftr_oplog_reaches(rs->roles[rec->role].log, rec->epoch) ? "" :
			       " (the reader's operation log no longer reaches back to its epoch)");
	if ((size_t)seen != to - from)
		return missing(FTR_KI_ZERO_BESIDE, "the racing read saw %d bad blocks, %zu of them described",
			       seen, to - from);
	zev->block = rec->b.block;
	for (size_t i = from; i < to; i++) {
		const struct ftr_bad_rec *b = &l->bads[i];
		struct ftr_op_entry z;
		const char *who;

		off = (uint64_t)b->b.block * FTR_BLOCK;
		if (off < roff || off + FTR_BLOCK > roff + rlen)
			return missing(FTR_KI_ZERO_BESIDE, "block %u is outside the read that saw the zeros", b->b.block);
		if (b->b.cls != FTR_ZERO)
			return missing(FTR_KI_ZERO_BESIDE, "block %u read %s", b->b.block, ftr_class_name(b->b.cls));
		if (!zeroed_beside(a, rs, rec->epoch, off, zev->r0, zev->r1, hits, max, &z, &who))
			return missing(FTR_KI_ZERO_BESIDE, "no zero-range of another part of block %u's page "
				       "overlapped the read", b->b.block);
		if (i == from)
			zev->z = z, zev->who = who;
	}
	return 1;
}

/*
 * The racing reader's zeros: it saw zeros in blocks nobody was writing while another
 * role's fallocate(ZERO_RANGE) of a different part of the same page ran, and no check
 * after quiescing found anything wrong.  Each epoch's racing report (the run goes on
 * after one) must have that evidence for every block it kept.
 */
static int zero_beside(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l, char *ev, size_t len, enum ftr_known_id *id)
{
	const struct ftr_bad_rec *rec = l->nbads ? &l->bads[0] : NULL;
	struct zero_ev first = { 0 }, other;
	char more[100] = "";
	struct ftr_op_hit *hits;
	size_t from, to, reports = 0;
	int max, ret = 1;

	*id = FTR_KI_ZERO_BESIDE;
	if (!rec || rec->stage != FTR_ST_RACING || rec->b.cls != FTR_ZERO)
		return 0;
	for (size_t i = 1; i < l->nbads; i++)
		if (l->bads[i].stage != FTR_ST_RACING)
			return missing(FTR_KI_ZERO_BESIDE, "%zu bad blocks after quiescing", l->nbads - i);
	if (!(hits = ftr_ev_all_hits(rs, &max)))
		return missing(FTR_KI_ZERO_BESIDE, "out of memory");
	for (from = 0; from < l->nbads && ret > 0; from = to, reports++) {
		for (to = from + 1; to < l->nbads && l->bads[to].epoch == l->bads[from].epoch; to++)
			;
		ret = zero_report(a, rs, l, from, to, hits, max, from ? &other : &first);
	}
	free(hits);
	if (ret <= 0)
		return ret;
	if (l->nbads > 1)
		snprintf(more, sizeof(more), " (each of the others beside a zero-range of its own page, in %zu "
			 "racing reports)", reports);
	snprintf(ev, len, "a read at t=%.6fs..%.6fs saw zeros in block %u (offset %#llx)%s while %s zeroed "
		 "[%#llx, %#llx) of the same page at t=%.6fs..%.6fs%s; every check after quiescing found "
		 "the blocks intact", first.r0 / 1e9, first.r1 / 1e9, first.block,
		 (unsigned long long)first.block * FTR_BLOCK, l->nbads > 1 ? " and more" : "", first.who,
		 (unsigned long long)first.z.off, (unsigned long long)(first.z.off + first.z.len),
		 first.z.t0 / 1e9, first.z.t1 / 1e9, more);
	return 1;
}

/* The O_DIRECT read of block b, against its last completed version. */

/*
 * The last O_DIRECT write of block b in epoch (and the thread that made it), and what
 * could have written the stale folio back over it, in that epoch: a store through the
 * mapping into b's PMD that began after the write (it dirties the whole large folio),
 * or a MADV_COLLAPSE of that PMD that returned 0 while the write ran (the collapse
 * held the folios locked, so the write could not invalidate them, and the THP it
 * built carries their dirty state).  false when no such write is logged.
 */
static bool direct_then_store(const struct ftr_arena *a, const struct ftr_roles *rs, uint32_t b, uint32_t epoch,
			      int *tid, bool *stored)
{
	uint64_t pmd = (uint64_t)b * FTR_BLOCK / a->pmd * a->pmd;
	struct ftr_op_entry w;
	struct ftr_op_hit *hits;
	int n, max;

	if (!(hits = ftr_ev_all_hits(rs, &max)))
		return false;
	if (!ftr_ev_last_direct(rs, b, epoch, hits, max, &w, tid)) {
		free(hits);
		return false;
	}
	n = ftr_ev_epoch_ops(rs, epoch, pmd, a->pmd, FTR_OP_WRITE, hits, max);
	for (int i = 0; i < n; i++)
		*stored |= hits[i].e.path == FTR_P_MMAP && hits[i].e.t0 > w.t1;
	n = ftr_ev_epoch_ops(rs, epoch, pmd, a->pmd, FTR_OP_COLLAPSE, hits, max);
	for (int i = 0; i < n; i++)
		*stored |= !hits[i].e.res && hits[i].e.t0 < w.t1 && hits[i].e.t1 > w.t0;
	free(hits);
	return true;
}

/* Whether the kernel logged an O_DIRECT invalidation failure naming the test's file;
 * file gets the "File: PATH PID:" that names it. */
static bool dio_warned(const struct ftr_arena *a, char *file, size_t len)
{
	char real[PATH_MAX];

	ftr_kmsg_poll(&a->env->kmsg);
	snprintf(file, len, "File: %s PID:", realpath(a->path, real) ? real : a->path);
	return ftr_kmsg_seen(&a->env->kmsg, "Page cache invalidation failure on direct I/O") &&
	       ftr_kmsg_seen(&a->env->kmsg, file);
}

/*
 * An O_DIRECT write must invalidate the page cache over its range; when a folio there
 * cannot be (mapped, dirty, locked by a collapse), the kernel says so and leaves it
 * stale: Linux does not keep O_DIRECT coherent with such a page cache.  A PMD-sized
 * folio widens the range a small direct write has to invalidate, and makes it worse:
 * a store anywhere in the folio through a PMD mapping dirties all of it, and its
 * writeback puts the stale blocks on the disk over the O_DIRECT data.  Which of the
 * two the run met, the epoch's O_DIRECT read of the disk told (verify.c).
 *
 * Evidence per bad block, in the epoch it was found: a quiesced check saw it LOST,
 * last written by O_DIRECT in that epoch; the kernel's invalidation failure names
 * this file and the thread that made that write (or a kworker, where the write
 * completed in one); and either the disk was right (stale page cache), or the disk
 * held the version before the write and a store through the mapping into its PMD
 * followed the write (stale writeback).
 */
static int dio_stale(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
		     char *ev, size_t len, enum ftr_known_id *id)
{
	char needle[PATH_MAX + 48], file[PATH_MAX + 16];
	size_t on_disk = 0, stale = 0;

	*id = FTR_KI_DIO_STALE;
	if (!ftr_ev_any_bad(l, FTR_LOST, FTR_P_DIRECT))
		return 0;
	if (!ftr_ev_all_bad(l, FTR_LOST, FTR_P_DIRECT))
		return missing(*id, "not every bad block is LOST and last written by O_DIRECT");
	if (!a->env->caps.odirect.ok)
		return missing(*id, "the disk could not be read with O_DIRECT here");
	if (!dio_warned(a, file, sizeof(file)))
		return missing(*id, "the kernel log has no invalidation failure naming \"%s\"", file);
	for (size_t i = 0; i < l->nbads; i++) {
		const struct ftr_bad_rec *x = &l->bads[i];
		const struct ftr_bad *disk;
		bool stored = false;
		int tid = 0;

		if (!ftr_ev_quiesced_bad(l, x->b.block, x->epoch, &disk))
			return missing(*id, "block %u was seen bad by a racing reader only", x->b.block);
		if (!direct_then_store(a, rs, x->b.block, x->epoch, &tid, &stored))
			return missing(*id, "no O_DIRECT write of block %u in epoch %u is logged", x->b.block, x->epoch);
		snprintf(needle, sizeof(needle), "%s %d Comm:", file, tid);
		if (!ftr_kmsg_seen(&a->env->kmsg, needle) && !ftr_kmsg_seen(&a->env->kmsg, "Comm: kworker"))
			return missing(*id, "no invalidation failure names thread %d, which wrote block %u", tid,
				       x->b.block);
		if (!disk) {
			on_disk++;
			continue;
		}
		if (!disk->found.stamp_valid || disk->found.block != disk->block ||
		    disk->found.gen + 1 != ftr_ver_gen(disk->want))
			return missing(FTR_KI_DIO_WRITEBACK, "the disk holds something else than the version before "
				       "the O_DIRECT write of block %u", x->b.block);
		if (!stored)
			return missing(FTR_KI_DIO_WRITEBACK, "neither a store through the mapping into the PMD of "
				       "block %u followed its O_DIRECT write in epoch %u, nor a collapse of that PMD "
				       "ran with it", x->b.block, x->epoch);
		stale++;
	}
	if (on_disk && stale)
		return missing(*id, "%zu bad block readings had the disk right, %zu wrong: two issues at once",
			       on_disk, stale);
	*id = stale ? FTR_KI_DIO_WRITEBACK : FTR_KI_DIO_STALE;
	if (!stale)
		snprintf(ev, len, "the kernel logged \"Page cache invalidation failure on direct I/O\" for %s by the "
			 "writing thread; all %zu bad block readings are LOST, last written by O_DIRECT in their "
			 "epoch, seen after quiescing, and the epoch's O_DIRECT read of the disk found them right",
			 file + 6, l->nbads);
	else
		snprintf(ev, len, "the kernel logged \"Page cache invalidation failure on direct I/O\" for %s by the "
			 "writing thread; all %zu bad block readings are LOST, last written by O_DIRECT in their "
			 "epoch, hold the version before it, also on the disk, and a store through the mapping into "
			 "their PMD followed the O_DIRECT write, or a collapse of it ran with the write", file + 6,
			 l->nbads);
	return 1;
}

/*
 * An O_DIRECT write that a collapse of its PMD ran with, after which the page cache
 * still held the data from before the write, and the kernel said nothing: the write's
 * invalidate_inode_pages2_range() after the I/O slept on the lock of a small folio
 * collapse_file() had read in during the write (the read reached the disk first) and
 * held while it copied it; when it woke, the folio had left the mapping, so it skipped
 * the index without looking at the THP that replaced it, and reported success
 * (docs/findings/dio-collapse-stale-pagecache.md).
 *
 * Evidence per bad block, in the epoch it was found: a quiesced check of the page cache
 * saw it LOST, last written by O_DIRECT; and a MADV_COLLAPSE call whose collapse_file()
 * built a THP of its PMD ran while that write did (trace).  Where a source folio was
 * dirty the THP is too, and the epoch's fsync writes the stale blocks over the write:
 * the disk then lost it as well (7.2 collapse_mixed:ext4 in CI), which the evidence
 * says, and which wants ftr_ev_written_back()'s evidence besides.
 */
static int dio_collapse(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
			char *ev, size_t len, enum ftr_known_id *id)
{
	const struct ftr_window *c = NULL;
	struct ftr_op_entry w = { 0 };
	char file[PATH_MAX + 16];
	struct ftr_op_hit *hits;
	size_t disk = 0;
	int max, tid, ret = 1;

	*id = FTR_KI_DIO_COLLAPSE;
	/* A kernel that said so is dio_stale()'s. */
	if (!ftr_ev_all_bad(l, FTR_LOST, FTR_P_DIRECT) || dio_warned(a, file, sizeof(file)))
		return 0;
	if (!a->env->caps.odirect.ok)
		return missing(*id, "the disk could not be read with O_DIRECT here");
	if (!(hits = ftr_ev_all_hits(rs, &max)))
		return missing(*id, "out of memory");
	for (size_t i = 0; i < l->nbads && ret > 0; i++) {
		uint32_t b = l->bads[i].b.block, epoch = l->bads[i].epoch;
		uint32_t pmd = (uint64_t)b * FTR_BLOCK / a->pmd;
		bool on_disk;

		/* The page cache went stale first; where the THP was dirty (a source
		 * folio was), writeback then put the stale blocks over the write. */
		c = NULL;
		if (!ftr_ev_seen_cached(l, b, epoch, &on_disk))
			ret = missing(*id, "block %u was not seen bad by a quiesced check of the page cache", b);
		else if (!ftr_ev_last_direct(rs, b, epoch, hits, max, &w, &tid))
			ret = missing(*id, "no O_DIRECT write of block %u in epoch %u is logged", b, epoch);
		for (size_t k = 0; ret > 0 && k < l->ncwin && !c; k++)
			if (l->cwin[k].epoch == epoch && l->cwin[k].built && l->cwin[k].pmd == pmd &&
			    l->cwin[k].t0 < w.t1 && l->cwin[k].t1 > w.t0)
				c = &l->cwin[k];
		if (ret > 0 && !c)
			ret = missing(*id, "no collapse_file() that built a THP of PMD %u ran with the O_DIRECT write of "
				      "block %u at t=%.6fs..%.6fs", pmd, b, w.t0 / 1e9, w.t1 / 1e9);
		if (ret > 0 && on_disk &&
		    !ftr_ev_written_back(l, rs, b, epoch, (uint64_t)pmd * a->pmd, a->pmd, c->t0, hits, max))
			ret = missing(*id, "block %u is wrong on the disk too, but no buffered write or store dirtied "
				      "PMD %u after its last writeback before the collapse, or the disk holds another "
				      "version than the page cache", b, pmd);
		disk += on_disk;
	}
	free(hits);
	if (ret > 0)
		snprintf(ev, len, "all %zu bad block readings are LOST, last written by O_DIRECT, seen after quiescing "
			 "in the page cache, and a collapse_file() that built a THP of their PMD ran with that write; "
			 "the last: write t=%.6fs..%.6fs, collapse t=%.6fs..%.6fs; the kernel reported nothing; %s",
			 l->nbads, w.t0 / 1e9, w.t1 / 1e9, c->t0 / 1e9, c->t1 / 1e9,
			 disk ? "the disk lost them too: the stale THP was dirty and written back over the write" :
				"the disk holds the write");
	return ret;
}

/* When a block's last write in an epoch put its data in the page cache (its pwrite()
 * began: after the open() of an openw write) and when that operation ended. */
struct last_write {
	uint64_t start, end;
	const struct ftr_op_entry *op;
};

/*
 * Whether block b, last written in epoch at w, was lost to a writable open that
 * truncated the page cache while nr_thps was raised (do_dentry_open()).  By the logs:
 * an openw writer's open() returned after that write's pwrite() began (it may have
 * begun before it, and been slow), with no writeback of the block's PMD done between
 * the write and the open (the collapser's writeback points: the block was clean
 * then, its data on the disk), and nr_thps was raised at that open:
 * - during a collapse_file() call: it raises nr_thps, then writes the mapping back
 *   only if no one holds the file open for write, and that open may be the one that
 *   truncates, so a block written before the call began is lost as well ("mm/
 *   khugepaged: write all dirty file folios when collapsing" skips the writeback then,
 *   6.12.117 mm/khugepaged.c);
 * - or after a call that built a THP, which neither a split of its PMD nor an earlier
 *   writable open (which truncated it first) took away; the block must then have been
 *   written after that call began: a kernel with that fix wrote back what was dirty
 *   before it, and losing that is a worse bug than this one.
 */
static bool openw_explains(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
			   uint32_t b, uint32_t epoch, struct last_write wr, struct ftr_op_entry *o_out,
			   struct ftr_window *w_out)
{
	uint64_t pmd_off = (uint64_t)b * FTR_BLOCK / a->pmd * a->pmd, k = 0;
	const struct ftr_op_entry *o;
	int role = 0;

	while ((o = ftr_ev_next_openw(rs, epoch, &role, &k))) {
		if (o == wr.op || ftr_ev_open_end(o) <= wr.start ||
		    ftr_ev_op_between(rs, epoch, pmd_off, a->pmd, FTR_OP_SYNC, wr.end, o->t0))
			continue;
		/* The windows are in call order. */
		for (size_t w = 0; w < l->ncwin && l->cwin[w].t0 <= ftr_ev_open_end(o); w++) {
			const struct ftr_window *c = &l->cwin[w];
			uint64_t cpmd = (uint64_t)c->pmd * a->pmd;
			bool during = c->t1 >= o->t0;
			bool before = c->t0 < wr.end && c->built && c->t1 < o->t0 &&
				      !ftr_ev_op_between(rs, epoch, cpmd, a->pmd, FTR_OP_SPLIT, c->t1, o->t0) &&
				      !ftr_ev_op_between(rs, epoch, cpmd, a->pmd, FTR_OP_PAGEOUT, c->t1, o->t0) &&
				      !ftr_ev_open_between(rs, epoch, o, c->t1, o->t0);

			if (c->epoch != epoch || !(during || before))
				continue;
			*o_out = *o;
			*w_out = *c;
			return true;
		}
	}
	return false;
}

/*
 * What the logs hold after a lost write that no open explains: the writable opens
 * after it, and the collapse_file() calls until the last of them, so that the next
 * such report says which step of openw_explains() found nothing.
 */
static void openw_timeline(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
			   uint32_t b, uint32_t epoch, struct last_write wr)
{
	uint64_t pmd_off = (uint64_t)b * FTR_BLOCK / a->pmd * a->pmd, k = 0, until = wr.end;
	const struct ftr_op_entry *o;
	int role = 0, shown = 0;

	while ((o = ftr_ev_next_openw(rs, epoch, &role, &k)) && shown < 6) {
		if (o == wr.op || ftr_ev_open_end(o) <= wr.start)
			continue;
		ftr_diag("  open for write t=%.6fs..%.6fs%s", o->t0 / 1e9, ftr_ev_open_end(o) / 1e9,
			 ftr_ev_op_between(rs, epoch, pmd_off, a->pmd, FTR_OP_SYNC, wr.end, o->t0) ?
			 ", after a writeback of the block's PMD" : "");
		until = ftr_ev_open_end(o) > until ? ftr_ev_open_end(o) : until;
		shown++;
	}
	for (size_t w = 0, n = 0; w < l->ncwin && n < 8; w++) {
		const struct ftr_window *c = &l->cwin[w];

		if (c->epoch != epoch || c->t1 + 50000000 < wr.start || c->t0 > until)
			continue;
		ftr_diag("  collapse_file() call t=%.6fs..%.6fs PMD %u%s", c->t0 / 1e9, c->t1 / 1e9, c->pmd,
			 c->built ? ", a THP in the page cache" : "");
		n++;
	}
}

/* When each block was last written in epoch, from every role's log (0: not in the
 * logs); false, after saying so, when a log does not reach back to its start. */
static bool last_writes(const struct ftr_roles *rs, uint32_t epoch, struct last_write *last, uint32_t nblocks)
{
	memset(last, 0, nblocks * sizeof(*last));
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_oplog *g = rs->roles[i].log;
		uint64_t head = __atomic_load_n(&g->head, __ATOMIC_ACQUIRE), k = ftr_oplog_first(g, head);

		if (k && g->e[k % g->cap].epoch >= epoch)
			return missing(FTR_KI_RO_THP_TRUNCATE, "the operation log of %s does not reach back to the "
				       "start of epoch %u", rs->roles[i].name, epoch), false;
		for (; k < head; k++) {
			const struct ftr_op_entry *x = &g->e[k % g->cap];

			if (x->epoch != epoch || (x->op != FTR_OP_WRITE && x->op != FTR_OP_PUNCH))
				continue;
			for (uint64_t b = x->off / FTR_BLOCK; b < (x->off + x->len) / FTR_BLOCK && b < nblocks; b++)
				if (x->t1 > last[b].end)
					last[b] = (struct last_write){ x->t0 + x->open_ns, x->t1, x };
		}
	}
	return true;
}

/*
 * Lost writes that the old READ_ONLY_THP_FOR_FS rules cause: the kernel collapses
 * read-only mappings of this filesystem but not writable ones, and do_dentry_open()
 * truncates the whole page cache when a file with THPs is opened for write, dirty
 * pages of earlier writers included.  Each lost block, in the epoch it was found, must
 * be explained by such an open (openw_explains()).
 */
static int ro_thp_truncate(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
			   char *ev, size_t len, enum ftr_known_id *id)
{
	const struct ftr_caps *c = &a->env->caps;
	struct ftr_op_entry o = { 0 };
	struct ftr_window w = { 0 };
	uint32_t epoch = 0;
	struct last_write *last;
	int ret = 1;

	*id = FTR_KI_RO_THP_TRUNCATE;
	if (!a->sc->ro_mapping || !ftr_old_thp_rules(c) || !ftr_ev_any_bad(l, FTR_LOST, FTR_P_OPENW))
		return 0;
	if (!ftr_ev_all_bad(l, FTR_LOST, FTR_P_OPENW))
		return missing(FTR_KI_RO_THP_TRUNCATE, "not every bad block is LOST and last written by a writable open");
	if (!(last = calloc(a->nblocks, sizeof(*last))))
		return missing(FTR_KI_RO_THP_TRUNCATE, "out of memory");
	/* The bad blocks come in epoch order. */
	for (size_t i = 0; i < l->nbads && ret > 0; i++) {
		uint32_t b = l->bads[i].b.block;

		if (l->bads[i].epoch != epoch && !last_writes(rs, epoch = l->bads[i].epoch, last, a->nblocks))
			ret = -1;
		else if (!last[b].end)
			ret = missing(FTR_KI_RO_THP_TRUNCATE, "no write of block %u in epoch %u is logged", b, epoch);
		else if (!openw_explains(a, rs, l, b, epoch, last[b], &o, &w)) {
			ret = missing(FTR_KI_RO_THP_TRUNCATE, "block %u, last written at t=%.6fs..%.6fs in epoch %u, "
				      "was still dirty at no writable open that met nr_thps raised: none ran with a "
				      "collapse_file() call, nor followed one that built a THP after the write began "
				      "(%zu calls ran collapse_file())", b, last[b].start / 1e9, last[b].end / 1e9,
				      epoch, l->ncwin);
			openw_timeline(a, rs, l, b, epoch, last[b]);
		}
	}
	free(last);
	if (ret > 0)
		snprintf(ev, len, "every bad block (%zu in all checks) is LOST, last written by a writable open and "
			 "still dirty at another writable open of %s that met nr_thps raised; the last: "
			 "an open() at t=%.6fs..%.6fs that %s MADV_COLLAPSE's collapse_file() at t=%.6fs..%.6fs%s",
			 l->nbads, a->path, o.t0 / 1e9, ftr_ev_open_end(&o) / 1e9, w.t1 >= o.t0 ? "overlapped" : "followed",
			 w.t0 / 1e9, w.t1 / 1e9, w.built ? " (it built a THP that nothing split or truncated since)" : "");
	return ret;
}

enum ftr_known_id ftr_known_data(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
				 char *evidence, size_t len)
{
	static const matcher matchers[] = { zero_beside, dio_collapse, dio_stale, ro_thp_truncate };
	enum ftr_known_id id;

	if (!l->nbads)
		return FTR_KI_NONE;	/* a hard error, not wrong data */
	if (l->lost) {
		ftr_diag("known issues: not matched, the run could not keep all its bad blocks");
		return FTR_KI_NONE;
	}
	for (size_t i = 0; i < sizeof(matchers) / sizeof(matchers[0]); i++)
		if (matchers[i](a, rs, l, evidence, len, &id) > 0)
			return id;
	return FTR_KI_NONE;
}
