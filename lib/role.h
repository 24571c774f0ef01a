/* SPDX-License-Identifier: GPL-2.0 */
/*
 * role: the role framework.  A role is one thread or process that runs one kind of
 * operation, over and over, until the controller quiesces it: a writer path, the
 * collapser, a splitter, a verifying reader, or a churn role.  Every role module
 * (writers, readers, collapser, splitter, churn, holes, pins, aspace) exports one
 * struct ftr_role_ops per kind of role, and the engine calls roles only through it
 * (the fio ioengine_ops way); roster.c is the one file that names them all.
 */
#ifndef FTR_ROLE_H
#define FTR_ROLE_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <sys/types.h>

#include "arena.h"
#include "oplog.h"
#include "rng.h"

#define URING_QD	4

struct ftr_replay_op;
struct ftr_role_ops;

enum ftr_role_kind {
	FTR_R_WRITER, FTR_R_COLLAPSER, FTR_R_KHUGEPAGED, FTR_R_SPLITTER, FTR_R_READER, FTR_R_CHURN
};

/* Per-role counters, in shared memory; written by the role only. */
struct ftr_role_stats {
	uint64_t ops, bytes, overlaps, errors, checked_blocks, unchecked_blocks;
	uint64_t res[FTR_ERRNO_SLOTS];
	uint64_t busy_ns;
	int32_t last_err;
	int32_t in_op;		/* 1 while inside an operation (watchdog) */
	int32_t tid;		/* the thread that runs the role: its trace events carry it */
	int32_t spare;
	uint64_t thp_checked;	/* collapser: calls whose THP contract was checked right after;
				 * splitter: dirty splits of a THP read back from the disk */
	uint64_t dirty_splits;	/* splitter: dirty splits read back from the disk */
	uint64_t calls_in_io;	/* DMA pins: collapse calls that overlapped a read in flight */
	uint64_t own_calls_in_io;	/* ... of them the role's own */
	uint64_t over_writeback;	/* collapser: calls that began with a mapped page of their
					 * PMD under writeback (kpageflags) */
	uint64_t own_collapses[2];	/* splitter: its own collapse calls, and those that left
					 * a THP (splitter.c) */
	uint64_t whole_splits[2];	/* splitter: whole-PMD writes into a THP, and those split
					 * and read back from the disk */
};

struct ftr_role {
	int id;
	enum ftr_role_kind kind;
	unsigned mode;		/* writer: enum ftr_path; reader: ftr_read_mode; splitter: ftr_split_mode */
	bool process;
	bool fz;		/* the writer paired with the collapser (.fzsync) */
	char name[32];
	const char *mode_name;	/* its name in a mix: writer path, reader mode, churn role */
	bool counts_overlaps;	/* churn: how often its op overlapped a collapse (of its range) */
	const struct ftr_role_ops *ops;	/* role.h: all the engine calls it through */
	struct ftr_arena *arena;
	struct ftr_rng rng;
	struct ftr_oplog *log;
	struct ftr_role_stats *st;
	pthread_t thread;
	pid_t pid;
	uint32_t epoch;
	uint32_t *segs;		/* segments this role owns this epoch */
	uint32_t nsegs;
	void *priv;		/* path-specific state: fds, rings, buffers */
	struct ftr_seqc *cs;	/* churn: the collapses its current op may overlap */
	uint64_t cs_snap;
};


/* The roles of a run, in id order. */
struct ftr_roles {
	struct ftr_role roles[FTR_MAX_ROLES];
	int nroles;
};


