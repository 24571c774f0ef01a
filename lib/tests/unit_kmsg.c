// SPDX-License-Identifier: GPL-2.0
/*
 * unit_kmsg: which kernel log lines count as splats, and the watch over a plain text
 * file standing in for /dev/kmsg (FTR_KMSG) and /proc/sys/kernel/tainted (FTR_TAINT).
 */
#include "kmsg.h"
#include "unit.h"

/* Lines as the kernel prints them when something went wrong. */
static const char *const splats[] = {
	"BUG: unable to handle page fault for address: ffffea0004000008",
	"WARNING: CPU: 1 PID: 42 at mm/khugepaged.c:1234 collapse_file+0x5d1/0x1a40",
	"Oops: 0000 [#1] PREEMPT SMP NOPTI",
	"Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1]",
	"general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP",
	"BUG: Bad page state in process collapse_write  pfn:1a2b3",
	"page dumped because: VM_BUG_ON_FOLIO(!folio_test_locked(folio))",
	"kernel BUG at mm/filemap.c:1532!",
	"BUG: KASAN: use-after-free in filemap_get_entry+0x1c5/0x1e0",
	"KASAN: null-ptr-deref in range [0x0000000000000008-0x000000000000000f]",
	"UBSAN: shift-out-of-bounds in mm/huge_memory.c:3301:20",
	"watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [khugepaged:57]",
	"INFO: task khugepaged:57 blocked for more than 120 seconds.",
	"rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
	"BUG: sleeping function called from invalid context at mm/memory.c:6120",
	"WARNING: possible circular locking dependency detected",
	"refcount_t: underflow; use-after-free.",
	"list_del corruption. prev->next should be ffff888100a1b2c8, but was dead000000000100",
	"Kernel panic - not syncing: Fatal exception",
	"BUG: KFENCE: out-of-bounds read in folio_split+0x2e/0x90",
};

/* Lines a normal run logs. */
static const char *const ordinary[] = {
	"loop0: detected capacity change from 0 to 2097152",
	"XFS (loop0): Mounting V5 Filesystem 75fc5314-6fcc-4c00-9669-90d3a3a4df9d",
	"XFS (loop0): Ending clean mount",
	"EXT4-fs (loop1): mounted filesystem 1c5b7a9e-0c8a-4f1e-9e1b-0c6c8a5d2f3a r/w with ordered data mode.",
	"BTRFS info (device loop2): first mount of filesystem 0b5d2c1e-7f3a-4e2b-9c1d-8a7b6c5d4e3f",
	"file-thp-race: collapse_write starting",
	"------------[ cut here ]------------",
	"Call Trace:",
	"CPU: 1 UID: 0 PID: 42 Comm: khugepaged Not tainted 6.18.44 #1",
	"",
};

static void test_is_splat(void)
{
	for (size_t i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
		if (!CHECK(ftr_kmsg_is_splat(splats[i])))
			DIAG("  not taken for a splat: %s", splats[i]);
	for (size_t i = 0; i < sizeof(ordinary) / sizeof(ordinary[0]); i++)
		if (!CHECK(!ftr_kmsg_is_splat(ordinary[i])))
			DIAG("  taken for a splat: %s", ordinary[i]);
}

static void test_watch(void)
{
	char dir[256], log[300], taint[300], text[8192];
	unsigned long now = 12345;
	struct ftr_kmsg k;

	if (!CHECK(unit_tmpdir(dir, sizeof(dir))))
		return;
	snprintf(log, sizeof(log), "%s/kmsg", dir);
	snprintf(taint, sizeof(taint), "%s/tainted", dir);
	/* A copy of the recorded log, so that lines can be appended to it. */
	CHECK_INT(unit_read_file(unit_fixture("kmsg-warning.txt"), text, sizeof(text)), ==, 0);
	CHECK_INT(unit_write_file(log, text, "w"), ==, 0);
	CHECK_INT(unit_write_file(taint, "0\n", "w"), ==, 0);
	setenv("FTR_KMSG", log, 1);
	setenv("FTR_TAINT", taint, 1);

	CHECK_INT(ftr_kmsg_start(&k), ==, 0);
	CHECK(!k.is_dev && k.taint0 == 0);
	CHECK(!ftr_kmsg_taint_changed(&k, &now) && now == 0);

	/* The recorded log holds one splat: the WARNING line, among 16 lines. */
	CHECK_INT(ftr_kmsg_poll(&k), ==, 1);
	CHECK_INT(k.nr_lines, ==, 16);
	CHECK_STR(k.first_splat,
		  "WARNING: CPU: 1 PID: 42 at mm/khugepaged.c:1234 collapse_file+0x5d1/0x1a40");
	CHECK_STR(k.lines[15], "XFS (loop0): Unmounting Filesystem 75fc5314-6fcc-4c00-9669-90d3a3a4df9d");

	/* Nothing new: nothing counted twice. */
	CHECK_INT(ftr_kmsg_poll(&k), ==, 1);
	CHECK_INT(k.nr_lines, ==, 16);

	/* Appended lines: only they are read; the first splat stays the first. */
	CHECK_INT(unit_write_file(log, "BUG: Bad page state in process collapse_write  pfn:1a2b3\n",
				  "a"), ==, 0);
	CHECK_INT(ftr_kmsg_poll(&k), ==, 2);
	CHECK_INT(k.nr_lines, ==, 17);
	CHECK_STR(k.lines[16], "BUG: Bad page state in process collapse_write  pfn:1a2b3");
	CHECK(!strncmp(k.first_splat, "WARNING: CPU: 1 PID: 42", 23));
	CHECK_INT(unit_write_file(log, "loop0: detected capacity change from 0 to 8\n", "a"), ==, 0);
	CHECK_INT(ftr_kmsg_poll(&k), ==, 2);
	CHECK_INT(k.nr_lines, ==, 18);

	/* More lines than are kept: the ring holds the newest. */
	for (int i = 0; i < FTR_KMSG_KEEP; i++) {
		char line[64];

		snprintf(line, sizeof(line), "line %d\n", i);
		unit_write_file(log, line, "a");
	}
	CHECK_INT(ftr_kmsg_poll(&k), ==, 2);
	CHECK_INT(k.nr_lines, ==, 18 + FTR_KMSG_KEEP);
	CHECK_STR(k.lines[(k.nr_lines - 1) % FTR_KMSG_KEEP], "line 63");

	/* New taint (e.g. TAINT_WARN, 512) is seen; the value is reported. */
	CHECK_INT(unit_write_file(taint, "512\n", "w"), ==, 0);
	CHECK(ftr_kmsg_taint_changed(&k, &now));
	CHECK_INT(now, ==, 512);

	ftr_kmsg_stop(&k);
	CHECK_INT(k.fd, ==, -1);
	CHECK_INT(ftr_kmsg_poll(&k), ==, 2);	/* stopped: no read, the count stays */

	/* A taint already set at start is no change. */
	CHECK_INT(ftr_kmsg_start(&k), ==, 0);
	CHECK(k.taint0 == 512 && !ftr_kmsg_taint_changed(&k, &now));
	ftr_kmsg_stop(&k);

	/* A missing log file is an error at start. */
	setenv("FTR_KMSG", dir, 1);
	unit_rmtree(dir);
	CHECK(ftr_kmsg_start(&k) < 0);
	unsetenv("FTR_KMSG");
	unsetenv("FTR_TAINT");
}

int main(void)
{
	test_is_splat();
	test_watch();
	return unit_done();
}
