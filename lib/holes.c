// SPDX-License-Identifier: GPL-2.0
/*
 * Holes and truncation: roles that destroy data they own, check that the kernel did
 * exactly what it promised (a punched or zeroed range reads as zeros, a truncated
 * file ends at the new size and its mapping raises SIGBUS past EOF, a collapsed or
 * inserted range moves the data after it), then write their blocks back so the
 * oracle's quiesced check holds again.  Each op is bracketed as a split of its PMD:
 * these all split large folios.  An operation the filesystem does not support
 * (EOPNOTSUPP) is a per-operation skip, counted, not a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract.h"
#include "control.h"
#include "extent.h"
#include "holes.h"
#include "mapping.h"
#include "role.h"

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* Reads [off, off+len) and says where it is not zero, or -1. */
static long long first_nonzero(struct ftr_role *r, uint64_t off, uint64_t len)
{
	struct role_priv *p = r->priv;
	char *buf = malloc(len);
	long long at = -1;

	if (!buf || pread(p->fd, buf, len, off) != (ssize_t)len) {
		free(buf);
		return off;
	}
	for (uint64_t i = 0; i < len; i++)
		if (buf[i]) {
			at = off + i;
			break;
		}
	free(buf);
	return at;
}

/* Writes the new versions of [first, first+n), stamped into p->buf by begin_stamp. */
static int put_back(struct ftr_role *r, uint32_t first, uint32_t n)
{
	struct role_priv *p = r->priv;
	int ret = ftr_pwrite_full(p->fd, p->buf, (size_t)n * FTR_BLOCK, (off_t)first * FTR_BLOCK);

	if (!ret)
		ftr_oracle_commit(&r->arena->oracle, first, n);
	return ret;
}

static int hole_op(struct ftr_role *r, int mode, unsigned path)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint32_t seg, first, n;
	uint64_t t0, t1, off, len;
	/* A punch of whole pages splits the folios there; zeroing keeps them. */
	enum ftr_also also = mode == FALLOC_FL_PUNCH_HOLE ? FTR_ALSO_RESPLIT : FTR_ALSO_SPLIT;
	long long nz;
	int err = 0, ret;

	/* Punch whole pages (that is what splits a folio); zero any block range. */
	if (!ftr_pick_extent(r, path == FTR_P_PUNCH, UINT32_MAX, &seg, &first, &n)) {
		ftr_pause_us(r, 1000);
		return 0;
	}
	off = (uint64_t)first * FTR_BLOCK;
	len = (uint64_t)n * FTR_BLOCK;
	ftr_churn_range(r, off, len);
	if (!ftr_extent_begin(a, off, len, also)) {
		ftr_pause_us(r, 1000);	/* sealed since it was picked */
		return 0;
	}
	ftr_oracle_begin_stamp(&a->oracle, p->buf, first, n, path);
	t0 = ftr_now_ns();
	if (fallocate(p->fd, mode | FALLOC_FL_KEEP_SIZE, off, len))
		err = errno;
	t1 = ftr_now_ns();
	if (!err && (nz = first_nonzero(r, off, len)) >= 0)
		ftr_contract_fail(r, "%s of [%#llx, %#llx) reads non-zero at %#llx", ftr_path_names[path],
				  (unsigned long long)off, (unsigned long long)(off + len), nz);
	ret = put_back(r, first, n);
	ftr_extent_end(a, off, len, also);
	if (ret)
		return ret;
	/* Logged as the fallocate() call alone: what a racing reader's zeros beside the
	 * range are matched against (known.c). */
	ftr_op_count(r, err);
	ftr_role_log_span(r, FTR_OP_PUNCH, t0, t1, off, len, 0, err, 0);
	ftr_pause_us(r, 1000);
	return 0;
}

static int op_punch(struct ftr_role *r) { return hole_op(r, FALLOC_FL_PUNCH_HOLE, FTR_P_PUNCH); }
static int op_zero(struct ftr_role *r) { return hole_op(r, FALLOC_FL_ZERO_RANGE, FTR_P_ZERO); }

/* The tail this role owns every epoch: the blocks from its first segment to EOF. */
static bool owns_tail(struct ftr_role *r, uint32_t *first, uint32_t *n)
{
	struct ftr_arena *a = r->arena;
	uint32_t f, cnt, lo = a->nblocks;

	for (uint32_t i = 0; i < r->nsegs; i++) {
		ftr_seg_range(a, r->segs[i], &f, &cnt);
		/* The tail zone, as seg_owner() hands it out; other segments are ordinary. */
		if (cnt && f < lo && (uint64_t)(f + cnt) * FTR_BLOCK + 2 * a->seg > a->size)
			lo = f;
	}
	*first = lo;
	*n = a->nblocks - lo;
	return *n > 0;
}

/*
 * A mapping must raise SIGBUS past EOF.  tmpfs is the kernel's stated exception: it
 * has long mapped huge folios with a PMD across i_size on purpose (filemap_map_pages()
 * says so), so there the byte must only read as zero.
 */
