/* SPDX-License-Identifier: GPL-2.0 */
/*
 * replay: --record's machine section, and running it again (thp-race --replay FILE).
 *
 * A record ends with a section a program reads back: one header line with everything
 * that rebuilds the run (seed, PMD and file size, the role mixes in role order,
 * collapse and split mode, pause, flags, --inject, the number of epochs), one line per
 * role, then every operation of each replayed role (writers, the collapser, the
 * splitter) in that role's order: "R role epoch op path off len arg gen res".
 *
 * Replaying rebuilds the same scenario from the header, so roles get the same ids and,
 * as the seed and the epoch decide them, the same segments to own.  Each replayed role
 * then takes its next operation from its list instead of drawing one (the extent, the
 * path, the store width and direction, the io_uring batch, the PMD, the split order);
 * the oracle stamps versions as usual.  An epoch ends when every replayed role has done
 * its operations of that epoch, then the engine quiesces and verifies as usual.
 * Readers still run freely: they only verify.  Timing is not replayed.
 *
 * The cursors live in a shared mapping: a role may be a forked process, and the
 * controller reads them to end the epoch.
 */
#ifndef FTR_REPLAY_H
#define FTR_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "role.h"

/* Markers at the head of the machine section's lines. */
#define FTR_REPLAY_HEADER	"@replay v1"

/* op entry arg: what a replay needs beyond (off, len, path). */
#define FTR_ARG_MMAP(widx, back)	((uint32_t)(widx) | (uint32_t)!!(back) << 8)
#define FTR_ARG_MMAP_WIDX(a)		((a) & 0xff)
#define FTR_ARG_MMAP_BACK(a)		(((a) >> 8) & 1)
/* debugfs split: target order, and whether gen holds an in-folio page offset */
#define FTR_ARG_SPLIT(order, has_off)	((uint32_t)(order) | (uint32_t)!!(has_off) << 8)
#define FTR_ARG_SPLIT_ORDER(a)		((a) & 0xff)
#define FTR_ARG_SPLIT_HAS_OFF(a)	(((a) >> 8) & 1)
/* io_uring: the first extent of a batch carries the batch size, the others 0 */

struct ftr_replay_op {
	uint64_t off;
	uint32_t len, arg, gen;
	uint16_t epoch;
	uint8_t op, path;
};

struct ftr_replay_role {
	char name[32];
	bool replayed;		/* writer, collapser or splitter: ops below */
	uint32_t n;
	struct ftr_replay_op *ops;
};

struct ftr_replay {
	const char *file;
	uint64_t seed;
	size_t pmd, size;
	uint32_t epochs;
	bool wrapped, ro, fzsync;
	unsigned pause_us;
	double duration;	/* as given: only the failure report's seed line says it */
	char writers[256], readers[256], churn[256];
	char collapse[16], split[16], inject[16];
	int nroles;
	struct ftr_replay_role roles[FTR_MAX_ROLES];
	/* shared mapping, per role: next op, ops skipped (their epoch ended first), writes
	 * that landed on another generation than recorded */
	uint64_t *pos, *skipped, *diverged;
};

/* Writes the machine section of a run of epochs (after the roles stopped). */
void ftr_replay_write(const struct ftr_arena *a, const struct ftr_roles *rs, uint64_t epochs, FILE *f);

/* Reads only the run a record describes (its header line), whatever the record holds
 * (churn roles, a wrapped log): what --minimize starts from.  0, or -1 with why. */
int ftr_replay_header(struct ftr_replay *rp, const char *file, char *why, size_t len);

/*
 * Reads a record.  Returns 0, or -1 with why filled: not a record with a machine
 * section, malformed, or one that cannot be replayed (a wrapped ring, churn roles,
 * khugepaged, fzsync).
 */
int ftr_replay_load(struct ftr_replay *rp, const char *file, char *why, size_t len);

/* The engine built the same roles as the record names, and every recorded op fits its
 * role and this engine's geometry (no write beyond a role's buffer); fills why when not. */
bool ftr_replay_check(const struct ftr_replay *rp, const struct ftr_arena *a, const struct ftr_roles *rs,
		      char *why, size_t len);

/*
 * The k-th operation from role's cursor if it belongs to epoch, else NULL.  With k = 0,
 * operations of earlier epochs at the cursor (an epoch cut short) are skipped and
 * counted.
 */
const struct ftr_replay_op *ftr_replay_peek(struct ftr_replay *rp, int role, uint32_t epoch,
					    uint32_t k);
void ftr_replay_advance(struct ftr_replay *rp, int role, uint32_t k);
/* A replayed write landed on another generation than recorded: not the same run. */
void ftr_replay_diverged(struct ftr_replay *rp, int role);
/* Every replayed role has done its operations of epoch. */
bool ftr_replay_epoch_done(struct ftr_replay *rp, uint32_t epoch);
/* After the run: what was replayed and what was left or diverged. */
void ftr_replay_summary(struct ftr_replay *rp, uint32_t epochs);

#endif
