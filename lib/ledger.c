// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include "ktap.h"
#include "ledger.h"

const char *const ftr_stage_names[FTR_ST_NR] = {
	[FTR_ST_RACING] = "a racing reader", [FTR_ST_READ] = "read()", [FTR_ST_MAP] = "the mapping",
	[FTR_ST_MAP2] = "a second mapping",
	[FTR_ST_DURABLE] = "an O_DIRECT read of the disk after msync(MS_SYNC) and fsync, the mappings live",
	[FTR_ST_EVICTED] = "read() after eviction",
	[FTR_ST_DISK] = "an O_DIRECT read of the disk after fsync",
};

/* Room for need more entries of size sz in *v (cap *cap); false when out of memory,
 * which marks the ledger's evidence incomplete. */
static bool room(struct ftr_ledger *l, void **v, size_t *cap, size_t used, size_t need, size_t sz)
{
	size_t c = *cap;
	void *n;

	if (used + need <= c)
		return true;
	while (c < used + need)
		c = c ? 2 * c : 1024;
	n = realloc(*v, c * sz);
	if (!n) {
		l->lost = true;
		ftr_diag("out of memory keeping the run's evidence: no waiver can hold");
		return false;
	}
	*v = n;
	*cap = c;
	return true;
}

bool ftr_ledger_add_bads(struct ftr_ledger *l, enum ftr_stage stage, uint32_t epoch, int32_t role,
			 const struct ftr_bad *bad, uint32_t nbad)
{
	if (!room(l, (void **)&l->bads, &l->bads_cap, l->nbads, nbad, sizeof(*l->bads)))
		return false;
	for (uint32_t i = 0; i < nbad; i++)
		l->bads[l->nbads++] = (struct ftr_bad_rec){ bad[i], stage, epoch, role };
	return true;
}

bool ftr_ledger_add_window(struct ftr_ledger *l, const struct ftr_window *w)
{
	if (!room(l, (void **)&l->cwin, &l->cwin_cap, l->ncwin, 1, sizeof(*l->cwin)))
		return false;
	l->cwin[l->ncwin++] = *w;
	return true;
}

void ftr_ledger_free(struct ftr_ledger *l)
{
	free(l->bads);
	free(l->cwin);
	l->bads = NULL;
	l->cwin = NULL;
}