static void expect_sigbus(struct ftr_role *r, uint64_t eof)
{
	struct ftr_arena *a = r->arena;
	uint64_t page = (eof + a->psz - 1) / a->psz * a->psz, word;
	char c;

	if (page >= a->size || a->sc->ro_mapping || !ftr_map_read(&word, a->map + page, sizeof(word)))
		return;		/* SIGBUS, as promised */
	memcpy(&c, &word, 1);
	if (a->env->caps.is_shmem && !c && page / a->pmd == eof / a->pmd)
		return;
	ftr_contract_fail(r, "the file was truncated to %#llx but its mapping reads %#llx without SIGBUS%s",
			  (unsigned long long)eof, (unsigned long long)page, c ? " (and it is not zero)" : "");
}

/* Whether [off, off+len) of the file holds the current versions of blocks from src on. */
static bool holds(struct ftr_role *r, uint64_t off, uint64_t len, uint32_t src)
{
	struct role_priv *p = r->priv;
	struct ftr_oracle *o = &r->arena->oracle;
	uint8_t blk[FTR_BLOCK], want[FTR_BLOCK];

	for (uint64_t at = 0; at < len; at += FTR_BLOCK) {
		uint64_t v = ld(&o->done[src + at / FTR_BLOCK]);

		if (pread(p->fd, blk, FTR_BLOCK, off + at) != FTR_BLOCK)
			return false;
		ftr_stamp(o, want, src + at / FTR_BLOCK, ftr_ver_gen(v), ftr_ver_path(v));
		if (memcmp(blk, want, FTR_BLOCK))
			return false;
	}
	return true;
}

static int op_truncate(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint32_t first, n, per_page = a->psz / FTR_BLOCK;
	uint64_t t0 = ftr_now_ns(), off, len, x, eof;
	struct stat st;
	int err = 0, ret;

	if (!owns_tail(r, &first, &n) ||
	    !ftr_contract_may_write(a, (uint64_t)first * FTR_BLOCK, a->size - (uint64_t)first * FTR_BLOCK)) {
		ftr_pause_us(r, 1000);
		return 0;
	}
	off = (uint64_t)first * FTR_BLOCK;
	len = a->size - off;
	x = (first + per_page - 1) / per_page * per_page * (uint64_t)FTR_BLOCK;
	ftr_churn_range(r, off, len);
	if (!ftr_extent_begin(a, off, len, FTR_ALSO_RESPLIT)) {
		ftr_pause_us(r, 1000);	/* sealed since it was picked */
		return 0;
	}
	/* In flight from here: readers accept anything in the tail until put_back.  The
	 * done versions stay as they were, and are what moved data is checked against. */
	ftr_oracle_begin_stamp(&a->oracle, p->buf, first, n, FTR_P_TRUNC);
	if (ftr_rng_below(&r->rng, 2) || x + 2 * a->psz > a->size) {
		/* Down to an unaligned size inside the tail, then back up. */
		eof = off + ftr_rng_below(&r->rng, len);
		if (ftruncate(p->fd, eof)) {
			err = errno;
		} else {
			if (fstat(p->fd, &st) || (uint64_t)st.st_size != eof)
				ftr_contract_fail(r, "ftruncate to %#llx left size %#llx", (unsigned long long)eof,
						  (unsigned long long)st.st_size);
			expect_sigbus(r, eof);
			if (ftruncate(p->fd, a->size))
				return -errno;
			if (first_nonzero(r, eof, a->size - eof) >= 0)
				ftr_contract_fail(r, "after truncating to %#llx and extending, [%#llx, %#llx) is not zero",
						  (unsigned long long)eof, (unsigned long long)eof,
						  (unsigned long long)a->size);
		}
	} else if (fallocate(p->fd, FALLOC_FL_COLLAPSE_RANGE, x, a->psz)) {
		err = errno;
	} else {
		/* The data after x + page moved down by a page; then a page is inserted at x. */
		uint32_t xb = x / FTR_BLOCK;

		if (!holds(r, x, a->size - a->psz - x, xb + per_page))
			ftr_contract_fail(r, "after COLLAPSE_RANGE at %#llx the data after it did not move down",
					  (unsigned long long)x);
		if (fallocate(p->fd, FALLOC_FL_INSERT_RANGE, x, a->psz))
			return -errno;
		if (!holds(r, x + a->psz, a->size - a->psz - x, xb + per_page) ||
		    first_nonzero(r, x, a->psz) >= 0)
			ftr_contract_fail(r, "after INSERT_RANGE at %#llx the data did not move back behind a hole",
					  (unsigned long long)x);
	}
	ret = put_back(r, first, n);
	ftr_extent_end(a, off, len, FTR_ALSO_RESPLIT);
	if (ret)
		return ret;
	return ftr_op_done(r, FTR_OP_PUNCH, t0, off, len, err, 1000);
}

const struct ftr_role_ops ftr_churn_punch = { .name = "punch", .owns = true, .op = op_punch };
const struct ftr_role_ops ftr_churn_zero = { .name = "zero-range", .owns = true, .op = op_zero };
const struct ftr_role_ops ftr_churn_truncate = {
	.name = "truncate", .owns = true, .tail = true, .op = op_truncate,
};
