/* SPDX-License-Identifier: GPL-2.0 */
/*
 * roles: what the role modules (roles.c, writers.c, churn.c) share and nobody else
 * needs: each role's private state and the small helpers every role uses.
 */
#ifndef FTR_ROLES_H
#define FTR_ROLES_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

#define URING_QD	4

struct role_priv {
	int fd;
	char *buf;		/* URING_QD extents of one segment each, page aligned */
	struct io_uring ring;
	bool ring_ok;
	uint64_t *pre;		/* readers: done versions before the read */
	int pipe[2], copy_fd;	/* readers: splice/sendfile pipe, copy_file_range target */
	size_t read_max;
	uint32_t *perm, perm_pos;	/* collapser: PMDs in random order */
	uint64_t last_end;		/* collapser: when its last call was logged */
	unsigned long scans;		/* khugepaged watcher: full scans seen */
	void *churn;			/* a churn role's own state */
};

void ftr_pause_us(struct ftr_role *r, unsigned max_us);
/* Counts and logs one finished operation (err 0 or errno), then pauses up to pause us. */
int ftr_op_done(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint64_t len,
		int err, unsigned pause);
/* A random extent of whole blocks (pages if page_aligned) in a segment r owns. */
bool ftr_pick_extent(struct ftr_role *r, bool page_aligned, uint32_t avoid_seg,
		     uint32_t *seg, uint32_t *first, uint32_t *n);
/* pwrite() until every byte landed; 0 or -errno. */
int ftr_pwrite_full(int fd, const char *buf, size_t len, off_t off);
int ftr_writer_op(struct ftr_role *r);
int ftr_reader_setup(struct ftr_role *r);
int ftr_reader_op(struct ftr_role *r);

/* holes.c */
extern const struct ftr_churn_ops ftr_churn_punch, ftr_churn_zero, ftr_churn_truncate;
/* pins.c */
extern const struct ftr_churn_ops ftr_churn_pin_dio, ftr_churn_pin_uring, ftr_churn_pin_vmsplice,
	ftr_churn_migrate;
/* aspace.c */
extern const struct ftr_churn_ops ftr_churn_fork, ftr_churn_mremap, ftr_churn_exit,
	ftr_churn_misaligned;

#endif
