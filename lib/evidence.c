// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "evidence.h"

bool ftr_ev_all_bad(const struct ftr_ledger *l, enum ftr_class cls, unsigned path)
{
	for (size_t i = 0; i < l->nbads; i++)
		if (l->bads[i].b.cls != cls || ftr_ver_path(l->bads[i].b.want) != path)
			return false;
	return true;
}

bool ftr_ev_any_bad(const struct ftr_ledger *l, enum ftr_class cls, unsigned path)
{
	for (size_t i = 0; i < l->nbads; i++)
		if (l->bads[i].b.cls == cls && ftr_ver_path(l->bads[i].b.want) == path)
			return true;
	return false;
}

int ftr_ev_epoch_ops(const struct ftr_roles *rs, uint32_t epoch, uint64_t off, uint64_t len, enum ftr_op op,
		     struct ftr_op_hit *hits, int max)
{
	int n = 0;

	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_oplog *g = rs->roles[i].log;
		uint64_t head = __atomic_load_n(&g->head, __ATOMIC_ACQUIRE);

		for (uint64_t k = ftr_oplog_first(g, head); k < head && n < max; k++) {
			const struct ftr_op_entry *x = &g->e[k % g->cap];

			if (x->epoch == epoch && x->op == op && x->off < off + len && x->off + x->len > off)
				hits[n++] = (struct ftr_op_hit){ .role = i, .e = *x };
		}
	}
	return n;
}

bool ftr_ev_quiesced_bad(const struct ftr_ledger *l, uint32_t b, uint32_t epoch, const struct ftr_bad **disk)
{
	bool seen = false;

	*disk = NULL;
	for (size_t i = 0; i < l->nbads; i++) {
		const struct ftr_bad_rec *x = &l->bads[i];

		if (x->b.block != b || x->epoch != epoch || x->stage == FTR_ST_RACING)
			continue;
		seen = true;
		if (x->stage == FTR_ST_DISK)
			*disk = &x->b;
	}
	return seen;
}

struct ftr_op_hit *ftr_ev_all_hits(const struct ftr_roles *rs, int *max)
{
	*max = 0;
	for (int i = 0; i < rs->nroles; i++)
		*max += rs->roles[i].log->cap;
	return calloc(*max, sizeof(struct ftr_op_hit));
}

bool ftr_ev_last_direct(const struct ftr_roles *rs, uint32_t b, uint32_t epoch, struct ftr_op_hit *hits, int max,
			struct ftr_op_entry *w, int *tid)
{
	int n = ftr_ev_epoch_ops(rs, epoch, (uint64_t)b * FTR_BLOCK, FTR_BLOCK, FTR_OP_WRITE, hits, max);

	w->t1 = 0;
	for (int i = 0; i < n; i++)
		if (hits[i].e.path == FTR_P_DIRECT && hits[i].e.t1 > w->t1) {
			*w = hits[i].e;
			*tid = rs->roles[hits[i].role].st->tid;
		}
	return w->t1;
}

bool ftr_ev_seen_cached(const struct ftr_ledger *l, uint32_t b, uint32_t epoch, bool *on_disk)
{
	bool seen = false;

	*on_disk = false;
	for (size_t i = 0; i < l->nbads; i++) {
		const struct ftr_bad_rec *x = &l->bads[i];

		if (x->b.block != b || x->epoch != epoch)
			continue;
		if (x->stage == FTR_ST_DURABLE || x->stage == FTR_ST_DISK || x->stage == FTR_ST_EVICTED)
			*on_disk = true;
		else
			seen |= x->stage != FTR_ST_RACING;
	}
	return seen;
}

uint64_t ftr_ev_open_end(const struct ftr_op_entry *o)
{
	return o->open_ns ? o->t0 + o->open_ns : o->t1;
}

bool ftr_ev_op_between(const struct ftr_roles *rs, uint32_t epoch, uint64_t off, uint64_t len, enum ftr_op op,
		       uint64_t from, uint64_t to)
{
	struct ftr_op_hit *hits;
	bool found = false;
	int n, max;

	if (!(hits = ftr_ev_all_hits(rs, &max)))
		return true;	/* unknown: no evidence */
	n = ftr_ev_epoch_ops(rs, epoch, off, len, op, hits, max);
	for (int i = 0; i < n && !found; i++)
		found = !hits[i].e.res && hits[i].e.t0 > from && hits[i].e.t1 < to;
	free(hits);
	return found;
}

const struct ftr_op_entry *ftr_ev_next_openw(const struct ftr_roles *rs, uint32_t epoch, int *role, uint64_t *k)
{
	for (; *role < rs->nroles; (*role)++, *k = 0) {
		const struct ftr_role *r = &rs->roles[*role];
		uint64_t head = __atomic_load_n(&r->log->head, __ATOMIC_ACQUIRE);

		if (r->kind != FTR_R_WRITER || r->mode != FTR_P_OPENW)
			continue;
		if (*k < ftr_oplog_first(r->log, head))
			*k = ftr_oplog_first(r->log, head);
		while (*k < head) {
			const struct ftr_op_entry *o = &r->log->e[(*k)++ % r->log->cap];

			if (o->epoch == epoch && o->op == FTR_OP_WRITE)
				return o;
		}
	}
	return NULL;
}

bool ftr_ev_open_between(const struct ftr_roles *rs, uint32_t epoch, const struct ftr_op_entry *o, uint64_t from,
			 uint64_t to)
{
	const struct ftr_op_entry *p;
	uint64_t k = 0;
	int role = 0;

	while ((p = ftr_ev_next_openw(rs, epoch, &role, &k)))
		if (p != o && ftr_ev_open_end(p) > from && ftr_ev_open_end(p) < to)
			return true;
	return false;
}

bool ftr_ev_written_back(const struct ftr_ledger *l, const struct ftr_roles *rs, uint32_t b, uint32_t epoch,
			 uint64_t pmd_off, uint64_t pmd_len, uint64_t before, struct ftr_op_hit *hits, int max)
{
	const struct ftr_found *f = NULL;
	uint64_t synced = 0;
	int n;

	for (size_t i = 0; i < l->nbads; i++) {
		const struct ftr_bad_rec *x = &l->bads[i];

		if (x->b.block != b || x->epoch != epoch || x->stage == FTR_ST_RACING)
			continue;
		if (!x->b.found.stamp_valid || (f && (f->gen != x->b.found.gen || f->path != x->b.found.path)))
			return false;
		f = &x->b.found;
	}
	n = ftr_ev_epoch_ops(rs, epoch, pmd_off, pmd_len, FTR_OP_SYNC, hits, max);
	for (int i = 0; i < n; i++)
		if (!hits[i].e.res && hits[i].e.t0 < before && hits[i].e.t0 > synced)
			synced = hits[i].e.t0;
	n = ftr_ev_epoch_ops(rs, epoch, pmd_off, pmd_len, FTR_OP_WRITE, hits, max);
	for (int i = 0; i < n; i++)
		if (!hits[i].e.res && hits[i].e.path != FTR_P_DIRECT && hits[i].e.t1 > synced)
			return true;
	return false;
}
