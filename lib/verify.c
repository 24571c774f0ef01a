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
#include "knob.h"
#include "ktap.h"
#include "mapping.h"
#include "report.h"
#include "thp.h"
#include "trace.h"
#include "verify.h"

/* Blocks described in full in a report: the first failing check's, then a summary. */
#define DETAIL 4

/* One line per epoch: the largest folio order in each PMD and how much is PMD-mapped,
 * so a reader sees the THP state the checks ran against. */
static void epoch_view(struct ftr_arena *a, struct ftr_ledger *l)
{
	char orders[256] = "";
	struct ftr_smaps sm;
	size_t off = 0;

	for (uint32_t p = 0; p < a->npmds && off < sizeof(orders) - 8; p++) {
		char *addr = a->map + (size_t)p * a->pmd;

		ftr_fault_in(addr, a->pmd, a->psz);
		off += snprintf(orders + off, sizeof(orders) - off, "%s%d", p ? " " : "",
				ftr_folio_max_order(addr, a->pmd));
	}
	if (ftr_smaps_read(0, (unsigned long)a->map, &sm))
		memset(&sm, 0, sizeof(sm));
	ftr_diag("epoch %llu: largest folio order per PMD [%s], PMD-mapped %lu kB of %zu kB",
		 (unsigned long long)l->epochs, orders, sm.file_pmd_kb + sm.shmem_pmd_kb, a->size >> 10);
}

/* Keeps what a check found, every block of it, and reports it: in full if it is the
 * run's first failing check, else in a line (the blocks were described already). */
static bool record_bad(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l, enum ftr_stage stage, const struct ftr_bad *bad, uint32_t nbad)
{
	if (!nbad)
		return true;
	ftr_ledger_add_bads(l, stage, l->epochs, stage == FTR_ST_RACING ? (int32_t)a->sh->fatal_role : -1, bad, nbad);
	ftr_report_bad(a, rs, l, ftr_stage_names[stage], bad, nbad, l->data_bad ? 0 : DETAIL);
	l->data_bad = true;
	return false;
}

/* A check that could not run is a failure of the data verdict, not a silent pass. */
static bool cannot_check(struct ftr_ledger *l, enum ftr_stage stage, const char *why)
{
	if (!l->broken[0])
		snprintf(l->broken, sizeof(l->broken), "the check through %s after epoch %llu could not run: %s",
			 ftr_stage_names[stage], (unsigned long long)l->epochs, why);
	ftr_diag("%s", l->broken);
	return false;
}

static void sync_failed(struct ftr_ledger *l, const char *what)
{
	if (!l->sync_err) {
		l->sync_err = errno;
		snprintf(l->sync_msg, sizeof(l->sync_msg), "%s after epoch %llu failed: %s", what,
			 (unsigned long long)l->epochs, strerror(errno));
		ftr_diag("%s", l->sync_msg);
	}
}

/* Every block through read() of fd (the controller's, or an O_DIRECT one). */
static bool verify_read(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l, int fd,
			enum ftr_stage stage)
{
	size_t chunk = 1 << 20;
	struct ftr_bad *bad = malloc(a->nblocks * sizeof(*bad));
	uint32_t nbad = 0;
	char *buf = NULL;
	bool ok;

	if (!bad || posix_memalign((void **)&buf, a->psz, chunk)) {
		free(bad);
		return cannot_check(l, stage, strerror(ENOMEM));
	}
	for (size_t off = 0; off < a->size; off += chunk) {
		size_t len = a->size - off < chunk ? a->size - off : chunk;
		ssize_t got = pread(fd, buf, len, off);

		if (got != (ssize_t)len) {
			ftr_diag("%s: pread at %#zx returned %zd (%s)", ftr_stage_names[stage], off, got, strerror(errno));
			memset(buf + (got > 0 ? got : 0), 0, len - (got > 0 ? got : 0));
		}
		nbad += ftr_oracle_check(&a->oracle, buf, off / FTR_BLOCK, len / FTR_BLOCK, NULL, bad + nbad,
					 a->nblocks - nbad, NULL);
	}
	ok = record_bad(a, rs, l, stage, bad, nbad);
	free(buf);
	free(bad);
	return ok;
}

