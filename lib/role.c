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
#include <time.h>
#include <unistd.h>

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
	p->fd = open(r->eng->path, flags | O_CLOEXEC);
	return p->fd < 0 ? -errno : 0;
}

int ftr_role_setup(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	struct role_priv *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->fd = p->pipe[0] = p->pipe[1] = p->copy_fd = -1;
	if (posix_memalign((void **)&p->buf, e->psz, URING_QD * e->seg))
		return -ENOMEM;
	ret = ftr_role_open(r, e->sc->ro_mapping ? O_RDONLY : O_RDWR);
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
	if (st->last_err && o < len)
		snprintf(buf + o, len - o, "%s last error %s", r->counts_overlaps ? ";" : ",",
			 strerror(st->last_err));
}
