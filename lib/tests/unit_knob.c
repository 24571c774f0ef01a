// SPDX-License-Identifier: GPL-2.0
/*
 * unit_knob: save/restore of sysfs knobs against a fake sysfs tree (FTR_SYSFS_ROOT).
 *
 * The knob module keeps its saved values in process-global storage, so the tests run
 * in order and each builds on what the previous one saved.  A fake sysfs file takes
 * any text, unlike the kernel, which is why restore must be seen writing the bare
 * selected word ("madvise"), never the whole "always [madvise] never" line.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "knob.h"
#include "unit.h"

#define THP		FTR_THP_SYSFS
#define ENABLED		THP "/enabled"
#define DEFRAG		THP "/defrag"
#define SLEEP		THP "/khugepaged/scan_sleep_millisecs"
#define TO_SCAN		THP "/khugepaged/pages_to_scan"
#define PMD_ENABLED	THP "/hugepages-2048kB/enabled"

static char root[256];

/* Path of a knob file in the fake tree. */
static const char *fake(const char *knob)
{
	static char buf[2][512];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", root, knob);
	return buf[i];
}

/* What the fake knob file holds now. */
static const char *content(const char *knob)
{
	static char buf[2][512];
	static int i;

	i ^= 1;
	if (unit_read_file(fake(knob), buf[i], sizeof(buf[i])))
		snprintf(buf[i], sizeof(buf[i]), "(unreadable)");
	return buf[i];
}

static int make_tree(void)
{
	static const char *const dirs[] = {
		"/sys", "/sys/kernel", "/sys/kernel/mm", THP, THP "/khugepaged",
		THP "/hugepages-2048kB",
	};

	if (!unit_tmpdir(root, sizeof(root)))
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(fake(dirs[i]), 0755))
			return -1;
	/* The texts the kernel shows, newline included. */
	if (unit_write_file(fake(ENABLED), "always [madvise] never\n", "w") ||
	    unit_write_file(fake(DEFRAG), "always defer defer+madvise [madvise] never\n", "w") ||
	    unit_write_file(fake(SLEEP), "10000\n", "w") ||
	    unit_write_file(fake(TO_SCAN), "4096\n", "w") ||
	    unit_write_file(fake(PMD_ENABLED), "always inherit madvise [never]\n", "w"))
		return -1;
	return setenv("FTR_SYSFS_ROOT", root, 1);
}

static void test_read(void)
{
	char buf[64], p[512];
	unsigned long v;

	CHECK_STR(ftr_knob_path(SLEEP, p, sizeof(p)), fake(SLEEP));
	/* Only absolute paths are moved under the root. */
	CHECK_STR(ftr_knob_path("rel/knob", p, sizeof(p)), "rel/knob");

	CHECK_INT(ftr_knob_read(ENABLED, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, "madvise");
	CHECK_INT(ftr_knob_read(PMD_ENABLED, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, "never");
	CHECK_INT(ftr_knob_read(SLEEP, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, "10000");	/* no newline */
	CHECK_INT(ftr_knob_read_ul(SLEEP, &v), ==, 0);
	CHECK_INT(v, ==, 10000);
	CHECK_INT(ftr_knob_read_ul(ENABLED, &v), ==, -EINVAL);
	CHECK_INT(ftr_knob_read(THP "/no_such_knob", buf, sizeof(buf)), ==, -ENOENT);
}

static void test_set_restore_once(void)
{
	char buf[64];

	CHECK_INT(ftr_knob_set(ENABLED, "always"), ==, 0);
	CHECK_STR(content(ENABLED), "always");
	CHECK_INT(ftr_knob_read(ENABLED, buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, "always");
	/* The second set must not save "always" as the original. */
	CHECK_INT(ftr_knob_set(ENABLED, "never"), ==, 0);
	CHECK_STR(content(ENABLED), "never");
	CHECK_INT(ftr_knob_restore_all(), ==, 0);
	CHECK_STR(content(ENABLED), "madvise");
}

static void test_restore_several(void)
{
	CHECK_INT(ftr_knob_set(SLEEP, "4242"), ==, 0);
	CHECK_INT(ftr_knob_set(PMD_ENABLED, "always"), ==, 0);
	CHECK_INT(ftr_knob_set(ENABLED, "always"), ==, 0);	/* saved before: kept */
	CHECK_STR(content(SLEEP), "4242");
	CHECK_STR(content(PMD_ENABLED), "always");
	CHECK_INT(ftr_knob_restore_all(), ==, 0);
	CHECK_STR(content(SLEEP), "10000");
	CHECK_STR(content(PMD_ENABLED), "never");
	CHECK_STR(content(ENABLED), "madvise");
	/* Restoring again is harmless (every exit path may call it). */
	CHECK_INT(ftr_knob_restore_all(), ==, 0);
	CHECK_STR(content(SLEEP), "10000");

	/* A knob that does not exist: an error and nothing saved, so no failed restore. */
	CHECK_INT(ftr_knob_set(THP "/no_such_knob", "1"), ==, -ENOENT);
	CHECK_INT(ftr_knob_restore_all(), ==, 0);
}

/* A knob that cannot be written back is counted; the others are still restored. */
static void test_restore_failure(void)
{
	CHECK_INT(ftr_knob_set(DEFRAG, "never"), ==, 0);
	CHECK_INT(ftr_knob_set(SLEEP, "1"), ==, 0);
	/* The knob file turns into a directory: open(O_WRONLY) fails with EISDIR. */
	CHECK(unlink(fake(DEFRAG)) == 0 && mkdir(fake(DEFRAG), 0755) == 0);
	CHECK_INT(ftr_knob_restore_all(), ==, 1);
	CHECK_STR(content(SLEEP), "10000");
	CHECK_STR(content(ENABLED), "madvise");
	/* Back to a file: everything restores again. */
	CHECK(rmdir(fake(DEFRAG)) == 0 && unit_write_file(fake(DEFRAG), "x\n", "w") == 0);
	CHECK_INT(ftr_knob_restore_all(), ==, 0);
	CHECK_STR(content(DEFRAG), "madvise");
}

/* The harness path: a process that changed a knob dies by SIGTERM and its handler
 * (async-signal-safe) restores the knob before exiting. */
static void on_term(int sig)
{
	(void)sig;
	_exit(ftr_knob_restore_all() ? 3 : 0);
}

static void test_restore_from_signal(void)
{
	int pipefd[2], status = -1;
	char c = 0;
	pid_t pid;

	if (!CHECK(pipe(pipefd) == 0))
		return;
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_term };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		if (ftr_knob_set(TO_SCAN, "1"))
			_exit(2);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'r');
	CHECK_STR(content(TO_SCAN), "1");
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(content(TO_SCAN), "4096");
	close(pipefd[0]);
}

int main(void)
{
	if (!CHECK(make_tree() == 0))
		return unit_done();
	test_read();
	test_set_restore_once();
	test_restore_several();
	test_restore_failure();
	test_restore_from_signal();
	unit_rmtree(root);
	return unit_done();
}
