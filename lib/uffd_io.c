// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_io: the userfaultfd plumbing of the collapse_uffd scenarios (see uffd_io.h).
 *
 * The main thread is the handler: it polls the userfaultfd, resolves each fault (a copy
 * of the page's last completed content for a missing fault, write-protect off for a wp
 * fault) and counts it before the worker wakes.  The worker counts its accesses, so an
 * access that completed while the event count stood still raised no event.  A wait with
 * neither events nor progress is bounded: unregistering the range releases the worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "ktap.h"
#include "mapping.h"
#include "uffd_io.h"
/* Debian 12's uapi headers are 6.1; these are older, but keep the build portable. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_MISSING_SHMEM
#define UFFD_FEATURE_MISSING_SHMEM (1 << 5)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFDIO_WRITEPROTECT_MODE_WP
#define UFFDIO_WRITEPROTECT_MODE_WP ((__u64)1 << 0)
#endif

int ftr_uffd_collapse(void *addr, size_t len)
{
	return madvise(addr, len, MADV_COLLAPSE) ? errno : 0;
}

int ftr_uffd_writeprotect(int ufd, unsigned long addr, size_t len, bool on)
{
	struct uffdio_writeprotect wp = { .range = { addr, len }, .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

	return ioctl(ufd, UFFDIO_WRITEPROTECT, &wp);
}

/* Opens a userfaultfd with the features in want.  The first handshake only asks what
 * the kernel offers (features cannot be added after UFFDIO_API), the second asks for
 * them.  -errno with why filled when the kernel refuses. */
static int uffd_open(uint64_t want, char *why, size_t len)
{
	struct uffdio_api api;
	int fd;

	for (int pass = 0; pass < 2; pass++) {
		fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		if (fd < 0 && errno == EINVAL)	/* before 5.11: no UFFD_USER_MODE_ONLY */
			fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			int err = errno;

			snprintf(why, len, "userfaultfd(): %s%s", strerror(err),
				 err == ENOSYS ? " (CONFIG_USERFAULTFD off)" : "");
			return -err;
		}
		api = (struct uffdio_api){ .api = UFFD_API, .features = pass ? want : 0 };
		if (ioctl(fd, UFFDIO_API, &api)) {
			int err = errno;

			snprintf(why, len, "UFFDIO_API features %#llx: %s", (unsigned long long)api.features,
				 strerror(err));
			close(fd);
			return -err;
		}
		if (pass)
			return fd;
		close(fd);
		if ((api.features & want) != want) {
			snprintf(why, len, "the kernel offers uffd features %#llx, not %#llx%s",
				 (unsigned long long)api.features, (unsigned long long)want,
				 want & UFFD_FEATURE_WP_HUGETLBFS_SHMEM ? " (UFFD_FEATURE_WP_HUGETLBFS_SHMEM: "
				 "write-protect on shmem)" : "");
			return -EOPNOTSUPP;
		}
	}
	return -EINVAL;
}

/* The page's last completed content, as the oracle has it, into dst (one page). */
static void stamp_done(struct ftr_uffd_file *f, char *dst, unsigned long pg)
{
	for (unsigned long b = 0; b < f->bpp; b++) {
		uint64_t v = __atomic_load_n(&f->o.done[pg * f->bpp + b], __ATOMIC_ACQUIRE);

		ftr_stamp(&f->o, dst + b * FTR_BLOCK, pg * f->bpp + b, ftr_ver_gen(v), ftr_ver_path(v));
	}
}

/* Releases a stuck worker: unregistered, its fault retries as a plain fault.  Only
 * missing-mode faults are woken by UFFDIO_UNREGISTER, so wake the range as well. */
static void release(struct ftr_uffd_ctx *c)
{
	struct uffdio_range r = { (unsigned long)c->f->map, c->f->size };

	__atomic_store_n(&c->released, 1, __ATOMIC_SEQ_CST);
	ioctl(c->ufd, UFFDIO_UNREGISTER, &r);
	ioctl(c->ufd, UFFDIO_WAKE, &r);
}

