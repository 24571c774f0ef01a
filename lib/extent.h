/* SPDX-License-Identifier: GPL-2.0 */
/* extent: picking and writing an extent of the file that a role owns. */
#ifndef FTR_EXTENT_H
#define FTR_EXTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ftr_role;

/* A random extent of whole blocks (pages if page_aligned) in a segment r owns this
 * epoch, outside sealed PMDs and not in avoid_seg. */
bool ftr_pick_extent(struct ftr_role *r, bool page_aligned, uint32_t avoid_seg,
		     uint32_t *seg, uint32_t *first, uint32_t *n);
struct ftr_arena;
struct ftr_rng;

/* Besides write, the PMD counters a rewrite raises (arena.h): what else it may do.
 * RESPLIT: it splits folios itself (split and resplit). */
enum ftr_also { FTR_ALSO_NONE, FTR_ALSO_SPLIT, FTR_ALSO_RESPLIT, FTR_ALSO_STORE };

/*
 * Brackets a rewrite of [off, off+len) in every PMD it touches: the write counter,
 * and the split or store counter.  A collapse that returns 0 while a bracket is open
 * seals the PMD (contract.h), and a rewrite picked before that must not start after
 * it: ftr_extent_begin() checks the seal inside the bracket and, if a PMD of the
 * range is sealed, ends the bracket again and returns false.
 */
bool ftr_extent_begin(struct ftr_arena *a, uint64_t off, uint64_t len, enum ftr_also also);
void ftr_extent_end(struct ftr_arena *a, uint64_t off, uint64_t len, enum ftr_also also);

enum ftr_write_how { FTR_HOW_PWRITE, FTR_HOW_SEEK, FTR_HOW_VEC };

/* Writes until every byte landed, retrying short writes: with pwrite(), lseek() +
 * write(), or pwritev2() with the buffer cut at random (rng); 0 or -errno. */
int ftr_write_full(int fd, const char *buf, size_t len, off_t off, enum ftr_write_how how,
		   struct ftr_rng *rng);
/* pwrite() until every byte landed; 0 or -errno. */
int ftr_pwrite_full(int fd, const char *buf, size_t len, off_t off);

#endif
