// SPDX-License-Identifier: GPL-2.0
/*
 * DMA pins: roles that write into the mapping through a pin, the way a device DMAs
 * into page cache.  collapse_file() copies each old folio into the new THP, so it
 * must refuse one with extra references (not_suitable_page_count): a device that
 * writes into a pinned page after the copy writes into the orphaned old page, and
 * the file never sees the data.  The read direction of pins.c cannot show that; this
 * one can.
 *
 * Each role owns its extents like a writer.  The next versions of an extent's blocks
 * are begun in the oracle and stamped into a scratch file beside the test file, read
 * from there into the shared mapping, and committed once the read completed: a read
 * lost into an orphaned page leaves an older generation at those blocks (class LOST),
 * and the block's report lists this role's write.  The PMDs are bracketed as a write
 * and a store (GUP for write may split a write-protected PMD mapping), so the
 * collapser and the seal know a write is in flight.
 *
 * dma-dio: an O_DIRECT read whose user buffer is the mapping (GUP pins the pages for
 * the I/O; on tmpfs O_DIRECT is a copy through the page tables, no pin), by pread()
 * or from io_uring.  dma-uring, dma-uring-qd: the extent registered as an io_uring
 * fixed buffer (FOLL_LONGTERM: shmem allows it, most filesystems refuse), then
 * several rounds of READ_FIXED into it under the one registration, one read or
 * several in flight.  While io_uring reads are in flight the role collapses their
 * PMD itself: the collapser alone meets few of them where a call takes 30 ms (TCG).
 * Those calls are not the collapser's: no THP contract or seal follows them, and a
 * DMA they lose still shows at the epoch's check.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contract.h"
#include "control.h"
#include "dma.h"
#include "extent.h"
#include "ktap.h"
#include "mapping.h"
#include "role.h"

#define ROUNDS		4	/* reads under one registration */
#define WIN_PMDS	2	/* an extent lies in one segment: PMDs it may touch */

struct dma_state {
	int scratch;		/* unlinked, beside the test file; O_DIRECT where probed */
	char *bounce;		/* the stamped next versions, one segment */
	char *orphan;		/* --inject dma-orphan: where the lost read lands */
	uint32_t orphaned;	/* ... the epoch it did, 0 before */
	struct io_uring ring;
	bool ring_ok;
};

/* Collapse calls of the PMDs of an extent, counted from when it opens. */
struct window {
	uint32_t pmd0, npmd;
	uint64_t seq[WIN_PMDS];
};

static struct dma_state *state(const struct ftr_role *r)
{
	return ((struct role_priv *)r->priv)->churn;
}

/* A call that runs when the window opens counts as one; one that begins in the very
 * instant of opening may be counted twice or not at all. */
static void window_open(struct ftr_arena *a, struct window *w, uint64_t off, uint64_t len)
{
	w->pmd0 = off / a->pmd;
	w->npmd = (off + len - 1) / a->pmd - w->pmd0 + 1;
	for (uint32_t i = 0; i < w->npmd && i < WIN_PMDS; i++) {
		struct ftr_seqc *c = &a->pmds[w->pmd0 + i].collapse;

		w->seq[i] = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
		w->seq[i] -= __atomic_load_n(&c->active, __ATOMIC_SEQ_CST) > 0;
	}
}

static uint64_t window_close(struct ftr_arena *a, const struct window *w)
{
	uint64_t calls = 0;

	for (uint32_t i = 0; i < w->npmd && i < WIN_PMDS; i++)
		calls += __atomic_load_n(&a->pmds[w->pmd0 + i].collapse.seq, __ATOMIC_SEQ_CST) - w->seq[i];
	return calls;
}

/* The extent's blocks get their next versions, stamped into the scratch file at 0. */
static int stage(struct ftr_role *r, uint32_t first, uint32_t n)
{
	struct dma_state *s = state(r);

	ftr_oracle_begin_stamp(&r->arena->oracle, s->bounce, first, n, FTR_P_DMA);
	return ftr_pwrite_full(s->scratch, s->bounce, (size_t)n * FTR_BLOCK, 0);
}

