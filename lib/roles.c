// SPDX-License-Identifier: GPL-2.0
/*
 * The roles: writers (one path each), the collapser, the splitter, the khugepaged
 * watcher and the verifying readers.  Each op is short and self-contained so that a
 * role can stop at any op boundary when the controller quiesces.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "knob.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define URING_QD	4
#define READ_MAX	(64 << 10)

struct role_priv {
	int fd;
	char *buf;		/* URING_QD extents of one segment each, page aligned */
	struct io_uring ring;
	bool ring_ok;
	uint64_t *pre;		/* readers: done versions before the read */
	uint32_t *perm, perm_pos;	/* collapser: PMDs in random order */
	unsigned long scans, collapsed;	/* khugepaged watcher */
};

static uint64_t ld(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static void pause_us(struct ftr_role *r, unsigned max_us)
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

bool ftr_path_usable(struct ftr_engine *e, unsigned path, char *why, size_t len)
{
	const struct ftr_caps *c = &e->env->caps;

	if (e->sc->ro_mapping && path != FTR_P_OPENW)
		return snprintf(why, len, "this scenario holds no writable fd or mapping"), false;
	if ((path == FTR_P_URING || path == FTR_P_URING_FIXED) && !c->io_uring.ok)
		return snprintf(why, len, "%s", c->io_uring.why), false;
	if (path == FTR_P_DIRECT && !c->odirect.ok)
		return snprintf(why, len, "%s", c->odirect.why), false;
	return true;
}

int ftr_role_setup(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	struct role_priv *p = calloc(1, sizeof(*p));
	size_t bufsz = URING_QD * e->seg;
	int flags = O_RDWR | O_CLOEXEC;

	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->fd = -1;
	if (posix_memalign((void **)&p->buf, e->psz, bufsz))
		return -ENOMEM;
	if (r->kind == FTR_R_READER || (r->kind == FTR_R_WRITER && r->mode == FTR_P_OPENW))
		flags = O_RDONLY | O_CLOEXEC;
	if (r->kind == FTR_R_WRITER && r->mode == FTR_P_DIRECT)
		flags |= O_DIRECT;
	if (r->kind == FTR_R_WRITER || r->kind == FTR_R_READER ||
	    (r->kind == FTR_R_SPLITTER && r->mode == FTR_SPLIT_PUNCH)) {
		/* openw writers open their own fds per op; a read-only one here is harmless. */
		if (r->kind != FTR_R_WRITER || r->mode != FTR_P_OPENW) {
			p->fd = open(e->path, flags);
			if (p->fd < 0)
				return -errno;
		}
	}
	if (r->kind == FTR_R_WRITER && (r->mode == FTR_P_URING || r->mode == FTR_P_URING_FIXED)) {
		struct iovec iov[URING_QD];
		int ret = io_uring_queue_init(URING_QD * 2, &p->ring, 0);

		if (ret)
			return ret;
		p->ring_ok = true;
		for (int i = 0; i < URING_QD; i++)
			iov[i] = (struct iovec){ p->buf + i * e->seg, e->seg };
		if (r->mode == FTR_P_URING_FIXED && (ret = io_uring_register_buffers(&p->ring, iov, URING_QD)))
			return ret;
	}
	if (r->kind == FTR_R_READER && !(p->pre = calloc(READ_MAX / FTR_BLOCK, sizeof(*p->pre))))
		return -ENOMEM;
	if (r->kind == FTR_R_COLLAPSER) {
		p->perm = calloc(e->npmds, sizeof(*p->perm));
		if (!p->perm)
			return -ENOMEM;
		p->perm_pos = e->npmds;
	}
	if (r->kind == FTR_R_KHUGEPAGED) {
		ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/full_scans", &p->scans);
		ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/pages_collapsed", &p->collapsed);
	}
	return 0;
}

void ftr_role_teardown(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	if (!p)
		return;
	if (p->ring_ok)
		io_uring_queue_exit(&p->ring);
	if (p->fd >= 0)
		close(p->fd);
	free(p->buf);
	free(p->pre);
	free(p->perm);
	free(p);
	r->priv = NULL;
}

/* A random extent of whole blocks inside one owned segment, page-aligned if asked. */
static bool pick_extent(struct ftr_role *r, bool page_aligned, uint32_t avoid_seg,
			uint32_t *seg, uint32_t *first, uint32_t *n)
{
	struct ftr_engine *e = r->eng;
	uint32_t per_page = e->psz / FTR_BLOCK;

	for (int tries = 0; tries < 8 && r->nsegs; tries++) {
		uint32_t s = r->segs[ftr_rng_below(&r->rng, r->nsegs)], f, cnt, len;

		if (s == avoid_seg)
			continue;
		ftr_seg_range(e, s, &f, &cnt);
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
		*seg = s;
		return true;
	}
	return false;
}

static int pwrite_full(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

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

static int write_seek(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n;

		if (lseek(fd, off, SEEK_SET) != off)
			return -errno;
		n = write(fd, buf, len);
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

/* pwritev2 with the buffer cut into up to four iovecs at random byte boundaries. */
static int write_vec(struct ftr_role *r, int fd, char *buf, size_t len, off_t off)
{
	while (len) {
		struct iovec iov[4];
		size_t left = len;
		int cnt = 0;
		ssize_t n;

		while (left && cnt < 4) {
			size_t l = cnt == 3 ? left : ftr_rng_range(&r->rng, 1, left);

			iov[cnt++] = (struct iovec){ buf + (len - left), l };
			left -= l;
		}
		n = pwritev2(fd, iov, cnt, off, 0);
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

/* Stores of one width (8 bytes to 16 KiB), forwards or backwards, 8 bytes at a time so a
 * racing reader never sees a word half-written by us. */
static void store_mapped(struct ftr_role *r, char *dst, const char *src, size_t len)
{
	static const size_t widths[] = { 8, 16, 64, 512, 4096, 16384 };
	size_t w = widths[ftr_rng_below(&r->rng, 6)], nchunks;
	bool back = ftr_rng_below(&r->rng, 2);

	if (w > len)
		w = len;
	nchunks = (len + w - 1) / w;
	for (size_t c = 0; c < nchunks; c++) {
		size_t i = back ? nchunks - 1 - c : c, start = i * w, end = start + w < len ? start + w : len;

		for (size_t b = start; b < end; b += 8)
			__atomic_store_n((uint64_t *)(dst + b), *(const uint64_t *)(src + b), __ATOMIC_RELAXED);
	}
}

static int write_openw(struct ftr_engine *e, const char *buf, size_t len, off_t off)
{
	int fd = open(e->path, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = pwrite_full(fd, buf, len, off);
	close(fd);
	return ret;
}

/* Several writes in flight at once; each is resubmitted until it completed in full. */
static int write_uring(struct ftr_role *r, int cnt, const uint32_t *first, const uint32_t *n)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	size_t done[URING_QD] = { 0 };
	bool busy[URING_QD] = { false };
	int left = cnt;

	while (left) {
		struct io_uring_cqe *cqe;
		int ret;

		for (int i = 0; i < cnt; i++) {
			size_t len = (size_t)n[i] * FTR_BLOCK;
			off_t off = (off_t)first[i] * FTR_BLOCK + done[i];
			char *b = p->buf + i * e->seg + done[i];
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

/* The PMDs an extent touches, bracketed around the write. */
static void extent_seqc(struct ftr_role *r, size_t off, size_t len, bool begin)
{
	struct ftr_engine *e = r->eng;

	for (size_t pmd = off / e->pmd; pmd <= (off + len - 1) / e->pmd; pmd++) {
		struct ftr_pmd_state *s = &e->pmds[pmd];
		/* O_DIRECT invalidates the page cache; an old kernel drops THPs on a
		 * writable open; a store may split a write-protected PMD mapping. */
		struct ftr_seqc *c = r->mode == FTR_P_DIRECT || r->mode == FTR_P_OPENW ? &s->split :
				     r->mode == FTR_P_MMAP ? &s->store : NULL;

		if (c && begin)
			ftr_seqc_begin(c);
		else if (c)
			ftr_seqc_end(c);
	}
}

static int writer_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	uint32_t seg[URING_QD], first[URING_QD], n[URING_QD];
	uint64_t t0, csnap[URING_QD];
	int cnt = 1, ret = 0;
	bool aligned = r->mode == FTR_P_DIRECT;

	if (r->mode == FTR_P_URING || r->mode == FTR_P_URING_FIXED)
		cnt = ftr_rng_range(&r->rng, 1, URING_QD);
	for (int i = 0; i < cnt; i++)
		if (!pick_extent(r, aligned, i ? seg[i - 1] : UINT32_MAX, &seg[i], &first[i], &n[i])) {
			cnt = i;
			break;
		}
	/* io_uring extents must not overlap: keep them in distinct segments. */
	for (int i = 1; i < cnt; i++)
		for (int j = 0; j < i; j++)
			if (seg[i] == seg[j])
				cnt = i;
	if (!cnt) {
		pause_us(r, 1000);	/* owns nothing this epoch */
		return 0;
	}
	for (int i = 0; i < cnt; i++) {
		size_t off = (size_t)first[i] * FTR_BLOCK;

		extent_seqc(r, off, (size_t)n[i] * FTR_BLOCK, true);
		csnap[i] = ftr_seqc_read(&e->pmds[off / e->pmd].collapse);
		ftr_oracle_begin_stamp(&e->oracle, p->buf + i * e->seg, first[i], n[i], r->mode);
	}
	t0 = ftr_now_ns();
	switch (r->mode) {
	case FTR_P_WRITE:
		ret = write_seek(p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK);
		break;
	case FTR_P_PWRITE:
	case FTR_P_DIRECT:
		ret = pwrite_full(p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK);
		break;
	case FTR_P_PWRITEV:
		ret = write_vec(r, p->fd, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK);
		break;
	case FTR_P_OPENW:
		ret = write_openw(e, p->buf, n[0] * FTR_BLOCK, (off_t)first[0] * FTR_BLOCK);
		break;
	case FTR_P_MMAP:
		store_mapped(r, e->map + (size_t)first[0] * FTR_BLOCK, p->buf, n[0] * FTR_BLOCK);
		break;
	default:
		ret = write_uring(r, cnt, first, n);
		break;
	}
	for (int i = 0; i < cnt; i++) {
		size_t off = (size_t)first[i] * FTR_BLOCK;

		extent_seqc(r, off, (size_t)n[i] * FTR_BLOCK, false);
		if (ret)
			continue;
		ftr_oracle_commit(&e->oracle, first[i], n[i]);
		ftr_role_log(r, FTR_OP_WRITE, t0, off, n[i] * FTR_BLOCK,
			     ftr_ver_gen(ld(&e->oracle.done[first[i]])), 0);
		r->st->ops++;
		r->st->bytes += (uint64_t)n[i] * FTR_BLOCK;
		if (!ftr_seqc_same(&e->pmds[off / e->pmd].collapse, csnap[i]))
			r->st->overlaps++;
	}
	if (ret)
		return ret;
	pause_us(r, e->sc->pause_us);
	return 0;
}

/* MADV_COLLAPSE of every PMD in a fresh random order each round. */
static int collapser_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	uint64_t s0, st0, t0;
	struct ftr_pmd_state *s;
	uint32_t pmd;
	int ret;

	if (p->perm_pos == e->npmds) {
		for (uint32_t i = 0; i < e->npmds; i++)
			p->perm[i] = i;
		for (uint32_t i = e->npmds - 1; i > 0; i--) {
			uint32_t j = ftr_rng_below(&r->rng, i + 1), t = p->perm[i];

			p->perm[i] = p->perm[j];
			p->perm[j] = t;
		}
		p->perm_pos = 0;
	}
	pmd = p->perm[p->perm_pos++];
	s = &e->pmds[pmd];
	/* Collapsed and untouched since: MADV_COLLAPSE would return 0 without doing a
	 * thing, and burn the CPU the writers need. */
	if (ld(&s->ok_split) == ld(&s->split.seq) + 1 &&
	    (e->env->caps.is_shmem || ftr_seqc_same(&s->store, ld(&s->ok_store)))) {
		pause_us(r, 100);
		return 0;
	}
	st0 = ftr_seqc_read(&s->store);
	s0 = ftr_seqc_read(&s->split);
	ftr_seqc_begin(&s->collapse);
	t0 = ftr_now_ns();
	ret = madvise(e->map + (size_t)pmd * e->pmd, e->pmd, MADV_COLLAPSE) ? errno : 0;
	r->st->busy_ns += ftr_now_ns() - t0;
	ftr_seqc_end(&s->collapse);
	if (!ret && ftr_seqc_same(&s->split, s0)) {
		__atomic_store_n(&s->ok_store, st0, __ATOMIC_RELEASE);
		__atomic_store_n(&s->ok_split, s0 + 1, __ATOMIC_RELEASE);
	}
	r->st->ops++;
	r->st->res[ftr_errno_slot(ret)]++;
	if (ret)
		r->st->last_err = ret;
	ftr_role_log(r, FTR_OP_COLLAPSE, t0, (uint64_t)pmd * e->pmd, e->pmd, 0, ret);
	if (ret == EINVAL)
		pause_us(r, 1000);	/* not supported here: don't steal the writers' CPU */
	return 0;
}

/* A PMD that is collapsed now, if any: splitting anything else is wasted effort. */
static uint32_t pick_collapsed_pmd(struct ftr_role *r)
{
	struct ftr_engine *e = r->eng;
	uint32_t start = ftr_rng_below(&r->rng, e->npmds);

	for (uint32_t i = 0; i < e->npmds; i++) {
		struct ftr_pmd_state *s = &e->pmds[(start + i) % e->npmds];

		if (ld(&s->ok_split) == ld(&s->split.seq) + 1)
			return (start + i) % e->npmds;
	}
	return start;
}

/* A whole page the punch splitter owns inside the given PMD. */
static bool pick_page_in(struct ftr_role *r, uint32_t pmd, uint32_t *first)
{
	struct ftr_engine *e = r->eng;
	uint32_t per_page = e->psz / FTR_BLOCK, per_pmd = e->pmd / FTR_BLOCK;

	for (uint32_t i = 0, k = ftr_rng_below(&r->rng, r->nsegs + 1); i < r->nsegs; i++) {
		uint32_t f, n, pf;

		ftr_seg_range(e, r->segs[(k + i) % r->nsegs], &f, &n);
		pf = (f + per_page - 1) / per_page * per_page;
		if (pf + per_page <= f + n && pf / per_pmd == pmd) {
			*first = pf;
			return true;
		}
	}
	return false;
}

static int splitter_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	uint32_t pmd = pick_collapsed_pmd(r), seg, first, n;
	uint64_t t0 = ftr_now_ns(), off = (uint64_t)pmd * e->pmd, len = e->pmd;
	enum ftr_op op = FTR_OP_SPLIT;
	char cmd[4200];
	int ret = 0, fd, c;

	switch (r->mode) {
	case FTR_SPLIT_DEBUGFS:
		ftr_seqc_begin(&e->pmds[pmd].split);
		/* Page offsets in the file; a random target order where the kernel takes one. */
		c = snprintf(cmd, sizeof(cmd), "%s,%#llx,%#llx,%u", e->path,
			     (unsigned long long)(off / e->psz), (unsigned long long)((off + len) / e->psz),
			     (unsigned)ftr_rng_below(&r->rng, 4) * 2);
		fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, cmd, c) != c)
			ret = errno;
		if (fd >= 0)
			close(fd);
		ftr_seqc_end(&e->pmds[pmd].split);
		break;
	case FTR_SPLIT_PUNCH:
		if (!pick_page_in(r, pmd, &first) && !pick_extent(r, true, UINT32_MAX, &seg, &first, &n))
			return pause_us(r, 1000), 0;
		op = FTR_OP_PUNCH;
		off = (uint64_t)first * FTR_BLOCK;
		len = e->psz;
		n = e->psz / FTR_BLOCK;
		pmd = off / e->pmd;
		ftr_seqc_begin(&e->pmds[pmd].split);
		ftr_oracle_begin_stamp(&e->oracle, p->buf, first, n, FTR_P_PUNCH);
		if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			ret = errno;
		/* Put the page back: the oracle wants it written whether or not the punch worked. */
		c = pwrite_full(p->fd, p->buf, len, off);
		ftr_seqc_end(&e->pmds[pmd].split);
		if (c)
			return c;
		ftr_oracle_commit(&e->oracle, first, n);
		break;
	default:
		op = FTR_OP_PAGEOUT;
		ftr_seqc_begin(&e->pmds[pmd].split);
		if (madvise(e->map + off, len, MADV_PAGEOUT))
			ret = errno;
		ftr_seqc_end(&e->pmds[pmd].split);
		break;
	}
	r->st->ops++;
	r->st->res[ftr_errno_slot(ret)]++;
	if (ret)
		r->st->last_err = ret;
	ftr_role_log(r, op, t0, off, len, 0, ret);
	/* Let collapses happen in between. */
	pause_us(r, 1000);
	return 0;
}

static int khugepaged_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	unsigned long scans = 0, collapsed = 0;
	uint64_t t0 = ftr_now_ns();

	pause_us(r, 20000);
	ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/full_scans", &scans);
	if (scans == p->scans)
		return 0;
	ftr_knob_read_ul(FTR_THP_SYSFS "/khugepaged/pages_collapsed", &collapsed);
	r->st->ops++;
	r->st->res[0] += collapsed - p->collapsed;
	ftr_role_log(r, FTR_OP_KHUGEPAGED, t0, 0, 0, 0, (int)(collapsed - p->collapsed));
	p->scans = scans;
	p->collapsed = collapsed;
	return 0;
}

/* Reads a random range while everything races and checks it with racing tolerance. */
static int reader_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_engine *e = r->eng;
	uint32_t n = ftr_rng_range(&r->rng, 1, READ_MAX / FTR_BLOCK), first, nbad, unchecked = 0;
	uint64_t t0 = ftr_now_ns();
	struct ftr_bad bad;
	size_t off, len;

	first = ftr_rng_below(&r->rng, e->nblocks - n + 1);
	off = (size_t)first * FTR_BLOCK;
	len = (size_t)n * FTR_BLOCK;
	ftr_oracle_snapshot(&e->oracle, first, n, p->pre);
	if (r->mode == FTR_READ_READ) {
		ssize_t got = pread(p->fd, p->buf, len, off);

		if (got != (ssize_t)len)
			return got < 0 ? -errno : -EIO;
	} else {
		const char *src = (r->mode == FTR_READ_MAP ? e->map : e->map2) + off;

		for (size_t b = 0; b < len; b += 8)
			*(uint64_t *)(p->buf + b) = __atomic_load_n((const uint64_t *)(src + b), __ATOMIC_RELAXED);
	}
	nbad = ftr_oracle_check(&e->oracle, p->buf, first, n, p->pre, &bad, 1, &unchecked);
	r->st->ops++;
	r->st->bytes += len;
	r->st->checked_blocks += n - unchecked;
	r->st->unchecked_blocks += unchecked;
	ftr_role_log(r, FTR_OP_READ, t0, off, len, 0, nbad);
	pause_us(r, e->sc->pause_us);
	if (nbad)
		ftr_fatal(r, &bad, "%s saw %u bad blocks in [%#zx, %#zx) while racing", r->name, nbad,
			  off, off + len);
	return 0;
}

int ftr_role_op(struct ftr_role *r)
{
	switch (r->kind) {
	case FTR_R_WRITER: return writer_op(r);
	case FTR_R_COLLAPSER: return collapser_op(r);
	case FTR_R_SPLITTER: return splitter_op(r);
	case FTR_R_KHUGEPAGED: return khugepaged_op(r);
	default: return reader_op(r);
	}
}
