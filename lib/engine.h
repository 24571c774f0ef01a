/* SPDX-License-Identifier: GPL-2.0 */
/*
 * engine: runs a scenario — writers, collapsers, splitters and readers against one
 * file — in epochs, and judges the file after each.
 *
 * A scenario only declares its role mix; the engine creates the file, gives every
 * block one owner per epoch (owners rotate, so a block written by mmap in one epoch is
 * written by write() or io_uring in the next), lets the roles race for the epoch, then
 * quiesces them and checks: the THP contract (a range that MADV_COLLAPSE reported
 * collapsed and nothing split since is one PMD-order folio, PMD-mapped unless a store
 * through the mapping may have split the mapping), then every byte through read(), the
 * mapping, a second mapping, and read() again after the page cache was evicted.
 *
 * Everything the roles share lives in one MAP_SHARED anonymous area, so roles may be
 * threads or forked processes alike.
 */
#ifndef FTR_ENGINE_H
#define FTR_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fzsync.h"
#include "kmsg.h"
#include "known.h"
#include "opts.h"
#include "oplog.h"
#include "oracle.h"
#include "outcome.h"
#include "probe.h"
#include "rng.h"

struct ftr_engine;
struct ftr_replay;
struct ftr_role_ops;

struct ftr_scenario {
	const char *writers;	/* "write=1,pwrite=1,pwritev2=1,uring=1,uring-fixed=1,mmap=2,direct=1,openw=2" */
	const char *collapse;	/* "madvise" (default), "khugepaged", "none" */
	const char *split;	/* "auto" (default): debugfs if writable, else punch, else pageout; or "none" */
	const char *readers;	/* "read=1,map=1,map2=1" */
	const char *churn;	/* page-cache churn roles by name, see churn.c: "fsync=1,msync=1" */
	bool ro_mapping;	/* the test process holds only read-only fds and mappings */
	unsigned file_pmds;	/* file size in PMDs, default 4 */
	unsigned pause_us;	/* a writer pauses up to this long after each write (duty cycle) */
	/* Window targeting instead of free running: the collapser and the first writer
	 * meet before every operation and one of them is delayed so that the write
	 * slides across the collapse (fzsync.h); the writer names the PMD. */
	bool fzsync;
	/* Hooks for tools/thp-race, unset in selftests. */
	uint64_t max_ops;	/* end once the writers completed this many writes; 0: by time */
	void (*progress)(const struct ftr_engine *e);	/* after each verified epoch */
	/* thp-race --replay: the recorded operations to run again (replay.h). */
	struct ftr_replay *replay;
};

/* What the test harness hands to a test. */
struct ftr_env {
	const struct ftr_opts *opts;
	struct ftr_caps caps;
	const char *dir;
	const char *fs;		/* label */
	struct ftr_kmsg kmsg;
	const char *name;	/* test name */
	const char *kernel;	/* uname -r */
	FILE *record;		/* --record, opened before the private tmpfs hides /tmp */
};

enum ftr_role_kind {
	FTR_R_WRITER, FTR_R_COLLAPSER, FTR_R_KHUGEPAGED, FTR_R_SPLITTER, FTR_R_READER, FTR_R_CHURN
};
enum ftr_split_mode { FTR_SPLIT_NONE, FTR_SPLIT_DEBUGFS, FTR_SPLIT_PUNCH, FTR_SPLIT_PAGEOUT };
enum ftr_read_mode {
	FTR_READ_READ, FTR_READ_MAP, FTR_READ_MAP2, FTR_READ_BIG, FTR_READ_SPLICE,
	FTR_READ_SENDFILE, FTR_READ_COPY, FTR_READ_NR
};

#define FTR_ERRNO_SLOTS 6	/* 0, EAGAIN, EBUSY, ENOMEM, EINVAL, other */

/* Per-role counters, in shared memory; written by the role only. */
struct ftr_role_stats {
	uint64_t ops, bytes, overlaps, errors, checked_blocks, unchecked_blocks;
	uint64_t res[FTR_ERRNO_SLOTS];
	uint64_t busy_ns;
	int32_t last_err;
	int32_t in_op;		/* 1 while inside an operation (watchdog) */
	int32_t tid;		/* the thread that runs the role: its trace events carry it */
	int32_t spare;
	uint64_t thp_checked;	/* collapser: calls whose THP contract was checked right after */
};

/*
 * "Did anything of kind X overlap my window?"  An operation brackets itself with
 * ftr_seqc_begin/end; an observer takes ftr_seqc_read before its window (which says
 * "busy" if one is in progress) and asks ftr_seqc_same after.  Begin raises active
 * before seq, the observer reads seq before active: every interleaving is caught.
 */
struct ftr_seqc {
	uint64_t seq;
	int64_t active;
	uint64_t t_end;		/* ftr_now_ns() when the latest operation ended */
};