static void resolve(struct ftr_uffd_ctx *c, const struct uffd_msg *m)
{
	struct ftr_uffd_file *f = c->f;
	unsigned long addr = m->arg.pagefault.address & ~(f->psz - 1), pg;

	if (m->event != UFFD_EVENT_PAGEFAULT || addr < (unsigned long)f->map ||
	    addr >= (unsigned long)f->map + f->size) {
		c->odd++;
		return;
	}
	pg = (addr - (unsigned long)f->map) / f->psz;
	__atomic_add_fetch(&c->events, 1, __ATOMIC_SEQ_CST);
	if (c->wp) {
		if (!(m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			c->odd++;
		if (!ftr_uffd_writeprotect(c->ufd, addr, f->psz, false))
			return;
		snprintf(c->resolve_msg, sizeof(c->resolve_msg), "UFFDIO_WRITEPROTECT off, page %lu: %s",
			 pg, strerror(errno));
	} else {
		/* The page's last completed content: the hole must read as if never punched. */
		stamp_done(f, c->src, pg);
		struct uffdio_copy cp = { .dst = addr, .src = (unsigned long)c->src, .len = f->psz };

		if (!ioctl(c->ufd, UFFDIO_COPY, &cp))
			return;
		/* EEXIST: something filled the hole between the fault and the copy. */
		snprintf(c->resolve_msg, sizeof(c->resolve_msg), "UFFDIO_COPY to page %lu: %s", pg,
			 strerror(errno));
	}
	/* Woken, the worker would only fault again: let it go, this is a FAIL anyway. */
	c->resolve_err++;
	release(c);
}

/* Resolves events until the worker is done; false if it had to be released. */
static bool serve(struct ftr_uffd_ctx *c)
{
	struct pollfd pfd = { .fd = c->ufd, .events = POLLIN };
	uint64_t seen = 0, last = 0, t0 = ftr_now_ns();
	bool stuck = false;

	while (!__atomic_load_n(&c->done, __ATOMIC_SEQ_CST)) {
		struct uffd_msg m;

		if (poll(&pfd, 1, 20) > 0)
			while (read(c->ufd, &m, sizeof(m)) == sizeof(m))
				resolve(c, &m);
		uint64_t ev = __atomic_load_n(&c->events, __ATOMIC_SEQ_CST);
		uint64_t pr = __atomic_load_n(&c->progress, __ATOMIC_SEQ_CST);

		if (ev != seen || pr != last) {
			seen = ev;
			last = pr;
			t0 = ftr_now_ns();
		} else if (!stuck && ftr_now_ns() - t0 > (uint64_t)c->wait_ms * 1000000) {
			release(c);
			stuck = true;
		}
	}
	return !stuck;
}

/* One access that must raise an event; false if it completed without one. */
static bool access_page(struct ftr_uffd_ctx *c, unsigned long pg)
{
	struct ftr_uffd_file *f = c->f;
	uint64_t e0 = __atomic_load_n(&c->events, __ATOMIC_SEQ_CST);

	if (c->wp) {
		/* Whole stamped blocks, so the oracle can check the stores afterwards. */
		ftr_oracle_begin_stamp(&f->o, c->stamp, pg * f->bpp, f->bpp, FTR_P_MMAP);
		memcpy(f->map + pg * f->psz, c->stamp, f->psz);
		ftr_oracle_commit(&f->o, pg * f->bpp, f->bpp);
	} else {
		c->seen = *(volatile unsigned char *)(f->map + pg * f->psz);
	}
	c->accesses++;
	__atomic_add_fetch(&c->progress, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->events, __ATOMIC_SEQ_CST) != e0 ||
	    __atomic_load_n(&c->released, __ATOMIC_SEQ_CST))
		return true;
	c->lost++;
	if (c->nlost < 4)
		c->lost_page[c->nlost++] = pg;
	return false;
}

void *ftr_uffd_worker_fixed(void *arg)
{
	struct ftr_uffd_ctx *c = arg;

	for (unsigned i = 0; i < c->npages; i++)
		access_page(c, c->pages[i]);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Race: punch a page and touch it, or write-protect a page and store to it, until time. */
void *ftr_uffd_worker_race(void *arg)
{
	struct ftr_uffd_ctx *c = arg;
	struct ftr_uffd_file *f = c->f;
	struct ftr_rng rng;
	uint64_t end = ftr_now_ns() + (uint64_t)(c->race_secs * 1e9);

	ftr_rng_seed(&rng, c->seed, c->wp);
	while (ftr_now_ns() < end && !__atomic_load_n(&c->released, __ATOMIC_SEQ_CST)) {
		unsigned long pg = ftr_rng_below(&rng, f->npages);
		off_t off = pg * f->psz;

		if (c->wp) {
			if (ftr_uffd_writeprotect(c->ufd, (unsigned long)f->map + off, f->psz, true)) {
				c->io_err++;
				continue;
			}
		} else {
			fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, f->psz);
			/* A punch inside a THP that cannot be split only zeroes the page: no
			 * hole, no event owed.  Put the data back and try another page. */
			if (lseek(f->fd, off, SEEK_HOLE) != off) {
				c->no_hole++;
				stamp_done(f, c->stamp, pg);
				if (pwrite(f->fd, c->stamp, f->psz, off) != (ssize_t)f->psz)
					c->io_err++;
				continue;
			}
		}
		access_page(c, pg);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *collapser(void *arg)
{
	struct ftr_uffd_collapser *k = arg;

	while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
		k->res[ftr_errno_slot(ftr_uffd_collapse(k->f->map, k->f->size))]++;
	return NULL;
}

int ftr_uffd_register(struct ftr_uffd_ctx *c, char *why, size_t len)
{
	uint64_t mode = c->wp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING;
	uint64_t need_ioctl = c->wp ? _UFFDIO_WRITEPROTECT : _UFFDIO_COPY;
	struct uffdio_register reg = { .range = { (unsigned long)c->f->map, c->f->size }, .mode = mode };

	if (ioctl(c->ufd, UFFDIO_REGISTER, &reg)) {
		snprintf(why, len, "UFFDIO_REGISTER mode %#llx on shmem: %s", (unsigned long long)mode,
			 strerror(errno));
		return -1;
	}
	if (!(reg.ioctls & (1ULL << need_ioctl))) {
		snprintf(why, len, "UFFDIO_REGISTER offers ioctls %#llx, not %llu", (unsigned long long)reg.ioctls,
			 (unsigned long long)need_ioctl);
		return -1;
	}
	return 0;
}

/* The bounded wait: long enough for a loaded machine, scaled like every timeout. */
static int wait_ms(struct ftr_env *env)
{
	return 2000 * (env->opts->timeout_mul > 1 ? env->opts->timeout_mul : 1);
}

int ftr_uffd_ctx_open(struct ftr_env *env, struct ftr_uffd_ctx *c, struct ftr_uffd_file *f, bool wp,
		      char *why, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->wp = wp;
	c->wait_ms = wait_ms(env);
	c->seed = env->opts->seed;
	c->ufd = uffd_open(wp ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : UFFD_FEATURE_MISSING_SHMEM, why, len);
	if (c->ufd < 0) {
		int err = c->ufd;

		c->ufd = -1;
		return err;
	}
	c->src = malloc(f->psz);
	c->stamp = malloc(f->psz);
	return 0;
}

void ftr_uffd_ctx_close(struct ftr_uffd_ctx *c)
{
	if (c->ufd >= 0)
		close(c->ufd);
	free(c->src);
	free(c->stamp);
}

bool ftr_uffd_run_worker(struct ftr_uffd_ctx *c, void *(*fn)(void *), struct ftr_uffd_collapser *k)
{
	pthread_t w, kt;
	bool ok;
	int err;

	if (k && pthread_create(&kt, NULL, collapser, k))
		k = NULL;
	if ((err = pthread_create(&w, NULL, fn, c))) {
		ftr_diag("pthread_create: %s", strerror(err));
		ok = false;
	} else {
		ok = serve(c);
		pthread_join(w, NULL);
	}
	if (k) {
		__atomic_store_n(&k->stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(kt, NULL);
	}
	return ok;
}
