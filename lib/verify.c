// SPDX-License-Identifier: GPL-2.0
/*
 * The checks after each epoch, with every role quiesced: MADV_COLLAPSE's errnos
 * against the outcomes its trace names, the THP contract, then the data through
 * read(), through both mappings, and through read() again after the page cache was
 * evicted (a folio that holds new data but was never marked dirty passes the first
 * three and fails the last).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "knob.h"
#include "ktap.h"
#include "thp.h"
#include "trace.h"

#define MAX_BAD 64

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static int pmd_order(const struct ftr_engine *e)
{
	return __builtin_ctzl(e->pmd / e->psz);
}

static void fault_in(const char *p, size_t len, size_t step)
{
	volatile char sink;

	for (size_t i = 0; i < len; i += step)
		sink = p[i];
	(void)sink;
}

/* A range that MADV_COLLAPSE reported collapsed, and nothing split since, must be one
 * PMD-order folio; unless a store through the mapping may have split the PMD mapping
 * (regular files write-protect it for dirty tracking), it must also be PMD-mapped. */
static void check_thp(struct ftr_engine *e)
{
	uint32_t want_mapped = 0;
	struct ftr_smaps sm;
	unsigned long pmd_kb;

	for (uint32_t p = 0; p < e->npmds; p++) {
		struct ftr_pmd_state *s = &e->pmds[p];
		char *addr = e->map + (size_t)p * e->pmd;
		struct ftr_folio_run runs[8];
		int n;

		if (load64(&s->ok_split) != load64(&s->split.seq) + 1)
			continue;
		e->thp_checked++;
		fault_in(addr, e->pmd, e->psz);
		n = ftr_folio_scan(addr, e->pmd, runs, 8);
		if (n != 1 || runs[0].order != pmd_order(e)) {
			char str[200] = "unreadable";

			if (n > 0)
				ftr_folio_runs_str(runs, n, str, sizeof(str));
			snprintf(e->thp_msg, sizeof(e->thp_msg),
				 "PMD %u [%#zx, %#zx): MADV_COLLAPSE returned 0 and nothing split it since, "
				 "but its pages are not one order-%d folio: %s",
				 p, p * e->pmd, (p + 1) * e->pmd, pmd_order(e), str);
			e->thp_bad = true;
			return;
		}
		if (e->env->caps.is_shmem || ftr_seqc_same(&s->store, load64(&s->ok_store)))
			want_mapped++;
	}
	e->thp_pmd_mapped_checked += want_mapped;
	if (!want_mapped || ftr_smaps_read(0, (unsigned long)e->map, &sm))
		return;
	pmd_kb = e->env->caps.is_shmem ? sm.shmem_pmd_kb : sm.file_pmd_kb;
	if (pmd_kb < want_mapped * (e->pmd >> 10)) {
		snprintf(e->thp_msg, sizeof(e->thp_msg),
			 "%u PMDs were collapsed by MADV_COLLAPSE and untouched since, but smaps shows "
			 "%s%lu kB", want_mapped, e->env->caps.is_shmem ? "ShmemPmdMapped: " : "FilePmdMapped: ",
			 pmd_kb);
		e->thp_bad = true;
	}
}

/* One line per epoch: the largest folio order in each PMD and how much is PMD-mapped,
 * so a reader sees the THP state the checks ran against. */
static void epoch_view(struct ftr_engine *e)
{
	char orders[256] = "";
	struct ftr_smaps sm;
	size_t off = 0;

	for (uint32_t p = 0; p < e->npmds && off < sizeof(orders) - 8; p++) {
		char *addr = e->map + (size_t)p * e->pmd;

		fault_in(addr, e->pmd, e->psz);
		off += snprintf(orders + off, sizeof(orders) - off, "%s%d", p ? " " : "",
				ftr_folio_max_order(addr, e->pmd));
	}
	if (ftr_smaps_read(0, (unsigned long)e->map, &sm))
		memset(&sm, 0, sizeof(sm));
	ftr_diag("epoch %llu: largest folio order per PMD [%s], PMD-mapped %lu kB of %zu kB",
		 (unsigned long long)e->epochs, orders, sm.file_pmd_kb + sm.shmem_pmd_kb, e->size >> 10);
}

static bool report_if_bad(struct ftr_engine *e, const char *how, struct ftr_bad *bad, uint32_t nbad)
{
	if (!nbad)
		return true;
	ftr_report_bad(e, how, bad, nbad, nbad < MAX_BAD ? nbad : MAX_BAD);
	e->data_bad = true;
	return false;
}

static bool verify_buffer(struct ftr_engine *e, const char *how, const char *data, size_t off,
			  size_t len, struct ftr_bad *bad, uint32_t *nbad)
{
	uint32_t n = ftr_oracle_check(&e->oracle, data, off / FTR_BLOCK, len / FTR_BLOCK, NULL,
				      bad + *nbad, MAX_BAD - *nbad, NULL);

	(void)how;
	*nbad += n;
	return !n;
}

