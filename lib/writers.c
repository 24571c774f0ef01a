// SPDX-License-Identifier: GPL-2.0
/*
 * The writer paths.  Each write picks an extent inside a segment its role owns this
 * epoch, publishes the new versions to the oracle, writes them through its path until
 * every byte landed, then commits.  The PMD sequence counters it brackets the write
 * with tell the collapser what may have split a THP or its PMD mapping meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "contract.h"
#include "control.h"
#include "extent.h"
#include "replay.h"
#include "role.h"
#include "writers.h"

#define STORE_WIDTHS 6

/* Stores of one width (8 bytes to 16 KiB, widths[widx]), forwards or backwards, 8 bytes
 * at a time so a racing reader never sees a word half-written by us. */
static void store_mapped(char *dst, const char *src, size_t len, unsigned widx, bool back)
{
	static const size_t widths[STORE_WIDTHS] = { 8, 16, 64, 512, 4096, 16384 };
	size_t w = widths[widx % STORE_WIDTHS], nchunks;

	if (w > len)
		w = len;
	nchunks = (len + w - 1) / w;
	for (size_t c = 0; c < nchunks; c++) {
		size_t i = back ? nchunks - 1 - c : c, start = i * w, end = start + w < len ? start + w : len;

		for (size_t b = start; b < end; b += 8)
			__atomic_store_n((uint64_t *)(dst + b), *(const uint64_t *)(src + b), __ATOMIC_RELAXED);
	}
}

/* Open for write, write, close; *t_open: when open() returned (under the old rules
 * it is the open that truncates the page cache, known.c). */
static int write_openw(struct ftr_arena *a, const char *buf, size_t len, off_t off, uint64_t *t_open)
{
	int fd = open(a->path, O_WRONLY | O_CLOEXEC), ret;

	*t_open = ftr_now_ns();
	if (fd < 0)
		return -errno;
	ret = ftr_pwrite_full(fd, buf, len, off);
	close(fd);
	return ret;
}

/* Several writes in flight at once; each is resubmitted until it completed in full. */
static int write_uring(struct ftr_role *r, int cnt, const uint32_t *first, const uint32_t *n)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	size_t done[URING_QD] = { 0 };
	bool busy[URING_QD] = { false };
	int left = cnt;

	while (left) {
		struct io_uring_cqe *cqe;
		int ret;

		for (int i = 0; i < cnt; i++) {
			size_t len = (size_t)n[i] * FTR_BLOCK;
			off_t off = (off_t)first[i] * FTR_BLOCK + done[i];
			char *b = p->buf + i * a->seg + done[i];
			struct io_uring_sqe *sqe;

			if (busy[i] || done[i] == len)
				continue;
			sqe = io_uring_get_sqe(&p->ring);
			if (r->mode == FTR_P_URING_FIXED)
				io_uring_prep_write_fixed(sqe, p->fd, b, len - done[i], off, i);
			else
				io_uring_prep_write(sqe, p->fd, b, len - done[i], off);
			io_uring_sqe_set_data64(sqe, i);
			busy[i] = true;
		}
		ret = io_uring_submit_and_wait(&p->ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		while (!io_uring_peek_cqe(&p->ring, &cqe)) {
			int i = io_uring_cqe_get_data64(cqe), res = cqe->res;

			io_uring_cqe_seen(&p->ring, cqe);
			busy[i] = false;
			if (res < 0 && res != -EAGAIN && res != -EINTR)
				return res;
			if (res > 0)
				done[i] += res;
			if (done[i] == (size_t)n[i] * FTR_BLOCK)
				left--;
		}
	}
	return 0;
}

/* What else a write does to the PMDs it touches: O_DIRECT invalidates the page cache;
 * a kernel with the old READ_ONLY_THP_FOR_FS rules drops THPs on a writable open
 * (elsewhere an open that did would break the THP contract); a store may split a
 * write-protected PMD mapping. */
static enum ftr_also write_also(const struct ftr_role *r)
{
	if (r->mode == FTR_P_DIRECT || (r->mode == FTR_P_OPENW && ftr_old_thp_rules(&r->arena->env->caps)))
		return FTR_ALSO_SPLIT;
	return r->mode == FTR_P_MMAP ? FTR_ALSO_STORE : FTR_ALSO_NONE;
}

/* --replay: the role's next recorded write, or the whole io_uring batch it began (its
 * first extent says how many); 0 when the role has none left this epoch. */
