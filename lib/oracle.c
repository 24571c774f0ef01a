// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "oracle.h"
#include "rng.h"

#define WORDS		(FTR_BLOCK / 8)
#define HDR_WORDS	4
#define STEP		0x9e3779b97f4a7c15ULL
#define MAX_CANDIDATES	64

const char *const ftr_path_names[FTR_P_NR] = {
	[FTR_P_INIT] = "init", [FTR_P_WRITE] = "write", [FTR_P_PWRITE] = "pwrite",
	[FTR_P_PWRITEV] = "pwritev2", [FTR_P_URING] = "uring", [FTR_P_URING_FIXED] = "uring-fixed",
	[FTR_P_MMAP] = "mmap", [FTR_P_DIRECT] = "direct", [FTR_P_OPENW] = "openw",
	[FTR_P_PUNCH] = "punch", [FTR_P_ZERO] = "zero-range", [FTR_P_TRUNC] = "truncate",
	[FTR_P_INJECT] = "inject", [FTR_P_DMA] = "dma-read",
};

const char *ftr_class_name(enum ftr_class c)
{
	static const char *const names[] = { "OK", "LOST", "TORN", "MISPLACED", "ZERO", "GARBAGE" };

	return names[c];
}

struct stamp_hdr {
	uint32_t magic;
	uint16_t file_id;
	uint8_t path;
	uint8_t pad;
	uint32_t block;
	uint32_t gen;
	uint64_t seed;
	uint64_t check;
};

_Static_assert(sizeof(struct stamp_hdr) == HDR_WORDS * 8, "stamp header is 4 words");

static uint64_t payload_key(uint64_t seed, uint16_t file, uint32_t block, uint32_t gen)
{
	return ftr_mix64(seed ^ ftr_mix64((uint64_t)block << 32 | gen) ^ (uint64_t)file << 48);
}

static uint64_t hdr_check(const struct stamp_hdr *h)
{
	return ftr_mix64(payload_key(h->seed, h->file_id, h->block, h->gen) ^ h->path ^ h->magic);
}

static void make_hdr(const struct ftr_oracle *o, struct stamp_hdr *h, uint32_t block,
		     uint32_t gen, unsigned path)
{
	memset(h, 0, sizeof(*h));
	h->magic = FTR_STAMP_MAGIC;
	h->file_id = o->file_id;
	h->path = path;
	h->block = block;
	h->gen = gen;
	h->seed = o->seed;
	h->check = hdr_check(h);
}

size_t ftr_oracle_mem(uint32_t nblocks)
{
	return 2 * (size_t)nblocks * sizeof(uint64_t);
}

void ftr_oracle_init(struct ftr_oracle *o, void *shm, uint32_t nblocks, uint64_t seed,
		     uint16_t file_id)
{
	o->seed = seed;
	o->file_id = file_id;
	o->nblocks = nblocks;
	o->done = shm;
	o->inflight = o->done + nblocks;
	memset(shm, 0, ftr_oracle_mem(nblocks));
}

void ftr_stamp(const struct ftr_oracle *o, void *dst, uint32_t block, uint32_t gen, unsigned path)
{
	uint64_t *w = dst, key = payload_key(o->seed, o->file_id, block, gen);
	struct stamp_hdr h;

	make_hdr(o, &h, block, gen, path);
	memcpy(w, &h, sizeof(h));
	for (int j = HDR_WORDS; j < WORDS; j++)
		w[j] = key + j * STEP;
}

void ftr_decode(const void *data, struct ftr_found *f)
{
	struct stamp_hdr h;

	memcpy(&h, data, sizeof(h));
	memset(f, 0, sizeof(*f));
	f->stamp_valid = h.magic == FTR_STAMP_MAGIC && h.check == hdr_check(&h);
	f->file_id = h.file_id;
	f->block = h.block;
	f->gen = h.gen;
	f->path = h.path;
	f->seed = h.seed;
}

uint32_t ftr_oracle_begin(struct ftr_oracle *o, uint32_t block, unsigned path)
{
	uint32_t gen = ftr_ver_gen(__atomic_load_n(&o->done[block], __ATOMIC_RELAXED)) + 1;

	__atomic_store_n(&o->inflight[block], ftr_ver(gen, path), __ATOMIC_SEQ_CST);
	return gen;
}