static bool verify_read(struct ftr_engine *e, const char *how)
{
	size_t chunk = 1 << 20;
	struct ftr_bad bad[MAX_BAD];
	uint32_t nbad = 0;
	char *buf = malloc(chunk);

	if (!buf)
		return false;
	for (size_t off = 0; off < e->size; off += chunk) {
		size_t len = e->size - off < chunk ? e->size - off : chunk;
		ssize_t got = pread(e->fd, buf, len, off);

		if (got != (ssize_t)len) {
			ftr_diag("%s: pread at %#zx returned %zd (%s)", how, off, got, strerror(errno));
			memset(buf + (got > 0 ? got : 0), 0, len - (got > 0 ? got : 0));
		}
		verify_buffer(e, how, buf, off, len, bad, &nbad);
	}
	free(buf);
	return report_if_bad(e, how, bad, nbad);
}

static bool verify_map(struct ftr_engine *e, const char *map, const char *how)
{
	struct ftr_bad bad[MAX_BAD];
	uint32_t nbad = 0;
	uint64_t t0 = ftr_now_ns();

	verify_buffer(e, how, map, 0, e->size, bad, &nbad);
	e->verify_ns += ftr_now_ns() - t0;
	e->verified_bytes += e->size;
	return report_if_bad(e, how, bad, nbad);
}

/* Unmaps our pages, writes back what is dirty, and drops the clean page cache. */
static void evict(struct ftr_engine *e)
{
	unsigned char *vec = malloc(e->size / e->psz);
	int fd;

	madvise(e->map, e->size, MADV_DONTNEED);
	madvise(e->map2, e->size, MADV_DONTNEED);
	fsync(e->fd);
	posix_fadvise(e->fd, 0, 0, POSIX_FADV_DONTNEED);
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			ftr_diag("drop_caches: %s", strerror(errno));
		close(fd);
	}
	if (vec && !mincore(e->map, e->size, vec)) {
		uint64_t resident = 0;

		for (size_t i = 0; i < e->size / e->psz; i++)
			resident += vec[i] & 1;
		e->resident_after_evict += resident;
	}
	free(vec);
	e->evicted_epochs++;
}

struct trace_sink {
	FILE *f;
	int tid;
};

static void keep_line(const struct ftr_trace_ev *ev, const char *line, void *arg)
{
	struct trace_sink *s = arg;

	if (ev->tid == s->tid)
		fprintf(s->f, "%s\n", line);
}

static void report_errno(struct ftr_engine *e, struct ftr_call *calls, size_t n, const struct ftr_call *c,
			 FILE *trace, int tid)
{
	uint32_t pmd = c->index * e->psz / e->pmd;
	uint64_t base = ftr_now_base();

	ftr_diag("ERRNO CONTRACT BROKEN: MADV_COLLAPSE of PMD %u (file offset 0x%llx) at t=%.6fs "
		 "returned %s, expected EAGAIN: it ended on %s (%s); collapse_file attempts: %u",
		 pmd, (unsigned long long)pmd * e->pmd, (c->t0 - base) / 1e9,
		 c->err ? strerrorname_np(c->err) : "0", c->outcome, ftr_outcome_broken(c), c->attempts);
	ftr_diag("  the kernel's events in the call:");
	rewind(trace);
	ftr_outcome_lines(trace, tid, calls, n, c, 8);
	ftr_report_ops(e, (uint64_t)pmd * e->pmd, e->pmd, FTR_OPS_ALL, c->t1 - base, 8,
		       "operations on this PMD up to the call's end");
	ftr_report_thp_range(e, pmd);
}

/*
 * The madvise collapser's calls of this epoch against the events they caused
 * (outcome.h).  The trace is drained every epoch in any case, so that a long run
 * never overflows its buffer.
 */
static void check_errnos(struct ftr_engine *e)
{
	const struct ftr_role *who = ftr_engine_collapser(e);
	struct ftr_outcome_stats st = { 0 };
	struct trace_sink sink = { NULL, 0 };
	uint64_t head, first, base = ftr_now_base();
	struct ftr_call *calls = NULL;
	char *buf = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	if (!who) {
		ftr_trace_drain(NULL, NULL);
		return;
	}
	/* This epoch's calls, judged or not: the engine ends an epoch by how far the
	 * log moved since (collapser_log_half_full()). */
	head = __atomic_load_n(&who->log->head, __ATOMIC_ACQUIRE);
	first = ftr_oplog_first(who->log, head);
	if (first > e->errnos_head)
		e->errnos.unlogged += first - e->errnos_head;
	else
		first = e->errnos_head;
	e->errnos_head = head;
	if (!ftr_trace_mono() || !(sink.f = open_memstream(&buf, &len))) {
		ftr_trace_drain(NULL, NULL);
		return;
	}
	sink.tid = __atomic_load_n(&who->st->tid, __ATOMIC_RELAXED);
	ftr_trace_drain(keep_line, &sink);
	fclose(sink.f);
	if (head > first && !(calls = calloc(head - first, sizeof(*calls))))
		goto out;
	for (uint64_t i = first; i < head; i++) {
		const struct ftr_op_entry *o = &who->log->e[i % who->log->cap];

		if (o->op == FTR_OP_COLLAPSE)
			calls[n++] = (struct ftr_call){ .t0 = base + o->t0, .t1 = base + o->t1,
							.index = o->off / e->psz, .err = o->res };
	}
	if (len && (f = fmemopen(buf, len, "r"))) {
		ftr_outcome_attribute(f, sink.tid, calls, n, &st);
		for (size_t i = 0; i < n && !e->errno_bad; i++)
			if (ftr_outcome_broken(&calls[i])) {
				report_errno(e, calls, n, &calls[i], f, sink.tid);
				e->errno_bad = true;
			}
		fclose(f);
	}
	ftr_outcome_add(&e->errnos, calls, n, &st);
out:
	free(calls);
	free(buf);
}