static int replay_pick(struct ftr_role *r, uint32_t *first, uint32_t *n, uint32_t *gen, uint32_t *arg)
{
	const struct ftr_replay_op *o = ftr_replay_peek(r->arena->replay, r->id, r->epoch, 0);
	int cnt = 1;

	if (!o)
		return 0;
	*arg = o->arg;
	if ((r->mode == FTR_P_URING || r->mode == FTR_P_URING_FIXED) && o->arg >= 1 && o->arg <= URING_QD)
		cnt = o->arg;
	for (int i = 0; i < cnt; i++) {
		if (!(o = ftr_replay_peek(r->arena->replay, r->id, r->epoch, i)))
			return i;
		first[i] = o->off / FTR_BLOCK;
		n[i] = o->len / FTR_BLOCK;
		gen[i] = o->gen;
	}
	return cnt;
}

static int writer_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint32_t seg[URING_QD], first[URING_QD], n[URING_QD], rgen[URING_QD], arg = 0;
	uint64_t t0, t_open = 0, csnap[URING_QD];
	int cnt = 1, ret = 0;
	bool aligned = r->mode == FTR_P_DIRECT, paired, uring = r->mode == FTR_P_URING ||
								  r->mode == FTR_P_URING_FIXED;

	if (a->replay) {
		cnt = replay_pick(r, first, n, rgen, &arg);
		if (!cnt) {
			ftr_pause_us(r, 1000);	/* done for this epoch: the others may not be */
			return 0;
		}
		goto write;
	}
	if (uring)
		cnt = ftr_rng_range(&r->rng, 1, URING_QD);
	for (int i = 0; i < cnt; i++)
		if (!ftr_pick_extent(r, aligned, i ? seg[i - 1] : UINT32_MAX, &seg[i], &first[i], &n[i])) {
			cnt = i;
			break;
		}
	/* io_uring extents must not overlap: keep them in distinct segments. */
	for (int i = 1; i < cnt; i++)
		for (int j = 0; j < i; j++)
			if (seg[i] == seg[j])
				cnt = i;
	/* A paired write into a PMD that is collapsed already races no collapse: the
	 * collapser would find nothing to do.  Prefer one that is not. */
	for (int k = 0; r->fz && cnt == 1 && k < 8 && ftr_pmd_collapsed(a, (size_t)first[0] * FTR_BLOCK / a->pmd); k++)
		ftr_pick_extent(r, aligned, UINT32_MAX, &seg[0], &first[0], &n[0]);
	if (!cnt) {
		/* Owns nothing this epoch; a paired writer still keeps its partner going. */
		if (r->fz && ftr_fzsync_start_b(&a->sh->fz, ftr_rng_below(&r->rng, a->npmds)))
			ftr_fzsync_end_b(&a->sh->fz);
		ftr_pause_us(r, 1000);
		return 0;
	}
write:
	if (uring)
		arg = cnt;
	for (int i = 0; i < cnt; i++) {
		size_t off = (size_t)first[i] * FTR_BLOCK;

		if (!ftr_extent_begin(a, off, (size_t)n[i] * FTR_BLOCK, write_also(r))) {
			/* Sealed since it was picked: none of the batch is written. */
			while (i-- > 0)
				ftr_extent_end(a, (size_t)first[i] * FTR_BLOCK, (size_t)n[i] * FTR_BLOCK, write_also(r));
			if (r->fz && ftr_fzsync_start_b(&a->sh->fz, off / a->pmd))
				ftr_fzsync_end_b(&a->sh->fz);
			ftr_pause_us(r, 100);
			return 0;
		}
		csnap[i] = ftr_seqc_read(&a->pmds[off / a->pmd].collapse);
	}
	for (int i = 0; i < cnt; i++)
		ftr_oracle_begin_stamp(&a->oracle, p->buf + i * a->seg, first[i], n[i], r->mode);
	paired = r->fz && ftr_fzsync_start_b(&a->sh->fz, (size_t)first[0] * FTR_BLOCK / a->pmd);
	t0 = ftr_now_ns();
	switch (r->mode) {
	case FTR_P_WRITE:
		ret = ftr_write_full(p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK, FTR_HOW_SEEK, NULL);
		break;
	case FTR_P_PWRITE:
	case FTR_P_DIRECT:
		ret = ftr_pwrite_full(p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK);
		break;
	case FTR_P_PWRITEV:
		ret = ftr_write_full(p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK, FTR_HOW_VEC, &r->rng);
		break;
	case FTR_P_OPENW:
		ret = write_openw(a, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK, &t_open);
		break;
	case FTR_P_MMAP:
		/* Width and direction: drawn where store_mapped() drew them, given by a replay. */
		if (!a->replay) {
			unsigned widx = ftr_rng_below(&r->rng, STORE_WIDTHS);

			arg = FTR_ARG_MMAP(widx, ftr_rng_below(&r->rng, 2));
		}
		store_mapped(a->map + (size_t)first[0] * FTR_BLOCK, p->buf, n[0] * FTR_BLOCK,
			     FTR_ARG_MMAP_WIDX(arg), FTR_ARG_MMAP_BACK(arg));
		break;
	default:
		ret = write_uring(r, cnt, first, n);
		break;
	}
	if (paired)
		ftr_fzsync_end_b(&a->sh->fz);
	for (int i = 0; i < cnt; i++) {
		size_t off = (size_t)first[i] * FTR_BLOCK;
		struct ftr_op_entry e = { .t0 = t0, .off = off, .len = n[i] * FTR_BLOCK, .op = FTR_OP_WRITE,
					  .arg = uring && i ? 0 : arg,	/* io_uring: the batch size on its first extent */
					  .open_ns = t_open ? t_open - t0 : 0 };

		ftr_extent_end(a, off, (size_t)n[i] * FTR_BLOCK, write_also(r));
		if (ret)
			continue;
		ftr_oracle_commit(&a->oracle, first[i], n[i]);
		e.gen = ftr_ver_gen(__atomic_load_n(&a->oracle.done[first[i]], __ATOMIC_ACQUIRE));
		e.t1 = ftr_now_ns();
		ftr_role_log_entry(r, &e);
		if (a->replay && e.gen != rgen[i])
			ftr_replay_diverged(a->replay, r->id);
		r->st->ops++;
		r->st->bytes += (uint64_t)n[i] * FTR_BLOCK;
		if (!ftr_seqc_same(&a->pmds[off / a->pmd].collapse, csnap[i]))
			r->st->overlaps++;
	}
	if (ret)
		return ret;
	if (a->replay)
		ftr_replay_advance(a->replay, r->id, cnt);
	ftr_pause_us(r, a->sc->pause_us);
	return 0;
}

