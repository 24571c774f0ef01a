// SPDX-License-Identifier: GPL-2.0
/*
 * Churn roles: what else happens to page cache while it is collapsed.  Each is one
 * short operation on its own fd or on the shared mapping; the registry at the end is
 * what a scenario's .churn mix names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "roles.h"

/* A random PMD-sized range, where collapse happens. */
static uint64_t churn_pmd(struct ftr_role *r)
{
	return ftr_rng_below(&r->rng, r->eng->npmds) * r->eng->pmd;
}

static int churn_done(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off,
		      uint64_t len, int err)
{
	r->st->ops++;
	r->st->res[ftr_errno_slot(err)]++;
	if (err)
		r->st->last_err = err;
	ftr_role_log(r, op, t0, off, len, 0, err);
	ftr_pause_us(r, 500);
	return 0;
}

/* Writeback: folios go dirty -> writeback -> clean under the collapser, whose
 * dirty/writeback checks (and MADV_COLLAPSE's write-back-and-retry) they race. */
static int op_fsync(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns();

	return churn_done(r, FTR_OP_SYNC, t0, 0, r->eng->size, fsync(p->fd) ? errno : 0);
}

static int op_fdatasync(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns();

	return churn_done(r, FTR_OP_SYNC, t0, 0, r->eng->size, fdatasync(p->fd) ? errno : 0);
}

static int do_msync(struct ftr_role *r, int flags)
{
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);

	return churn_done(r, FTR_OP_SYNC, t0, off, r->eng->pmd,
			  msync(r->eng->map + off, r->eng->pmd, flags) ? errno : 0);
}

static int op_msync(struct ftr_role *r) { return do_msync(r, MS_SYNC); }
static int op_msync_async(struct ftr_role *r) { return do_msync(r, MS_ASYNC); }

static int op_sync_range(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	uint64_t t0 = ftr_now_ns(), off = churn_pmd(r);
	unsigned flags = SYNC_FILE_RANGE_WRITE;

	/* Sometimes only start writeback, so collapse meets folios under writeback. */
	if (ftr_rng_below(&r->rng, 2))
		flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
	return churn_done(r, FTR_OP_SYNC, t0, off, r->eng->pmd,
			  sync_file_range(p->fd, off, r->eng->pmd, flags) ? errno : 0);
}

static const struct ftr_churn_ops churn_fsync = { .name = "fsync", .op = op_fsync };
static const struct ftr_churn_ops churn_fdatasync = { .name = "fdatasync", .op = op_fdatasync };
static const struct ftr_churn_ops churn_msync = { .name = "msync", .op = op_msync };
static const struct ftr_churn_ops churn_msync_async = { .name = "msync-async", .op = op_msync_async };
static const struct ftr_churn_ops churn_sync_range = { .name = "sync-range", .op = op_sync_range };

const struct ftr_churn_ops *const ftr_churn_roles[] = {
	&churn_fsync, &churn_fdatasync, &churn_msync, &churn_msync_async, &churn_sync_range,
};
const unsigned ftr_churn_nr = sizeof(ftr_churn_roles) / sizeof(ftr_churn_roles[0]);