bool ftr_verify_epoch(struct ftr_engine *e)
{
	check_errnos(e);
	if (__atomic_load_n(&e->sh->fatal, __ATOMIC_ACQUIRE)) {
		/* A racing role already saw something wrong: report it with the quiesced view. */
		ftr_diag("%s", e->sh->fatal_msg);
		if (e->sh->fatal_bad.cls != FTR_OK) {
			ftr_report_bad(e, "a racing reader", &e->sh->fatal_bad, 1, 1);
			e->racing_bad = true;
		}
		e->data_bad = true;
		return false;
	}
	if (!e->khugepaged)
		check_thp(e);
	epoch_view(e);
	if (!verify_read(e, "read()") || !verify_map(e, e->map, "the mapping") ||
	    !verify_map(e, e->map2, "a second mapping"))
		return false;
	if (!e->env->caps.is_shmem) {
		evict(e);
		if (!verify_read(e, "read() after eviction"))
			return false;
	}
	/* The THP contract starts afresh: eviction dropped the folios it was about. */
	for (uint32_t p = 0; p < e->npmds; p++)
		__atomic_store_n(&e->pmds[p].ok_split, 0, __ATOMIC_RELEASE);
	return true;
}

/* --inject: damage the file the way a kernel bug would, after the roles quiesced. */
void ftr_inject(struct ftr_engine *e)
{
	enum ftr_inject kind = e->env->opts->inject;
	struct ftr_oracle *o = &e->oracle;
	uint8_t buf[FTR_BLOCK], old[FTR_BLOCK];
	uint32_t b = 0;
	uint64_t v;
	int fd;

	if (kind < FTR_INJECT_LOST || kind > FTR_INJECT_THP)
		return;
	fd = open(e->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ftr_diag("inject: open %s: %s", e->path, strerror(errno));
		return;
	}
	if (kind == FTR_INJECT_THP) {
		struct ftr_pmd_state *s = &e->pmds[0];
		uint8_t *page = malloc(e->psz);

		/* Split PMD 0 by punching its first page, put the data back, and tell the
		 * contract check that a collapse of it succeeded. */
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, e->psz);
		for (uint32_t i = 0; page && i < e->psz / FTR_BLOCK; i++) {
			v = load64(&o->done[i]);
			ftr_stamp(o, page + i * FTR_BLOCK, i, ftr_ver_gen(v), ftr_ver_path(v));
		}
		if (!page || pwrite(fd, page, e->psz, 0) != (ssize_t)e->psz)
			ftr_diag("inject: rewrite of page 0 failed");
		free(page);
		__atomic_store_n(&s->ok_store, load64(&s->store.seq), __ATOMIC_RELEASE);
		__atomic_store_n(&s->ok_split, load64(&s->split.seq) + 1, __ATOMIC_RELEASE);
		ftr_diag("inject: thp: PMD 0 split by a punched page, marked collapsed");
		close(fd);
		return;
	}
	while (b + 1 < e->nblocks && ftr_ver_gen(load64(&o->done[b])) < 2)
		b++;
	v = load64(&o->done[b]);
	ftr_stamp(o, buf, b, ftr_ver_gen(v), ftr_ver_path(v));
	switch (kind) {
	case FTR_INJECT_LOST:
		ftr_stamp(o, buf, b, ftr_ver_gen(v) - 1, ftr_ver_path(v));
		break;
	case FTR_INJECT_STALE:
		ftr_stamp(o, old, b, ftr_ver_gen(v) - 1, ftr_ver_path(v));
		memcpy(buf + FTR_BLOCK / 2, old + FTR_BLOCK / 2, FTR_BLOCK / 2);
		break;
	case FTR_INJECT_MISPLACE:
		b = b ? b - 1 : b + 1;	/* the neighbour's data lands here */
		break;
	case FTR_INJECT_ZERO:
		memset(buf, 0, sizeof(buf));
		break;
	default:
		buf[100] ^= 0x10;
		break;
	}
	if (pwrite(fd, buf, FTR_BLOCK, (off_t)b * FTR_BLOCK) != FTR_BLOCK)
		ftr_diag("inject: pwrite: %s", strerror(errno));
	else
		ftr_diag("inject: %s at block %u (offset %#llx)", ftr_inject_names[kind], b,
			 (unsigned long long)b * FTR_BLOCK);
	close(fd);
}
