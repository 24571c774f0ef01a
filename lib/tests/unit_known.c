// SPDX-License-Identifier: GPL-2.0
/*
 * unit_known: a known kernel issue is blamed only on evidence.  Waiver files are read
 * strictly; each issue's matcher finds its evidence in a run that has it and refuses
 * one that only looks like it: a block written after the last writable open that met
 * a collapse, an O_DIRECT read that returns old data, a kernel log naming another
 * file, a collapse of another PMD, a second bad block beside the racing reader's zeros.
 */
#include <fcntl.h>

#include "holes.h"
#include "known.h"
#include "readers.h"
#include "roster.h"
#include "unit.h"

#define NBLOCKS 64
#define CAP 64

static char dir[256], path[300];
static struct ftr_scenario sc;
static struct ftr_opts opts;
static struct ftr_env env;
/* What the engine hands the matchers. */
static struct {
	struct ftr_arena a;
	struct ftr_roles rs;
	struct ftr_ledger l;
} e;
static struct ftr_window win[4];
static struct ftr_bad_rec bads[8];

static void add_role(enum ftr_role_kind kind, unsigned mode, const char *name)
{
	static struct ftr_role_stats st[FTR_MAX_ROLES];
	struct ftr_role *r = &e.rs.roles[e.rs.nroles];

	r->id = e.rs.nroles++;
	r->kind = kind;
	r->mode = mode;
	r->st = &st[r->id];
	r->st->tid = 77 + r->id;	/* the thread the kernel log names */
	r->ops = kind == FTR_R_CHURN ? ftr_churn_roles[mode] : NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->log = calloc(1, ftr_oplog_size(CAP));
	ftr_oplog_init(r->log, CAP, r->id);
}

static void log_op(int role, enum ftr_op op, uint64_t t0, uint64_t t1, uint32_t block, uint32_t nblocks, int res)
{
	struct ftr_op_entry x = { .t0 = t0, .t1 = t1, .off = (uint64_t)block * FTR_BLOCK,
				  .len = nblocks * FTR_BLOCK, .res = res, .epoch = 1, .op = op };

	ftr_oplog_add(e.rs.roles[role].log, &x);
}

static void bad(enum ftr_stage stage, uint32_t block, enum ftr_class cls, unsigned path)
{
	bads[e.l.nbads++] = (struct ftr_bad_rec){ .b = { .block = block, .cls = cls, .want = ftr_ver(2, path) },
						 .stage = stage, .epoch = 1, .role = stage == FTR_ST_RACING ? 0 : -1 };
}

/* A fresh run: every block of the file written once by path, nothing bad yet. */
static void reset(unsigned wpath)
{
	static uint64_t oracle_mem[2 * NBLOCKS];
	static struct ftr_shared sh;
	char buf[NBLOCKS * FTR_BLOCK];
	int fd;

	for (int i = 0; i < e.rs.nroles; i++)
		free(e.rs.roles[i].log);
	memset(&e, 0, sizeof(e));
	e.a.sc = &sc;
	e.a.env = &env;
	memset(&sh, 0, sizeof(sh));
	e.a.sh = &sh;
	e.a.psz = 4096;
	e.a.pmd = 2 << 20;
	e.a.nblocks = NBLOCKS;
	e.l.bads = bads;
	e.l.cwin = win;
	snprintf(e.a.path, sizeof(e.a.path), "%s", path);
	ftr_oracle_init(&e.a.oracle, oracle_mem, NBLOCKS, 42, 1);
	ftr_oracle_begin_stamp(&e.a.oracle, buf, 0, NBLOCKS, wpath);
	ftr_oracle_commit(&e.a.oracle, 0, NBLOCKS);
	fd = open(e.a.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) && !fsync(fd));
	close(fd);
}

