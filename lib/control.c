// SPDX-License-Identifier: GPL-2.0
/*
 * What roles tell the controller while they race: the operations they did (their
 * logs), wrong data or a hard error (fatal: the epoch ends and the first one is
 * reported), a broken kernel contract, or one broken as a known issue with its
 * evidence (the churn verdict), and which range an operation worked on (so overlaps
 * with collapses are counted there).
 * Everything lands in the shared area, so forked roles report the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "control.h"

void ftr_fatal(struct ftr_role *r, const struct ftr_bad *bad, uint32_t nbad, const char *fmt, ...)
{
	struct ftr_shared *sh = r->arena->sh;
	uint32_t zero = 0;
	va_list ap;

	/* The first fatal error wins; the controller reports it after quiescing. */
	if (!__atomic_compare_exchange_n(&sh->fatal, &zero, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	sh->fatal_role = r->id;
	sh->fatal_nbad = nbad < FTR_FATAL_BADS ? nbad : FTR_FATAL_BADS;
	for (uint32_t i = 0; i < sh->fatal_nbad; i++)
		sh->fatal_bad[i] = bad[i];
	va_start(ap, fmt);
	vsnprintf(sh->fatal_msg, sizeof(sh->fatal_msg), fmt, ap);
	va_end(ap);
	__atomic_store_n(&sh->fatal, 2, __ATOMIC_RELEASE);
}

void ftr_churn_range(struct ftr_role *r, uint64_t off, uint64_t len)
{
	struct ftr_arena *a = r->arena;

	if (off / a->pmd == (off + len - 1) / a->pmd) {
		r->cs = &a->pmds[off / a->pmd].collapse;
		r->cs_snap = ftr_seqc_read(r->cs);
	}
}

static void contract_record(struct ftr_role *r, uint32_t *flag, char *msg, size_t len, uint32_t *idp,
			    uint32_t id, const char *fmt, va_list ap)
{
	uint32_t zero = 0;
	int n;

	/* The first one wins; the controller reports it after quiescing. */
	if (!__atomic_compare_exchange_n(flag, &zero, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (idp)
		*idp = id;
	n = snprintf(msg, len, "%s: ", r->name);
	vsnprintf(msg + n, len - n, fmt, ap);
	__atomic_store_n(flag, 2, __ATOMIC_RELEASE);
}

void ftr_contract_fail(struct ftr_role *r, const char *fmt, ...)
{
	struct ftr_shared *sh = r->arena->sh;
	va_list ap;

	va_start(ap, fmt);
	contract_record(r, &sh->contract, sh->contract_msg, sizeof(sh->contract_msg), NULL, 0, fmt, ap);
	va_end(ap);
}

void ftr_contract_known(struct ftr_role *r, enum ftr_known_id id, const char *fmt, ...)
{
	struct ftr_shared *sh = r->arena->sh;
	va_list ap;

	va_start(ap, fmt);
	contract_record(r, &sh->known, sh->known_msg, sizeof(sh->known_msg), &sh->known_id, id, fmt, ap);
	va_end(ap);
}