/*
 * What the disk holds, whatever stayed resident: an O_DIRECT read writes back what is
 * dirty in its range and then reads the disk.  A kernel that keeps a clean THP with
 * lost data resident (a leaked reference, a folio stuck under writeback) cannot hide
 * it from this.  false on wrong data; *done whether it ran.
 */
static bool verify_disk(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l,
			enum ftr_stage stage, bool *done)
{
	int fd;
	bool ok;

	*done = false;
	if (!a->env->caps.odirect.ok)
		return true;
	fd = open(a->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return cannot_check(l, stage, strerror(errno));
	ok = verify_read(a, rs, l, fd, stage);
	close(fd);
	*done = !l->broken[0];
	return ok;
}

/*
 * msync(MS_SYNC) and fsync promise that every store that completed before them is on
 * the disk, with the mappings still in place.  The check after eviction unmaps first,
 * and an unmap carries a dirty PTE or PMD bit into the folio: a kernel that forgot to
 * mark a stored-to THP dirty would be repaired by it.  This one is not.
 */
static bool verify_durable(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l)
{
	bool done;

	if (msync(a->map, a->size, MS_SYNC))
		sync_failed(l, "msync(MS_SYNC)");
	else if (fsync(a->fd))
		sync_failed(l, "fsync");
	return verify_disk(a, rs, l, FTR_ST_DURABLE, &done);
}

static bool verify_map(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l, const char *map, enum ftr_stage stage)
{
	struct ftr_bad *bad = malloc(a->nblocks * sizeof(*bad));
	uint64_t t0 = ftr_now_ns();
	uint32_t nbad;
	bool ok;

	if (!bad)
		return cannot_check(l, stage, strerror(ENOMEM));
	nbad = ftr_oracle_check(&a->oracle, map, 0, a->nblocks, NULL, bad, a->nblocks, NULL);
	l->verify_ns += ftr_now_ns() - t0;
	l->verified_bytes += a->size;
	ok = record_bad(a, rs, l, stage, bad, nbad);
	free(bad);
	return ok;
}

/* Drops the mappings' pages, writes back what is dirty and drops the clean page cache;
 * eviction splits every THP there is, so it counts as a split of every PMD.  Returns
 * what mincore() says is still resident, per page (NULL if it cannot tell). */
static unsigned char *evict(struct ftr_arena *a, struct ftr_ledger *l)
{
	size_t pages = a->size / a->psz, resident = 0, first = 0;
	unsigned char *vec = malloc(pages);
	int fd;

	for (uint32_t p = 0; p < a->npmds; p++)
		ftr_seqc_begin(&a->pmds[p].split);
	/* Twice: a folio that writeback or a reader held the first time goes the second. */
	for (int pass = 0; pass < 2; pass++) {
		madvise(a->map, a->size, MADV_DONTNEED);
		madvise(a->map2, a->size, MADV_DONTNEED);
		/* Writeback that failed lost data whatever the page cache says now. */
		if (fsync(a->fd))
			sync_failed(l, "fsync");
		posix_fadvise(a->fd, 0, 0, POSIX_FADV_DONTNEED);
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				ftr_diag("drop_caches: %s", strerror(errno));
			close(fd);
		}
		if (!vec || mincore(a->map, a->size, vec)) {
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
	for (uint32_t p = 0; p < a->npmds; p++)
		ftr_seqc_end(&a->pmds[p].split);
	if (!vec)
		ftr_diag("after eviction: mincore: %s: cannot tell whether the check after eviction read the disk",
			 strerror(errno));
	else if (resident)
		ftr_diag("after eviction: %zu pages still resident, the first at offset %#zx (PMD %zu): the check "
			 "after eviction did not read them from the disk", resident, first * a->psz,
			 first * a->psz / a->pmd);
	l->resident_after_evict += resident;
	l->evicted_epochs += vec && !resident;
	return vec;
}

struct trace_sink {
	FILE *f;
	int tid;
	struct ftr_arena *a;
	struct ftr_ledger *l;
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
	struct trace_sink *sink = arg;
	struct ftr_arena *a = sink->a;
	struct ftr_ledger *l = sink->l;
	uint64_t t = ev->us * 1000, base = ftr_now_base();

	(void)line;
	if (ev->ev != 'c')
		return;
	l->khugepaged_attempts++;
	if (!ftr_trace_collapsed(ev->result) || ev->index < 1 || t < base + 1000)
		return;
	l->khugepaged_collapsed++;
	ftr_contract_khugepaged_event(a, l, (ev->index - 1) * a->psz / a->pmd, t - 1000 - base);
}

static void report_errno(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_call *calls, size_t n, const struct ftr_call *c,
			 FILE *trace, int tid)
{
	uint32_t pmd = c->index * a->psz / a->pmd;
	uint64_t base = ftr_now_base();

	ftr_diag("ERRNO CONTRACT BROKEN: MADV_COLLAPSE of PMD %u (file offset 0x%llx) at t=%.6fs "
		 "returned %s, expected EAGAIN: it ended on %s (%s); collapse_file attempts: %u",
		 pmd, (unsigned long long)pmd * a->pmd, (c->t0 - base) / 1e9,
		 c->err ? strerrorname_np(c->err) : "0", c->outcome, ftr_outcome_broken(c), c->attempts);
	ftr_diag("  the kernel's events in the call:");
	rewind(trace);
	ftr_outcome_lines(trace, tid, calls, n, c, 8);
	ftr_report_ops(rs, (uint64_t)pmd * a->pmd, a->pmd, FTR_OPS_ALL, c->t1 - base, 8,
		       "operations on this PMD up to the call's end");
	ftr_arena_show_pmd(a, pmd);
}

/* What the attributed calls tell beyond their errno: when collapse_file ran (the
 * windows known issues need as evidence), and which seal was a real collapse. */
static void note_calls(struct ftr_arena *a, struct ftr_ledger *l, const struct ftr_call *calls, size_t n)
{
	uint64_t base = ftr_now_base();

	for (size_t i = 0; i < n; i++) {
		const struct ftr_call *c = &calls[i];
		uint32_t pmd = c->index * a->psz / a->pmd;
		struct ftr_pmd_state *s = &a->pmds[pmd];

		if (c->collapsed && !c->err && s->sealed && s->sealed_t0 == c->t0 - base)
			s->sealed_collapse = 1;
		if (!c->attempts)
			continue;
		ftr_ledger_add_window(l, &(struct ftr_window){ c->t0 - base, c->t1 - base, l->epochs, c->collapsed, pmd });
	}
}

static int window_cmp(const void *x, const void *y)
{
	const struct ftr_window *a = x, *b = y;

	return a->t0 < b->t0 ? -1 : a->t0 > b->t0;
}

/* The collapses other roles made of this epoch for their own ends (the splitter's,
 * splitter.c): not matched with the trace, but a known issue's evidence is any
 * collapse that ran with a write, and wants the windows in call order. */
static void note_other_calls(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l)
{
	const struct ftr_role *who = ftr_roles_collapser(rs);
	size_t n0 = l->ncwin;

	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_oplog *g = rs->roles[i].log;
		uint64_t head = __atomic_load_n(&g->head, __ATOMIC_ACQUIRE);

		for (uint64_t k = ftr_oplog_first(g, head); &rs->roles[i] != who && k < head; k++) {
			const struct ftr_op_entry *o = &g->e[k % g->cap];

			if (o->epoch == l->epochs && o->op == FTR_OP_COLLAPSE)
				ftr_ledger_add_window(l, &(struct ftr_window){ o->t0, o->t1, l->epochs, !o->res,
									       o->off / a->pmd });
		}
	}
	if (l->ncwin > n0)
		qsort(l->cwin, l->ncwin, sizeof(*l->cwin), window_cmp);
}

/*
 * The madvise collapser's calls of this epoch against the events they caused
 * (outcome.h), or khugepaged's events.  The trace is drained every epoch in any case,
 * so that a long run never overflows its buffer.
 */
static void drain_trace(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l)
{
	const struct ftr_role *who = ftr_roles_collapser(rs);
	struct ftr_outcome_stats st = { 0 };
	struct trace_sink sink = { NULL, 0, a, l };
	uint64_t head, first, base = ftr_now_base();
	struct ftr_call *calls = NULL;
	char *buf = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	if (!who || !ftr_trace_mono()) {
		ftr_trace_drain(a->khugepaged && ftr_trace_mono() ? khugepaged_event : NULL, &sink);
		if (!who)
			return;
	}
	/* This epoch's calls, judged or not: the engine ends an epoch by how far the
	 * log moved since (collapser_log_half_full()). */
	head = __atomic_load_n(&who->log->head, __ATOMIC_ACQUIRE);
	first = ftr_oplog_first(who->log, head);
	if (first > l->errnos_head)
		l->errnos.unlogged += first - l->errnos_head;
	else
		first = l->errnos_head;
	l->errnos_head = head;
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
							.index = o->off / a->psz, .err = o->res,
							.checked = o->gen == FTR_GEN_CHECKED };
	}
	if (len && (f = fmemopen(buf, len, "r"))) {
		ftr_outcome_attribute(f, sink.tid, calls, n, &st);
		for (size_t i = 0; i < n && !l->errno_bad; i++)
			if (ftr_outcome_broken(&calls[i])) {
				report_errno(a, rs, calls, n, &calls[i], f, sink.tid);
				l->errno_bad = true;
			}
		fclose(f);
	}
	note_calls(a, l, calls, n);
	ftr_outcome_add(&l->errnos, calls, n, &st);