/* The read landed: the new versions are the file's, counted and logged as a write. */
static void landed(struct ftr_role *r, uint64_t t0, uint32_t first, uint32_t n, uint64_t calls)
{
	struct ftr_oracle *o = &r->arena->oracle;

	ftr_oracle_commit(o, first, n);
	ftr_role_log(r, FTR_OP_WRITE, t0, (uint64_t)first * FTR_BLOCK, n * FTR_BLOCK,
		     ftr_ver_gen(__atomic_load_n(&o->done[first], __ATOMIC_ACQUIRE)), 0);
	ftr_op_count(r, 0);
	r->st->bytes += (uint64_t)n * FTR_BLOCK;
	r->st->calls_in_io += calls;
}

static bool running(const struct ftr_arena *a)
{
	return __atomic_load_n(&a->sh->phase, __ATOMIC_ACQUIRE) == FTR_PH_RUN;
}

static int dma_setup(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	struct dma_state *s = calloc(1, sizeof(*s));
	char path[4200];

	if (!s)
		return -ENOMEM;
	((struct role_priv *)r->priv)->churn = s;
	snprintf(path, sizeof(path), "%s.dma%d", a->path, r->id);
	s->scratch = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
			  (a->env->caps.odirect.ok ? O_DIRECT : 0), 0600);
	if (s->scratch < 0)
		return -errno;
	unlink(path);
	if (posix_memalign((void **)&s->bounce, a->psz, a->seg))
		return -ENOMEM;
	if (a->env->opts->inject == FTR_INJECT_DMA_ORPHAN) {
		s->orphan = mmap(NULL, a->seg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s->orphan == MAP_FAILED)
			return -errno;
	}
	if (a->env->caps.io_uring.ok && !io_uring_queue_init(URING_QD * 2, &s->ring, 0))
		s->ring_ok = true;
	return 0;
}

static void dma_teardown(struct ftr_role *r)
{
	struct dma_state *s = state(r);

	if (!s)
		return;
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	if (s->orphan && s->orphan != MAP_FAILED)
		munmap(s->orphan, r->arena->seg);
	if (s->scratch >= 0)
		close(s->scratch);
	free(s->bounce);
	free(s);
}

/*
 * An extent to read into, if the role's I/O works here and it owns one this epoch,
 * bracketed as a write and a store of its PMDs (GUP for write may split a
 * write-protected PMD mapping); false if there is none, or its PMD was sealed since.
 */
static bool dma_pick(struct ftr_role *r, bool usable, uint32_t *first, uint32_t *n)
{
	uint32_t seg;

	if (!usable) {
		ftr_op_count(r, EOPNOTSUPP);
		ftr_pause_us(r, 20000);
		return false;
	}
	if (!ftr_pick_extent(r, true, UINT32_MAX, &seg, first, n) ||
	    !ftr_extent_begin(r->arena, (uint64_t)*first * FTR_BLOCK, (uint64_t)*n * FTR_BLOCK, FTR_ALSO_STORE)) {
		ftr_pause_us(r, 1000);
		return false;
	}
	return true;
}

/*
 * Reads [0, len) of the scratch file to dst through io_uring, cut into cnt reads in
 * flight at once (from the fixed buffer registered at dst if fixed), resubmitting
 * short ones.  While they are in flight the role collapses pmd itself;
 * returns 0 or -errno, and in *alone 1 if that call began with every read done.
 */
