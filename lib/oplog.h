/* SPDX-License-Identifier: GPL-2.0 */
/*
 * oplog: what each role did recently, for the failure report.
 *
 * One ring buffer per role in shared memory (forked writers log too), written only by
 * its role and read by the controller after the roles quiesced, so no entry is read
 * while it is written.  A failure report asks which operations touched a bad offset.
 */
#ifndef FTR_OPLOG_H
#define FTR_OPLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ftr_op {
	FTR_OP_WRITE,		/* a writer path wrote [off, off+len) */
	FTR_OP_COLLAPSE,	/* MADV_COLLAPSE of the PMD at off; res = 0 or errno */
	FTR_OP_KHUGEPAGED,	/* a khugepaged full scan completed */
	FTR_OP_SPLIT,		/* debugfs split_huge_pages of [off, off+len) */
	FTR_OP_PUNCH,		/* punch hole (then rewrite) of [off, off+len) */
	FTR_OP_PAGEOUT,		/* MADV_PAGEOUT of [off, off+len) */
	FTR_OP_READ,		/* a verifying reader read [off, off+len) */
	FTR_OP_SYNC,		/* writeback of [off, off+len) (fsync: the whole file) */
	FTR_OP_NR
};

extern const char *const ftr_op_names[FTR_OP_NR];

struct ftr_op_entry {
	uint64_t t0, t1;	/* ns since the run started: issue and completion */
	uint64_t off;
	uint32_t len;
	uint32_t gen;		/* first block's generation for writes; for a collapse,
				 * FTR_GEN_CHECKED: its PMD was one THP right after */
	int32_t res;		/* 0 or errno */
	uint16_t epoch;
	uint8_t op;
	uint8_t path;		/* enum ftr_path of writes */
	/* What replaying the op needs beyond (off, len, path): store width and direction,
	 * io_uring batch size, split order (replay.h); the rest of the word is padding. */
	uint32_t arg;
	uint32_t open_ns;	/* an openw write: how long its open() took, from t0 */
};
#define FTR_GEN_CHECKED 1

_Static_assert(sizeof(struct ftr_op_entry) % 8 == 0, "ftr_op_entry stays 8-byte aligned");

struct ftr_oplog {
	uint64_t head;		/* entries ever added */
	uint32_t cap;
	uint32_t role;
	struct ftr_op_entry e[];
};

size_t ftr_oplog_size(uint32_t cap);
/* l: zeroed memory (a fresh anonymous mapping), so a big log costs nothing untouched. */
void ftr_oplog_init(struct ftr_oplog *l, uint32_t cap, uint32_t role);
/* Whether the log still holds every operation of epoch (the ring has not passed it). */
bool ftr_oplog_reaches(const struct ftr_oplog *l, uint32_t epoch);
void ftr_oplog_add(struct ftr_oplog *l, const struct ftr_op_entry *e);
uint64_t ftr_now_ns(void);	/* since ftr_now_reset() */
uint64_t ftr_now_base(void);	/* CLOCK_MONOTONIC ns at ftr_now_reset() */
void ftr_now_reset(void);

/* The oldest entry a log still holds: entries [first, head) are l->e[i % l->cap]. */
uint64_t ftr_oplog_first(const struct ftr_oplog *l, uint64_t head);

struct ftr_op_hit {
	uint32_t role;
	struct ftr_op_entry e;
};

#define FTR_OPS_ALL (~0u)
#define FTR_OPS_DATA ((1u << FTR_OP_WRITE) | (1u << FTR_OP_PUNCH) | (1u << FTR_OP_READ))

/* The max most recent entries whose op is in op_mask (bits 1 << enum ftr_op), that
 * overlap [off, off+len) and began no later than until (UINT64_MAX: any time), over
 * all logs, oldest first. */
int ftr_oplog_find(struct ftr_oplog *const *logs, int nlogs, uint64_t off, uint64_t len,
		   unsigned op_mask, uint64_t until, struct ftr_op_hit *hits, int max);
/* One line: "t=1.234567s role 3 mmap write off=0x1000 len=512 gen=7 res=0" */
void ftr_op_format(const struct ftr_op_hit *h, const char *role_name, char *buf, size_t len);
/* Writes every entry of every log, ordered by time, as text (--record). */
int ftr_oplog_dump(struct ftr_oplog *const *logs, int nlogs, const char *const *role_names,
		   FILE *f);

#define FTR_ERRNO_SLOTS 6	/* 0, EAGAIN, EBUSY, ENOMEM, EINVAL, other */
/* The slot a result (0 or errno) is counted in, and the slots' names. */
int ftr_errno_slot(int err);
extern const char *const ftr_errno_slot_names[FTR_ERRNO_SLOTS];

#endif
