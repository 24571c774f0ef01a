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
 *
 * The userfaultfd plumbing (opening, registering, the handler loop, the workers, the
 * bounded wait) is in uffd_io.c; this file is the scenarios and what their results mean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktap.h"
#include "mapping.h"
#include "thp.h"
#include "uffd.h"
#include "uffd_io.h"

static const char *errname(int err)
{
	return err ? strerrorname_np(err) ?: "?" : "0";
}

static int file_setup(struct ftr_env *env, struct ftr_uffd_file *f, const char *tag, uint16_t id, char *why,
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

static void file_teardown(struct ftr_uffd_file *f)
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
static bool data_ok(struct ftr_uffd_file *f, char *why, size_t len)
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
static void smaps_diag(const char *name, struct ftr_uffd_file *f, const char *when)
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

/* Opens the uffd for a subtest; false after printing SKIP (kernel lacks it) or FAIL. */
static bool ctx_open(struct ftr_env *env, struct ftr_uffd_ctx *c, struct ftr_uffd_file *f, bool wp, const char *name)
{
	char why[256];
	int err = -ftr_uffd_ctx_open(env, c, f, wp, why, sizeof(why));

	if (err) {
		ftr_ktap_result(err == EPERM || err == ENOSYS || err == EOPNOTSUPP ? FTR_SKIP : FTR_FAIL,
				name, "%s", why);
		return false;
	}
	if (ftr_uffd_register(c, why, sizeof(why))) {
		ftr_ktap_result(wp ? FTR_SKIP : FTR_FAIL, name, "%s", why);
		return false;
	}
	return true;
}

/* Even pages mapped (wp bit on a present PTE), odd ones not (a PTE marker): both
 * kinds of write protection must outlive the collapse. */
static void map_even_pages(struct ftr_uffd_file *f)
{
	for (unsigned long p = 0; p < f->npages; p += 2)
		(void)*(volatile char *)(f->map + p * f->psz);
}

static void lost_pages(const struct ftr_uffd_ctx *c, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < c->nlost && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%lu", i ? "," : "", c->lost_page[i]);
}

/* The verdicts both fixed subtests share once their own (lost, stuck) are settled. */
static void verdict_rest(const char *name, struct ftr_uffd_ctx *c, struct ftr_uffd_file *f, int err)
{
	char why[256];

	if (c->resolve_err || c->odd)
		ftr_ktap_result(FTR_FAIL, name, "resolving the fault: %s (%llu unexpected events; "
				"MADV_COLLAPSE returned %s)", c->resolve_msg, (unsigned long long)c->odd,
				errname(err));
	else if (!data_ok(f, why, sizeof(why)))
		ftr_ktap_result(FTR_FAIL, name, "%s (MADV_COLLAPSE returned %s)", why, errname(err));
	else
		ftr_ktap_result(FTR_PASS, name, NULL);
}

static void sub_missing(struct ftr_env *env)
{
	const char *name = "uffd-missing";
	struct ftr_uffd_file f;
	struct ftr_uffd_ctx c = { .ufd = -1 };
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
	err = ftr_uffd_collapse(f.map, f.size);
	ftr_diag("%s: MADV_COLLAPSE with page %lu a registered hole returned %s", name, hole, errname(err));
	smaps_diag(name, &f, "after MADV_COLLAPSE");
	c.pages[0] = hole;
	c.npages = 1;
	stuck = !ftr_uffd_run_worker(&c, ftr_uffd_worker_fixed, NULL);
	ftr_diag("%s: %llu fault event(s), access read %#x", name, (unsigned long long)c.events, c.seen);
	if (c.lost)
		ftr_ktap_result(FTR_FAIL, name, "MADV_COLLAPSE returned %s and filled a hole registered for "
				"uffd missing faults: page %lu read %#x with no event", errname(err), hole, c.seen);
	else if (stuck)
		ftr_ktap_result(FTR_FAIL, name, "touching hole page %lu gave neither an event nor completion "
				"in %d ms (MADV_COLLAPSE returned %s)", hole, c.wait_ms, errname(err));
	else
		verdict_rest(name, &c, &f, err);
out:
	file_teardown(&f);
	ftr_uffd_ctx_close(&c);
}

static void sub_wp(struct ftr_env *env)
{
	const char *name = "uffd-wp";
	struct ftr_uffd_file f;
	struct ftr_uffd_ctx c = { .ufd = -1 };
	char why[256], pages[64];
	bool stuck;
	int err;

	if (file_setup(env, &f, "ufw", 2, why, sizeof(why))) {
		ftr_ktap_result(FTR_FAIL, name, "%s", why);
		goto out;
	}
	map_even_pages(&f);
	if (!ctx_open(env, &c, &f, true, name))
		goto out;
	if (ftr_uffd_writeprotect(c.ufd, (unsigned long)f.map, f.size, true)) {
		ftr_ktap_result(FTR_FAIL, name, "UFFDIO_WRITEPROTECT of the range: %s", strerror(errno));
		goto out;
	}
	err = ftr_uffd_collapse(f.map, f.size);
	ftr_diag("%s: MADV_COLLAPSE of the write-protected range returned %s", name, errname(err));
	smaps_diag(name, &f, "after MADV_COLLAPSE");
	c.pages[0] = 0;
	c.pages[1] = f.npages / 2;	/* mapped before the collapse */
	c.pages[2] = f.npages / 2 + 1;	/* a marker before the collapse */
	c.pages[3] = f.npages - 1;
	c.npages = 4;
	stuck = !ftr_uffd_run_worker(&c, ftr_uffd_worker_fixed, NULL);
	lost_pages(&c, pages, sizeof(pages));
	ftr_diag("%s: %llu fault event(s) for %u stores", name, (unsigned long long)c.events, c.npages);
	if (c.lost)
		ftr_ktap_result(FTR_FAIL, name, "write-protect lost after MADV_COLLAPSE returned %s: "
				"stores to page(s) %s completed with no event", errname(err), pages);
	else if (stuck)
		ftr_ktap_result(FTR_FAIL, name, "a store gave neither an event nor completion in %d ms "
				"(MADV_COLLAPSE returned %s)", c.wait_ms, errname(err));
	else
		verdict_rest(name, &c, &f, err);
out:
	file_teardown(&f);
	ftr_uffd_ctx_close(&c);
}

/* One race phase; 1 pass, 0 fail (why filled), -1 skipped (why filled). */
static int race_phase(struct ftr_env *env, bool wp, double secs, uint64_t *collapsed, char *why, size_t len)
{
	const char *name = wp ? "uffd-race wp" : "uffd-race missing";
	struct ftr_uffd_collapser k = { 0 };
	struct ftr_uffd_file f;
	struct ftr_uffd_ctx c = { .ufd = -1 };
	char res[160], pages[64], sub[256];
	int ret = 0;
	size_t n = 0;
	bool stuck;

	if (file_setup(env, &f, wp ? "urw" : "urm", 3 + wp, why, len))
		goto out;
	if (wp)
		map_even_pages(&f);
	if (ftr_uffd_ctx_open(env, &c, &f, wp, why, len)) {
		ret = -1;
		goto out;
	}
	c.race_secs = secs;
	if (ftr_uffd_register(&c, why, len)) {
		ret = wp ? -1 : 0;
		goto out;
	}
	k.f = &f;
	stuck = !ftr_uffd_run_worker(&c, ftr_uffd_worker_race, &k);
	*collapsed += k.res[0];
	for (int s = 0; s < FTR_ERRNO_SLOTS; s++)
		if (k.res[s])
			n += snprintf(res + n, sizeof(res) - n, " %s=%llu", ftr_errno_slot_names[s], (unsigned long long)k.res[s]);
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
	ftr_uffd_ctx_close(&c);
	return ret;
}

static void sub_race(struct ftr_env *env)
{
	double secs = env->opts->duration ?: env->opts->quick ? 1 : 4;
	char why_m[512], why_w[512];
	uint64_t collapsed = 0;
	int m = race_phase(env, false, secs / 2, &collapsed, why_m, sizeof(why_m));
	int w = race_phase(env, true, secs / 2, &collapsed, why_w, sizeof(why_w));

	if (w < 0 && m > 0)
		ftr_diag("uffd-race: wp phase skipped: %s", why_w);
	if (!m)
		ftr_ktap_result(FTR_FAIL, "uffd-race", "%s", why_m);
	else if (!w)
		ftr_ktap_result(FTR_FAIL, "uffd-race", "%s", why_w);
	else if (m < 0)
		ftr_ktap_result(FTR_SKIP, "uffd-race", "%s", why_m);
	else if (!collapsed)
		ftr_ktap_result(FTR_SKIP, "uffd-race", "not exercised: no MADV_COLLAPSE returned 0 while faults raced it");
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

