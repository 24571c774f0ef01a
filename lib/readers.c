// SPDX-License-Identifier: GPL-2.0
/*
 * Verifying readers: each reads a random range while everything races, through one
 * way of walking the page cache — read(), either mapping, a large read(), splice and
 * sendfile into a pipe, copy_file_range into a second file — and checks it against
 * the oracle with racing tolerance.  A walker that met a large folio where it had seen
 * small ones, and got it wrong, shows up here as wrong data.
 *
 * The tail of the file may be cut off or shifted for a moment by the truncate role:
 * a short read, or SIGBUS from a mapping, is accepted there and only there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "control.h"
#include "mapping.h"
#include "readers.h"
#include "role.h"

#define READ_MAX (64 << 10)

const char *const ftr_read_names[FTR_READ_NR] = {
	[FTR_READ_READ] = "read", [FTR_READ_MAP] = "map", [FTR_READ_MAP2] = "map2",
	[FTR_READ_BIG] = "bigread", [FTR_READ_SPLICE] = "splice",
	[FTR_READ_SENDFILE] = "sendfile", [FTR_READ_COPY] = "copy",
};

/* Read-only, whatever the scenario holds: a reader never writes. */
static int reader_setup(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	char path[4200];

	if (ftr_role_open(r, O_RDONLY))
		return -errno;
	p->read_max = r->mode == FTR_READ_BIG ? 2 * a->pmd : READ_MAX;
	if (p->read_max > a->size)
		p->read_max = a->size;
	free(p->buf);
	if (posix_memalign((void **)&p->buf, a->psz, p->read_max))
		return -ENOMEM;
	p->pre = calloc(p->read_max / FTR_BLOCK, sizeof(*p->pre));
	if (!p->pre)
		return -ENOMEM;
	if (r->mode == FTR_READ_SPLICE || r->mode == FTR_READ_SENDFILE) {
		if (pipe2(p->pipe, O_CLOEXEC))
			return -errno;
		fcntl(p->pipe[1], F_SETPIPE_SZ, 1 << 20);
	}
	if (r->mode == FTR_READ_COPY) {
		snprintf(path, sizeof(path), "%s.copy%d", a->path, r->id);
		p->copy_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		unlink(path);	/* nobody else needs its name */
		if (p->copy_fd < 0)
			return -errno;
	}
	return 0;
}

/* Moves up to len bytes from the file through the pipe into buf; bytes got. */
static ssize_t through_pipe(struct role_priv *p, bool use_sendfile, size_t off, size_t len)
{
	size_t got = 0;

	while (got < len) {
		size_t want = len - got > (64 << 10) ? 64 << 10 : len - got;
		loff_t o = off + got;
		ssize_t n = use_sendfile ? sendfile(p->pipe[1], p->fd, &o, want)
					 : splice(p->fd, &o, p->pipe[1], NULL, want, 0);

		if (n < 0)
			return -errno;
		if (!n)
			break;
		for (ssize_t m = 0, k; m < n; m += k) {
			k = read(p->pipe[0], p->buf + got + m, n - m);
			if (k <= 0)
				return -EIO;
		}
		got += n;
	}
	return got;
}

static ssize_t read_full(int fd, char *buf, size_t len, size_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		got += n;
	}
	return got;
}

static ssize_t read_range(struct ftr_role *r, size_t off, size_t len)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	ssize_t n;

	switch (r->mode) {
	case FTR_READ_MAP:
	case FTR_READ_MAP2:
		return ftr_map_read(p->buf, (r->mode == FTR_READ_MAP ? a->map : a->map2) + off, len);
	case FTR_READ_SPLICE:
	case FTR_READ_SENDFILE:
		return through_pipe(p, r->mode == FTR_READ_SENDFILE, off, len);
	case FTR_READ_COPY: {
		loff_t in = off, out = 0;
		size_t got = 0;

		if (ftruncate(p->copy_fd, 0))
			return -errno;
		while (got < len) {
			n = copy_file_range(p->fd, &in, p->copy_fd, &out, len - got, 0);
			if (n < 0)
				return -errno;
			if (!n)
				break;
			got += n;
		}
		return read_full(p->copy_fd, p->buf, got, 0);
	}
	default:
		return read_full(p->fd, p->buf, len, off);
	}
}

static int reader_op(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint32_t n = ftr_rng_range(&r->rng, 1, p->read_max / FTR_BLOCK), first, nbad, unchecked = 0;
	uint64_t t0 = ftr_now_ns();
	struct ftr_bad bad[FTR_FATAL_BADS];
	size_t off, len;
	ssize_t got;

	first = ftr_rng_below(&r->rng, a->nblocks - n + 1);
	off = (size_t)first * FTR_BLOCK;
	len = (size_t)n * FTR_BLOCK;
	ftr_oracle_snapshot(&a->oracle, first, n, p->pre);
	got = read_range(r, off, len);
	if (got < 0)
		return got;
	/* Whatever could not be read must belong to a tail that is being cut off now. */
	for (uint32_t b = got / FTR_BLOCK; b < n; b++) {
		uint64_t v = __atomic_load_n(&a->oracle.inflight[first + b], __ATOMIC_ACQUIRE);

		if (ftr_ver_path(v) != FTR_P_TRUNC || v == p->pre[b]) {
			ftr_fatal(r, NULL, 0, "%s: %s of [%#zx, %#zx) stopped at %#zx, inside the file",
				  r->name, ftr_read_names[r->mode], off, off + len, off + got);
			return 0;
		}
		unchecked++;
	}
	n = got / FTR_BLOCK;
	nbad = ftr_oracle_check(&a->oracle, p->buf, first, n, p->pre, bad, FTR_FATAL_BADS, &unchecked);
	r->st->ops++;
	r->st->bytes += got;
	r->st->checked_blocks += n - (unchecked < n ? unchecked : n);
	r->st->unchecked_blocks += unchecked;
	ftr_role_log(r, FTR_OP_READ, t0, off, len, 0, nbad);
	ftr_pause_us(r, a->sc->pause_us);
	if (nbad)
		ftr_fatal(r, bad, nbad, "%s saw %u bad blocks in [%#zx, %#zx) while racing", r->name, nbad,
			  off, off + len);
	return 0;
}

static void reader_teardown(struct ftr_role *r)
{
	struct role_priv *p = r->priv;

	if (p->pipe[0] >= 0)
		close(p->pipe[0]);
	if (p->pipe[1] >= 0)
		close(p->pipe[1]);
	if (p->copy_fd >= 0)
		close(p->copy_fd);
	free(p->pre);
}

static void reader_describe(const struct ftr_role *r, char *buf, size_t len)
{
	const struct ftr_role_stats *st = r->st;

	snprintf(buf, len, "%8llu reads, %llu blocks checked while racing (%llu moved too fast to check)",
		 (unsigned long long)st->ops, (unsigned long long)st->checked_blocks,
		 (unsigned long long)st->unchecked_blocks);
}

const struct ftr_role_ops ftr_reader_ops = {
	.name = "reader", .setup = reader_setup, .op = reader_op, .teardown = reader_teardown,
	.describe = reader_describe,
};
