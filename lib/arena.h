/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arena: the stage every role plays on, and nothing of what they do.  The file and its
 * geometry, both mappings, and the one MAP_SHARED anonymous area that roles share
 * whether they are threads or forked processes: control words, per-PMD state, the
 * oracle, the segment owners.  Roles report up only by writing here (control.h), the
 * way LTP's forked children write into one shared page.
 */
#ifndef FTR_ARENA_H
#define FTR_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fzsync.h"
#include "oplog.h"
#include "oracle.h"
#include "scenario.h"

#define FTR_MAX_ROLES 48
#define FTR_FATAL_BADS 32	/* a zero-range leaves up to 14 beside it (known.c) */

enum ftr_split_mode { FTR_SPLIT_NONE, FTR_SPLIT_DEBUGFS, FTR_SPLIT_PUNCH, FTR_SPLIT_PAGEOUT };

/*
 * "Did anything of kind X overlap my window?"  An operation brackets itself with
 * ftr_seqc_begin/end; an observer takes ftr_seqc_read before its window (which says
 * "busy" if one is in progress) and asks ftr_seqc_same after.  Begin raises active
 * before seq, the observer reads seq before active: every interleaving is caught.
 */
struct ftr_seqc {
	uint64_t seq;
	int64_t active;
	uint64_t t_end;		/* ftr_now_ns() when the latest operation ended */
};

#define FTR_SEQC_BUSY UINT64_MAX

static inline void ftr_seqc_begin(struct ftr_seqc *c)
{
	__atomic_add_fetch(&c->active, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
}

static inline void ftr_seqc_end(struct ftr_seqc *c)
{
	uint64_t now = ftr_now_ns(), t = __atomic_load_n(&c->t_end, __ATOMIC_RELAXED);

	/* khugepaged's collapses are known only by their trace time: whether a split
	 * ended after one is a matter of clocks (contract.c). */
	while (t < now && !__atomic_compare_exchange_n(&c->t_end, &t, now, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
	__atomic_sub_fetch(&c->active, 1, __ATOMIC_SEQ_CST);
}

static inline uint64_t ftr_seqc_read(struct ftr_seqc *c)
{
	uint64_t s = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);

	return __atomic_load_n(&c->active, __ATOMIC_SEQ_CST) ? FTR_SEQC_BUSY : s;
}

static inline bool ftr_seqc_same(struct ftr_seqc *c, uint64_t snap)
{
	return snap != FTR_SEQC_BUSY && __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST) == snap;
}

/* Per PMD: what may have split it, stored through it, or collapsed it, and when. */
struct ftr_pmd_state {
	struct ftr_seqc split;		/* splits, punches, O_DIRECT, opens for write */
	struct ftr_seqc resplit;	/* of those, the splits proper: splitter, punches, truncation */
	struct ftr_seqc store;		/* stores through the mapping */
	struct ftr_seqc collapse;	/* MADV_COLLAPSE calls */
	struct ftr_seqc write;		/* writes of any path into the PMD */
	uint64_t ok_split;		/* split.seq + 1 as of a collapse that returned 0 */
	uint64_t ok_store;		/* store.seq as of that collapse */
	/* A collapse that returned 0 while a write into the PMD was in flight: writers
	 * keep off it until the epoch's check after eviction, so that a clean THP
	 * holding new data is caught before a later write dirties it (contract.h). */
	uint32_t sealed;
	uint32_t sealed_collapse;	/* ... and the trace shows that call's collapse_file success */
	uint32_t sealed_other;		/* ... by another role than the collapser (aspace) */
	uint64_t sealed_t0;		/* when the sealing call began (ftr_now_ns()) */
	uint64_t sealed_t1;		/* ... and returned: a write that ended after it masks the seal */
};

enum ftr_phase { FTR_PH_SETUP, FTR_PH_RUN, FTR_PH_QUIESCE, FTR_PH_STOP };

struct ftr_shared {
	uint32_t epoch, phase, acks;
	uint32_t seg_shift;	/* this epoch's segment boundary offset */
	uint32_t fatal;		/* a role saw wrong data or a hard error */
	/* The first bad blocks a racing check saw: each needs its own evidence. */
	struct ftr_bad fatal_bad[FTR_FATAL_BADS];
	uint32_t fatal_nbad;
	uint32_t fatal_role;
	uint64_t fatal_off;
	char fatal_msg[200];
	struct ftr_seqc collapse_any;	/* every MADV_COLLAPSE call, whatever its PMD */
	uint32_t contract;	/* a churn role saw the kernel break a stated contract */
	char contract_msg[256];
	uint32_t known;		/* ... or hit a known kernel issue, with evidence (known.h) */
	uint32_t known_id;
	char known_msg[256];
	uint32_t thp;		/* the THP contract broke (contract.h): first report wins */
	char thp_msg[400];
	struct ftr_fzsync fz;	/* the collapser and the fz writer, with .fzsync */
};

struct ftr_arena {
	const struct ftr_scenario *sc;
	struct ftr_env *env;
	uint64_t seed;
	size_t psz, pmd, size, seg;
	uint32_t nblocks, npmds, nseg;
	char path[4096];	/* the test file, absolute */
	int fd;			/* the controller's fd (read-only with ro_mapping) */
	char *map, *map2;	/* main mapping (collapse, stores), second mapping (readers) */
	struct ftr_oracle oracle;
	struct ftr_shared *sh;
	struct ftr_pmd_state *pmds;
	int nowners;
	int owner_role[FTR_MAX_ROLES];	/* owner index -> role id */
	int tail_owner;			/* owner index of the tail role, or -1 */
	int pmd_owner;			/* owner index of the role that owns a whole PMD
					 * in even epochs (ftr_owned_pmd()), or -1 */
	enum ftr_split_mode split;
	bool khugepaged;
	struct ftr_replay *replay;	/* sc->replay: roles take their ops from it */
	void *shm;
	size_t shm_len;
	void *pinned;			/* --inject resident: a page kept mapped */
};

/* Segments: the file cut at seg_shift + k * seg, so owned extents straddle page and
 * PMD edges in some epochs and not in others.  Blocks of segment seg. */
void ftr_seg_range(const struct ftr_arena *a, uint32_t seg, uint32_t *first, uint32_t *n);
/* The owner index of segment seg in epoch; the tail role owns the end of the file. */
int ftr_seg_owner(const struct ftr_arena *a, uint32_t epoch, uint32_t seg);
/* The PMD the pmd_owner owns whole in epoch (every segment that touches it), or
 * UINT32_MAX: only a write() of a whole folio leaves a dirty THP that xfs lets split. */
uint32_t ftr_owned_pmd(const struct ftr_arena *a, uint32_t epoch);
/* Whether a collapse of pmd returned 0 and nothing split it since. */
bool ftr_pmd_collapsed(const struct ftr_arena *a, uint32_t pmd);
/* Diagnostics: the THP state of pmd and its counters, as tools/thpmap shows them. */
void ftr_arena_show_pmd(const struct ftr_arena *a, uint32_t pmd);

#endif
