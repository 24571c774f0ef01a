/* SPDX-License-Identifier: GPL-2.0 */
/*
 * oracle: what every byte of the file must hold, and what went wrong when it doesn't.
 *
 * The file is cut into FTR_BLOCK-byte blocks.  A block's content is a pure function of
 * (seed, file id, block, generation, writer path): a 32-byte self-describing header and
 * a payload derived from the same fields, so any block found in the file can be decoded
 * and a mismatch classified.  Per block the oracle keeps two versions in shared memory
 * (threads and forked writers see the same): the last completed write and the one in
 * flight.  Each block has exactly one writer per epoch, so a version only moves forward
 * and needs no lock: the writer publishes "in flight" before touching the file and
 * "done" after.
 *
 * Checks come in two strengths.  Quiesced: a block must equal its last completed
 * version exactly.  Racing: each byte may come from any version between the one done
 * when the read started and the one in flight when it ended (a write that races a read
 * may be seen partly), and zeros only while a punch is in flight.
 */
#ifndef FTR_ORACLE_H
#define FTR_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTR_BLOCK	512
#define FTR_STAMP_MAGIC	0x31525446u	/* "FTR1" */

/* Writer paths: recorded in every stamp and every operation log entry. */
enum ftr_path {
	FTR_P_INIT,		/* the initial fill */
	FTR_P_WRITE,		/* lseek + write() */
	FTR_P_PWRITE,
	FTR_P_PWRITEV,		/* pwritev2() with several iovecs */
	FTR_P_URING,		/* io_uring buffered writes, several in flight */
	FTR_P_URING_FIXED,	/* io_uring with registered buffers */
	FTR_P_MMAP,		/* stores through the shared writable mapping */
	FTR_P_DIRECT,		/* O_DIRECT pwrite */
	FTR_P_OPENW,		/* another process: open for write, pwrite, close */
	FTR_P_PUNCH,		/* punch a page, then pwrite it back: zeros while in flight */
	FTR_P_ZERO,		/* FALLOC_FL_ZERO_RANGE, then pwrite back: zeros in flight */
	FTR_P_TRUNC,		/* truncate / collapse-range / insert-range of the tail, then
				 * rewrite: anything, or nothing (EOF, SIGBUS), in flight */
	FTR_P_INJECT,		/* damage done on purpose by --inject */
	FTR_P_DMA,		/* a pin's read into the mapping: O_DIRECT, io_uring READ_FIXED */
	FTR_P_NR
};

extern const char *const ftr_path_names[FTR_P_NR];

enum ftr_class { FTR_OK, FTR_LOST, FTR_TORN, FTR_MISPLACED, FTR_ZERO, FTR_GARBAGE };

const char *ftr_class_name(enum ftr_class c);

/* A version: generation and path packed in one word so it is published atomically. */
static inline uint64_t ftr_ver(uint32_t gen, unsigned path) { return (uint64_t)gen << 8 | path; }
static inline uint32_t ftr_ver_gen(uint64_t v) { return v >> 8; }
static inline unsigned ftr_ver_path(uint64_t v) { return v & 0xff; }

struct ftr_oracle {
	uint64_t seed;
	uint16_t file_id;
	uint32_t nblocks;
	uint64_t *done;		/* shared memory: last completed version per block */
	uint64_t *inflight;	/* shared memory: version being written (== done when idle) */
};

/* What a block of the file was found to hold. */
struct ftr_found {
	bool stamp_valid;	/* header magic and check word are consistent */
	uint16_t file_id;
	uint32_t block, gen;
	uint8_t path;
	uint64_t seed;
};

struct ftr_bad {
	uint32_t block;
	enum ftr_class cls;
	uint64_t want;			/* expected version (quiesced) or newest allowed */
	uint64_t oldest;		/* oldest allowed version (racing), == want quiesced */
	struct ftr_found found;
	uint32_t first_byte, nr_bytes;	/* bytes of the block that differ from want */
};

/* Bytes of shared memory the oracle needs for nblocks. */
size_t ftr_oracle_mem(uint32_t nblocks);
void ftr_oracle_init(struct ftr_oracle *o, void *shm, uint32_t nblocks, uint64_t seed,
		     uint16_t file_id);
/* Writes block's content for (gen, path) into dst (FTR_BLOCK bytes). */
void ftr_stamp(const struct ftr_oracle *o, void *dst, uint32_t block, uint32_t gen, unsigned path);
void ftr_decode(const void *data, struct ftr_found *f);

/* The owner of block starts a write: returns the new generation, now in flight. */
uint32_t ftr_oracle_begin(struct ftr_oracle *o, uint32_t block, unsigned path);
/* Marks [first, first+n) as completed.  A writer retries until its write completed:
 * a write that landed in part must not be left behind as "not written". */
void ftr_oracle_commit(struct ftr_oracle *o, uint32_t first, uint32_t n);
/* Begins n blocks and stamps them into buf (n * FTR_BLOCK bytes). */
void ftr_oracle_begin_stamp(struct ftr_oracle *o, void *buf, uint32_t first, uint32_t n,
			    unsigned path);

/*
 * Checks n blocks of data (read from block first on).  pre == NULL: quiesced, exact.
 * Otherwise pre holds the done versions read before the data was: racing tolerance.
 * Up to max_bad bad blocks are described in bad; returns how many blocks were bad.
 * A racing block whose writer moved on by more versions than can be tried is counted
 * in *unchecked (may be NULL) instead.
 */
uint32_t ftr_oracle_check(const struct ftr_oracle *o, const void *data, uint32_t first,
			  uint32_t n, const uint64_t *pre, struct ftr_bad *bad, uint32_t max_bad,
			  uint32_t *unchecked);
void ftr_oracle_snapshot(const struct ftr_oracle *o, uint32_t first, uint32_t n, uint64_t *pre);

#endif