static int uring_reads(struct ftr_role *r, char *dst, uint32_t pmd, uint64_t len, unsigned cnt, bool fixed,
		       int *alone)
{
	struct dma_state *s = state(r);
	struct ftr_arena *a = r->arena;
	uint64_t from[URING_QD], to[URING_QD];
	bool busy[URING_QD] = { false };
	unsigned left = cnt;
	int ret;

	*alone = -1;
	for (unsigned i = 0; i < cnt; i++) {
		from[i] = len / a->psz * i / cnt * a->psz;
		to[i] = len / a->psz * (i + 1) / cnt * a->psz;
	}
	while (left) {
		struct io_uring_cqe *cqe;

		for (unsigned i = 0; i < cnt; i++) {
			struct io_uring_sqe *sqe;

			if (busy[i] || from[i] == to[i])
				continue;
			sqe = io_uring_get_sqe(&s->ring);
			if (fixed) {
				io_uring_prep_read_fixed(sqe, s->scratch, dst + from[i], to[i] - from[i], from[i], 0);
				/* io-wq, not inline at submit: a cached read would be done
				 * before the collapse below began. */
				io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
			} else {
				io_uring_prep_read(sqe, s->scratch, dst + from[i], to[i] - from[i], from[i]);
			}
			io_uring_sqe_set_data64(sqe, i);
			busy[i] = true;
		}
		ret = io_uring_submit(&s->ring);
		if (ret < 0)
			return ret;
		if (*alone < 0) {
			*alone = io_uring_cq_ready(&s->ring) == left;
			ftr_role_collapse(r, pmd);
			r->st->own_calls_in_io += !*alone;
		}
		ret = io_uring_wait_cqe(&s->ring, &cqe);
		if (ret < 0 && ret != -EINTR)
			return ret;
		while (!io_uring_peek_cqe(&s->ring, &cqe)) {
			unsigned i = io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&s->ring, cqe);
			busy[i] = false;
			if (res < 0 && res != -EAGAIN && res != -EINTR)
				return res;
			if (res == 0)
				return -EIO;	/* the scratch file holds every byte */
			if (res > 0)
				from[i] += res;
			if (from[i] == to[i])
				left--;
		}
	}
	return 0;
}

/* One round under a registration: the extent's next versions read into it. */
static int uring_round(struct ftr_role *r, uint32_t first, uint32_t n, unsigned cnt)
{
	struct ftr_arena *a = r->arena;
	uint64_t off = (uint64_t)first * FTR_BLOCK, t0;
	struct window w;
	int ret, alone;

	if ((ret = stage(r, first, n)))
		return ret;
	ftr_churn_range(r, off, (uint64_t)n * FTR_BLOCK);
	window_open(a, &w, off, (uint64_t)n * FTR_BLOCK);
	t0 = ftr_now_ns();
	ret = uring_reads(r, a->map + off, off / a->pmd, (uint64_t)n * FTR_BLOCK, cnt, true, &alone);
	if (!ret)
		landed(r, t0, first, n, window_close(a, &w) - alone);
	return ret;
}

/* pread() of [0, len) of fd to dst until every byte landed; 0 or -errno. */
static int pread_full(int fd, char *dst, uint64_t len)
{
	for (uint64_t done = 0; done < len; ) {
		ssize_t got = ftr_map_pread(fd, dst + done, len - done, done);

		if (got > 0)
			done += got;
		else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			return got ? -errno : -EIO;
	}
	return 0;
}

/* O_DIRECT read from the scratch file into the mapping, until every byte landed: by
 * pread(), racing the collapser's calls, or (one in two, where io_uring works)
 * in flight from io_uring while the role collapses the PMD itself. */
static int op_dma_dio(struct ftr_role *r)
{
	struct dma_state *s = state(r);
	struct ftr_arena *a = r->arena;
	uint32_t first, n;
	uint64_t t0, off, len, calls;
	struct window w;
	int ret = 0, alone = 0;
	char *dst;

	if (s->orphaned == r->epoch) {
		ftr_pause_us(r, 20000);	/* the orphaned read stays lost until the check */
		return 0;
	}
	if (!dma_pick(r, a->env->caps.odirect.ok, &first, &n))
		return 0;
	off = (uint64_t)first * FTR_BLOCK;
	len = (uint64_t)n * FTR_BLOCK;
	dst = a->map + off;
	/* The read goes to a private copy, and is committed as if it had landed. */
	if (s->orphan && !s->orphaned) {
		dst = s->orphan;
		s->orphaned = r->epoch;
	}
	if ((ret = stage(r, first, n)))
		return ret;
	ftr_churn_range(r, off, len);
	window_open(a, &w, off, len);
	t0 = ftr_now_ns();
	if (s->ring_ok && ftr_rng_below(&r->rng, 2))
		ret = uring_reads(r, dst, off / a->pmd, len, 1, false, &alone);
	else
		ret = pread_full(s->scratch, dst, len);
	calls = window_close(a, &w) - (alone > 0);
	ftr_extent_end(a, off, len, FTR_ALSO_STORE);
	if (ret)
		return ret;
	landed(r, t0, first, n, calls);
	if (s->orphaned)
		ftr_diag("inject: dma-orphan: %s's O_DIRECT read of [%#llx, %#llx) landed in an orphaned page",
			 r->name, (unsigned long long)off, (unsigned long long)(off + len));
	ftr_pause_us(r, a->sc->pause_us);
	return 0;
}

