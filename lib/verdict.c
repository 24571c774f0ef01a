// SPDX-License-Identifier: GPL-2.0
/*
 * The verdicts.  Each passes only on evidence that its work happened: "ok collapse"
 * needs at least one collapse_file success attributed to the test's own calls (where
 * the trace can attribute) and the THP contract checked on at least one PMD; a call
 * that found the range already PMD-mapped did not collapse anything.  A known kernel
 * issue fails unless a waiver covers it (known.h).
 */
#include <errno.h>
#include <string.h>

#include "known.h"
#include "ktap.h"
#include "report.h"
#include "trace.h"
#include "verdict.h"

/* Collapses this test's calls made, by the trace where it can tell (or, for
 * MADV_COLLAPSE without it, calls that returned 0 and whose THP was seen right
 * after); *attempts, and how they were counted. */
static uint64_t collapses(const struct ftr_arena *a, const struct ftr_ledger *l, const struct ftr_role *who, uint64_t *attempts,
			  const char **how)
{
	if (a->khugepaged) {
		*attempts = l->khugepaged_attempts;
		*how = "khugepaged's collapse_file events on this file";
		return l->khugepaged_collapsed;
	}
	*attempts = who->st->ops;
	if (ftr_trace_mono()) {
		*how = "calls with a collapse_file success of their own in the trace (a pte_mapped_hugepage "
		       "one only where its PMD was one THP right after)";
		return l->errnos.collapsed;
	}
	*how = "calls that returned 0 and left a THP (no trace to attribute)";
	return who->st->thp_checked;
}

static void collapse_result(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	const struct ftr_cap *cap = a->sc->ro_mapping ? &a->env->caps.collapse_ro : &a->env->caps.collapse_rw;
	const struct ftr_role *who = NULL;
	uint64_t attempts, ok, right_after = 0, checked;
	const char *how = "";
	bool sealing = !a->env->caps.is_shmem && !a->khugepaged;

	for (int i = 0; i < rs->nroles; i++)
		if (rs->roles[i].kind == FTR_R_COLLAPSER || rs->roles[i].kind == FTR_R_KHUGEPAGED)
			who = &rs->roles[i];
	if (!who) {
		ftr_ktap_result(FTR_SKIP, "collapse", "the scenario does not collapse");
		return;
	}
	if (who->kind == FTR_R_COLLAPSER)
		right_after = who->st->thp_checked;
	checked = right_after + l->thp_checked;
	ok = collapses(a, l, who, &attempts, &how);
	ftr_diag("collapse: %llu of %llu succeeded; THP contract checked on %llu PMDs (%llu right after the call, "
		 "%llu at epoch ends, %llu of those PMD-mapped); counted: %s", (unsigned long long)ok,
		 (unsigned long long)attempts, (unsigned long long)checked, (unsigned long long)right_after,
		 (unsigned long long)l->thp_checked, (unsigned long long)l->thp_pmd_mapped_checked, how);
	if (sealing)
		ftr_diag("seal: %llu collapses raced a write and were sealed: %llu checked on the disk, %llu masked "
			 "by a write that ended after the collapse returned, %llu found a THP already there, %llu "
			 "not checked against the disk", (unsigned long long)l->sealed,
			 (unsigned long long)l->sealed_checked, (unsigned long long)l->sealed_masked,
			 (unsigned long long)l->sealed_no_collapse, (unsigned long long)l->sealed_unchecked);
	if (sealing && l->sealed_other)
		ftr_diag("seal: %llu more collapses by other roles raced a write and were sealed, %llu of them checked "
			 "on the disk and not masked", (unsigned long long)l->sealed_other,
			 (unsigned long long)l->sealed_other_checked);
	if (__atomic_load_n(&a->sh->thp, __ATOMIC_ACQUIRE)) {
		/* broken() printed it, with the PMD's state at that moment. */
		ftr_report_replay(a, rs);
		ftr_ktap_result(FTR_FAIL, "collapse", "THP state contradicts the collapse");
	} else if (l->errno_bad) {
		ftr_report_replay(a, rs);
		ftr_ktap_result(FTR_FAIL, "collapse", "MADV_COLLAPSE's errno contradicts its trace outcome");
	} else if (a->khugepaged && !ftr_trace_mono()) {
		ftr_ktap_result(FTR_SKIP, "collapse", "khugepaged's collapses of this file are known only from "
				"its trace, and there is none: %s", a->env->caps.tracefs.ok ?
				"the trace clock is not CLOCK_MONOTONIC" : a->env->caps.tracefs.why);
	} else if (!a->khugepaged && !who->st->res[0] && !cap->ok) {
		ftr_ktap_result(FTR_SKIP, "collapse", "%s (%llu attempts, last error %s)", cap->why,
				(unsigned long long)attempts, strerror(who->st->last_err));
	} else if (!a->khugepaged && cap->ok && attempts && who->st->res[1] == attempts) {
		/* EAGAIN means try again: a kernel that says it to every call on a filesystem
		 * it collapses (the probe did) is not a quiet skip. */
		ftr_diag("COLLAPSE NEVER SUCCEEDED: all %llu MADV_COLLAPSE calls answered EAGAIN on a filesystem "
			 "whose probe collapsed (errno by outcome above)", (unsigned long long)attempts);
		ftr_ktap_result(FTR_SKIP, "collapse", "not exercised: all %llu calls answered EAGAIN, on a filesystem "
				"that collapses", (unsigned long long)attempts);
	} else if (!ok || !checked) {
		ftr_ktap_result(FTR_SKIP, "collapse", "not exercised: %llu of %llu collapses succeeded, THP contract "
				"checked on %llu PMDs", (unsigned long long)ok, (unsigned long long)attempts,
				(unsigned long long)checked);
	} else if (sealing && l->sealed && !l->sealed_checked) {
		/* Collapses raced writes, and none of them was checked where a lost write shows. */
		ftr_ktap_result(FTR_SKIP, "collapse", "not exercised: %llu collapses raced a write, none was checked "
				"on the disk (%llu masked by a later write, %llu found a THP already there, %llu not "
				"checked)", (unsigned long long)l->sealed, (unsigned long long)l->sealed_masked,
				(unsigned long long)l->sealed_no_collapse, (unsigned long long)l->sealed_unchecked);
	} else {
		ftr_ktap_result(FTR_PASS, "collapse", NULL);
	}
}

