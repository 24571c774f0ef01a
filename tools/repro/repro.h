/* SPDX-License-Identifier: GPL-2.0 */
/*
 * repro.h - the little the standalone reproducers share.  Nothing here may depend on
 * lib/: a reproducer is one C file a kernel developer can build with
 *   gcc -O2 -pthread -o NAME NAME.c
 * and run on a kernel without the suite.
 *
 * Conventions (README, docs/findings/):
 *   NAME [--seconds N] [tool options] [DIR]
 * makes its own file in DIR (or in a tmpfs of its own in a private mount namespace),
 * and prints exactly one line on stdout:
 *   NAME: found: ...         exit 1, the bug was seen
 *   NAME: not found: ...     exit 0, nothing within the time budget
 *   NAME: cannot run: ...    exit 4, this kernel or filesystem cannot run the race
 * Bad usage is one line on stderr and exit 2.  That makes it a `git bisect run`
 * script as it is (0 good, 1 bad; 4 is not 125, so wrap it where a build may lack
 * the feature).
 */
#ifndef REPRO_H
#define REPRO_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

enum { REPRO_NONE = 0, REPRO_FOUND = 1, REPRO_USAGE = 2, REPRO_CANNOT = 4 };

#define PMD_SIZE	(2UL << 20)	/* x86-64; every kernel these races were seen on */
#define PAGE		4096UL

static const char *repro_name;
static char repro_path[PATH_MAX];	/* the file made, removed at exit */

static inline double repro_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The one line, then exit.  _exit where threads may still be in the kernel. */
static inline void __attribute__((format(printf, 2, 3), noreturn))
repro_exit(int code, const char *fmt, ...)
{
	static const char *const what[] = {
		[REPRO_NONE] = "not found", [REPRO_FOUND] = "found", [REPRO_CANNOT] = "cannot run",
	};
	va_list ap;

	printf("%s: %s: ", repro_name, what[code]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (repro_path[0])
		unlink(repro_path);
	_exit(code);
}

/* A failed system call in the reproducer's own setup: the kernel cannot run it. */
#define repro_fail(what) repro_exit(REPRO_CANNOT, "%s: %s", what, strerror(errno))

static inline void __attribute__((noreturn)) repro_usage(const char *usage, const char *bad)
{
	fprintf(stderr, "%s: %s%susage: %s %s\n", repro_name, bad ? bad : "", bad ? "; " : "",
		repro_name, usage);
	exit(REPRO_USAGE);
}

/*
 * Options: "--seconds N" and the tool's own, each "--name" alone (sets 1) or
 * "--name N" (a positive number) as declared; then at most one DIR.
 */
struct repro_opt {
	const char *name;
	double *val;
	int has_arg;
};

static inline const char *repro_args(int argc, char **argv, double *seconds,
				     const struct repro_opt *opts, const char *usage)
{
	const struct repro_opt secs = { "--seconds", seconds, 1 };
	const char *dir = NULL;
	char *end;

	repro_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (int i = 1; i < argc; i++) {
		const struct repro_opt *o = NULL;
		double v = 1;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s %s\n", repro_name, usage);
			exit(0);
		}
		if (argv[i][0] != '-') {
			if (dir)
				repro_usage(usage, "more than one DIR");
			dir = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--seconds"))
			o = &secs;
		for (const struct repro_opt *p = opts; !o && p && p->name; p++)
			if (!strcmp(argv[i], p->name))
				o = p;
		if (!o)
			repro_usage(usage, "unknown option");
		if (o->has_arg) {
			if (i + 1 == argc)
				repro_usage(usage, "option needs a number");
			v = strtod(argv[++i], &end);
			if (*end || !(v > 0) || v > 1e6)
				repro_usage(usage, "expected a positive number");
		}
		*o->val = v;
	}
	return dir;
}

/*
 * Without DIR: a tmpfs over /tmp in a mount namespace of our own, gone with the
 * process, so nothing is left behind on any exit path.
 */
static inline const char *repro_dir(const char *dir, const char *tmpfs_opts)
{
	if (dir)
		return dir;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, tmpfs_opts))
		repro_fail("a private tmpfs (needs root)");
	return "/tmp";
}

/* DIR/NAME.PID, new, removed by repro_exit(). */
static inline int repro_file(const char *dir, int flags)
{
	int fd;

	snprintf(repro_path, sizeof(repro_path), "%s/%s.%d", dir, repro_name, (int)getpid());
	fd = open(repro_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | flags, 0600);
	if (fd < 0) {
		repro_path[0] = 0;
		repro_fail(dir);
	}
	return fd;
}

/* The file again, with O_DIRECT: "cannot run" where DIR's filesystem refuses it. */
static inline int repro_open_direct(const char *dir)
{
	int fd = open(repro_path, O_RDWR | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		repro_exit(REPRO_CANNOT, "O_DIRECT open on %s: %s", dir, strerror(errno));
	return fd;
}

/* The file again, read-only: read-only collapse refuses files open for write. */
static inline int repro_reopen_rdonly(int fd)
{
	close(fd);
	fd = open(repro_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		repro_fail("reopening read-only");
	return fd;
}

/* A shared mapping of the file that starts on a PMD boundary, as collapse needs. */
static inline char *repro_map(int fd, size_t len, int prot)
{
	char *p = mmap(NULL, len + PMD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		repro_fail("mmap");
	a = (char *)(((uintptr_t)p + PMD_SIZE - 1) & ~(PMD_SIZE - 1));
	if (mmap(a, len, prot, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		repro_fail("mmap of the file");
	return a;
}

/* Fill [0, len) with byte c in small writes: small folios, as collapse wants them. */
static inline void repro_fill(int fd, size_t len, int c)
{
	char buf[PAGE];

	memset(buf, c, sizeof(buf));
	for (size_t off = 0; off < len; off += PAGE)
		if (pwrite(fd, buf, PAGE, off) != (ssize_t)PAGE)
			repro_fail("filling the file");
	if (fsync(fd))
		repro_fail("fsync");
}

/*
 * Can this kernel collapse this file's page cache at all?  Asked of the real thing:
 * the kernel version says nothing about configs and backports.
 */
static inline void repro_probe_collapse(char *pmd, const char *fs_hint)
{
	if (!madvise(pmd, PMD_SIZE, MADV_COLLAPSE) || errno == EAGAIN || errno == EBUSY)
		return;
	repro_exit(REPRO_CANNOT, "MADV_COLLAPSE of a clean file on %s: %s", fs_hint, strerror(errno));
}

#endif