void ftr_oracle_commit(struct ftr_oracle *o, uint32_t first, uint32_t n)
{
	for (uint32_t b = first; b < first + n; b++)
		__atomic_store_n(&o->done[b], __atomic_load_n(&o->inflight[b], __ATOMIC_RELAXED),
				 __ATOMIC_RELEASE);
}

void ftr_oracle_begin_stamp(struct ftr_oracle *o, void *buf, uint32_t first, uint32_t n,
			    unsigned path)
{
	for (uint32_t i = 0; i < n; i++)
		ftr_stamp(o, (char *)buf + (size_t)i * FTR_BLOCK, first + i,
			  ftr_oracle_begin(o, first + i, path), path);
}

void ftr_oracle_snapshot(const struct ftr_oracle *o, uint32_t first, uint32_t n, uint64_t *pre)
{
	for (uint32_t i = 0; i < n; i++)
		pre[i] = __atomic_load_n(&o->done[first + i], __ATOMIC_ACQUIRE);
}

/* Exact match, written so the compiler can vectorise it: this is the hot loop. */
static bool block_equals(const struct ftr_oracle *o, const uint64_t *w, uint32_t block, uint64_t ver)
{
	uint64_t key = payload_key(o->seed, o->file_id, block, ftr_ver_gen(ver)), diff = 0;
	struct stamp_hdr h;

	make_hdr(o, &h, block, ftr_ver_gen(ver), ftr_ver_path(ver));
	if (memcmp(w, &h, sizeof(h)))
		return false;
	for (int j = HDR_WORDS; j < WORDS; j++)
		diff |= w[j] ^ (key + j * STEP);
	return !diff;
}

/* Word j of block's content at version ver. */
static uint64_t word_of(const struct ftr_oracle *o, uint32_t block, uint64_t ver, int j)
{
	struct stamp_hdr h;
	uint64_t hw[HDR_WORDS];

	if (j >= HDR_WORDS)
		return payload_key(o->seed, o->file_id, block, ftr_ver_gen(ver)) + j * STEP;
	make_hdr(o, &h, block, ftr_ver_gen(ver), ftr_ver_path(ver));
	memcpy(hw, &h, sizeof(h));
	return hw[j];
}

/* Racing tolerance: every byte must come from one of the allowed versions (or zero). */
static bool block_plausible(const struct ftr_oracle *o, const uint64_t *w, uint32_t block,
			    const uint64_t *cand, int nc, bool zero_ok)
{
	for (int j = 0; j < WORDS; j++) {
		uint64_t cw[MAX_CANDIDATES + 1];
		int k, n = 0;

		for (k = 0; k < nc; k++) {
			cw[n] = word_of(o, block, cand[k], j);
			if (cw[n++] == w[j])
				break;
		}
		if (k < nc || (zero_ok && !w[j]))
			continue;
		if (zero_ok)
			cw[n++] = 0;
		for (int byte = 0; byte < 8; byte++) {
			uint8_t b = w[j] >> (8 * byte);

			for (k = 0; k < n; k++)
				if ((uint8_t)(cw[k] >> (8 * byte)) == b)
					break;
			if (k == n)
				return false;
		}
	}
	return true;
}

static bool all_zero(const uint64_t *w)
{
	uint64_t acc = 0;

	for (int j = 0; j < WORDS; j++)
		acc |= w[j];
	return !acc;
}

/* Does every payload word follow from the header it carries? */
static bool self_consistent(const uint64_t *w, const struct ftr_found *f)
{
	uint64_t key = payload_key(f->seed, f->file_id, f->block, f->gen);

	for (int j = HDR_WORDS; j < WORDS; j++)
		if (w[j] != key + j * STEP)
			return false;
	return true;
}