bool ftr_path_usable(const struct ftr_arena *a, unsigned path, char *why, size_t len)
{
	const struct ftr_caps *c = &a->env->caps;

	if (path == FTR_P_INIT || path > FTR_P_OPENW)
		return snprintf(why, len, "%s is not a writer path", ftr_path_names[path]), false;
	if (a->sc->ro_mapping && path != FTR_P_OPENW)
		return snprintf(why, len, "this scenario holds no writable fd or mapping"), false;
	if ((path == FTR_P_URING || path == FTR_P_URING_FIXED) && !c->io_uring.ok)
		return snprintf(why, len, "%s", c->io_uring.why), false;
	if (path == FTR_P_DIRECT && !c->odirect.ok)
		return snprintf(why, len, "%s", c->odirect.why), false;
	return true;
}

/* openw writers open their own fds per op: theirs stays read-only. */
static int writer_setup(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct iovec iov[URING_QD];
	int ret = 0;

	if (r->mode == FTR_P_OPENW)
		ret = ftr_role_open(r, O_RDONLY);
	else if (r->mode == FTR_P_DIRECT)
		ret = ftr_role_open(r, O_RDWR | O_DIRECT);
	if (ret || (r->mode != FTR_P_URING && r->mode != FTR_P_URING_FIXED))
		return ret;
	ret = io_uring_queue_init(URING_QD * 2, &p->ring, 0);
	if (ret)
		return ret;
	p->ring_ok = true;
	for (int i = 0; i < URING_QD; i++)
		iov[i] = (struct iovec){ p->buf + i * r->arena->seg, r->arena->seg };
	if (r->mode == FTR_P_URING_FIXED)
		ret = io_uring_register_buffers(&p->ring, iov, URING_QD);
	return ret;
}

static void writer_teardown(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	if (p->ring_ok)
		io_uring_queue_exit(&p->ring);
}

static void writer_describe(const struct ftr_role *r, char *buf, size_t len)
{
	const struct ftr_role_stats *st = r->st;

	snprintf(buf, len, "%8llu writes %8.1f MiB, %llu overlapped a collapse of their PMD",
		 (unsigned long long)st->ops, st->bytes / 1048576.0, (unsigned long long)st->overlaps);
}

static bool writer_fits(const struct ftr_role *r, const struct ftr_replay_op *o)
{
	const struct ftr_arena *a = r->arena;

	return o->op == FTR_OP_WRITE && o->path == r->mode && o->len <= a->seg &&
	       (r->mode != FTR_P_DIRECT || (o->off % a->psz == 0 && o->len % a->psz == 0));
}

const struct ftr_role_ops ftr_writer_ops = {
	.name = "writer", .owns = true, .setup = writer_setup, .op = writer_op,
	.teardown = writer_teardown, .describe = writer_describe, .replay_fits = writer_fits,
};
