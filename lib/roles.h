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
#define READ_MAX	(64 << 10)

struct role_priv {
	int fd;
	char *buf;		/* URING_QD extents of one segment each, page aligned */
	struct io_uring ring;
	bool ring_ok;
	uint64_t *pre;		/* readers: done versions before the read */
	uint32_t *perm, perm_pos;	/* collapser: PMDs in random order */
	unsigned long scans, collapsed;	/* khugepaged watcher */
	void *churn;			/* a churn role's own state */
};

void ftr_pause_us(struct ftr_role *r, unsigned max_us);
/* A random extent of whole blocks (pages if page_aligned) in a segment r owns. */
bool ftr_pick_extent(struct ftr_role *r, bool page_aligned, uint32_t avoid_seg,
		     uint32_t *seg, uint32_t *first, uint32_t *n);
/* pwrite() until every byte landed; 0 or -errno. */
int ftr_pwrite_full(int fd, const char *buf, size_t len, off_t off);
int ftr_writer_op(struct ftr_role *r);

#endif
