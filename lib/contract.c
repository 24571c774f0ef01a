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
#include "ktap.h"
#include "mapping.h"
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

static int pmd_order(const struct ftr_arena *a)
{
	return __builtin_ctzl(a->pmd / a->psz);
}

static void broken(struct ftr_arena *a, uint32_t pmd, const char *fmt, ...)
{
	struct ftr_shared *sh = a->sh;
	uint32_t zero = 0;
	va_list ap;

	/* The first one wins: the report below shows the PMD as it was then. */
	if (!__atomic_compare_exchange_n(&sh->thp, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->thp_msg, sizeof(sh->thp_msg), fmt, ap);
	va_end(ap);
	ftr_diag("THP CONTRACT BROKEN: %s", sh->thp_msg);
	ftr_arena_show_pmd(a, pmd);
	__atomic_store_n(&sh->thp, 2, __ATOMIC_RELEASE);
}

/*
 * Whether PMD p is one PMD-order folio and, if want_mapped, mapped by the PMD; why
 * says what it is instead.  *mapped_known: the kernel could tell the PMD mapping of
 * this range (PAGEMAP_SCAN), so want_mapped was checked.  HOLDS_CUT: reading it
 * raised SIGBUS, a truncation cut the PMD (why names the address).  HOLDS_GONE: a page
 * was not mapped right after the fault that read it, so something unmapped it in
 * between (6.12 truncates the page cache at a writable open of a file with THPs,
 * which no seqcount brackets); it shows nothing of what the collapse left.
 */
enum { HOLDS_NOT, HOLDS, HOLDS_CUT, HOLDS_GONE };

/* Whether a scan of what was just faulted in found pages unmapped again. */
static bool any_unmapped(const struct ftr_folio_run *runs, int n)
{
	while (--n >= 0 && runs[n].order != -1)
		;
	return n >= 0;
}

static int pmd_holds(struct ftr_arena *a, uint32_t p, bool want_mapped, bool *mapped_known,
		     char *why, size_t len)
{
	char *addr = a->map + (size_t)p * a->pmd;
	struct ftr_folio_run runs[8];
	char str[200] = "unreadable";
	long mapped = -1;
	int n;

	/* Before faulting anything in: a read fault could map the PMD itself. */
	if (want_mapped)
		mapped = ftr_pmd_mapped_bytes(0, (unsigned long)addr, a->pmd);
	*mapped_known = mapped >= 0;
	if (ftr_fault_in(addr, a->pmd, a->psz) < a->pmd) {
		snprintf(why, len, "reading it through the mapping raised SIGBUS at %p", ftr_map_fault_addr());
		return HOLDS_CUT;
	}
	n = ftr_folio_scan(addr, a->pmd, runs, 8);
	if (n == 1 && runs[0].order == pmd_order(a) && (mapped < 0 || (size_t)mapped == a->pmd))
		return HOLDS;
	if (n > 0)
		ftr_folio_runs_str(runs, n, str, sizeof(str));
	snprintf(why, len, "its pages are %s, %s", str,
		 mapped < 0 ? "PMD mapping not asked" : (size_t)mapped == a->pmd ? "mapped by the PMD" :
		 "not mapped by the PMD");
	return any_unmapped(runs, n) ? HOLDS_GONE : HOLDS_NOT;
}

bool ftr_contract_after_call(struct ftr_arena *a, uint32_t pmd, uint64_t split0, uint64_t store0)
{
	struct ftr_pmd_state *s = &a->pmds[pmd];
	bool shmem = a->env->caps.is_shmem, known;
	bool want_mapped = shmem || ftr_seqc_same(&s->store, store0);
	char why[300];
	int holds = pmd_holds(a, pmd, want_mapped, &known, why, sizeof(why));

	/* What a split or a store begun meanwhile may have done proves nothing, and a
	 * truncation racing the check (a split for the seqcount too) cut the PMD. */
	if (!ftr_seqc_same(&s->split, split0) || holds == HOLDS_CUT || holds == HOLDS_GONE ||
	    (holds != HOLDS && !shmem && !ftr_seqc_same(&s->store, store0)))
		return false;
	if (holds != HOLDS) {
		broken(a, pmd, "PMD %u [%#zx, %#zx): right after MADV_COLLAPSE returned 0, with no split since, "
		       "%s (a collapse makes one order-%d folio%s)", pmd, pmd * a->pmd, (pmd + 1) * a->pmd, why,
		       pmd_order(a), want_mapped ? ", mapped by the PMD" : "");
		return false;
	}
	return true;
}

/* With fault, the PMD is read in first: a pageout or a truncation racing the look
 * unmaps pages between the fault and the scan, and such a look is taken again, a few
 * times.  Without, only what is mapped is looked at, and no IO is caused. */
bool ftr_contract_is_thp(struct ftr_arena *a, uint32_t pmd, bool fault)
{
	char *addr = a->map + (size_t)pmd * a->pmd;
	struct ftr_folio_run runs[8];

	for (int tries = 0; tries < (fault ? 4 : 1); tries++) {
		int n;

		if (fault && ftr_fault_in(addr, a->pmd, a->psz) < a->pmd)
			return false;
		n = ftr_folio_scan(addr, a->pmd, runs, 8);
		if (n == 1 && runs[0].order == pmd_order(a))
			return true;
		if (!any_unmapped(runs, n))
			return false;
	}
	return false;
}

void ftr_contract_seal(struct ftr_arena *a, uint32_t pmd, uint64_t t0, uint64_t t1, bool other)
{
	struct ftr_pmd_state *s = &a->pmds[pmd];

	/* Not in a replay: writers held off would not write what the record says. */
	if (a->env->caps.is_shmem || a->replay || __atomic_load_n(&s->sealed, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&s->sealed_t0, t0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sealed_t1, t1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sealed_other, other, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sealed, 1, __ATOMIC_RELEASE);
}

bool ftr_contract_may_write(const struct ftr_arena *a, uint64_t off, uint64_t len)
{
	for (uint64_t p = off / a->pmd; len && p <= (off + len - 1) / a->pmd; p++)
		if (__atomic_load_n(&a->pmds[p].sealed, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

bool ftr_contract_all_sealed(const struct ftr_arena *a)
{
	for (uint32_t p = 0; p < a->npmds; p++)
		if (!__atomic_load_n(&a->pmds[p].sealed, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

void ftr_contract_khugepaged_event(struct ftr_arena *a, struct ftr_ledger *l, uint32_t pmd, uint64_t t_ns)
{
	struct ftr_pmd_state *s = &a->pmds[pmd];
	char why[300];
	bool known;

	if (pmd >= a->npmds || ld(&s->split.t_end) + KHUGEPAGED_MARGIN_NS >= t_ns)
		return;
	if (pmd_holds(a, pmd, false, &known, why, sizeof(why)) != HOLDS) {
		broken(a, pmd, "PMD %u [%#zx, %#zx): khugepaged's collapse_file succeeded at t=%.6fs and no split "
		       "of it ended after %.6fs, but at the epoch's end %s", pmd, pmd * a->pmd,
		       (pmd + 1) * a->pmd, t_ns / 1e9, ld(&s->split.t_end) / 1e9, why);
		return;
	}
	l->thp_checked++;
}

void ftr_contract_epoch(struct ftr_arena *a, struct ftr_ledger *l)
{
	uint32_t want_mapped = 0, mapped_unknown = 0;
	struct ftr_smaps sm;
	unsigned long pmd_kb;
	char why[300];

	for (uint32_t p = 0; p < a->npmds && !a->khugepaged; p++) {
		struct ftr_pmd_state *s = &a->pmds[p];
		bool want, known;

		if (!ftr_pmd_collapsed(a, p))
			continue;
		want = a->env->caps.is_shmem || ftr_seqc_same(&s->store, ld(&s->ok_store));
		l->thp_checked++;
		/* Roles are quiesced and the file has its full size: a SIGBUS here breaks
		 * the contract too. */
		if (pmd_holds(a, p, want, &known, why, sizeof(why)) != HOLDS) {
			broken(a, p, "PMD %u [%#zx, %#zx): MADV_COLLAPSE returned 0 and nothing split it since, "
			       "but at the epoch's end %s", p, p * a->pmd, (p + 1) * a->pmd, why);
			return;
		}
		want_mapped += want;
		mapped_unknown += want && !known;
	}
	l->thp_pmd_mapped_checked += want_mapped;
	/* Kernels before PAGEMAP_SCAN (6.7) tell PMD mappings per VMA only. */
	if (!mapped_unknown || ftr_smaps_read(0, (unsigned long)a->map, &sm))
		return;
	pmd_kb = a->env->caps.is_shmem ? sm.shmem_pmd_kb : sm.file_pmd_kb;
	if (pmd_kb < want_mapped * (a->pmd >> 10))
		broken(a, 0, "%u PMDs were collapsed by MADV_COLLAPSE and untouched since, but smaps shows %s%lu kB",
		       want_mapped, a->env->caps.is_shmem ? "ShmemPmdMapped: " : "FilePmdMapped: ", pmd_kb);
}

void ftr_contract_unseal(struct ftr_arena *a, struct ftr_ledger *l, bool on_disk, const unsigned char *resident)
{
	size_t per_pmd = a->pmd / a->psz;

	for (uint32_t p = 0; p < a->npmds; p++) {
		struct ftr_pmd_state *s = &a->pmds[p];
		bool evicted = resident;

		if (!s->sealed)
			continue;
		for (size_t i = 0; resident && i < per_pmd; i++)
			evicted &= !(resident[p * per_pmd + i] & 1);
		if (s->sealed_other) {
			/* Another role's: whether it built a THP, no trace says. */
			l->sealed_other++;
			l->sealed_other_checked += ld(&s->write.t_end) <= s->sealed_t1 && (on_disk || evicted);
			s->sealed = s->sealed_collapse = s->sealed_other = 0;
			continue;
		}
		l->sealed++;
		/* A write that ended after the collapse returned may have dirtied the THP
		 * and repaired what the collapse lost: the check proves nothing then. */
		if (ld(&s->write.t_end) > s->sealed_t1)
			l->sealed_masked++;
		else if (!on_disk && !evicted)
			l->sealed_unchecked++;
		else if (s->sealed_collapse || !ftr_trace_mono())
			l->sealed_checked++;
		else
			l->sealed_no_collapse++;
		s->sealed = s->sealed_collapse = 0;
	}
}
