// SPDX-License-Identifier: GPL-2.0
/*
 * Pins: page references the collapser must respect.  collapse_file() requires the
 * refcount of every old folio to be exactly what the page cache and the mappings
 * hold (result not_suitable_page_count otherwise), because a pinned page that is
 * replaced keeps receiving writes the file never sees.  These roles pin pages of the
 * shared mapping through O_DIRECT, io_uring fixed buffers and vmsplice while the
 * collapser runs, and check the data that flowed through each pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "control.h"
#include "mapping.h"
#include "pins.h"
#include "role.h"

#define PIN_MAX (64 << 10)

struct pin_state {
	int scratch;		/* an unlinked file beside the test file */
	int pipe[2];
	uint64_t *pre;
	char *bounce;
	struct io_uring ring;
	bool ring_ok;
	struct ftr_seqc *split;	/* the pinned range's PMD: punches, O_DIRECT writes, splits */
	uint64_t split0;	/* ... as of before the pin */
};

static int pin_setup(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	struct pin_state *s = calloc(1, sizeof(*s));
	char path[4200];

	if (!s)
		return -ENOMEM;
	p->churn = s;
	s->pipe[0] = s->pipe[1] = -1;
	snprintf(path, sizeof(path), "%s.pin%d", a->path, r->id);
	s->scratch = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
			  (a->env->caps.odirect.ok ? O_DIRECT : 0), 0600);
	unlink(path);
	s->pre = calloc(PIN_MAX / FTR_BLOCK, sizeof(*s->pre));
	if (s->scratch < 0 || !s->pre || posix_memalign((void **)&s->bounce, a->psz, PIN_MAX))
		return -ENOMEM;
	if (pipe2(s->pipe, O_CLOEXEC))
		return -errno;
	fcntl(s->pipe[1], F_SETPIPE_SZ, 1 << 20);
	if (a->env->caps.io_uring.ok && !io_uring_queue_init(4, &s->ring, 0))
		s->ring_ok = true;
	return 0;
}

/* Checks n blocks that went through a pin against the versions allowed since pre. */
static void pin_check(struct ftr_role *r, const char *via, const char *data, uint32_t first, uint32_t n)
{
	struct pin_state *s = ((struct role_priv *)r->priv)->churn;
	struct ftr_bad bad[FTR_FATAL_BADS];
	uint32_t nbad;

	/* A punch or an O_DIRECT write drops pinned pages from the page cache: the pin
	 * then holds pages the file no longer has, and the data through it may lag by
	 * right.  It proves nothing then. */
	if (!ftr_seqc_same(s->split, s->split0)) {
		r->st->unchecked_blocks += n;
		return;
	}
	if ((nbad = ftr_oracle_check(&r->arena->oracle, data, first, n, s->pre, bad, FTR_FATAL_BADS, NULL)))
		ftr_fatal(r, bad, nbad, "%s: data that went through %s differs from the file", r->name, via);
}

/* A random page-aligned range of one PMD of the mapping. */
static void pin_range(struct ftr_role *r, uint32_t *first, uint32_t *n)
{
	struct pin_state *s = ((struct role_priv *)r->priv)->churn;
	struct ftr_arena *a = r->arena;
	uint32_t per_page = a->psz / FTR_BLOCK, pages = ftr_rng_range(&r->rng, 1, PIN_MAX / a->psz);
	uint32_t pmd = ftr_rng_below(&r->rng, a->npmds), pmd_pages = a->pmd / a->psz;

	*first = (pmd * pmd_pages + ftr_rng_below(&r->rng, pmd_pages - pages + 1)) * per_page;
	*n = pages * per_page;
	s->split = &a->pmds[pmd].split;
	s->split0 = ftr_seqc_read(s->split);
	ftr_churn_range(r, (uint64_t)*first * FTR_BLOCK, (uint64_t)*n * FTR_BLOCK);
}

/* O_DIRECT write whose user buffer is the mapping: GUP pins its pages for the I/O. */
static int op_pin_dio(struct ftr_role *r)
{
	struct pin_state *s = ((struct role_priv *)r->priv)->churn;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns();
	uint32_t first, n;
	size_t len;
	ssize_t got;

	pin_range(r, &first, &n);
	len = (size_t)n * FTR_BLOCK;
	ftr_oracle_snapshot(&a->oracle, first, n, s->pre);
	got = ftr_map_pwrite(s->scratch, a->map + (size_t)first * FTR_BLOCK, len, 0);
	if (got != (ssize_t)len)
		return ftr_op_done(r, FTR_OP_READ, t0, (uint64_t)first * FTR_BLOCK, len, got < 0 ? errno : EIO, 500);
	if (pread(s->scratch, s->bounce, len, 0) != (ssize_t)len)
		return -EIO;
	pin_check(r, "an O_DIRECT write from the mapping", s->bounce, first, n);
	return ftr_op_done(r, FTR_OP_READ, t0, (uint64_t)first * FTR_BLOCK, len, 0, 500);
}

/* A long-term pin: the range registered as an io_uring fixed buffer (FOLL_LONGTERM,
 * refused for most file mappings, allowed for shmem), collapsed while pinned, then
 * written out through the pin. */
