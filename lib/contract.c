// SPDX-License-Identifier: GPL-2.0
/*
 * The counters make the checks immune to ordering races: the collapser snapshots a
 * PMD's split counter before its call, and whatever it finds right after the call
 * counts only if no split began in between (ftr_seqc_same()); after quiescing,
 * ok_split == split.seq + 1 holds exactly when a collapse succeeded and no split
 * began since.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "engine.h"
#include "ktap.h"
#include "mapping.h"
#include "role.h"
#include "thp.h"
#include "trace.h"

/*
 * khugepaged's collapse_file event comes after the new folio is in the page cache,
 * and after it retracted the page tables of every mapping; a split of the new THP
 * may begin and end in that time.  So only an event that no split ended within this
 * margin before counts (TCG guests run kernel code ~10x slower).
 */
#define KHUGEPAGED_MARGIN_NS (5 * 1000 * 1000ULL)

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static int pmd_order(const struct ftr_engine *e)
{
	return __builtin_ctzl(e->pmd / e->psz);
}

static void broken(struct ftr_engine *e, uint32_t pmd, const char *fmt, ...)
{
	struct ftr_shared *sh = e->sh;
	uint32_t zero = 0;
	va_list ap;

	/* The first one wins: the report below shows the PMD as it was then. */
	if (!__atomic_compare_exchange_n(&sh->thp, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->thp_msg, sizeof(sh->thp_msg), fmt, ap);
	va_end(ap);
	ftr_diag("THP CONTRACT BROKEN: %s", sh->thp_msg);
	ftr_report_thp_range(e, pmd);
	__atomic_store_n(&sh->thp, 2, __ATOMIC_RELEASE);
}

/*
 * Whether PMD p is one PMD-order folio and, if want_mapped, mapped by the PMD; why
 * says what it is instead.  *mapped_known: the kernel could tell the PMD mapping of
 * this range (PAGEMAP_SCAN), so want_mapped was checked.  HOLDS_CUT: reading it
 * raised SIGBUS, a truncation cut the PMD (why names the address).
 */
enum { HOLDS_NOT, HOLDS, HOLDS_CUT };

static int pmd_holds(struct ftr_engine *e, uint32_t p, bool want_mapped, bool *mapped_known,
		     char *why, size_t len)
{
	char *addr = e->map + (size_t)p * e->pmd;
	struct ftr_folio_run runs[8];
	char str[200] = "unreadable";
	long mapped = -1;
	int n;

	/* Before faulting anything in: a read fault could map the PMD itself. */
	if (want_mapped)
		mapped = ftr_pmd_mapped_bytes(0, (unsigned long)addr, e->pmd);
	*mapped_known = mapped >= 0;
	if (ftr_fault_in(addr, e->pmd, e->psz) < e->pmd) {
		snprintf(why, len, "reading it through the mapping raised SIGBUS at %p", ftr_map_fault_addr());
		return HOLDS_CUT;
	}
	n = ftr_folio_scan(addr, e->pmd, runs, 8);
	if (n == 1 && runs[0].order == pmd_order(e) && (mapped < 0 || (size_t)mapped == e->pmd))
		return HOLDS;
	if (n > 0)
		ftr_folio_runs_str(runs, n, str, sizeof(str));
	snprintf(why, len, "its pages are %s, %s", str,
		 mapped < 0 ? "PMD mapping not asked" : (size_t)mapped == e->pmd ? "mapped by the PMD" :
		 "not mapped by the PMD");
	return HOLDS_NOT;
}

void ftr_contract_after_call(struct ftr_role *r, uint32_t pmd, uint64_t t0, uint64_t split0,
			     uint64_t store0, bool raced_write)
{
	struct ftr_engine *e = r->eng;
	struct ftr_pmd_state *s = &e->pmds[pmd];
	bool shmem = e->env->caps.is_shmem, known;
	bool want_mapped = shmem || ftr_seqc_same(&s->store, store0);
	char why[300];
	int holds = pmd_holds(e, pmd, want_mapped, &known, why, sizeof(why));

	/* What a split or a store begun meanwhile may have done proves nothing, and a
	 * truncation racing the check (a split for the seqcount too) cut the PMD. */
	if (!ftr_seqc_same(&s->split, split0) || holds == HOLDS_CUT ||
	    (holds != HOLDS && !shmem && !ftr_seqc_same(&s->store, store0)))
		return;
	if (holds != HOLDS) {
		broken(e, pmd, "PMD %u [%#zx, %#zx): right after MADV_COLLAPSE returned 0, with no split since, "
		       "%s (a collapse makes one order-%d folio%s)", pmd, pmd * e->pmd, (pmd + 1) * e->pmd, why,
		       pmd_order(e), want_mapped ? ", mapped by the PMD" : "");
		return;
	}
	r->st->thp_checked++;
	/* Only the check after eviction sees a clean THP that lost data (contract.h).  Not
	 * in a replay: writers held off would not write what the record says. */
	if (raced_write && !shmem && !e->replay && !__atomic_load_n(&s->sealed, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&s->sealed_t0, t0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->sealed, 1, __ATOMIC_RELEASE);
	}
}

bool ftr_contract_may_write(const struct ftr_engine *e, uint64_t off, uint64_t len)
{
	for (uint64_t p = off / e->pmd; len && p <= (off + len - 1) / e->pmd; p++)
		if (__atomic_load_n(&e->pmds[p].sealed, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

bool ftr_contract_all_sealed(const struct ftr_engine *e)
{
	for (uint32_t p = 0; p < e->npmds; p++)
		if (!__atomic_load_n(&e->pmds[p].sealed, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

void ftr_contract_khugepaged_event(struct ftr_engine *e, uint32_t pmd, uint64_t t_ns)
{
	struct ftr_pmd_state *s = &e->pmds[pmd];
	char why[300];
	bool known;

	if (pmd >= e->npmds || ld(&s->split.t_end) + KHUGEPAGED_MARGIN_NS >= t_ns)
		return;
	if (pmd_holds(e, pmd, false, &known, why, sizeof(why)) != HOLDS) {
		broken(e, pmd, "PMD %u [%#zx, %#zx): khugepaged's collapse_file succeeded at t=%.6fs and no split "
		       "of it ended after %.6fs, but at the epoch's end %s", pmd, pmd * e->pmd,
		       (pmd + 1) * e->pmd, t_ns / 1e9, ld(&s->split.t_end) / 1e9, why);
		return;
	}
	e->thp_checked++;
}

void ftr_contract_epoch(struct ftr_engine *e)
{
	uint32_t want_mapped = 0, mapped_unknown = 0;
	struct ftr_smaps sm;
	unsigned long pmd_kb;
	char why[300];

	for (uint32_t p = 0; p < e->npmds && !e->khugepaged; p++) {
		struct ftr_pmd_state *s = &e->pmds[p];
		bool want, known;

		if (ld(&s->ok_split) != ld(&s->split.seq) + 1)
			continue;
		want = e->env->caps.is_shmem || ftr_seqc_same(&s->store, ld(&s->ok_store));
		e->thp_checked++;
		/* Roles are quiesced and the file has its full size: a SIGBUS here breaks
		 * the contract too. */
		if (pmd_holds(e, p, want, &known, why, sizeof(why)) != HOLDS) {
			broken(e, p, "PMD %u [%#zx, %#zx): MADV_COLLAPSE returned 0 and nothing split it since, "
			       "but at the epoch's end %s", p, p * e->pmd, (p + 1) * e->pmd, why);
			return;
		}
		want_mapped += want;
		mapped_unknown += want && !known;
	}
	e->thp_pmd_mapped_checked += want_mapped;
	/* Kernels before PAGEMAP_SCAN (6.7) tell PMD mappings per VMA only. */
	if (!mapped_unknown || ftr_smaps_read(0, (unsigned long)e->map, &sm))
		return;
	pmd_kb = e->env->caps.is_shmem ? sm.shmem_pmd_kb : sm.file_pmd_kb;
	if (pmd_kb < want_mapped * (e->pmd >> 10))
		broken(e, 0, "%u PMDs were collapsed by MADV_COLLAPSE and untouched since, but smaps shows %s%lu kB",
		       want_mapped, e->env->caps.is_shmem ? "ShmemPmdMapped: " : "FilePmdMapped: ", pmd_kb);
}

void ftr_contract_unseal(struct ftr_engine *e, const unsigned char *resident)
{
	size_t per_pmd = e->pmd / e->psz;

	for (uint32_t p = 0; p < e->npmds; p++) {
		struct ftr_pmd_state *s = &e->pmds[p];
		bool evicted = true;

		if (!s->sealed)
			continue;
		for (size_t i = 0; resident && i < per_pmd; i++)
			evicted &= !(resident[p * per_pmd + i] & 1);
		if (!resident || !evicted)
			e->sealed_unchecked++;
		else if (s->sealed_collapse || !ftr_trace_mono())
			e->sealed_checked++;
		else
			e->sealed_no_collapse++;
		s->sealed = s->sealed_collapse = 0;
	}
}

/* Collapses this test's calls made, by the trace where it can tell (or, for
 * MADV_COLLAPSE without it, calls that returned 0 and whose THP was seen right
 * after); *attempts, and how they were counted. */
static uint64_t collapses(struct ftr_engine *e, const struct ftr_role *who, uint64_t *attempts,
			  const char **how)
{
	if (e->khugepaged) {
		*attempts = e->khugepaged_attempts;
		*how = "khugepaged's collapse_file events on this file";
		return e->khugepaged_collapsed;
	}
	*attempts = who->st->ops;
	if (ftr_trace_mono()) {
		*how = "calls with a collapse_file success of their own in the trace";
		return e->errnos.collapsed;
	}
	*how = "calls that returned 0 and left a THP (no trace to attribute)";
	return who->st->thp_checked;
}

void ftr_contract_result(struct ftr_engine *e)
{
	const struct ftr_cap *cap = e->sc->ro_mapping ? &e->env->caps.collapse_ro : &e->env->caps.collapse_rw;
	const struct ftr_role *who = NULL;
	uint64_t attempts, ok, right_after = 0, checked;
	const char *how = "";

	for (int i = 0; i < e->nroles; i++)
		if (e->roles[i].kind == FTR_R_COLLAPSER || e->roles[i].kind == FTR_R_KHUGEPAGED)
			who = &e->roles[i];
	if (!who) {
		ftr_ktap_result(FTR_SKIP, "collapse", "the scenario does not collapse");
		return;
	}
	if (who->kind == FTR_R_COLLAPSER)
		right_after = who->st->thp_checked;
	checked = right_after + e->thp_checked;
	ok = collapses(e, who, &attempts, &how);
	ftr_diag("collapse: %llu of %llu succeeded; THP contract checked on %llu PMDs (%llu right after the call, "
		 "%llu at epoch ends, %llu of those PMD-mapped); counted: %s", (unsigned long long)ok,
		 (unsigned long long)attempts, (unsigned long long)checked, (unsigned long long)right_after,
		 (unsigned long long)e->thp_checked, (unsigned long long)e->thp_pmd_mapped_checked, how);
	if (!e->env->caps.is_shmem && !e->khugepaged)
		ftr_diag("seal: %llu collapses that raced a write were sealed and checked after eviction "
			 "(%llu sealed found a THP already there, %llu sealed stayed resident: not checked)",
			 (unsigned long long)e->sealed_checked, (unsigned long long)e->sealed_no_collapse,
			 (unsigned long long)e->sealed_unchecked);
	if (__atomic_load_n(&e->sh->thp, __ATOMIC_ACQUIRE)) {
		/* broken() printed it, with the PMD's state at that moment. */
		ftr_report_replay(e);
		ftr_ktap_result(FTR_FAIL, "collapse", "THP state contradicts the collapse");
	} else if (e->errno_bad) {
		ftr_report_replay(e);
		ftr_ktap_result(FTR_FAIL, "collapse", "MADV_COLLAPSE's errno contradicts its trace outcome");
	} else if (e->khugepaged && !ftr_trace_mono()) {
		ftr_ktap_result(FTR_SKIP, "collapse", "khugepaged's collapses of this file are known only from "
				"its trace, and there is none: %s", e->env->caps.tracefs.ok ?
				"the trace clock is not CLOCK_MONOTONIC" : e->env->caps.tracefs.why);
	} else if (!e->khugepaged && !who->st->res[0] && !cap->ok) {
		ftr_ktap_result(FTR_SKIP, "collapse", "%s (%llu attempts, last error %s)", cap->why,
				(unsigned long long)attempts, strerror(who->st->last_err));
	} else if (!ok || !checked) {
		ftr_ktap_result(FTR_SKIP, "collapse", "not exercised: %llu of %llu collapses succeeded, THP contract "
				"checked on %llu PMDs", (unsigned long long)ok, (unsigned long long)attempts,
				(unsigned long long)checked);
	} else {
		ftr_ktap_result(FTR_PASS, "collapse", NULL);
	}
}
