/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rng: reproducible per-thread random numbers.
 *
 * Every random choice of a run comes from a generator seeded by (--seed, stream), one
 * stream per role, so the same seed replays the same choices per thread.  splitmix64
 * also serves as the hash that derives oracle stamps.
 */
#ifndef FTR_RNG_H
#define FTR_RNG_H

#include <stdint.h>

struct ftr_rng {
	uint64_t s;
};

static inline uint64_t ftr_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void ftr_rng_seed(struct ftr_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = ftr_mix64(seed ^ ftr_mix64(stream + 0x9e3779b97f4a7c15ULL));
}

static inline uint64_t ftr_rng_next(struct ftr_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return ftr_mix64(r->s);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t ftr_rng_below(struct ftr_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)ftr_rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint64_t ftr_rng_range(struct ftr_rng *r, uint64_t lo, uint64_t hi)
{
	return lo + ftr_rng_below(r, hi - lo + 1);
}

#endif
