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

#include "contract.h"
#include "engine.h"
#include "knob.h"
#include "ktap.h"
#include "thp.h"
#include "trace.h"
#include "mapping.h"

const char *const ftr_stage_names[FTR_ST_NR] = {
	[FTR_ST_RACING] = "a racing reader", [FTR_ST_READ] = "read()", [FTR_ST_MAP] = "the mapping",
	[FTR_ST_MAP2] = "a second mapping", [FTR_ST_EVICTED] = "read() after eviction",
};

/* Blocks described in full in a report: the first failing check's, then a summary. */
#define DETAIL 4

/* One line per epoch: the largest folio order in each PMD and how much is PMD-mapped,
 * so a reader sees the THP state the checks ran against. */
static void epoch_view(struct ftr_engine *e)
{
	char orders[256] = "";
	struct ftr_smaps sm;
	size_t off = 0;

	for (uint32_t p = 0; p < e->npmds && off < sizeof(orders) - 8; p++) {
		char *addr = e->map + (size_t)p * e->pmd;

		ftr_fault_in(addr, e->pmd, e->psz);
		off += snprintf(orders + off, sizeof(orders) - off, "%s%d", p ? " " : "",
				ftr_folio_max_order(addr, e->pmd));
	}
	if (ftr_smaps_read(0, (unsigned long)e->map, &sm))
		memset(&sm, 0, sizeof(sm));
	ftr_diag("epoch %llu: largest folio order per PMD [%s], PMD-mapped %lu kB of %zu kB",
		 (unsigned long long)e->epochs, orders, sm.file_pmd_kb + sm.shmem_pmd_kb, e->size >> 10);
}

/* Keeps what a check found, every block of it, and reports it: in full if it is the
 * run's first failing check, else in a line (the blocks were described already). */
static bool record_bad(struct ftr_engine *e, enum ftr_stage stage, const struct ftr_bad *bad, uint32_t nbad)
{
	if (!nbad)
		return true;
	if (e->nbads + nbad > e->bads_cap) {
		size_t cap = (e->nbads + nbad) * 2;
		struct ftr_bad_rec *n = realloc(e->bads, cap * sizeof(*n));

		if (!n) {
			ftr_diag("out of memory keeping %u bad blocks: evidence is incomplete", nbad);
			nbad = e->bads_cap - e->nbads;
		} else {
			e->bads = n;
			e->bads_cap = cap;
		}
	}
	for (uint32_t i = 0; i < nbad; i++)
		e->bads[e->nbads++] = (struct ftr_bad_rec){ bad[i], stage, e->epochs };
	ftr_report_bad(e, ftr_stage_names[stage], bad, nbad, e->data_bad ? 0 : DETAIL);
	e->data_bad = true;
	return false;
}

static bool verify_read(struct ftr_engine *e, enum ftr_stage stage)
{
	size_t chunk = 1 << 20;
	struct ftr_bad *bad = malloc(e->nblocks * sizeof(*bad));
	uint32_t nbad = 0;
	char *buf = malloc(chunk);
	bool ok = false;

	for (size_t off = 0; buf && bad && off < e->size; off += chunk) {
		size_t len = e->size - off < chunk ? e->size - off : chunk;
		ssize_t got = pread(e->fd, buf, len, off);

		if (got != (ssize_t)len) {
			ftr_diag("%s: pread at %#zx returned %zd (%s)", ftr_stage_names[stage], off, got, strerror(errno));
			memset(buf + (got > 0 ? got : 0), 0, len - (got > 0 ? got : 0));
		}
		nbad += ftr_oracle_check(&e->oracle, buf, off / FTR_BLOCK, len / FTR_BLOCK, NULL, bad + nbad,
					 e->nblocks - nbad, NULL);
	}
	if (buf && bad)
		ok = record_bad(e, stage, bad, nbad);
	free(buf);
	free(bad);
	return ok;
}

static bool verify_map(struct ftr_engine *e, const char *map, enum ftr_stage stage)
{
	struct ftr_bad *bad = malloc(e->nblocks * sizeof(*bad));
	uint64_t t0 = ftr_now_ns();
	uint32_t nbad;
	bool ok;

	if (!bad)
		return false;
	nbad = ftr_oracle_check(&e->oracle, map, 0, e->nblocks, NULL, bad, e->nblocks, NULL);
	e->verify_ns += ftr_now_ns() - t0;
	e->verified_bytes += e->size;
	ok = record_bad(e, stage, bad, nbad);
	free(bad);
	return ok;
}

/* Drops the mappings' pages, writes back what is dirty and drops the clean page cache;
 * eviction splits every THP there is, so it counts as a split of every PMD.  Returns
 * what mincore() says is still resident, per page (NULL if it cannot tell). */
static unsigned char *evict(struct ftr_engine *e)
{
	size_t pages = e->size / e->psz, resident = 0, first = 0;
	unsigned char *vec = malloc(pages);
	int fd;

	for (uint32_t p = 0; p < e->npmds; p++)
		ftr_seqc_begin(&e->pmds[p].split);
	/* Twice: a folio that writeback or a reader held the first time goes the second. */
	for (int pass = 0; pass < 2; pass++) {
		madvise(e->map, e->size, MADV_DONTNEED);
		madvise(e->map2, e->size, MADV_DONTNEED);
		fsync(e->fd);
		posix_fadvise(e->fd, 0, 0, POSIX_FADV_DONTNEED);
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				ftr_diag("drop_caches: %s", strerror(errno));
			close(fd);
		}
		if (!vec || mincore(e->map, e->size, vec)) {
			free(vec);
			vec = NULL;
			break;
		}
		resident = 0;
		for (size_t i = pages; i-- > 0; )
			if (vec[i] & 1)
				resident++, first = i;
		if (!resident)
			break;
	}
	for (uint32_t p = 0; p < e->npmds; p++)
		ftr_seqc_end(&e->pmds[p].split);
	if (!vec)
		ftr_diag("after eviction: mincore: %s: cannot tell whether the check after eviction read the disk",
			 strerror(errno));
	else if (resident)
		ftr_diag("after eviction: %zu pages still resident, the first at offset %#zx (PMD %zu): the check "
			 "after eviction did not read them from the disk", resident, first * e->psz,
			 first * e->psz / e->pmd);
	e->resident_after_evict += resident;
	e->evicted_epochs += vec && !resident;
	return vec;
}

