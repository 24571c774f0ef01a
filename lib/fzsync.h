/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fzsync: line two racing operations up so that every relative offset of their
 * windows gets tried (the idea of LTP's fuzzy sync).
 *
 * Free-running threads hit a narrow kernel window only by luck: a 300 us collapse
 * and a 2 us store overlap in a fraction of iterations that depends on duty cycles
 * and the scheduler, and always at the same few offsets.  Here side A (the collapser)
 * and side B (one writer) meet at a spin barrier before each operation.  For the
 * first FTR_FZ_SAMPLES iterations neither waits; that measures each side's operation
 * time and the natural offset between their starts (moving averages).  From then on,
 * every iteration picks a target offset of B's start relative to A's uniformly from
 * [-B's duration, +A's duration] and delays one side by a spin so that the starts are
 * that far apart: B's operation slides across the whole of A's, edges included.
 *
 * Both sides meet again after their operations, and side A then classifies the
 * iteration: the two operations' [start, end] intervals intersected or not.
 *
 * The state is plain memory touched only with atomics, so it may live in MAP_SHARED
 * memory between forked processes (the open-for-write writers are processes).  A
 * barrier gives up when ftr_fzsync_stop() was called, so neither side hangs when the
 * other leaves (end of an epoch, a fatal error); ftr_fzsync_reset() rearms it while
 * both sides are idle.  Times are CLOCK_MONOTONIC, the same clock in every process.
 */
#ifndef FTR_FZSYNC_H
#define FTR_FZSYNC_H

#include <stdbool.h>
#include <stdint.h>

#define FTR_FZ_SAMPLES	64

struct ftr_fzsync {
	/* barrier: each side counts its arrivals; a side passes when the other caught up */
	uint32_t arrive_a, arrive_b;
	uint32_t stop;
	uint32_t target;		/* B -> A: what the iteration works on (a PMD index) */
	int64_t delay_ns;		/* A -> B: > 0 B waits this long, < 0 A does */
	uint64_t a_start, a_end, b_start, b_end;
	/* A's statistics, in ns (A alone writes them; readers run after quiescing) */
	double avg_a, avg_b, avg_dstart;
	int64_t min_off, max_off;	/* target offsets tried */
	uint64_t iters, overlaps, samples, delayed, rng;
	uint64_t sum_a, sum_b;		/* for the means over the whole run */
};

/* Once, before either side runs. */
void ftr_fzsync_init(struct ftr_fzsync *f, uint64_t seed);
/* Make both sides' barriers return false: they stop pairing up. */
void ftr_fzsync_stop(struct ftr_fzsync *f);
/* Rearm for the next run of iterations; only while neither side is inside one. */
void ftr_fzsync_reset(struct ftr_fzsync *f);

/*
 * Side A: waits for B, learns B's target, waits out its own delay.  false: stopped,
 * skip the operation.  Call ftr_fzsync_end_a() right after the operation either way
 * it returned true.
 */
bool ftr_fzsync_start_a(struct ftr_fzsync *f, uint32_t *target);
void ftr_fzsync_end_a(struct ftr_fzsync *f);
/* Side B: the same, publishing target first. */
bool ftr_fzsync_start_b(struct ftr_fzsync *f, uint32_t target);
void ftr_fzsync_end_b(struct ftr_fzsync *f);

/* One line: iterations, overlaps, each side's mean window, offsets tried. */
void ftr_fzsync_str(const struct ftr_fzsync *f, char *buf, unsigned long len);

#endif