out:
	free(calls);
	free(buf);
}

/*
 * Every check runs, even after one failed: what each of them saw is the evidence a
 * known issue needs (known.h), and a report that says "wrong through read(), right
 * after eviction" says more than the first failure alone.
 */
bool ftr_verify_epoch(struct ftr_arena *a, const struct ftr_roles *rs, struct ftr_ledger *l)
{
	bool racing = __atomic_load_n(&a->sh->fatal, __ATOMIC_ACQUIRE), ok = !racing, disk;
	unsigned char *resident;

	drain_trace(a, rs, l);
	note_other_calls(a, rs, l);
	if (racing) {
		/* A racing role already saw something wrong: the quiesced checks follow. */
		ftr_diag("%s", a->sh->fatal_msg);
		record_bad(a, rs, l, FTR_ST_RACING, a->sh->fatal_bad, a->sh->fatal_nbad);
		/* A hard error, not wrong data: no waiver of an earlier epoch's covers it. */
		if (!a->sh->fatal_nbad && !l->broken[0])
			snprintf(l->broken, sizeof(l->broken), "%.*s", (int)sizeof(l->broken) - 1, a->sh->fatal_msg);
		l->data_bad = true;
	}
	ftr_contract_epoch(a, l);
	epoch_view(a, l);
	ok &= verify_read(a, rs, l, a->fd, FTR_ST_READ);
	ok &= verify_map(a, rs, l, a->map, FTR_ST_MAP);
	ok &= verify_map(a, rs, l, a->map2, FTR_ST_MAP2);
	if (!a->env->caps.is_shmem) {
		/* khugepaged collapses best while the writers rest: what it did during the
		 * checks is checked before the eviction drops it. */
		if (a->khugepaged)
			drain_trace(a, rs, l);
		ok &= verify_durable(a, rs, l);
		resident = evict(a, l);
		ok &= verify_disk(a, rs, l, FTR_ST_DISK, &disk);
		l->disk_epochs += disk;
		ok &= verify_read(a, rs, l, a->fd, FTR_ST_EVICTED);
		if (!disk && resident)
			for (size_t i = 0; i < a->size / a->psz; i++)
				l->pages_not_on_disk += resident[i] & 1;
		ftr_contract_unseal(a, l, disk, resident);
		free(resident);
	}
	/* The THP contract starts afresh: eviction dropped the folios it was about. */
	for (uint32_t p = 0; p < a->npmds; p++)
		__atomic_store_n(&a->pmds[p].ok_split, 0, __ATOMIC_RELEASE);
	return ok;
}
