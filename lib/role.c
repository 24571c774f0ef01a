// SPDX-License-Identifier: GPL-2.0
/*
 * The common part of every role: its private state, a buffer of URING_QD segments, an
 * fd on the test file (read-only where the scenario holds no writable one), and the
 * counting and logging of finished operations.  The rest comes from its ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mapping.h"
#include "role.h"

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

void ftr_op_count(struct ftr_role *r, int err)
{
	r->st->ops++;
	r->st->res[ftr_errno_slot(err)]++;
	if (err)
		r->st->last_err = err;
}

void ftr_role_log_entry(struct ftr_role *r, struct ftr_op_entry *e)
{
	e->epoch = r->epoch;
	if (!e->path)
		e->path = r->kind == FTR_R_WRITER ? r->mode : r->ops->path;
	ftr_oplog_add(r->log, e);
}

void ftr_role_log_span(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t t1, uint64_t off, uint32_t len,
		       uint32_t gen, int res, uint32_t arg)
{
	struct ftr_op_entry e = { .t0 = t0, .t1 = t1, .off = off, .len = len, .gen = gen, .res = res, .op = op,
				  .arg = arg };

	ftr_role_log_entry(r, &e);
}

void ftr_role_log_arg(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		      uint32_t gen, int res, uint32_t arg)
{
	ftr_role_log_span(r, op, t0, ftr_now_ns(), off, len, gen, res, arg);
}

void ftr_role_log(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		  uint32_t gen, int res)
{
	ftr_role_log_arg(r, op, t0, off, len, gen, res, 0);
}

void ftr_role_writeback(struct ftr_role *r, uint32_t pmd)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns();
	int err = sync_file_range(a->fd, (off_t)pmd * a->pmd, a->pmd, SYNC_FILE_RANGE_WAIT_BEFORE |
				  SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) ? errno : 0;

	ftr_role_log(r, FTR_OP_SYNC, t0, (uint64_t)pmd * a->pmd, a->pmd, 0, err);
}

int ftr_role_collapse(struct ftr_role *r, uint32_t pmd)
{
	struct ftr_arena *a = r->arena;
	uint64_t t0;
	int err;

	ftr_seqc_begin(&a->sh->collapse_any);
	ftr_seqc_begin(&a->pmds[pmd].collapse);
	t0 = ftr_now_ns();
	err = madvise(a->map + (size_t)pmd * a->pmd, a->pmd, MADV_COLLAPSE) ? errno : 0;
	ftr_seqc_end(&a->pmds[pmd].collapse);
	ftr_seqc_end(&a->sh->collapse_any);
	ftr_role_log(r, FTR_OP_COLLAPSE, t0, (uint64_t)pmd * a->pmd, a->pmd, 0, err);
	return err;
}

int ftr_op_done(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint64_t len,
		int err, unsigned pause)
{
	ftr_op_count(r, err);
	ftr_role_log(r, op, t0, off, len, 0, err);
	ftr_pause_us(r, pause);
	return 0;
}

int ftr_role_open(struct ftr_role *r, int flags)
{
	struct role_priv *p = r->priv;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = open(r->arena->path, flags | O_CLOEXEC);
	return p->fd < 0 ? -errno : 0;
}

int ftr_role_setup(struct ftr_role *r)
{
	struct ftr_arena *a = r->arena;
	struct role_priv *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->fd = p->pipe[0] = p->pipe[1] = p->copy_fd = -1;
	if (posix_memalign((void **)&p->buf, a->psz, URING_QD * a->seg))
		return -ENOMEM;
	ret = ftr_role_open(r, a->sc->ro_mapping ? O_RDONLY : O_RDWR);
	if (!ret && r->ops->setup)
		ret = r->ops->setup(r);
	return ret;
}

int ftr_role_op(struct ftr_role *r)
{
	return r->ops->op(r);
}

void ftr_role_teardown(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	if (!p)
		return;
	if (r->ops->teardown)
		r->ops->teardown(r);
	if (p->fd >= 0)
		close(p->fd);
	free(p->buf);
	free(p);
	r->priv = NULL;
}

size_t ftr_role_res_str(const struct ftr_role *r, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < FTR_ERRNO_SLOTS && o < len; k++)
		if (r->st->res[k])
			o += snprintf(buf + o, len - o, " %s=%llu", ftr_errno_slot_names[k],
				      (unsigned long long)r->st->res[k]);
	return o;
}

void ftr_role_describe(const struct ftr_role *r, char *buf, size_t len)
{
	const struct ftr_role_stats *st = r->st;
	size_t o = snprintf(buf, len, "%-20s ", r->name);
	char res[160];

	if (o >= len)
		return;
	if (r->ops->describe) {
		r->ops->describe(r, buf + o, len - o);
		return;
	}
	ftr_role_res_str(r, res, sizeof(res));
	o += snprintf(buf + o, len - o, "%8llu ops:%s", (unsigned long long)st->ops, res);
	if (r->counts_overlaps && o < len)
		o += snprintf(buf + o, len - o, ", %llu overlapped a collapse of their range",
			      (unsigned long long)st->overlaps);
	if (st->unchecked_blocks && o < len)
		o += snprintf(buf + o, len - o, ", %llu blocks not checked",
			      (unsigned long long)st->unchecked_blocks);
	if (st->last_err && o < len)
		snprintf(buf + o, len - o, "%s last error %s", r->counts_overlaps ? ";" : ",",
			 strerror(st->last_err));
}

void ftr_role_epoch_segments(struct ftr_role *r)
{
	const struct ftr_arena *a = r->arena;
	int me = -1;

	r->nsegs = 0;
	for (int i = 0; i < a->nowners; i++)
		if (a->owner_role[i] == r->id)
			me = i;
	if (me < 0)
		return;
	for (uint32_t s = 0; s < a->nseg; s++) {
		uint32_t first, n;

		ftr_seg_range(a, s, &first, &n);
		if (n && ftr_seg_owner(a, r->epoch, s) == me)
			r->segs[r->nsegs++] = s;
	}
}

const struct ftr_role *ftr_roles_collapser(const struct ftr_roles *rs)
{
	for (int i = 0; i < rs->nroles; i++)
		if (rs->roles[i].kind == FTR_R_COLLAPSER)
			return &rs->roles[i];
	return NULL;
}

uint64_t ftr_roles_writes(const struct ftr_roles *rs)
{
	uint64_t n = 0;

	for (int i = 0; i < rs->nroles; i++)
		if (rs->roles[i].kind == FTR_R_WRITER)
			n += __atomic_load_n(&rs->roles[i].st->ops, __ATOMIC_RELAXED);
	return n;
}

int ftr_roles_find_ops(const struct ftr_roles *rs, uint64_t off, uint64_t len, unsigned op_mask,
		       uint64_t until, struct ftr_op_hit *hits, int max)
{
	struct ftr_oplog *logs[FTR_MAX_ROLES];

	for (int i = 0; i < rs->nroles; i++)
		logs[i] = rs->roles[i].log;
	return ftr_oplog_find(logs, rs->nroles, off, len, op_mask, until, hits, max);
}
