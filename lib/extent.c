// SPDX-License-Identifier: GPL-2.0
/*
 * Extents: what a role that rewrites the file (a writer, the punch splitter, the hole
 * roles) may touch.  Only blocks of a segment it owns this epoch, never in a sealed
 * PMD, and every byte written before the new versions are committed.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "contract.h"
#include "extent.h"
#include "role.h"

/* A random extent of whole blocks inside one owned segment, page-aligned if asked,
 * outside sealed PMDs. */
bool ftr_pick_extent(struct ftr_role *r, bool page_aligned, uint32_t avoid_seg,
			uint32_t *seg, uint32_t *first, uint32_t *n)
{
	struct ftr_arena *a = r->arena;
	uint32_t per_page = a->psz / FTR_BLOCK;

	for (int tries = 0; tries < 8 && r->nsegs; tries++) {
		uint32_t s = r->segs[ftr_rng_below(&r->rng, r->nsegs)], f, cnt, len;

		if (s == avoid_seg)
			continue;
		ftr_seg_range(a, s, &f, &cnt);
		if (page_aligned) {
			uint32_t pf = (f + per_page - 1) / per_page * per_page;

			if (pf + per_page > f + cnt)
				continue;
			cnt = (f + cnt - pf) / per_page;
			len = ftr_rng_range(&r->rng, 1, cnt);
			*first = pf + ftr_rng_below(&r->rng, cnt - len + 1) * per_page;
			*n = len * per_page;
		} else {
			/* Mostly small writes, sometimes the whole segment. */
			switch (ftr_rng_below(&r->rng, 3)) {
			case 0: len = 1; break;
			case 1: len = ftr_rng_range(&r->rng, 1, per_page < cnt ? per_page : cnt); break;
			default: len = ftr_rng_range(&r->rng, 1, cnt); break;
			}
			*first = f + ftr_rng_below(&r->rng, cnt - len + 1);
			*n = len;
		}
		/* A sealed PMD waits for the epoch's check after eviction (contract.h). */
		if (!ftr_contract_may_write(a, (uint64_t)*first * FTR_BLOCK, (uint64_t)*n * FTR_BLOCK))
			continue;
		*seg = s;
		return true;
	}
	return false;
}

/* pwritev2() with the buffer cut into up to four iovecs at random byte boundaries.
 * --replay does not replay these boundaries: it takes the extent from the record and
 * cuts it afresh (the record has no room for them, and they are the least of a race). */
static ssize_t pwritev_cut(struct ftr_rng *rng, int fd, const char *buf, size_t len, off_t off)
{
	struct iovec iov[4];
	size_t left = len;
	int cnt = 0;

	while (left && cnt < 4) {
		size_t l = cnt == 3 ? left : ftr_rng_range(rng, 1, left);

		iov[cnt++] = (struct iovec){ (char *)buf + (len - left), l };
		left -= l;
	}
	return pwritev2(fd, iov, cnt, off, 0);
}

static void bracket(struct ftr_arena *a, uint64_t off, uint64_t len, enum ftr_also also, bool begin)
{
	for (uint64_t pmd = off / a->pmd; len && pmd <= (off + len - 1) / a->pmd; pmd++) {
		struct ftr_pmd_state *s = &a->pmds[pmd];
		struct ftr_seqc *c = also == FTR_ALSO_STORE ? &s->store : also != FTR_ALSO_NONE ? &s->split : NULL;
		struct ftr_seqc *c2 = also == FTR_ALSO_RESPLIT ? &s->resplit : NULL;

		if (begin) {
			ftr_seqc_begin(&s->write);
			if (c)
				ftr_seqc_begin(c);
			if (c2)
				ftr_seqc_begin(c2);
		} else {
			ftr_seqc_end(&s->write);
			if (c)
				ftr_seqc_end(c);
			if (c2)
				ftr_seqc_end(c2);
		}
	}
}

bool ftr_extent_begin(struct ftr_arena *a, uint64_t off, uint64_t len, enum ftr_also also)
{
	bracket(a, off, len, also, true);
	/* The counter is raised before the seal is read.  A rewrite that still misses a
	 * seal here was in flight when the collapser looked: it ends after the collapse
	 * returned, and the seal counts as masked (ftr_contract_unseal()). */
	if (ftr_contract_may_write(a, off, len))
		return true;
	bracket(a, off, len, also, false);
	return false;
}

void ftr_extent_end(struct ftr_arena *a, uint64_t off, uint64_t len, enum ftr_also also)
{
	bracket(a, off, len, also, false);
}

int ftr_write_full(int fd, const char *buf, size_t len, off_t off, enum ftr_write_how how,
		   struct ftr_rng *rng)
{
	while (len) {
		ssize_t n;

		if (how == FTR_HOW_SEEK && lseek(fd, off, SEEK_SET) != off)
			return -errno;
		n = how == FTR_HOW_SEEK ? write(fd, buf, len) :
		    how == FTR_HOW_VEC ? pwritev_cut(rng, fd, buf, len, off) : pwrite(fd, buf, len, off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -(n < 0 ? errno : EIO);
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

int ftr_pwrite_full(int fd, const char *buf, size_t len, off_t off)
{
	return ftr_write_full(fd, buf, len, off, FTR_HOW_PWRITE, NULL);
}
