// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd on shmem against MADV_COLLAPSE.  A hole in a range registered for
 * missing faults is a promise: the next access raises an event and the handler
 * decides the content.  A write-protected page is a promise too: the next store
 * raises an event.  collapse_file() zero-fills holes and replaces the folios and page
 * tables under both, so it must refuse (errno) or keep the markers.  Either way the
 * access after the collapse must still raise its event, and every byte must be what
 * the handler and the oracle say.
 *
 * Subtests: uffd-missing and uffd-wp (one collapse, then the access), uffd-race (a
 * collapser loops MADV_COLLAPSE while a worker punches holes and touches them, then
 * write-protects pages and stores to them).  A missed event ends a bounded wait, and
 * unregistering the range releases the blocked worker, so the test always ends.
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
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "test.h"
#include "uffd.h"
#include "thp.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
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

#define NSLOTS FTR_ERRNO_SLOTS
#define slot_names ftr_errno_slot_names
#define slot ftr_errno_slot

static const char *errname(int err)
{
	return err ? strerrorname_np(err) ?: "?" : "0";
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int collapse(void *addr, size_t len)
{
	return madvise(addr, len, MADV_COLLAPSE) ? errno : 0;
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

/* A file of one PMD filled with stamps, mapped shared and PMD-aligned. */
struct file {
	char path[4096];
	int fd;
	size_t size, psz;
	unsigned long npages, bpp;	/* pages, oracle blocks per page */
	char *map;
	void *shm;
	struct ftr_oracle o;
};

static int file_setup(struct ftr_env *env, struct file *f, const char *tag, uint16_t id, char *why,
		      size_t len)
{
	char *buf;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->map = MAP_FAILED;
	f->size = ftr_pmd_size();
	f->psz = ftr_page_size();
	f->npages = f->size / f->psz;
	f->bpp = f->psz / FTR_BLOCK;
	f->shm = calloc(1, ftr_oracle_mem(f->size / FTR_BLOCK));
	buf = malloc(f->size);
	ftr_oracle_init(&f->o, f->shm, f->size / FTR_BLOCK, env->opts->seed, id);
	ftr_oracle_begin_stamp(&f->o, buf, 0, f->size / FTR_BLOCK, FTR_P_INIT);
	ftr_oracle_commit(&f->o, 0, f->size / FTR_BLOCK);
	snprintf(f->path, sizeof(f->path), "%s/%s%d", env->dir, tag, getpid());
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (f->fd < 0 || pwrite(f->fd, buf, f->size, 0) != (ssize_t)f->size) {
		snprintf(why, len, "writing %.200s: %s", f->path, strerror(errno));
		ret = -1;
	} else if ((f->map = ftr_mmap_aligned(f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd)) == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		ret = -1;
	}
	free(buf);
	return ret;
}

static void file_teardown(struct file *f)
{
	if (f->map != MAP_FAILED)
		munmap(f->map, f->size);
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->path);
	}
	free(f->shm);
}

/* Every byte through the mapping and through read(); false with why on the first bad block. */
static bool data_ok(struct file *f, char *why, size_t len)
{
	char *buf = malloc(f->size);
	struct ftr_bad bad;
	bool ok = false;

	if (ftr_oracle_check(&f->o, f->map, 0, f->size / FTR_BLOCK, NULL, &bad, 1, NULL))
		snprintf(why, len, "block %u (page %lu) through the mapping: class %s", bad.block,
			 bad.block / f->bpp, ftr_class_name(bad.cls));
	else if (pread(f->fd, buf, f->size, 0) != (ssize_t)f->size)
		snprintf(why, len, "read(): %s", strerror(errno));
	else if (ftr_oracle_check(&f->o, buf, 0, f->size / FTR_BLOCK, NULL, &bad, 1, NULL))
		snprintf(why, len, "block %u (page %lu) through read(): class %s", bad.block,
			 bad.block / f->bpp, ftr_class_name(bad.cls));
	else
		ok = true;
	free(buf);
	return ok;
}

/* How the registered range is mapped, and what the page cache holds: a second,
 * unregistered mapping shows the folios without touching the registered one. */