static int op_pin_uring(struct ftr_role *r)
{
	struct pin_state *s = ((struct role_priv *)r->priv)->churn;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off;
	struct io_uring_cqe *cqe;
	struct iovec iov;
	uint32_t first, n;
	int ret, col;

	if (!s->ring_ok)
		return ftr_op_done(r, FTR_OP_READ, t0, 0, 0, EOPNOTSUPP, 500);
	pin_range(r, &first, &n);
	off = (uint64_t)first * FTR_BLOCK;
	iov = (struct iovec){ a->map + off, (size_t)n * FTR_BLOCK };
	ret = io_uring_register_buffers(&s->ring, &iov, 1);
	if (ret) {
		ftr_pause_us(r, 5000);	/* FOLL_LONGTERM refused: nothing to race */
		return ftr_op_done(r, FTR_OP_READ, t0, off, iov.iov_len, -ret, 500);
	}
	col = ftr_role_collapse(r, off / a->pmd);
	ftr_oracle_snapshot(&a->oracle, first, n, s->pre);
	io_uring_prep_write_fixed(io_uring_get_sqe(&s->ring), s->scratch, iov.iov_base, iov.iov_len, 0, 0);
	ret = io_uring_submit_and_wait(&s->ring, 1);
	if (ret >= 0 && !io_uring_peek_cqe(&s->ring, &cqe)) {
		ret = cqe->res;
		io_uring_cqe_seen(&s->ring, cqe);
	}
	io_uring_unregister_buffers(&s->ring);
	if (ret != (int)iov.iov_len)
		return ftr_op_done(r, FTR_OP_READ, t0, off, iov.iov_len, ret < 0 ? -ret : EIO, 500);
	if (pread(s->scratch, s->bounce, iov.iov_len, 0) != (ssize_t)iov.iov_len)
		return -EIO;
	/* If the collapse replaced pinned pages, the pin still points at the old ones:
	 * the data written through it would lag the file. */
	pin_check(r, col ? "a fixed buffer" : "a fixed buffer collapsed while pinned", s->bounce, first, n);
	return ftr_op_done(r, FTR_OP_READ, t0, off, iov.iov_len, 0, 500);
}

/* vmsplice takes references to the mapping's pages into a pipe. */
static int op_pin_vmsplice(struct ftr_role *r)
{
	struct pin_state *s = ((struct role_priv *)r->priv)->churn;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off;
	uint32_t first, n;
	struct iovec iov;
	ssize_t got, k;

	pin_range(r, &first, &n);
	off = (uint64_t)first * FTR_BLOCK;
	iov = (struct iovec){ a->map + off, (size_t)n * FTR_BLOCK };
	ftr_oracle_snapshot(&a->oracle, first, n, s->pre);
	got = vmsplice(s->pipe[1], &iov, 1, 0);
	if (got < 0)
		return ftr_op_done(r, FTR_OP_READ, t0, off, iov.iov_len, errno, 500);
	ftr_pause_us(r, 200);	/* hold the references while the collapser runs */
	for (ssize_t m = 0; m < got; m += k) {
		k = read(s->pipe[0], s->bounce + m, got - m);
		if (k <= 0)
			return -EIO;
	}
	pin_check(r, "vmsplice", s->bounce, first, got / FTR_BLOCK);
	return ftr_op_done(r, FTR_OP_READ, t0, off, got, 0, 500);
}

/* Migration: move_pages() and mbind(MPOL_MF_MOVE) of a collapsing PMD to another node;
 * with one node there is nowhere to go, which the role says instead of pretending. */
static int op_migrate(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = ftr_rng_below(&r->rng, a->npmds) * a->pmd;
	int nodes = a->env->caps.numa_nodes, node, err = 0;
	unsigned long mask;

	if (nodes < 2) {
		ftr_pause_us(r, 20000);
		return ftr_op_done(r, FTR_OP_READ, t0, off, 0, ENODEV, 500);
	}
	ftr_churn_range(r, off, a->pmd);
	node = ftr_rng_below(&r->rng, nodes);
	ftr_seqc_begin(&a->pmds[off / a->pmd].split);
	if (ftr_rng_below(&r->rng, 2)) {
		void *pages[64];
		int want[64], status[64];
		unsigned cnt = a->pmd / a->psz < 64 ? a->pmd / a->psz : 64;

		for (unsigned i = 0; i < cnt; i++) {
			pages[i] = a->map + off + i * (a->pmd / cnt);
			want[i] = node;
		}
		if (numa_move_pages(0, cnt, pages, want, status, MPOL_MF_MOVE))
			err = errno;
	} else {
		mask = 1UL << node;
		if (mbind(a->map + off, a->pmd, MPOL_BIND, &mask, sizeof(mask) * 8, MPOL_MF_MOVE))
			err = errno;
	}
	ftr_seqc_end(&a->pmds[off / a->pmd].split);
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, err, 500);
}

const struct ftr_role_ops ftr_churn_pin_dio = { .name = "pin-dio", .setup = pin_setup, .op = op_pin_dio };
const struct ftr_role_ops ftr_churn_pin_uring = {
	.name = "pin-uring", .setup = pin_setup, .op = op_pin_uring,
	.idle_why = "io_uring refuses long-term pins of this filesystem's page cache",
};
const struct ftr_role_ops ftr_churn_pin_vmsplice = {
	.name = "vmsplice", .setup = pin_setup, .op = op_pin_vmsplice,
};
const struct ftr_role_ops ftr_churn_migrate = {
	.name = "migrate", .op = op_migrate,
	.idle_why = "move_pages()/mbind() need a second NUMA node; compaction migrates within one",
};
