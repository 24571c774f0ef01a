// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX_FADV_DONTNEED of a PMD-sized range: the kernel starts writeback of its dirty
 * folios (WB_SYNC_NONE) and drops the clean, unmapped, unlocked ones.  So collapse
 * meets folios under writeback that nobody waits for, and a THP or the small folios a
 * collapse is copying leave the page cache under it; what comes back must come from
 * the disk with every write in it.  For the THP contract this is a split.
 */
#include <errno.h>
#include <fcntl.h>

#include "control.h"
#include "fadvise.h"
#include "role.h"

static int op_fadvise(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = ftr_rng_below(&r->rng, a->npmds) * a->pmd;
	struct ftr_seqc *split = &a->pmds[off / a->pmd].split;
	int err;

	ftr_churn_range(r, off, a->pmd);
	ftr_seqc_begin(split);
	err = posix_fadvise(p->fd, off, a->pmd, POSIX_FADV_DONTNEED);
	ftr_seqc_end(split);
	return ftr_op_done(r, FTR_OP_PAGEOUT, t0, off, a->pmd, err, 500);
}

const struct ftr_role_ops ftr_churn_fadvise = { .name = "fadvise", .op = op_fadvise };
