// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "known.h"
#include "ktap.h"
#include "holes.h"
#include "role.h"

const char *const ftr_known_names[FTR_KI_NR] = {
	[FTR_KI_NONE] = "none",
	[FTR_KI_RO_THP_TRUNCATE] = "ro-thp-openw-truncate",
	[FTR_KI_DIO_STALE] = "dio-stale-pagecache",
	[FTR_KI_DIO_WRITEBACK] = "dio-stale-writeback",
	[FTR_KI_ZERO_BESIDE] = "xfs-zero-range-beside",
	[FTR_KI_CACHESTAT] = "cachestat-double-count",
};

#define MAX_WAIVERS 256

static struct waiver {
	char test[64], fs[32];
	enum ftr_known_id id;
	int line;
} waivers[MAX_WAIVERS];
static int nwaivers;
static char waiver_file[256];

static int load_err(const char *prog, const char *file, int line, const char *what, const char *tok)
{
	fprintf(stderr, "%s: --known-issues '%s' line %d: %s '%s' (lines are \"TEST:FS ID\")\n", prog, file,
		line, what, tok);
	return -1;
}

int ftr_known_load(const char *prog, const char *file)
{
	char buf[512], tok[2][128], extra[2];
	FILE *f = fopen(file, "re");
	int line = 0;

	if (!f) {
		fprintf(stderr, "%s: --known-issues '%s': %s\n", prog, file, strerror(errno));
		return -1;
	}
	snprintf(waiver_file, sizeof(waiver_file), "%s", file);
	while (fgets(buf, sizeof(buf), f)) {
		struct waiver *w = &waivers[nwaivers];
		char *colon;
		int n, id;

		line++;
		buf[strcspn(buf, "#\n")] = '\0';
		n = sscanf(buf, "%127s %127s %1s", tok[0], tok[1], extra);
		if (n <= 0)
			continue;
		colon = strchr(tok[0], ':');
		if (n != 2 || !colon || colon == tok[0] || !colon[1]) {
			fclose(f);
			return load_err(prog, file, line, "not a waiver:", buf);
		}
		for (id = 1; id < FTR_KI_NR && strcmp(tok[1], ftr_known_names[id]); id++)
			;
		if (id == FTR_KI_NR || nwaivers == MAX_WAIVERS || (size_t)(colon - tok[0]) >= sizeof(w->test) ||
		    strlen(colon + 1) >= sizeof(w->fs)) {
			fclose(f);
			return load_err(prog, file, line, id == FTR_KI_NR ? "unknown issue id" : "too long or too many:",
					id == FTR_KI_NR ? tok[1] : tok[0]);
		}
		*colon = '\0';
		memcpy(w->test, tok[0], colon - tok[0] + 1);
		memcpy(w->fs, colon + 1, strlen(colon + 1) + 1);
		w->id = id;
		w->line = line;
		nwaivers++;
	}
	fclose(f);
	return 0;
}

const char *ftr_known_waiver(const char *test, const char *fs, enum ftr_known_id id)
{
	static char where[300];

	for (int i = 0; i < nwaivers; i++)
		if (waivers[i].id == id && !fnmatch(waivers[i].test, test, 0) && !fnmatch(waivers[i].fs, fs, 0)) {
			snprintf(where, sizeof(where), "%s:%d", waiver_file, waivers[i].line);
			return where;
		}
	return NULL;
}

void ftr_known_result(struct ftr_engine *e, const char *name, enum ftr_known_id id, const char *evidence)
{
	const char *w = ftr_known_waiver(e->env->name, e->env->fs, id);

	if (w)
		ftr_ktap_result(FTR_XFAIL, name, "KNOWN ISSUE %s (waived by %s): %s", ftr_known_names[id], w, evidence);
	else
		ftr_ktap_result(FTR_FAIL, name, "KNOWN ISSUE %s: %s", ftr_known_names[id], evidence);
}

/* A matcher: 0 when the failure does not look like its issue, 1 with the evidence
 * for every bad block in ev, -1 after saying what evidence was missing; *id: which. */
typedef int (*matcher)(struct ftr_engine *e, char *ev, size_t len, enum ftr_known_id *id);