struct ftr_role_ops {
	const char *name;	/* a churn role's name in a mix; the kind for the others */
	bool owns;		/* gets segments like a writer */
	bool process;		/* runs as a forked process */
	bool tail;		/* owns the end of the file every epoch (it may cut it off) */
	const char *idle_why;	/* why it may find nothing to do here, said when it did not */
	unsigned path;		/* a churn role that writes: enum ftr_path of its log entries */
	/* Optional, after the common setup (priv, buf, fd); 0 or -errno. */
	int (*setup)(struct ftr_role *r);
	/* One short operation; 0, or -errno for a hard failure. */
	int (*op)(struct ftr_role *r);
	/* Optional, before the common teardown. */
	void (*teardown)(struct ftr_role *r);
	/* Optional: its line in the summary, without the name. */
	void (*describe)(const struct ftr_role *r, char *buf, size_t len);
	/* Set for a role whose operations --record and --replay run again, in order:
	 * whether a recorded operation is one this role could have made. */
	bool (*replay_fits)(const struct ftr_role *r, const struct ftr_replay_op *o);
};

/* What every role has; a module keeps its own state behind ->churn. */
struct role_priv {
	int fd;			/* -1 unless the setup opened one */
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

/* The common setup (priv, a buffer), then the role's own; 0 or -errno. */
int ftr_role_setup(struct ftr_role *r);
/* One operation of the role; 0, or -errno for a hard failure. */
int ftr_role_op(struct ftr_role *r);
void ftr_role_teardown(struct ftr_role *r);
/* Opens the test file for a role with flags; 0 or -errno. */
int ftr_role_open(struct ftr_role *r, int flags);
/* " ok=N EAGAIN=N ...": the role's results by errno slot; its length. */
size_t ftr_role_res_str(const struct ftr_role *r, char *buf, size_t len);
/* The summary line of a role (name, counts) into buf. */
void ftr_role_describe(const struct ftr_role *r, char *buf, size_t len);

/* Logs entry e (its epoch filled in, and its path unless set) into the role's own log. */
void ftr_role_log_entry(struct ftr_role *r, struct ftr_op_entry *e);
/* Logs one operation into the role's own log. */
void ftr_role_log(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		  uint32_t gen, int res);
/* The same for an operation of [t0, t1] (ns since the start) that ended earlier. */
void ftr_role_log_span(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t t1, uint64_t off, uint32_t len,
		       uint32_t gen, int res, uint32_t arg);
/* The same with the op's replay argument (oplog.h, replay.h). */
void ftr_role_log_arg(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		      uint32_t gen, int res, uint32_t arg);

/* Writes PMD pmd back and waits, logged (FTR_OP_SYNC): known issues ask whether a
 * block was still dirty. */
void ftr_role_writeback(struct ftr_role *r, uint32_t pmd);
/* MADV_COLLAPSE of PMD pmd by a role other than the collapser, for its own ends:
 * bracketed as the collapser's calls are (a write it raced counts as racing a
 * collapse) and logged (known issues take any collapse that ran with a write as
 * evidence); its errno is not judged against the trace.  0 or errno. */
int ftr_role_collapse(struct ftr_role *r, uint32_t pmd);

void ftr_pause_us(struct ftr_role *r, unsigned max_us);
/* Counts and logs one finished operation (err 0 or errno), then pauses up to pause us. */
int ftr_op_done(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint64_t len,
		int err, unsigned pause);
/* Counts one finished operation (err 0 or errno) without logging it. */
void ftr_op_count(struct ftr_role *r, int err);
/* The segments r owns in r->epoch, into r->segs. */
void ftr_role_epoch_segments(struct ftr_role *r);

/* Queries over the roles. */
/* The MADV_COLLAPSE role, or NULL (khugepaged mode, no collapse). */
const struct ftr_role *ftr_roles_collapser(const struct ftr_roles *rs);
/* Writes completed so far by all writer roles. */
uint64_t ftr_roles_writes(const struct ftr_roles *rs);
/* ftr_oplog_find() over the logs of every role. */
int ftr_roles_find_ops(const struct ftr_roles *rs, uint64_t off, uint64_t len, unsigned op_mask,
		       uint64_t until, struct ftr_op_hit *hits, int max);

#endif
