/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_io: the userfaultfd plumbing of the collapse_uffd scenarios (lib/uffd.c).
 *
 * Opening a userfaultfd with feature negotiation, registering a file's mapping, the
 * handler loop that resolves missing and write-protect faults, the worker that makes
 * the accesses that must raise them, the collapser thread beside it, and the bounded
 * wait that releases a worker whose event never came.  Separate from the scenarios
 * because this is the part that has to be right about userfaultfd itself (which ioctl
 * wakes what, what the handler counts before it wakes): the scenarios only say which
 * pages to touch and what a result means.
 */
#ifndef FTR_UFFD_IO_H
#define FTR_UFFD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oplog.h"
#include "oracle.h"
#include "rng.h"
#include "scenario.h"

/* A file of one PMD filled with stamps, mapped shared and PMD-aligned. */
struct ftr_uffd_file {
	char path[4096];
	int fd;
	size_t size, psz;
	unsigned long npages, bpp;	/* pages, oracle blocks per page */
	char *map;
	void *shm;
	struct ftr_oracle o;
};

/*
 * The handler (main thread) and the worker that makes the accesses.  The handler counts
 * an event before it wakes the worker, so a worker that finds the count unchanged after
 * its access knows that the access raised no event.
 */
struct ftr_uffd_ctx {
	struct ftr_uffd_file *f;
	int ufd;
	bool wp;		/* resolve by un-write-protecting; else by UFFDIO_COPY */
	int wait_ms;		/* no event and no progress this long: the worker is stuck */
	char *src;		/* one page: UFFDIO_COPY source */
	char *stamp;		/* one page: the worker's stores */
	/* fixed accesses (uffd-missing, uffd-wp) or a race for race_secs */
	unsigned long pages[4];
	unsigned npages;
	double race_secs;
	uint64_t seed;
	/* shared, atomic */
	uint64_t events, progress;
	int done, released;
	/* written by the worker, read after the join */
	uint64_t accesses, lost, no_hole, io_err;
	unsigned long lost_page[4];
	unsigned nlost;
	unsigned char seen;	/* the byte a missing access read */
	/* written by the handler */
	uint64_t odd, resolve_err;
	char resolve_msg[160];
};

/* Loops MADV_COLLAPSE over the whole file beside the worker; res counts by errno slot. */
struct ftr_uffd_collapser {
	struct ftr_uffd_file *f;
	int stop;
	uint64_t res[FTR_ERRNO_SLOTS];
};

/* MADV_COLLAPSE of [addr, addr+len): 0 or errno. */
int ftr_uffd_collapse(void *addr, size_t len);

/* UFFDIO_WRITEPROTECT of [addr, addr+len), on or off: ioctl's 0 or -1 with errno. */
int ftr_uffd_writeprotect(int ufd, unsigned long addr, size_t len, bool on);

/*
 * Sets c up for f (missing mode, or write-protect when wp) and opens its userfaultfd
 * with the features that mode needs: 0, or -errno with why filled (EPERM, ENOSYS or
 * EOPNOTSUPP: the kernel or its settings lack it).  c->ufd is -1 or the fd, and
 * ftr_uffd_ctx_close() is right either way.
 */
int ftr_uffd_ctx_open(struct ftr_env *env, struct ftr_uffd_ctx *c, struct ftr_uffd_file *f, bool wp,
		      char *why, size_t len);
/* Registers the whole mapping in c's mode and checks that the resolving ioctl is
 * offered; -1 with why filled if not. */
int ftr_uffd_register(struct ftr_uffd_ctx *c, char *why, size_t len);
void ftr_uffd_ctx_close(struct ftr_uffd_ctx *c);

/* Workers for ftr_uffd_run_worker(): the accesses in c->pages, or a race for
 * c->race_secs that punches (missing) or write-protects (wp) a page and accesses it. */
void *ftr_uffd_worker_fixed(void *arg);
void *ftr_uffd_worker_race(void *arg);

/* Runs the worker fn against the handler, with k looping MADV_COLLAPSE beside it when
 * k != NULL; false if the worker had to be released (a bounded wait ran out). */
bool ftr_uffd_run_worker(struct ftr_uffd_ctx *c, void *(*fn)(void *), struct ftr_uffd_collapser *k);

#endif
