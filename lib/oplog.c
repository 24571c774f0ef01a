// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oplog.h"
#include "oracle.h"

const char *const ftr_op_names[FTR_OP_NR] = {
	[FTR_OP_WRITE] = "write", [FTR_OP_COLLAPSE] = "collapse",
	[FTR_OP_KHUGEPAGED] = "khugepaged-scan", [FTR_OP_SPLIT] = "split",
	[FTR_OP_PUNCH] = "punch", [FTR_OP_PAGEOUT] = "pageout", [FTR_OP_READ] = "read", [FTR_OP_SYNC] = "sync",
};

static uint64_t now_base;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void ftr_now_reset(void)
{
	__atomic_store_n(&now_base, mono_ns(), __ATOMIC_RELAXED);
}

uint64_t ftr_now_base(void)
{
	return __atomic_load_n(&now_base, __ATOMIC_RELAXED);
}

uint64_t ftr_now_ns(void)
{
	return mono_ns() - __atomic_load_n(&now_base, __ATOMIC_RELAXED);
}

size_t ftr_oplog_size(uint32_t cap)
{
	return sizeof(struct ftr_oplog) + (size_t)cap * sizeof(struct ftr_op_entry);
}

void ftr_oplog_init(struct ftr_oplog *l, uint32_t cap, uint32_t role)
{
	l->head = 0;
	l->cap = cap;
	l->role = role;
}

void ftr_oplog_add(struct ftr_oplog *l, const struct ftr_op_entry *e)
{
	l->e[l->head % l->cap] = *e;
	__atomic_store_n(&l->head, l->head + 1, __ATOMIC_RELEASE);
}

static int hit_cmp(const void *a, const void *b)
{
	const struct ftr_op_hit *x = a, *y = b;

	return x->e.t1 < y->e.t1 ? -1 : x->e.t1 > y->e.t1;
}

uint64_t ftr_oplog_first(const struct ftr_oplog *l, uint64_t head)
{
	return head > l->cap ? head - l->cap : 0;
}

bool ftr_oplog_reaches(const struct ftr_oplog *l, uint32_t epoch)
{
	uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE);

	return head <= l->cap || l->e[ftr_oplog_first(l, head) % l->cap].epoch < epoch;
}

int ftr_oplog_find(struct ftr_oplog *const *logs, int nlogs, uint64_t off, uint64_t len,
		   unsigned op_mask, uint64_t until, struct ftr_op_hit *hits, int max)
{
	int n = 0, cap = max * 8;
	struct ftr_op_hit *all = calloc(cap, sizeof(*all));

	if (!all)
		return 0;
	for (int r = 0; r < nlogs; r++) {
		const struct ftr_oplog *l = logs[r];
		uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE);

		/* Newest first, so each log contributes its most recent overlaps. */
		for (uint64_t i = head, per = 0; i > ftr_oplog_first(l, head) && per < (uint64_t)max; i--) {
			const struct ftr_op_entry *e = &l->e[(i - 1) % l->cap];

			if (!(op_mask & (1u << e->op)) || e->off >= off + len || e->off + e->len <= off ||
			    e->t0 > until)
				continue;
			per++;
			if (n < cap)
				all[n++] = (struct ftr_op_hit){ .role = l->role, .e = *e };
		}
	}
	qsort(all, n, sizeof(*all), hit_cmp);
	if (n > max) {
		memmove(all, all + n - max, max * sizeof(*all));
		n = max;
	}
	memcpy(hits, all, n * sizeof(*all));
	free(all);
	return n;
}

void ftr_op_format(const struct ftr_op_hit *h, const char *role_name, char *buf, size_t len)
{
	const struct ftr_op_entry *e = &h->e;
	char what[32] = "";

	if (e->op == FTR_OP_WRITE)
		snprintf(what, sizeof(what), " gen=%u", e->gen);
	snprintf(buf, len, "t=%.6fs..%.6fs epoch %u %s: %s%s%s off=%#llx len=%#x%s res=%d",
		 e->t0 / 1e9, e->t1 / 1e9, e->epoch, role_name, ftr_op_names[e->op],
		 e->op == FTR_OP_WRITE ? " via " : "",
		 e->op == FTR_OP_WRITE ? ftr_path_names[e->path] : "",
		 (unsigned long long)e->off, e->len, what, e->res);
}

int ftr_oplog_dump(struct ftr_oplog *const *logs, int nlogs, const char *const *role_names,
		   FILE *f)
{
	size_t total = 0, n = 0;
	struct ftr_op_hit *all;
	char line[256];

	for (int r = 0; r < nlogs; r++) {
		uint64_t head = __atomic_load_n(&logs[r]->head, __ATOMIC_ACQUIRE);

		total += head - ftr_oplog_first(logs[r], head);
	}
	all = calloc(total + 1, sizeof(*all));
	if (!all)
		return -1;
	for (int r = 0; r < nlogs; r++) {
		const struct ftr_oplog *l = logs[r];
		uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE);

		for (uint64_t i = ftr_oplog_first(l, head); i < head; i++)
			all[n++] = (struct ftr_op_hit){ .role = l->role, .e = l->e[i % l->cap] };
	}
	qsort(all, n, sizeof(*all), hit_cmp);
	for (size_t i = 0; i < n; i++) {
		ftr_op_format(&all[i], role_names[all[i].role], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	free(all);
	return 0;
}

const char *const ftr_errno_slot_names[FTR_ERRNO_SLOTS] = {
	"ok", "EAGAIN", "EBUSY", "ENOMEM", "EINVAL", "other"
};

int ftr_errno_slot(int err)
{
	switch (err) {
	case 0: return 0;
	case EAGAIN: return 1;
	case EBUSY: return 2;
	case ENOMEM: return 3;
	case EINVAL: return 4;
	default: return 5;
	}
}
