// SPDX-License-Identifier: GPL-2.0
#include "arena.h"
#include "ktap.h"
#include "rng.h"
#include "thp.h"

static uint32_t load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

void ftr_seg_range(const struct ftr_arena *a, uint32_t seg, uint32_t *first, uint32_t *n)
{
	uint64_t shift = load32(&a->sh->seg_shift), lo, hi;

	lo = seg ? shift + (uint64_t)(seg - 1) * a->seg : 0;
	hi = shift + (uint64_t)seg * a->seg;
	if (hi > a->size)
		hi = a->size;
	if (lo > hi)
		lo = hi;
	*first = lo / FTR_BLOCK;
	*n = (hi - lo) / FTR_BLOCK;
}

int ftr_seg_owner(const struct ftr_arena *a, uint32_t epoch, uint32_t seg)
{
	uint32_t first, n;

	uint32_t pmd = ftr_owned_pmd(a, epoch), per_pmd = a->pmd / FTR_BLOCK;

	/* The tail role owns the last two segments' worth of the file, always. */
	ftr_seg_range(a, seg, &first, &n);
	if (a->tail_owner >= 0 && (uint64_t)(first + n) * FTR_BLOCK + 2 * a->seg > a->size)
		return a->tail_owner;
	if (pmd != UINT32_MAX && first < (pmd + 1) * per_pmd && first + n > pmd * per_pmd)
		return a->pmd_owner;
	return ftr_mix64(a->seed ^ (uint64_t)epoch << 32 ^ seg) % a->nowners;
}

uint32_t ftr_owned_pmd(const struct ftr_arena *a, uint32_t epoch)
{
	/* Not the last PMD where the tail role owns the file's end; every other epoch,
	 * so that each PMD still meets every writer most of the time. */
	uint32_t n = a->npmds - (a->tail_owner >= 0);

	if (a->pmd_owner < 0 || epoch % 2 || !n)
		return UINT32_MAX;
	return ftr_mix64(a->seed ^ 0x9d5a ^ (uint64_t)epoch << 32) % n;
}

bool ftr_pmd_collapsed(const struct ftr_arena *a, uint32_t pmd)
{
	const struct ftr_pmd_state *s = &a->pmds[pmd];

	return load64(&s->ok_split) == load64(&s->split.seq) + 1;
}

void ftr_arena_show_pmd(const struct ftr_arena *a, uint32_t pmd)
{
	static struct ftr_thp_range tr;	/* too big for a role's stack; one report at a time */
	const struct ftr_pmd_state *s = &a->pmds[pmd];
	struct ftr_smaps sm;
	char str[640];

	/* The same reading and wording as tools/thpmap --pid. */
	ftr_thp_range_read(0, (unsigned long)a->map + (size_t)pmd * a->pmd, a->pmd, &tr);
	ftr_thp_range_str(&tr, str, sizeof(str));
	ftr_diag("  THP state of PMD %u [%#zx, %#zx): %s", pmd, pmd * a->pmd, (pmd + 1) * a->pmd, str);
	if (!ftr_smaps_read(0, (unsigned long)a->map, &sm))
		ftr_diag("  mapping: Rss %lu kB, FilePmdMapped %lu kB, ShmemPmdMapped %lu kB", sm.rss_kb,
			 sm.file_pmd_kb, sm.shmem_pmd_kb);
	ftr_diag("  PMD %u: splits begun %llu, collapses begun %llu, collapsed and untouched since: %s",
		 pmd, (unsigned long long)s->split.seq, (unsigned long long)s->collapse.seq,
		 ftr_pmd_collapsed(a, pmd) ? "yes" : "no");
}