static int missing(enum ftr_known_id id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int missing(enum ftr_known_id id, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ftr_diag("looks like known issue %s, but not every bad block has the evidence: %s", ftr_known_names[id], why);
	return -1;
}

/* Every bad block is class cls and was last written by path. */
static bool all_bad(const struct ftr_engine *e, enum ftr_class cls, unsigned path)
{
	for (size_t i = 0; i < e->nbads; i++)
		if (e->bads[i].b.cls != cls || ftr_ver_path(e->bads[i].b.want) != path)
			return false;
	return true;
}

static bool any_bad(const struct ftr_engine *e, enum ftr_class cls, unsigned path)
{
	for (size_t i = 0; i < e->nbads; i++)
		if (e->bads[i].b.cls == cls && ftr_ver_path(e->bads[i].b.want) == path)
			return true;
	return false;
}

/*
 * The racing reader's zeros: it saw zeros in a block nobody was writing while another
 * role's fallocate(ZERO_RANGE) of a different part of the same page ran, and no check
 * after quiescing found anything wrong.
 */
static int zero_beside(struct ftr_engine *e, char *ev, size_t len, enum ftr_known_id *id)
{
	const struct ftr_bad_rec *rec = e->nbads ? &e->bads[0] : NULL;
	uint64_t off, page, r0 = 0, r1 = 0;
	struct ftr_op_hit hits[12];
	int n;

	*id = FTR_KI_ZERO_BESIDE;
	if (!rec || rec->stage != FTR_ST_RACING || rec->b.cls != FTR_ZERO)
		return 0;
	if (e->nbads > 1)
		return missing(FTR_KI_ZERO_BESIDE, "%zu more bad blocks after quiescing", e->nbads - 1);
	off = (uint64_t)rec->b.block * FTR_BLOCK;
	page = off & ~(uint64_t)(e->psz - 1);
	/* The read that saw it: a reader logs how many bad blocks it saw. */
	n = ftr_engine_find_ops(e, off, FTR_BLOCK, 1u << FTR_OP_READ, UINT64_MAX, hits, 12);
	for (int i = 0; i < n; i++)
		if (hits[i].e.res > 0)
			r0 = hits[i].e.t0, r1 = hits[i].e.t1;
	n = ftr_engine_find_ops(e, page, e->psz, 1u << FTR_OP_PUNCH, UINT64_MAX, hits, 12);
	for (int i = 0; i < n && r1; i++) {
		const struct ftr_role *r = &e->roles[hits[i].role];
		const struct ftr_op_entry *o = &hits[i].e;

		if (r->ops == &ftr_churn_zero &&
		    o->t0 <= r1 && o->t1 >= r0 && (off + FTR_BLOCK <= o->off || off >= o->off + o->len)) {
			snprintf(ev, len, "a read at t=%.6fs..%.6fs saw zeros in block %u (offset %#llx) while "
				 "%s zeroed [%#llx, %#llx) of the same page at t=%.6fs..%.6fs; every check after "
				 "quiescing found the block intact", r0 / 1e9, r1 / 1e9, rec->b.block,
				 (unsigned long long)off, r->name, (unsigned long long)o->off,
				 (unsigned long long)(o->off + o->len), o->t0 / 1e9, o->t1 / 1e9);
			return 1;
		}
	}
	return missing(FTR_KI_ZERO_BESIDE, "no zero-range of another part of page %#llx overlapped the read",
		       (unsigned long long)page);
}

/* The O_DIRECT read of block b, against its last completed version. */
static bool direct_read_ok(struct ftr_engine *e, uint32_t b)
{
	uint64_t off = (uint64_t)b * FTR_BLOCK, at = off & ~(uint64_t)(e->psz - 1);
	void *buf = NULL;
	bool ok = false;
	int fd = open(e->path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd >= 0 && !posix_memalign(&buf, e->psz, e->psz) && pread(fd, buf, e->psz, at) == (ssize_t)e->psz)
		ok = !ftr_oracle_check(&e->oracle, (char *)buf + (off - at), b, 1, NULL, NULL, 0, NULL);
	free(buf);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The end of the last O_DIRECT write of block b, and whether a store through the
 * mapping into b's PMD began after it (0: no such write logged). */
static uint64_t direct_then_store(struct ftr_engine *e, uint32_t b, bool *stored)
{
	uint64_t off = (uint64_t)b * FTR_BLOCK, pmd = off / e->pmd * e->pmd, end = 0;
	struct ftr_op_hit hits[12];
	int n;

	n = ftr_engine_find_ops(e, off, FTR_BLOCK, 1u << FTR_OP_WRITE, UINT64_MAX, hits, 12);
	for (int i = 0; i < n; i++)
		if (hits[i].e.path == FTR_P_DIRECT && hits[i].e.t1 > end)
			end = hits[i].e.t1;
	*stored = false;
	n = ftr_engine_find_ops(e, pmd, e->pmd, 1u << FTR_OP_WRITE, UINT64_MAX, hits, 12);
	for (int i = 0; i < n && end; i++)
		*stored |= hits[i].e.path == FTR_P_MMAP && hits[i].e.t0 > end;
	return end;
}

/*
 * An O_DIRECT write must invalidate the page cache over its range; when a folio there
 * cannot be (mapped, dirty, locked by a collapse), the kernel says so and leaves it
 * stale: Linux does not keep O_DIRECT coherent with such a page cache.  A PMD-sized
 * folio widens the range a small direct write has to invalidate, and makes it worse:
 * a store anywhere in the folio through a PMD mapping dirties all of it, and its
 * writeback puts the stale blocks on the disk over the O_DIRECT data.  Which of the
 * two the run met, an O_DIRECT read of each block tells.
 */
static int dio_stale(struct ftr_engine *e, char *ev, size_t len, enum ftr_known_id *id)
{
	char real[PATH_MAX], needle[PATH_MAX + 16];
	bool on_disk = true, stored;

	*id = FTR_KI_DIO_STALE;
	if (!any_bad(e, FTR_LOST, FTR_P_DIRECT))
		return 0;
	if (!all_bad(e, FTR_LOST, FTR_P_DIRECT))
		return missing(*id, "not every bad block is LOST and last written by O_DIRECT");
	ftr_kmsg_poll(&e->env->kmsg);
	snprintf(needle, sizeof(needle), "File: %s PID:", realpath(e->path, real) ? real : e->path);
	if (!ftr_kmsg_seen(&e->env->kmsg, "Page cache invalidation failure on direct I/O") ||
	    !ftr_kmsg_seen(&e->env->kmsg, needle))
		return missing(*id, "the kernel log has no invalidation failure naming \"%s\"", needle);
	for (size_t i = 0; i < e->nbads; i++)
		on_disk &= direct_read_ok(e, e->bads[i].b.block);
	if (on_disk) {
		snprintf(ev, len, "the kernel logged \"Page cache invalidation failure on direct I/O\" for %s; all "
			 "%zu bad blocks are LOST, last written by O_DIRECT, and an O_DIRECT read of each returns "
			 "that write", needle + 6, e->nbads);
		return 1;
	}
	*id = FTR_KI_DIO_WRITEBACK;
	for (size_t i = 0; i < e->nbads; i++) {
		const struct ftr_bad *b = &e->bads[i].b;

		if (!b->found.stamp_valid || b->found.block != b->block || b->found.gen + 1 != ftr_ver_gen(b->want))
			return missing(*id, "block %u holds something else than the version before its O_DIRECT "
				       "write", b->block);
		if (!direct_then_store(e, b->block, &stored) || !stored)
			return missing(*id, "no store through the mapping into the PMD of block %u after its "
				       "O_DIRECT write", b->block);
	}
	snprintf(ev, len, "the kernel logged \"Page cache invalidation failure on direct I/O\" for %s; all %zu "
		 "bad blocks are LOST, last written by O_DIRECT, hold the version before it, also on the disk, "
		 "and a store through the mapping into their PMD followed the O_DIRECT write", needle + 6,
		 e->nbads);
	return 1;
}

/*
 * The latest writable open of an openw writer that found nr_thps raised: one that
 * overlapped a call with a collapse_file() of its own (it raises nr_thps while it
 * works), or that came after a collapse_file() that built a THP in the same epoch
 * (the THP keeps it raised until it leaves the page cache; the check after each epoch
 * evicts it).  Returns the latest time that open can have happened (0: none), with
 * the open and the call as *o_out, *w_out.
 */
static uint64_t openw_truncation(struct ftr_engine *e, struct ftr_op_entry *o_out, struct ftr_window *w_out)
{
	uint64_t best = 0;

	for (int i = 0; i < e->nroles; i++) {
		const struct ftr_role *r = &e->roles[i];
		uint64_t head = __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE);

		if (r->kind != FTR_R_WRITER || r->mode != FTR_P_OPENW)
			continue;
		for (uint64_t k = ftr_oplog_first(r->log, head); k < head; k++) {
			const struct ftr_op_entry *o = &r->log->e[k % r->log->cap];

			/* The windows are in call order. */
			for (size_t w = 0; w < e->ncwin && e->cwin[w].t0 <= o->t1; w++) {
				const struct ftr_window *c = &e->cwin[w];
				uint64_t end = c->t1 >= o->t0 ? (o->t1 < c->t1 ? o->t1 : c->t1) :
					       c->built && c->epoch == o->epoch ? o->t1 : 0;

				if (end > best)
					best = end, *o_out = *o, *w_out = *c;
			}
		}
	}
	return best;
}

/*
 * Lost writes that the old READ_ONLY_THP_FOR_FS rules cause: the kernel collapses
 * read-only mappings of this filesystem but not writable ones, and do_dentry_open()
 * truncates the whole page cache when a file with THPs is opened for write, dirty
 * pages of earlier writers included (collapse_file() raises nr_thps for the whole
 * mapping while it works on one PMD, and a THP keeps it raised).  Each lost block must
 * have been written before a writable open that met nr_thps raised.
 */
static int ro_thp_truncate(struct ftr_engine *e, char *ev, size_t len, enum ftr_known_id *id)
{
	const struct ftr_caps *c = &e->env->caps;
	struct ftr_op_entry o = { 0 };
	struct ftr_window w = { 0 };
	uint64_t *last, latest;
	uint32_t epoch;
	int ret = 1;

	*id = FTR_KI_RO_THP_TRUNCATE;
	if (!e->sc->ro_mapping || !ftr_old_thp_rules(c) || !any_bad(e, FTR_LOST, FTR_P_OPENW))
		return 0;
	if (!all_bad(e, FTR_LOST, FTR_P_OPENW))
		return missing(FTR_KI_RO_THP_TRUNCATE, "not every bad block is LOST and last written by a writable open");
	if (!(latest = openw_truncation(e, &o, &w)))
		return missing(FTR_KI_RO_THP_TRUNCATE, "no writable open overlapped or followed a collapse_file() "
			       "in the trace (%zu MADV_COLLAPSE calls ran one)", e->ncwin);
	/* When each block was last written: a lost block was written in the failing epoch
	 * (earlier ones were checked on disk), by one owner whose log must hold all of
	 * that epoch. */
	epoch = e->bads[0].epoch;
	if (!(last = calloc(e->nblocks, sizeof(*last))))
		return missing(FTR_KI_RO_THP_TRUNCATE, "out of memory");
	for (int i = 0; i < e->nroles; i++) {
		const struct ftr_oplog *l = e->roles[i].log;
		uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE), k = ftr_oplog_first(l, head);

		if (ret > 0 && k && l->e[k % l->cap].epoch >= epoch)
			ret = missing(FTR_KI_RO_THP_TRUNCATE, "the operation log of %s does not reach back to the "
				      "start of epoch %u", e->roles[i].name, epoch);
		for (; k < head && ret > 0; k++) {
			const struct ftr_op_entry *x = &l->e[k % l->cap];

			if (x->epoch != epoch || (x->op != FTR_OP_WRITE && x->op != FTR_OP_PUNCH))
				continue;
			for (uint64_t b = x->off / FTR_BLOCK; b < (x->off + x->len) / FTR_BLOCK; b++)
				if (x->t1 > last[b])
					last[b] = x->t1;
		}
	}
	for (size_t i = 0; i < e->nbads && ret > 0; i++) {
		uint32_t b = e->bads[i].b.block;

		if (!last[b] || last[b] >= latest)
			ret = missing(FTR_KI_RO_THP_TRUNCATE, "block %u was last written at t=%.6fs, after the last "
				      "writable open that met nr_thps raised (t=%.6fs)", b, last[b] / 1e9,
				      latest / 1e9);
	}
	free(last);
	if (ret > 0)
		snprintf(ev, len, "every bad block (%zu in all checks) is LOST, last written by a writable open "
			 "before another writable open (t=%.6fs..%.6fs) %s MADV_COLLAPSE with a collapse_file() "
			 "of %s (t=%.6fs..%.6fs%s; %zu calls ran one)", e->nbads, o.t0 / 1e9, o.t1 / 1e9,
			 w.t1 >= o.t0 ? "overlapped" : "followed", e->path, w.t0 / 1e9, w.t1 / 1e9,
			 w.built ? ", it built a THP" : "", e->ncwin);
	return ret;
}

enum ftr_known_id ftr_known_data(struct ftr_engine *e, char *evidence, size_t len)
{
	static const matcher matchers[] = { zero_beside, dio_stale, ro_thp_truncate };
	enum ftr_known_id id;

	if (!e->nbads)
		return FTR_KI_NONE;	/* a hard error, not wrong data */
	for (size_t i = 0; i < sizeof(matchers) / sizeof(matchers[0]); i++)
		if (matchers[i](e, evidence, len, &id) > 0)
			return id;
	return FTR_KI_NONE;
}