static void churn_result(const struct ftr_arena *a, const struct ftr_roles *rs)
{
	uint64_t ops = 0;

	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];

		if (r->kind != FTR_R_CHURN)
			continue;
		ops += r->st->res[0];
		if (!r->st->res[0])
			ftr_diag("%s did nothing here: %s", r->name, r->ops->idle_why ?: strerror(r->st->last_err));
	}
	if (__atomic_load_n(&a->sh->contract, __ATOMIC_ACQUIRE) == 2) {
		ftr_diag("CONTRACT BROKEN: %s", a->sh->contract_msg);
		ftr_report_replay(a, rs);
		ftr_ktap_result(FTR_FAIL, "churn", "%s", a->sh->contract_msg);
	} else if (__atomic_load_n(&a->sh->known, __ATOMIC_ACQUIRE) == 2) {
		ftr_diag("KNOWN KERNEL ISSUE %s: %s", ftr_known_names[a->sh->known_id], a->sh->known_msg);
		ftr_report_replay(a, rs);
		ftr_known_result(a, "churn", a->sh->known_id, a->sh->known_msg);
	} else if (!ops) {
		ftr_ktap_result(FTR_SKIP, "churn", "no churn operation succeeded here (see the role lines)");
	} else {
		ftr_ktap_result(FTR_PASS, "churn", NULL);
	}
}

static void data_result(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	uint64_t writes = ftr_roles_writes(rs);
	enum ftr_known_id id;
	char ev[600];

	if (l->pages_not_on_disk)
		ftr_diag("data: %llu pages stayed resident through the evictions where O_DIRECT could not read the "
			 "disk: their blocks were not checked against the disk (%s)",
			 (unsigned long long)l->pages_not_on_disk, a->env->caps.odirect.why);
	if (l->data_bad) {
		/* A waiver covers known wrong data, never a check that could not run, nor a
		 * writeback error the issue does not explain. */
		id = l->broken[0] ? FTR_KI_NONE : ftr_known_data(a, rs, l, ev, sizeof(ev));
		if (l->broken[0])
			ftr_diag("%s", l->broken);
		if (id && l->sync_err) {
			if (l->sync_err == EIO && (id == FTR_KI_DIO_STALE || id == FTR_KI_DIO_WRITEBACK)) {
				size_t o = strlen(ev);

				snprintf(ev + o, sizeof(ev) - o, "; %s, as dio_warn_stale_pagecache() makes it",
					 l->sync_msg);
			} else {
				ftr_diag("known issue %s does not explain: %s", ftr_known_names[id], l->sync_msg);
				id = FTR_KI_NONE;
			}
		}
		ftr_kmsg_poll(&a->env->kmsg);
		ftr_kmsg_dump(&a->env->kmsg, 20);
		ftr_report_replay(a, rs);
		if (id) {
			ftr_diag("KNOWN KERNEL ISSUE %s: %s", ftr_known_names[id], ev);
			ftr_known_result(a, "data", id, ev);
		} else {
			ftr_ktap_result(FTR_FAIL, "data", "wrong data (report above)");
		}
	} else if (l->broken[0] || l->sync_err) {
		ftr_report_replay(a, rs);
		ftr_ktap_result(FTR_FAIL, "data", "%s", l->broken[0] ? l->broken : l->sync_msg);
	} else if (!writes || !l->epochs || !l->verified_bytes) {
		ftr_ktap_result(FTR_SKIP, "data", "no work to judge: %llu writes, %llu verified epochs, %llu bytes "
				"verified through the mappings", (unsigned long long)writes,
				(unsigned long long)l->epochs, (unsigned long long)l->verified_bytes);
	} else {
		ftr_ktap_result(FTR_PASS, "data", NULL);
	}
}

void ftr_verdicts(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	ftr_report_summary(a, rs, l);
	data_result(a, rs, l);
	if (a->sc->churn)
		churn_result(a, rs);
	if (ftr_roles_collapser(rs) && ftr_trace_mono())
		ftr_outcome_print(&l->errnos);
	else if (ftr_roles_collapser(rs))
		ftr_diag("errno by outcome: unavailable: %s", ftr_trace_active() ?
			 "the trace clock is not CLOCK_MONOTONIC" : "no trace (see coverage)");
	collapse_result(a, rs, l);
}