static enum ftr_class classify(const struct ftr_oracle *o, const uint64_t *w, uint32_t block,
			       uint64_t want, struct ftr_found *f)
{
	uint32_t g = ftr_ver_gen(want);
	int j, from_block = 0, zeros = 0;

	ftr_decode(w, f);
	if (all_zero(w))
		return FTR_ZERO;
	if (f->stamp_valid && self_consistent(w, f)) {
		if (f->file_id != o->file_id || f->block != block || f->seed != o->seed)
			return FTR_MISPLACED;
		if (f->gen < g)
			return FTR_LOST;
		return FTR_GARBAGE;	/* a newer or differently-made version: nobody wrote it */
	}
	/* Mixed: a header of this block and every word from some version of it (or
	 * zero) means torn; a header nobody wrote means garbage. */
	if (!f->stamp_valid || f->file_id != o->file_id || f->block != block || f->gen > g)
		return FTR_GARBAGE;
	for (j = HDR_WORDS; j < WORDS; j++) {
		uint32_t gen;

		if (!w[j]) {
			zeros++;
			continue;
		}
		for (gen = g; gen >= 1 && g - gen < MAX_CANDIDATES; gen--)
			if (w[j] == payload_key(o->seed, o->file_id, block, gen) + j * STEP)
				break;
		if (gen >= 1 && g - gen < MAX_CANDIDATES)
			from_block++;
	}
	return from_block + zeros == WORDS - HDR_WORDS && from_block ? FTR_TORN : FTR_GARBAGE;
}

static void describe_bad(const struct ftr_oracle *o, const uint64_t *w, uint32_t block,
			 uint64_t want, uint64_t oldest, struct ftr_bad *bad)
{
	uint8_t exp[FTR_BLOCK];
	const uint8_t *got = (const uint8_t *)w;

	bad->block = block;
	bad->want = want;
	bad->oldest = oldest;
	bad->cls = classify(o, w, block, want, &bad->found);
	ftr_stamp(o, exp, block, ftr_ver_gen(want), ftr_ver_path(want));
	bad->first_byte = FTR_BLOCK;
	bad->nr_bytes = 0;
	for (int i = 0; i < FTR_BLOCK; i++)
		if (got[i] != exp[i]) {
			if (bad->first_byte == FTR_BLOCK)
				bad->first_byte = i;
			bad->nr_bytes++;
		}
}

uint32_t ftr_oracle_check(const struct ftr_oracle *o, const void *data, uint32_t first,
			  uint32_t n, const uint64_t *pre, struct ftr_bad *bad, uint32_t max_bad,
			  uint32_t *unchecked)
{
	uint32_t nbad = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint64_t *w = (const uint64_t *)((const char *)data + (size_t)i * FTR_BLOCK);
		uint32_t b = first + i;
		uint64_t lo, hi, cand[MAX_CANDIDATES];
		int nc = 0;

		if (!pre) {
			lo = hi = __atomic_load_n(&o->done[b], __ATOMIC_ACQUIRE);
			if (block_equals(o, w, b, lo))
				continue;
		} else {
			lo = pre[i];
			if (block_equals(o, w, b, lo))
				continue;
			hi = __atomic_load_n(&o->inflight[b], __ATOMIC_ACQUIRE);
			if (ftr_ver_gen(hi) < ftr_ver_gen(lo))
				hi = lo;
			/* The tail is being shifted or cut off: its owner checks it itself. */
			if ((ftr_ver_path(hi) == FTR_P_TRUNC && hi != lo) ||
			    ftr_ver_gen(hi) - ftr_ver_gen(lo) >= MAX_CANDIDATES) {
				if (unchecked)
					(*unchecked)++;
				continue;
			}
			/* Versions after lo were all written by this epoch's owner, hi's path. */
			cand[nc++] = lo;
			for (uint32_t g = ftr_ver_gen(lo) + 1; g <= ftr_ver_gen(hi); g++)
				cand[nc++] = ftr_ver(g, ftr_ver_path(hi));
			if (block_plausible(o, w, b, cand, nc, hi != lo &&
					    (ftr_ver_path(hi) == FTR_P_PUNCH || ftr_ver_path(hi) == FTR_P_ZERO)))
				continue;
		}
		if (nbad < max_bad)
			describe_bad(o, w, b, hi, lo, &bad[nbad]);
		nbad++;
	}
	return nbad;
}