/* A long-term pin: the extent registered once, then ROUNDS rounds of reads into it;
 * the registration never outlives the op, so no pin is held through the check. */
static int dma_uring(struct ftr_role *r, unsigned qd)
{
	struct dma_state *s = state(r);
	struct ftr_arena *a = r->arena;
	uint32_t first, n, pages;
	uint64_t off, len;
	struct iovec iov;
	int ret;

	if (!dma_pick(r, s->ring_ok, &first, &n))
		return 0;
	off = (uint64_t)first * FTR_BLOCK;
	len = (uint64_t)n * FTR_BLOCK;
	pages = len / a->psz;
	iov = (struct iovec){ a->map + off, len };
	ret = io_uring_register_buffers(&s->ring, &iov, 1);
	if (ret) {
		ftr_extent_end(a, off, len, FTR_ALSO_STORE);
		ftr_op_count(r, -ret);	/* FOLL_LONGTERM refused: nothing to race */
		ftr_pause_us(r, 5000);
		return 0;
	}
	for (int k = 0; k < ROUNDS && !ret && running(a) && ftr_contract_may_write(a, off, len); k++)
		ret = uring_round(r, first, n, qd < pages ? qd : pages);
	io_uring_unregister_buffers(&s->ring);
	ftr_extent_end(a, off, len, FTR_ALSO_STORE);
	if (!ret)
		ftr_pause_us(r, a->sc->pause_us);
	return ret;
}

static int op_dma_uring(struct ftr_role *r) { return dma_uring(r, 1); }
static int op_dma_uring_qd(struct ftr_role *r) { return dma_uring(r, URING_QD); }

static void dma_describe(const struct ftr_role *r, char *buf, size_t len)
{
	const struct ftr_role_stats *st = r->st;
	char res[160];

	ftr_role_res_str(r, res, sizeof(res));
	snprintf(buf, len, "%8llu ops:%s, %.1f MiB read into the mapping; %llu collapse calls overlapped "
		 "a read in flight (%llu of them its own)", (unsigned long long)st->ops, res,
		 st->bytes / 1048576.0, (unsigned long long)st->calls_in_io,
		 (unsigned long long)st->own_calls_in_io);
}

const struct ftr_role_ops ftr_churn_dma_dio = {
	.name = "dma-dio", .owns = true, .path = FTR_P_DMA, .setup = dma_setup, .op = op_dma_dio,
	.teardown = dma_teardown, .describe = dma_describe,
	.idle_why = "this filesystem has no O_DIRECT",
};
const struct ftr_role_ops ftr_churn_dma_uring = {
	.name = "dma-uring", .owns = true, .path = FTR_P_DMA, .setup = dma_setup, .op = op_dma_uring,
	.teardown = dma_teardown, .describe = dma_describe,
	.idle_why = "io_uring refuses long-term pins of this filesystem's page cache",
};
const struct ftr_role_ops ftr_churn_dma_uring_qd = {
	.name = "dma-uring-qd", .owns = true, .path = FTR_P_DMA, .setup = dma_setup, .op = op_dma_uring_qd,
	.teardown = dma_teardown, .describe = dma_describe,
	.idle_why = "io_uring refuses long-term pins of this filesystem's page cache",
};