static void smaps_diag(const char *name, struct file *f, const char *when)
{
	struct ftr_smaps sm = { 0 };
	char *m2 = ftr_mmap_aligned(f->size, PROT_READ, MAP_SHARED, f->fd);
	int order = -1;

	ftr_smaps_read(0, (unsigned long)f->map, &sm);
	if (m2 != MAP_FAILED) {
		/* Holes stay holes: a read fault there would fill them. */
		for (unsigned long p = 0; p < f->npages; p++)
			if (lseek(f->fd, p * f->psz, SEEK_DATA) == (off_t)(p * f->psz))
				(void)*(volatile char *)(m2 + p * f->psz);
		order = ftr_folio_max_order(m2, f->size);
		munmap(m2, f->size);
	}
	ftr_diag("%s: %s: registered range ShmemPmdMapped %lu kB of %zu kB, largest page-cache folio order %d",
		 name, when, sm.shmem_pmd_kb, f->size >> 10, order);
}

/*
 * The handler (main thread) and the worker that makes the accesses.  The handler counts
 * an event before it wakes the worker, so a worker that finds the count unchanged after
 * its access knows that the access raised no event.
 */
struct ctx {
	struct file *f;
	int ufd;
	bool wp;		/* resolve by un-write-protecting; else by UFFDIO_COPY */
	int wait_ms;		/* no event and no progress this long: the worker is stuck */
	char *src;		/* one page: UFFDIO_COPY source */
	char *stamp;		/* one page: the worker's stores */
	/* fixed accesses (uffd-missing, uffd-wp) or a race for race_secs */
	unsigned long pages[4];
	unsigned npages;
	double race_secs;
	uint64_t seed;
	/* shared, atomic */
	uint64_t events, progress;
	int done, released;
	/* written by the worker, read after the join */
	uint64_t accesses, lost, no_hole, io_err;
	unsigned long lost_page[4];
	unsigned nlost;
	unsigned char seen;	/* the byte a missing access read */
	/* written by the handler */
	uint64_t odd, resolve_err;
	char resolve_msg[160];
};

/* Releases a stuck worker: unregistered, its fault retries as a plain fault.  Only
 * missing-mode faults are woken by UFFDIO_UNREGISTER, so wake the range as well. */
static void release(struct ctx *c)
{
	struct uffdio_range r = { (unsigned long)c->f->map, c->f->size };

	__atomic_store_n(&c->released, 1, __ATOMIC_SEQ_CST);
	ioctl(c->ufd, UFFDIO_UNREGISTER, &r);
	ioctl(c->ufd, UFFDIO_WAKE, &r);
}