struct trace_sink {
	FILE *f;
	int tid;
	struct ftr_engine *e;
};

static void keep_line(const struct ftr_trace_ev *ev, const char *line, void *arg)
{
	struct trace_sink *s = arg;

	if (ev->tid == s->tid)
		fprintf(s->f, "%s\n", line);
}

/* khugepaged's events on our file: the collapse count of the run, and the THP
 * contract of what it collapsed (collapse_file names the range's end on success). */
static void khugepaged_event(const struct ftr_trace_ev *ev, const char *line, void *arg)
{
	struct ftr_engine *e = ((struct trace_sink *)arg)->e;
	uint64_t t = ev->us * 1000, base = ftr_now_base();

	(void)line;
	if (ev->ev != 'c')
		return;
	e->khugepaged_attempts++;
	if (!ftr_trace_collapsed(ev->result) || ev->index < 1 || t < base + 1000)
		return;
	e->khugepaged_collapsed++;
	ftr_contract_khugepaged_event(e, (ev->index - 1) * e->psz / e->pmd, t - 1000 - base);
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

/* What the attributed calls tell beyond their errno: when collapse_file ran (the
 * windows known issues need as evidence), and which seal was a real collapse. */
static void note_calls(struct ftr_engine *e, const struct ftr_call *calls, size_t n)
{
	uint64_t base = ftr_now_base();

	for (size_t i = 0; i < n; i++) {
		const struct ftr_call *c = &calls[i];
		struct ftr_pmd_state *s = &e->pmds[c->index * e->psz / e->pmd];

		if (c->collapsed && !c->err && s->sealed && s->sealed_t0 == c->t0 - base)
			s->sealed_collapse = 1;
		if (!c->attempts)
			continue;
		if (e->ncwin == e->cwin_cap) {
			size_t cap = e->cwin_cap ? 2 * e->cwin_cap : 1024;
			struct ftr_window *w = realloc(e->cwin, cap * sizeof(*w));

			if (!w)
				continue;
			e->cwin = w;
			e->cwin_cap = cap;
		}
		e->cwin[e->ncwin++] = (struct ftr_window){ c->t0 - base, c->t1 - base, e->epochs, c->collapsed };
	}
}

/*
 * The madvise collapser's calls of this epoch against the events they caused
 * (outcome.h), or khugepaged's events.  The trace is drained every epoch in any case,
 * so that a long run never overflows its buffer.
 */
static void drain_trace(struct ftr_engine *e)
{
	const struct ftr_role *who = ftr_engine_collapser(e);
	struct ftr_outcome_stats st = { 0 };
	struct trace_sink sink = { NULL, 0, e };
	uint64_t head, first, base = ftr_now_base();
	struct ftr_call *calls = NULL;
	char *buf = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	if (!who || !ftr_trace_mono()) {
		ftr_trace_drain(e->khugepaged && ftr_trace_mono() ? khugepaged_event : NULL, &sink);
		if (!who)
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
	if (!ftr_trace_mono() || !(sink.f = open_memstream(&buf, &len)))
		return;
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
	note_calls(e, calls, n);
	ftr_outcome_add(&e->errnos, calls, n, &st);
out:
	free(calls);
	free(buf);
}

/*
 * Every check runs, even after one failed: what each of them saw is the evidence a
 * known issue needs (known.h), and a report that says "wrong through read(), right
 * after eviction" says more than the first failure alone.
 */
bool ftr_verify_epoch(struct ftr_engine *e)
{
	bool racing = __atomic_load_n(&e->sh->fatal, __ATOMIC_ACQUIRE), ok = !racing;
	unsigned char *resident;

	drain_trace(e);
	if (racing) {
		/* A racing role already saw something wrong: the quiesced checks follow. */
		ftr_diag("%s", e->sh->fatal_msg);
		if (e->sh->fatal_bad.cls != FTR_OK)
			record_bad(e, FTR_ST_RACING, &e->sh->fatal_bad, 1);
		e->data_bad = true;
	}
	ftr_contract_epoch(e);
	epoch_view(e);
	ok &= verify_read(e, FTR_ST_READ);
	ok &= verify_map(e, e->map, FTR_ST_MAP);
	ok &= verify_map(e, e->map2, FTR_ST_MAP2);
	if (!e->env->caps.is_shmem) {
		/* khugepaged collapses best while the writers rest: what it did during the
		 * checks is checked before the eviction drops it. */
		if (e->khugepaged)
			drain_trace(e);
		resident = evict(e);
		if (verify_read(e, FTR_ST_EVICTED))
			ftr_contract_unseal(e, resident);
		else
			ok = false;
		free(resident);
	}
	/* The THP contract starts afresh: eviction dropped the folios it was about. */
	for (uint32_t p = 0; p < e->npmds; p++)
		__atomic_store_n(&e->pmds[p].ok_split, 0, __ATOMIC_RELEASE);
	return ok;
}