static void test_waivers(void)
{
	char f[300];

	snprintf(f, sizeof(f), "%s/bad-id", dir);
	unit_write_file(f, "collapse_openw:ext4 no-such-issue\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, -1);
	snprintf(f, sizeof(f), "%s/bad-line", dir);
	unit_write_file(f, "collapse_openw ro-thp-openw-truncate\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, -1);
	unit_write_file(f, "a:b ro-thp-openw-truncate 7.2.* extra\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, -1);
	CHECK_INT(ftr_known_load("unit", "/nonexistent/waivers"), ==, -1);

	snprintf(f, sizeof(f), "%s/good", dir);
	unit_write_file(f, "# CI's waivers\n\n  collapse_openw*:ext4\tro-thp-openw-truncate   # 6.12\n"
			"collapse_*:xfs dio-stale-pagecache\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, 0);
	CHECK(ftr_known_waiver("collapse_openw", "ext4", "7.2.13", FTR_KI_RO_THP_TRUNCATE) != NULL);
	CHECK(strstr(ftr_known_waiver("collapse_openw_fz", "ext4", "7.2.13", FTR_KI_RO_THP_TRUNCATE) ?: "", "good:3"));
	CHECK(!ftr_known_waiver("collapse_openw", "btrfs", "7.2.13", FTR_KI_RO_THP_TRUNCATE));
	CHECK(!ftr_known_waiver("collapse_openw", "ext4", "7.2.13", FTR_KI_DIO_STALE));
	CHECK(ftr_known_waiver("collapse_mixed", "xfs", "7.2.13", FTR_KI_DIO_STALE) != NULL);
	CHECK(!ftr_known_waiver("collapse_mixed", "xfs", "7.2.13", FTR_KI_ZERO_BESIDE));

	/* A kernel glob, and the probed type: "tmpfs" for the tmpfs-huge label too. */
	unit_write_file(f, "collapse_walk:tmpfs cachestat-double-count 6.18.*\n"
			"collapse_openw:ext4 ro-thp-openw-truncate 6.12.* 7.2.*\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, -1);
	unit_write_file(f, "collapse_walk:tmpfs cachestat-double-count 6.18.*\n", "w");
	CHECK_INT(ftr_known_load("unit", f), ==, 0);
	CHECK(ftr_known_waiver("collapse_walk", "tmpfs", "6.18.44-fc-v1252", FTR_KI_CACHESTAT) != NULL);
	CHECK(!ftr_known_waiver("collapse_walk", "tmpfs", "7.2.13", FTR_KI_CACHESTAT));
	CHECK(!ftr_known_waiver("collapse_walk", "tmpfs-huge", "6.18.44", FTR_KI_CACHESTAT));
}

/* collapse_openw under READ_ONLY_THP_FOR_FS: blocks written by one writable open while a
 * MADV_COLLAPSE call ran collapse_file(), then another writable open during that call. */
static void openw_run(void)
{
	reset(FTR_P_OPENW);
	sc.ro_mapping = true;
	env.caps.collapse_ro.ok = true;
	env.caps.collapse_rw.ok = false;
	add_role(FTR_R_WRITER, FTR_P_OPENW, "openw-writer0");
	add_role(FTR_R_COLLAPSER, 0, "collapser");
	log_op(0, FTR_OP_WRITE, 100, 200, 8, 8, 0);	/* blocks 8-15 */
	log_op(0, FTR_OP_WRITE, 300, 400, 30, 2, 0);	/* the open that met the collapse */
	e.rs.roles[0].log->e[0].open_ns = e.rs.roles[0].log->e[1].open_ns = 5;
	log_op(1, FTR_OP_COLLAPSE, 150, 500, 0, 4096, EINVAL);
	win[0] = (struct ftr_window){ 150, 500, 1, false, 0 };
	e.l.ncwin = 1;
	bad(FTR_ST_READ, 9, FTR_LOST, FTR_P_OPENW);
	bad(FTR_ST_MAP, 9, FTR_LOST, FTR_P_OPENW);
}

static void test_ro_thp_truncate(void)
{
	char ev[600] = "";

	openw_run();
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	CHECK(strstr(ev, "overlapped MADV_COLLAPSE"));

	openw_run();	/* the same, but the ledger could not keep every bad block */
	e.l.lost = true;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	openw_run();	/* a block written after that open: not explained by it */
	log_op(0, FTR_OP_WRITE, 450, 460, 20, 1, 0);
	bad(FTR_ST_READ, 20, FTR_LOST, FTR_P_OPENW);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	openw_run();	/* no collapse_file in any call the opens overlapped */
	e.l.ncwin = 0;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	/* Another writer's open() that began before the block's write ended but returned
	 * after it (truncating a large page cache is slow): it may have truncated it. */
	openw_run();
	add_role(FTR_R_WRITER, FTR_P_OPENW, "openw-writer2");
	log_op(2, FTR_OP_WRITE, 150, 400, 40, 1, 0);
	e.rs.roles[2].log->e[0].open_ns = 100;
	e.rs.roles[0].log->e[1].epoch = 2;	/* writer0's own later open is not there */
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	openw_run();	/* ... one whose open() had returned before the write's pwrite() began could not */
	add_role(FTR_R_WRITER, FTR_P_OPENW, "openw-writer2");
	log_op(2, FTR_OP_WRITE, 90, 400, 40, 1, 0);
	e.rs.roles[2].log->e[0].open_ns = 10;
	e.rs.roles[0].log->e[1].epoch = 2;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	/* A call that began after the open's open() returned raised nr_thps too late. */
	openw_run();
	win[0] = (struct ftr_window){ 350, 500, 1, false, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	/* A block written and closed before the call began, lost by an open during it:
	 * the call writes the mapping back only when no one holds it open for write,
	 * and the open that truncates does (6.12.117, seen there). */
	openw_run();
	win[0] = (struct ftr_window){ 250, 500, 1, false, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	/* The look-alike of a worse kernel: the same block, lost by an open after a call
	 * that built a THP; that call wrote it back first (no one held the file open,
	 * or it could not have built one). */
	openw_run();
	win[0] = (struct ftr_window){ 250, 290, 1, true, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	openw_run();	/* no overlap, but a call of the epoch that began before the write built a THP */
	win[0] = (struct ftr_window){ 150, 290, 1, true, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	CHECK(strstr(ev, "followed MADV_COLLAPSE") && strstr(ev, "built a THP"));
	openw_run();	/* ... in an earlier epoch: evicted since, so nr_thps was not raised */
	win[0] = (struct ftr_window){ 150, 290, 0, true, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	openw_run();	/* ... or it built nothing */
	win[0] = (struct ftr_window){ 150, 290, 1, false, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	openw_run();	/* ... or it began after the write ended */
	win[0] = (struct ftr_window){ 210, 290, 1, true, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	/* A THP built before the open, split since: nr_thps went back down. */
	openw_run();
	win[0] = (struct ftr_window){ 150, 290, 1, true, 0 };
	add_role(FTR_R_SPLITTER, FTR_SPLIT_DEBUGFS, "debugfs-splitter");
	log_op(2, FTR_OP_SPLIT, 294, 296, 0, 4096, 0);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	openw_run();	/* ... a split of another PMD, or one that failed, changes nothing */
	win[0] = (struct ftr_window){ 150, 290, 1, true, 0 };
	add_role(FTR_R_SPLITTER, FTR_SPLIT_DEBUGFS, "debugfs-splitter");
	log_op(2, FTR_OP_SPLIT, 294, 296, 4096, 4096, 0);
	log_op(2, FTR_OP_SPLIT, 297, 298, 0, 4096, EINVAL);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	/* ... another writable open, whose open() returned before the block's pwrite()
	 * began, truncated the THP first (by the end of its open(), not of its close). */
	openw_run();
	win[0] = (struct ftr_window){ 50, 90, 1, true, 0 };
	add_role(FTR_R_WRITER, FTR_P_OPENW, "openw-writer2");
	log_op(2, FTR_OP_WRITE, 92, 199, 40, 1, 0);
	e.rs.roles[2].log->e[0].open_ns = 1;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	openw_run();	/* ... whose open() returned before the THP was built */
	win[0] = (struct ftr_window){ 150, 190, 1, true, 0 };
	add_role(FTR_R_WRITER, FTR_P_OPENW, "openw-writer2");
	log_op(2, FTR_OP_WRITE, 180, 199, 40, 1, 0);
	e.rs.roles[2].log->e[0].open_ns = 5;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);
	/* The collapser wrote the block's PMD back between its write and the open: it
	 * was clean when the page cache was truncated. */
	openw_run();
	log_op(1, FTR_OP_SYNC, 250, 260, 0, 4096, 0);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	openw_run();	/* ... of another PMD: it was not */
	log_op(1, FTR_OP_SYNC, 250, 260, 4096, 4096, 0);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_RO_THP_TRUNCATE);

	openw_run();	/* the new rules: writable mappings collapse, so this is a new bug */
	env.caps.collapse_rw.ok = true;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	openw_run();	/* a torn block is no truncation */
	bad(FTR_ST_READ, 10, FTR_TORN, FTR_P_OPENW);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
}

/* An O_DIRECT write the page cache did not see: the disk is right, and the kernel's
 * log says why (kmsg_file: the file it names), or says nothing (NULL). */
static void dio_run(const char *kmsg_file)
{
	char k[300], text[600];

	reset(FTR_P_DIRECT);
	sc.ro_mapping = false;
	snprintf(k, sizeof(k), "%s/kmsg", dir);
	if (kmsg_file)
		snprintf(text, sizeof(text), "<2>Page cache invalidation failure on direct I/O.  Possible data "
			 "corruption due to collision with buffered I/O!\n<2>File: %s PID: 77 Comm: collapse_mixed\n",
			 kmsg_file);
	else
		snprintf(text, sizeof(text), "<6>collapse_write (77): drop_caches: 1\n");
	unit_write_file(k, text, "w");
	setenv("FTR_KMSG", k, 1);
	if (env.kmsg.fd > 0)
		ftr_kmsg_stop(&env.kmsg);
	ftr_kmsg_start(&env.kmsg);
	env.caps.odirect.ok = true;
	add_role(FTR_R_WRITER, FTR_P_DIRECT, "direct-writer0");
	log_op(0, FTR_OP_WRITE, 100, 200, 0, 8, 0);
	e.rs.roles[0].log->e[0].path = FTR_P_DIRECT;
	bad(FTR_ST_READ, 3, FTR_LOST, FTR_P_DIRECT);
	bad(FTR_ST_MAP, 3, FTR_LOST, FTR_P_DIRECT);
}

static void test_dio_stale(void)
{
	char ev[600] = "", other[320];
	uint8_t old[FTR_BLOCK];
	int fd;

	dio_run(path);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_DIO_STALE);
	CHECK(strstr(ev, path));

	snprintf(other, sizeof(other), "%s.other", path);
	dio_run(other);	/* the kernel complained about another file */
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	dio_run(path);	/* ... about another thread of this test */
	e.rs.roles[0].st->tid = 78;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	dio_run(path);	/* the O_DIRECT write was two epochs before the loss */
	e.rs.roles[0].log->e[0].epoch = 3;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	dio_run(path);	/* only a racing reader saw it */
	e.l.nbads = 0;
	bad(FTR_ST_RACING, 3, FTR_LOST, FTR_P_DIRECT);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	/* The disk has the version before the O_DIRECT write too: the write is lost, and
	 * only a store that dirtied the stale folio after it explains that. */
	for (int store = 0; store < 3; store++) {	/* before the write, after it, after it in another epoch */
		dio_run(path);
		ftr_stamp(&e.a.oracle, old, 3, 0, FTR_P_DIRECT);
		fd = open(path, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, old, FTR_BLOCK, 3 * FTR_BLOCK) == FTR_BLOCK && !fsync(fd));
		close(fd);
		bad(FTR_ST_DISK, 3, FTR_LOST, FTR_P_DIRECT);
		for (size_t i = 0; i < e.l.nbads; i++)
			e.l.bads[i].b.found = (struct ftr_found){ .stamp_valid = true, .file_id = 1, .block = 3, .gen = 1 };
		add_role(FTR_R_WRITER, FTR_P_MMAP, "mmap-writer1");
		log_op(1, FTR_OP_WRITE, store ? 300 : 50, 400, 100, 1, 0);
		e.rs.roles[1].log->e[0].path = FTR_P_MMAP;
		e.rs.roles[1].log->e[0].epoch = store == 2 ? 2 : 1;
		CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, store == 1 ? FTR_KI_DIO_WRITEBACK : FTR_KI_NONE);
		if (store == 1)
			CHECK(strstr(ev, "hold the version before it, also on the disk"));
	}
	/* No store, but a MADV_COLLAPSE of the PMD that returned 0 while the write ran (it
	 * held the folios: the write could not invalidate them); one that ended before
	 * the write, or failed, explains nothing. */
	for (int when = 0; when < 3; when++) {
		dio_run(path);
		bad(FTR_ST_DISK, 3, FTR_LOST, FTR_P_DIRECT);
		for (size_t i = 0; i < e.l.nbads; i++)
			e.l.bads[i].b.found = (struct ftr_found){ .stamp_valid = true, .file_id = 1, .block = 3, .gen = 1 };
		add_role(FTR_R_COLLAPSER, 0, "collapser");
		log_op(1, FTR_OP_COLLAPSE, when == 1 ? 20 : 150, when == 1 ? 90 : 250, 0, 4096, when == 2 ? EAGAIN : 0);
		CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, when == 0 ? FTR_KI_DIO_WRITEBACK : FTR_KI_NONE);
	}
}

/* The same loss, with nothing in the kernel log: a collapse of the block's PMD built a
 * THP while the write ran, and the disk has the write. */
static void dio_collapse_run(void)
{
	dio_run(NULL);
	win[0] = (struct ftr_window){ 150, 250, 1, true, 0 };
	e.l.ncwin = 1;
}

/* The collapse's stale THP written back over the write: every reading of block 3, the
 * disk's too, holds the version before it; dirtied: a pwrite() into the PMD after the
 * collapser's writeback of it. */
static void written_back_run(bool dirtied)
{
	dio_collapse_run();
	bad(FTR_ST_DURABLE, 3, FTR_LOST, FTR_P_DIRECT);
	bad(FTR_ST_DISK, 3, FTR_LOST, FTR_P_DIRECT);
	bad(FTR_ST_EVICTED, 3, FTR_LOST, FTR_P_DIRECT);
	for (size_t i = 0; i < e.l.nbads; i++)
		bads[i].b.found = (struct ftr_found){ .stamp_valid = true, .block = 3, .gen = 1, .path = FTR_P_DIRECT };
	add_role(FTR_R_COLLAPSER, 0, "collapser");
	log_op(1, FTR_OP_SYNC, 120, 130, 0, 4096, 0);
	add_role(FTR_R_WRITER, FTR_P_PWRITE, "pwrite-writer2");
	log_op(2, FTR_OP_WRITE, dirtied ? 160 : 100, dirtied ? 170 : 110, 40, 8, 0);
	e.rs.roles[2].log->e[0].path = FTR_P_PWRITE;
}

static void test_dio_collapse(void)
{
	char ev[600] = "";

	dio_collapse_run();
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_DIO_COLLAPSE);
	CHECK(strstr(ev, "the kernel reported nothing") && strstr(ev, "the disk holds the write"));

	dio_collapse_run();	/* the collapse was of another PMD */
	win[0].pmd = 1;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* ... built no THP */
	win[0].built = false;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* ... ended before the write began */
	win[0] = (struct ftr_window){ 20, 90, 1, true, 0 };
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* ... ran in another epoch */
	win[0].epoch = 2;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	written_back_run(true);	/* the stale THP was written back: the disk lost the write too */
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_DIO_COLLAPSE);
	CHECK(strstr(ev, "the stale THP was dirty and written back"));
	written_back_run(false);	/* ... but nothing dirtied the PMD after its writeback */
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	written_back_run(true);	/* ... or the disk holds another version than the page cache */
	bads[e.l.nbads - 1].b.found.gen = 0;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* ... or only the disk and the read after eviction saw it */
	e.l.nbads = 0;
	bad(FTR_ST_DISK, 3, FTR_LOST, FTR_P_DIRECT);
	bad(FTR_ST_EVICTED, 3, FTR_LOST, FTR_P_DIRECT);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* only a racing reader saw it */
	e.l.nbads = 0;
	bad(FTR_ST_RACING, 3, FTR_LOST, FTR_P_DIRECT);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	dio_collapse_run();	/* a second block, written by a buffered write */
	bad(FTR_ST_READ, 40, FTR_LOST, FTR_P_WRITE);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);

	/* The kernel did warn: that is dio-stale-pagecache, collapse or not. */
	dio_run(path);
	win[0] = (struct ftr_window){ 150, 250, 1, true, 0 };
	e.l.ncwin = 1;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_DIO_STALE);
}

static void zero_run(void)
{
	unsigned zero = 0;

	reset(FTR_P_WRITE);
	while (ftr_churn_roles[zero] != &ftr_churn_zero)
		zero++;
	add_role(FTR_R_READER, FTR_READ_MAP, "map-reader0");
	add_role(FTR_R_CHURN, zero, "zero-range-churn1");
	log_op(0, FTR_OP_READ, 1000, 2000, 0, 16, 1);		/* saw 1 bad block */
	log_op(1, FTR_OP_PUNCH, 1500, 2500, 4, 1, 0);		/* block 4: same page, not block 2 */
	bad(FTR_ST_RACING, 2, FTR_ZERO, FTR_P_WRITE);
}

static void test_zero_beside(void)
{
	char ev[600] = "";

	zero_run();
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_ZERO_BESIDE);
	zero_run();	/* the block stayed wrong after quiescing */
	bad(FTR_ST_READ, 2, FTR_ZERO, FTR_P_WRITE);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* the zero-range was of the block itself */
	e.rs.roles[1].log->head = 0;
	log_op(1, FTR_OP_PUNCH, 1500, 2500, 2, 1, 0);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* the racing read saw more bad blocks than it kept */
	e.rs.roles[0].log->head = 0;
	log_op(0, FTR_OP_READ, 1000, 2000, 0, 16, 3);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* two blocks, each beside a zero-range of its own page */
	e.rs.roles[0].log->head = 0;
	log_op(0, FTR_OP_READ, 1000, 2000, 0, 16, 2);
	log_op(1, FTR_OP_PUNCH, 1200, 1300, 8, 1, 0);
	bad(FTR_ST_RACING, 9, FTR_ZERO, FTR_P_WRITE);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_ZERO_BESIDE);
	CHECK(strstr(ev, "each of the others") != NULL);
	zero_run();	/* ... the second one without its zero-range */
	e.rs.roles[0].log->head = 0;
	log_op(0, FTR_OP_READ, 1000, 2000, 0, 16, 2);
	bad(FTR_ST_RACING, 9, FTR_ZERO, FTR_P_WRITE);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* the fallocate() failed: it zeroed nothing */
	e.rs.roles[1].log->head = 0;
	log_op(1, FTR_OP_PUNCH, 1500, 2500, 4, 1, -95);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* a second bad block outside the read that saw the zeros */
	e.rs.roles[0].log->head = 0;
	log_op(0, FTR_OP_READ, 1000, 2000, 0, 16, 2);
	log_op(1, FTR_OP_PUNCH, 1200, 1300, 17, 1, 0);
	bad(FTR_ST_RACING, 16, FTR_ZERO, FTR_P_WRITE);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* the read that saw it belongs to a role that reported nothing */
	bads[0].role = 1;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* a second racing report, in epoch 2, with evidence of its own */
	log_op(0, FTR_OP_READ, 3000, 4000, 24, 8, 1);
	log_op(1, FTR_OP_PUNCH, 3500, 3600, 31, 1, 0);
	e.rs.roles[0].log->e[1].epoch = e.rs.roles[1].log->e[1].epoch = 2;
	bad(FTR_ST_RACING, 25, FTR_ZERO, FTR_P_WRITE);
	bads[1].epoch = 2;
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_ZERO_BESIDE);
	CHECK(strstr(ev, "in 2 racing reports"));
	e.rs.roles[1].log->e[1].res = -5;	/* ... whose zero-range failed */
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
	zero_run();	/* the fallocate() call ended before the read began */
	e.rs.roles[1].log->head = 0;
	log_op(1, FTR_OP_PUNCH, 500, 900, 4, 1, 0);
	CHECK_INT(ftr_known_data(&e.a, &e.rs, &e.l, ev, sizeof(ev)), ==, FTR_KI_NONE);
}

int main(void)
{
	if (!unit_tmpdir(dir, sizeof(dir))) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ftr1", dir);
	env.opts = &opts;
	env.name = "collapse_openw";
	env.fs = "ext4";
	test_waivers();
	test_ro_thp_truncate();
	test_dio_stale();
	test_dio_collapse();
	test_zero_beside();
	for (int i = 0; i < e.rs.nroles; i++)
		free(e.rs.roles[i].log);
	unit_rmtree(dir);
	return unit_done();
}