static void resolve(struct ctx *c, const struct uffd_msg *m)
{
	struct file *f = c->f;
	unsigned long addr = m->arg.pagefault.address & ~(f->psz - 1), pg;

	if (m->event != UFFD_EVENT_PAGEFAULT || addr < (unsigned long)f->map ||
	    addr >= (unsigned long)f->map + f->size) {
		c->odd++;
		return;
	}
	pg = (addr - (unsigned long)f->map) / f->psz;
	__atomic_add_fetch(&c->events, 1, __ATOMIC_SEQ_CST);
	if (c->wp) {
		struct uffdio_writeprotect wp = { .range = { addr, f->psz }, .mode = 0 };

		if (!(m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			c->odd++;
		if (!ioctl(c->ufd, UFFDIO_WRITEPROTECT, &wp))
			return;
		snprintf(c->resolve_msg, sizeof(c->resolve_msg), "UFFDIO_WRITEPROTECT off, page %lu: %s",
			 pg, strerror(errno));
	} else {
		/* The page's last completed content: the hole must read as if never punched. */
		for (unsigned long b = 0; b < f->bpp; b++) {
			uint64_t v = __atomic_load_n(&f->o.done[pg * f->bpp + b], __ATOMIC_ACQUIRE);

			ftr_stamp(&f->o, c->src + b * FTR_BLOCK, pg * f->bpp + b, ftr_ver_gen(v), ftr_ver_path(v));
		}
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
static bool serve(struct ctx *c)
{
	struct pollfd pfd = { .fd = c->ufd, .events = POLLIN };
	uint64_t seen = 0, last = 0;
	double t0 = now();
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
			t0 = now();
		} else if (!stuck && (now() - t0) * 1000 > c->wait_ms) {
			release(c);
			stuck = true;
		}
	}
	return !stuck;
}

/* One access that must raise an event; false if it completed without one. */
static bool access_page(struct ctx *c, unsigned long pg)
{
	struct file *f = c->f;
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

static void *worker_fixed(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->npages; i++)
		access_page(c, c->pages[i]);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Race: punch a page and touch it, or write-protect a page and store to it, until time. */
static void *worker_race(void *arg)
{
	struct ctx *c = arg;
	struct file *f = c->f;
	struct ftr_rng rng;
	double end = now() + c->race_secs;

	ftr_rng_seed(&rng, c->seed, c->wp);
	while (now() < end && !__atomic_load_n(&c->released, __ATOMIC_SEQ_CST)) {
		unsigned long pg = ftr_rng_below(&rng, f->npages);
		off_t off = pg * f->psz;

		if (c->wp) {
			struct uffdio_writeprotect wp = {
				.range = { (unsigned long)f->map + off, f->psz }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

			if (ioctl(c->ufd, UFFDIO_WRITEPROTECT, &wp)) {
				c->io_err++;
				continue;
			}
		} else {
			fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, f->psz);
			/* A punch inside a THP that cannot be split only zeroes the page: no
			 * hole, no event owed.  Put the data back and try another page. */
			if (lseek(f->fd, off, SEEK_HOLE) != off) {
				c->no_hole++;
				for (unsigned long b = 0; b < f->bpp; b++) {
					uint64_t v = __atomic_load_n(&f->o.done[pg * f->bpp + b], __ATOMIC_ACQUIRE);

					ftr_stamp(&f->o, c->stamp + b * FTR_BLOCK, pg * f->bpp + b, ftr_ver_gen(v),
						  ftr_ver_path(v));
				}
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

struct collapser {
	struct file *f;
	int stop;
	uint64_t res[NSLOTS];
};

static void *collapser(void *arg)
{
	struct collapser *k = arg;

	while (!__atomic_load_n(&k->stop, __ATOMIC_SEQ_CST))
		k->res[slot(collapse(k->f->map, k->f->size))]++;
	return NULL;
}

static int register_range(struct ctx *c, uint64_t mode, uint64_t need_ioctl, char *why, size_t len)
{
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

static int wait_ms(struct ftr_env *env)
{
	return 2000 * (env->opts->timeout_mul > 1 ? env->opts->timeout_mul : 1);
}

/* Opens the uffd for a subtest; false after printing SKIP (kernel lacks it) or FAIL. */
static bool ctx_open(struct ftr_env *env, struct ctx *c, struct file *f, bool wp, const char *name)
{
	uint64_t want = wp ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : UFFD_FEATURE_MISSING_SHMEM;
	char why[256];

	memset(c, 0, sizeof(*c));
	c->f = f;
	c->wp = wp;
	c->wait_ms = wait_ms(env);
	c->seed = env->opts->seed;
	c->ufd = uffd_open(want, why, sizeof(why));
	if (c->ufd < 0) {
		int err = -c->ufd;

		ftr_ktap_result(err == EPERM || err == ENOSYS || err == EOPNOTSUPP ? FTR_SKIP : FTR_FAIL,
				name, "%s", why);
		return false;
	}
	c->src = malloc(f->psz);
	c->stamp = malloc(f->psz);
	if (register_range(c, wp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING,
			   wp ? _UFFDIO_WRITEPROTECT : _UFFDIO_COPY, why, sizeof(why))) {
		ftr_ktap_result(wp ? FTR_SKIP : FTR_FAIL, name, "%s", why);
		return false;
	}
	return true;
}

static void ctx_close(struct ctx *c)
{
	if (c->ufd >= 0)
		close(c->ufd);
	free(c->src);
	free(c->stamp);
}

/* Runs the worker against the handler; with a collapser beside it when k != NULL. */
static bool run_worker(struct ctx *c, void *(*fn)(void *), struct collapser *k)
{
	pthread_t w, kt;
	bool ok;

	if (k && pthread_create(&kt, NULL, collapser, k))
		k = NULL;
	if (pthread_create(&w, NULL, fn, c)) {
		ftr_diag("pthread_create: %s", strerror(errno));
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

static void lost_pages(const struct ctx *c, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < c->nlost && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%lu", i ? "," : "", c->lost_page[i]);
}

static void sub_missing(struct ftr_env *env)
{
	const char *name = "uffd-missing";
	struct file f;
	struct ctx c = { .ufd = -1 };
	char why[256];
	unsigned long hole;
	bool stuck;
	int err;

	if (file_setup(env, &f, "ufm", 1, why, sizeof(why))) {
		ftr_ktap_result(FTR_FAIL, name, "%s", why);
		goto out;
	}
	hole = 1 + env->opts->seed % (f.npages - 1);
	if (fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hole * f.psz, f.psz) ||
	    lseek(f.fd, hole * f.psz, SEEK_HOLE) != (off_t)(hole * f.psz)) {
		ftr_ktap_result(FTR_FAIL, name, "punching page %lu left no hole: %s", hole, strerror(errno));
		goto out;
	}
	if (!ctx_open(env, &c, &f, false, name))
		goto out;
	err = collapse(f.map, f.size);
	ftr_diag("%s: MADV_COLLAPSE with page %lu a registered hole returned %s", name, hole, errname(err));
	smaps_diag(name, &f, "after MADV_COLLAPSE");
	c.pages[0] = hole;
	c.npages = 1;
	stuck = !run_worker(&c, worker_fixed, NULL);
	ftr_diag("%s: %llu fault event(s), access read %#x", name, (unsigned long long)c.events, c.seen);
	if (c.lost)
		ftr_ktap_result(FTR_FAIL, name, "MADV_COLLAPSE returned %s and filled a hole registered for "
				"uffd missing faults: page %lu read %#x with no event", errname(err), hole, c.seen);
	else if (stuck)
		ftr_ktap_result(FTR_FAIL, name, "touching hole page %lu gave neither an event nor completion "
				"in %d ms (MADV_COLLAPSE returned %s)", hole, c.wait_ms, errname(err));
	else if (c.resolve_err || c.odd)
		ftr_ktap_result(FTR_FAIL, name, "resolving the fault: %s (%llu unexpected events; "
				"MADV_COLLAPSE returned %s)", c.resolve_msg, (unsigned long long)c.odd, errname(err));
	else if (!data_ok(&f, why, sizeof(why)))
		ftr_ktap_result(FTR_FAIL, name, "%s (MADV_COLLAPSE returned %s)", why, errname(err));
	else
		ftr_ktap_result(FTR_PASS, name, NULL);
out:
	file_teardown(&f);
	ctx_close(&c);
}

static void sub_wp(struct ftr_env *env)
{
	const char *name = "uffd-wp";
	struct file f;
	struct ctx c = { .ufd = -1 };
	char why[256], pages[64];
	bool stuck;
	int err;

	if (file_setup(env, &f, "ufw", 2, why, sizeof(why))) {
		ftr_ktap_result(FTR_FAIL, name, "%s", why);
		goto out;
	}
	/* Even pages mapped (wp bit on a present PTE), odd ones not (a PTE marker): both
	 * kinds of write protection must outlive the collapse. */
	for (unsigned long p = 0; p < f.npages; p += 2)
		(void)*(volatile char *)(f.map + p * f.psz);
	if (!ctx_open(env, &c, &f, true, name))
		goto out;
	struct uffdio_writeprotect wp = {
		.range = { (unsigned long)f.map, f.size }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	if (ioctl(c.ufd, UFFDIO_WRITEPROTECT, &wp)) {
		ftr_ktap_result(FTR_FAIL, name, "UFFDIO_WRITEPROTECT of the range: %s", strerror(errno));
		goto out;
	}
	err = collapse(f.map, f.size);
	ftr_diag("%s: MADV_COLLAPSE of the write-protected range returned %s", name, errname(err));
	smaps_diag(name, &f, "after MADV_COLLAPSE");
	c.pages[0] = 0;
	c.pages[1] = f.npages / 2;	/* mapped before the collapse */
	c.pages[2] = f.npages / 2 + 1;	/* a marker before the collapse */
	c.pages[3] = f.npages - 1;
	c.npages = 4;
	stuck = !run_worker(&c, worker_fixed, NULL);
	lost_pages(&c, pages, sizeof(pages));
	ftr_diag("%s: %llu fault event(s) for %u stores", name, (unsigned long long)c.events, c.npages);
	if (c.lost)
		ftr_ktap_result(FTR_FAIL, name, "write-protect lost after MADV_COLLAPSE returned %s: "
				"stores to page(s) %s completed with no event", errname(err), pages);
	else if (stuck)
		ftr_ktap_result(FTR_FAIL, name, "a store gave neither an event nor completion in %d ms "
				"(MADV_COLLAPSE returned %s)", c.wait_ms, errname(err));
	else if (c.resolve_err || c.odd)
		ftr_ktap_result(FTR_FAIL, name, "resolving the fault: %s (%llu unexpected events; "
				"MADV_COLLAPSE returned %s)", c.resolve_msg, (unsigned long long)c.odd, errname(err));
	else if (!data_ok(&f, why, sizeof(why)))
		ftr_ktap_result(FTR_FAIL, name, "%s (MADV_COLLAPSE returned %s)", why, errname(err));
	else
		ftr_ktap_result(FTR_PASS, name, NULL);
out:
	file_teardown(&f);
	ctx_close(&c);
}

/* One race phase; 1 pass, 0 fail (why filled), -1 skipped (why filled). */
static int race_phase(struct ftr_env *env, bool wp, double secs, char *why, size_t len)
{
	const char *name = wp ? "uffd-race wp" : "uffd-race missing";
	struct collapser k = { 0 };
	struct file f;
	struct ctx c = { .ufd = -1 };
	char res[160], pages[64], sub[256];
	int ret = 0;
	size_t n = 0;
	bool stuck;

	if (file_setup(env, &f, wp ? "urw" : "urm", 3 + wp, why, len))
		goto out;
	if (wp)
		for (unsigned long p = 0; p < f.npages; p += 2)
			(void)*(volatile char *)(f.map + p * f.psz);
	c.ufd = uffd_open(wp ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM : UFFD_FEATURE_MISSING_SHMEM, sub, sizeof(sub));
	if (c.ufd < 0) {
		snprintf(why, len, "%s", sub);
		ret = -1;
		goto out;
	}
	c.f = &f;
	c.wp = wp;
	c.wait_ms = wait_ms(env);
	c.seed = env->opts->seed;
	c.race_secs = secs;
	c.src = malloc(f.psz);
	c.stamp = malloc(f.psz);
	if (register_range(&c, wp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING,
			   wp ? _UFFDIO_WRITEPROTECT : _UFFDIO_COPY, why, len)) {
		ret = wp ? -1 : 0;
		goto out;
	}
	k.f = &f;
	stuck = !run_worker(&c, worker_race, &k);
	for (int s = 0; s < NSLOTS; s++)
		if (k.res[s])
			n += snprintf(res + n, sizeof(res) - n, " %s=%llu", slot_names[s], (unsigned long long)k.res[s]);
	if (!n)
		snprintf(res, sizeof(res), " none");
	lost_pages(&c, pages, sizeof(pages));
	ftr_diag("%s: %llu accesses, %llu events, %llu lost; %llu %s, %llu io errors; MADV_COLLAPSE:%s",
		 name, (unsigned long long)c.accesses, (unsigned long long)c.events,
		 (unsigned long long)c.lost, (unsigned long long)(wp ? c.odd : c.no_hole),
		 wp ? "events without the WP flag" : "punches that left no hole (THP not split)",
		 (unsigned long long)c.io_err, res);
	if (!k.res[0])
		ftr_diag("%s: no MADV_COLLAPSE returned 0", name);
	if (c.lost)
		snprintf(why, len, "%s: %llu access(es) completed with no event while MADV_COLLAPSE looped "
			 "(pages %s; MADV_COLLAPSE:%s)", name, (unsigned long long)c.lost, pages, res);
	else if (stuck)
		snprintf(why, len, "%s: an access gave neither an event nor completion in %d ms", name, c.wait_ms);
	else if (c.resolve_err || c.odd)
		snprintf(why, len, "%s: resolving a fault: %s (%llu unexpected events)", name, c.resolve_msg,
			 (unsigned long long)c.odd);
	else if (!data_ok(&f, sub, sizeof(sub)))
		snprintf(why, len, "%s: %s", name, sub);
	else
		ret = 1;
out:
	file_teardown(&f);
	ctx_close(&c);
	return ret;
}

static void sub_race(struct ftr_env *env)
{
	double secs = env->opts->duration ?: env->opts->quick ? 1 : 4;
	char why_m[512], why_w[512];
	int m = race_phase(env, false, secs / 2, why_m, sizeof(why_m));
	int w = race_phase(env, true, secs / 2, why_w, sizeof(why_w));

	if (w < 0 && m > 0)
		ftr_diag("uffd-race: wp phase skipped: %s", why_w);
	if (!m)
		ftr_ktap_result(FTR_FAIL, "uffd-race", "%s", why_m);
	else if (!w)
		ftr_ktap_result(FTR_FAIL, "uffd-race", "%s", why_w);
	else if (m < 0)
		ftr_ktap_result(FTR_SKIP, "uffd-race", "%s", why_m);
	else
		ftr_ktap_result(FTR_PASS, "uffd-race", NULL);
}

void ftr_uffd_run(struct ftr_env *env)
{
	if (!env->caps.collapse_rw.ok) {
		ftr_ktap_result(FTR_SKIP, "uffd-missing", "%s", env->caps.collapse_rw.why);
		ftr_ktap_result(FTR_SKIP, "uffd-wp", "%s", env->caps.collapse_rw.why);
		ftr_ktap_result(FTR_SKIP, "uffd-race", "%s", env->caps.collapse_rw.why);
		return;
	}
	sub_missing(env);
	sub_wp(env);
	sub_race(env);
}