#define FTR_SEQC_BUSY UINT64_MAX

static inline void ftr_seqc_begin(struct ftr_seqc *c)
{
	__atomic_add_fetch(&c->active, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
}

static inline void ftr_seqc_end(struct ftr_seqc *c)
{
	uint64_t now = ftr_now_ns(), t = __atomic_load_n(&c->t_end, __ATOMIC_RELAXED);

	/* khugepaged's collapses are known only by their trace time: whether a split
	 * ended after one is a matter of clocks (contract.c). */
	while (t < now && !__atomic_compare_exchange_n(&c->t_end, &t, now, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
	__atomic_sub_fetch(&c->active, 1, __ATOMIC_SEQ_CST);
}

static inline uint64_t ftr_seqc_read(struct ftr_seqc *c)
{
	uint64_t s = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);

	return __atomic_load_n(&c->active, __ATOMIC_SEQ_CST) ? FTR_SEQC_BUSY : s;
}

static inline bool ftr_seqc_same(struct ftr_seqc *c, uint64_t snap)
{
	return snap != FTR_SEQC_BUSY && __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST) == snap;
}

/* Per PMD: what may have split it, stored through it, or collapsed it, and when. */
struct ftr_pmd_state {
	struct ftr_seqc split;		/* splits, punches, O_DIRECT, opens for write */
	struct ftr_seqc store;		/* stores through the mapping */
	struct ftr_seqc collapse;	/* MADV_COLLAPSE calls */
	struct ftr_seqc write;		/* writes of any path into the PMD */
	uint64_t ok_split;		/* split.seq + 1 as of a collapse that returned 0 */
	uint64_t ok_store;		/* store.seq as of that collapse */
	/* A collapse that returned 0 while a write into the PMD was in flight: writers
	 * keep off it until the epoch's check after eviction, so that a clean THP
	 * holding new data is caught before a later write dirties it (contract.h). */
	uint32_t sealed;
	uint32_t sealed_collapse;	/* ... and the trace shows that call's collapse_file success */
	uint64_t sealed_t0;		/* when the sealing call began (ftr_now_ns()) */
};

enum ftr_phase { FTR_PH_SETUP, FTR_PH_RUN, FTR_PH_QUIESCE, FTR_PH_STOP };

struct ftr_shared {
	uint32_t epoch, phase, acks;
	uint32_t seg_shift;	/* this epoch's segment boundary offset */
	uint32_t fatal;		/* a role saw wrong data or a hard error */
	struct ftr_bad fatal_bad;	/* first bad block a racing reader saw */
	uint32_t fatal_role;
	uint64_t fatal_off;
	char fatal_msg[200];
	struct ftr_seqc collapse_any;	/* every MADV_COLLAPSE call, whatever its PMD */
	uint32_t contract;	/* a churn role saw the kernel break a stated contract */
	char contract_msg[256];
	uint32_t known;		/* ... or hit a known kernel issue, with evidence (known.h) */
	uint32_t known_id;
	char known_msg[256];
	uint32_t thp;		/* the THP contract broke (contract.h): first report wins */
	char thp_msg[400];
	struct ftr_fzsync fz;	/* the collapser and the fz writer, with .fzsync */
};

/* A bad block as one check saw it (verify.c): for the report, and for the evidence
 * of known issues, which must cover every one (known.h). */
enum ftr_stage { FTR_ST_RACING, FTR_ST_READ, FTR_ST_MAP, FTR_ST_MAP2, FTR_ST_EVICTED, FTR_ST_NR };
extern const char *const ftr_stage_names[FTR_ST_NR];

struct ftr_bad_rec {
	struct ftr_bad b;
	enum ftr_stage stage;
	uint32_t epoch;
};

/* When a MADV_COLLAPSE call that ran collapse_file() was in progress (ftr_now_ns()),
 * and whether that built a THP. */
struct ftr_window {
	uint64_t t0, t1;
	uint32_t epoch;
	bool built;
};

struct ftr_engine;

struct ftr_role {
	int id;
	enum ftr_role_kind kind;
	unsigned mode;		/* writer: enum ftr_path; reader: ftr_read_mode; splitter: ftr_split_mode */
	bool process;
	bool fz;		/* the writer paired with the collapser (.fzsync) */
	char name[32];
	bool counts_overlaps;	/* churn: how often its op overlapped a collapse (of its range) */
	const struct ftr_role_ops *ops;	/* role.h: all the engine calls it through */
	struct ftr_engine *eng;
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

#define FTR_MAX_ROLES 48

struct ftr_engine {
	const struct ftr_scenario *sc;
	struct ftr_env *env;
	uint64_t seed;
	size_t psz, pmd, size, seg;
	uint32_t nblocks, npmds, nseg;
	char path[4096];	/* the test file, absolute */
	int fd;			/* the controller's fd (read-only with ro_mapping) */
	char *map, *map2;	/* main mapping (collapse, stores), second mapping (readers) */
	struct ftr_oracle oracle;
	struct ftr_shared *sh;
	struct ftr_pmd_state *pmds;
	struct ftr_role roles[FTR_MAX_ROLES];
	int nroles, nowners;
	int owner_role[FTR_MAX_ROLES];	/* owner index -> role id */
	int tail_owner;			/* owner index of the tail role, or -1 */
	enum ftr_split_mode split;
	bool khugepaged;
	struct ftr_replay *replay;	/* sc->replay: roles take their ops from it */
	void *shm;
	size_t shm_len;
	void *pinned;			/* --inject resident: a page kept mapped */
	/* results */
	uint64_t epochs, verified_bytes, verify_ns, evicted_epochs, resident_after_evict;
	uint64_t thp_checked, thp_pmd_mapped_checked;	/* at epoch ends (contract.h) */
	uint64_t sealed_checked, sealed_no_collapse, sealed_unchecked;
	uint64_t khugepaged_attempts, khugepaged_collapsed;	/* its collapse_file events on our file */
	struct ftr_outcome_tab errnos;	/* the collapser's errno by trace outcome */
	uint64_t errnos_head;		/* its log entries judged so far */
	bool data_bad, errno_bad;
	struct ftr_bad_rec *bads;	/* every bad block every check saw */
	size_t nbads, bads_cap;
	struct ftr_window *cwin;	/* every call with a collapse_file event of its own */
	size_t ncwin, cwin_cap;
};

/* The MADV_COLLAPSE role, or NULL (khugepaged mode, no collapse). */
const struct ftr_role *ftr_engine_collapser(const struct ftr_engine *e);
/* Writes completed so far by all writer roles. */
uint64_t ftr_engine_writes(const struct ftr_engine *e);

/* Runs the scenario and prints its KTAP subtests (data, collapse, kernel). */
void ftr_engine_run(const struct ftr_scenario *sc, struct ftr_env *env);

/* engine.c helpers the roles use. */
void ftr_role_epoch_segments(struct ftr_role *r);
void ftr_seg_range(const struct ftr_engine *e, uint32_t seg, uint32_t *first, uint32_t *n);
/* A churn op names the range it works on, so its overlaps count collapses of that
 * PMD only (by default: any collapse). */
void ftr_churn_range(struct ftr_role *r, uint64_t off, uint64_t len);
/* A churn role saw the kernel break a contract its scenario states; the first one is
 * reported as the churn subtest's failure. */
void ftr_contract_fail(struct ftr_role *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a contract the kernel is known to break, where the role has the evidence
 * of that issue (known.h): still a failure, unless a waiver covers it. */
void ftr_contract_known(struct ftr_role *r, enum ftr_known_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A role saw wrong data (bad != NULL) or a hard error: the first one is reported. */
void ftr_fatal(struct ftr_role *r, const struct ftr_bad *bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ftr_role_log(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		  uint32_t gen, int res);
/* The same with the op's replay argument (oplog.h, replay.h). */
void ftr_role_log_arg(struct ftr_role *r, enum ftr_op op, uint64_t t0, uint64_t off, uint32_t len,
		      uint32_t gen, int res, uint32_t arg);
int ftr_errno_slot(int err);
extern const char *const ftr_errno_slot_names[FTR_ERRNO_SLOTS];

/* report.c: nbad bad blocks seen through how; the first detail ones described in full. */
void ftr_report_bad(struct ftr_engine *e, const char *how, const struct ftr_bad *bad,
		    uint32_t nbad, uint32_t detail);
void ftr_report_thp_range(struct ftr_engine *e, uint32_t pmd);
/* ftr_oplog_find() over the logs of every role. */
int ftr_engine_find_ops(struct ftr_engine *e, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
			struct ftr_op_hit *hits, int max);
/* The operations of every role on [off, off+len) (op_mask: 1 << enum ftr_op) that
 * began no later than until (ns since the start; UINT64_MAX: any), at most max. */
void ftr_report_ops(struct ftr_engine *e, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
		    int max, const char *title);
void ftr_report_replay(struct ftr_engine *e);
void ftr_report_summary(struct ftr_engine *e);
/* --record FILE: every role's operation log, merged by time. */
void ftr_report_record(struct ftr_engine *e);

/* verify.c */
bool ftr_verify_epoch(struct ftr_engine *e);
void ftr_inject(struct ftr_engine *e);
/* --inject crash: a SIGBUS that no guard expects, past the EOF of a file of its own. */
void ftr_inject_crash(struct ftr_engine *e);
void ftr_results(struct ftr_engine *e);

#endif
