/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unit: the few helpers the lib unit tests share.
 *
 * Every CHECK is one KTAP result line "ok N file:line expr".  Results are collected in
 * memory and printed by unit_done() after "TAP version 13" and the plan, because the
 * number of checks is only known at the end and KTAP wants the plan first.
 */
#ifndef FTR_UNIT_H
#define FTR_UNIT_H

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *unit_out;
static char *unit_buf;
static size_t unit_len;
static int unit_nr, unit_failed;

static inline FILE *unit_stream(void)
{
	if (!unit_out)
		unit_out = open_memstream(&unit_buf, &unit_len);
	return unit_out;
}

static inline void __attribute__((format(printf, 1, 2))) DIAG(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", unit_stream());
	va_start(ap, fmt);
	vfprintf(unit_out, fmt, ap);
	va_end(ap);
	fputc('\n', unit_out);
}

static inline bool unit_check(bool ok, const char *file, int line, const char *expr)
{
	const char *base = strrchr(file, '/');

	/* '#' would start a KTAP directive in the description. */
	fprintf(unit_stream(), "%s %d %s:%d ", ok ? "ok" : "not ok", ++unit_nr,
		base ? base + 1 : file, line);
	for (; *expr; expr++)
		fputc(*expr == '#' || *expr == '\n' ? ' ' : *expr, unit_out);
	fputc('\n', unit_out);
	if (!ok)
		unit_failed++;
	return ok;
}

#define CHECK(expr) unit_check(!!(expr), __FILE__, __LINE__, #expr)
/* Integer comparison that shows both values when it fails. */
#define CHECK_INT(a, op, b) do {							\
	long long _a = (long long)(a), _b = (long long)(b);				\
	if (!unit_check(_a op _b, __FILE__, __LINE__, #a " " #op " " #b))		\
		DIAG("  got %lld, %lld", _a, _b);					\
} while (0)
#define CHECK_STR(a, b) do {								\
	const char *_a = (a), *_b = (b);						\
	if (!unit_check(_a && _b && !strcmp(_a, _b), __FILE__, __LINE__, #a " == " #b)) \
		DIAG("  got \"%s\", want \"%s\"", _a ? _a : "(null)", _b ? _b : "(null)"); \
} while (0)

/* Prints the collected KTAP and gives the exit status: 0 all passed, 1 otherwise. */
static inline int unit_done(void)
{
	fclose(unit_stream());
	printf("TAP version 13\n1..%d\n%s", unit_nr, unit_buf ? unit_buf : "");
	printf("# %d passed, %d failed\n", unit_nr - unit_failed, unit_failed);
	free(unit_buf);
	return unit_failed || !unit_nr ? 1 : 0;
}

/* A recorded fixture: $FTR_FIXTURES/name, default lib/tests/fixtures from the repo top. */
static inline const char *unit_fixture(const char *name)
{
	static char path[4096];
	const char *dir = getenv("FTR_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "lib/tests/fixtures", name);
	return path;
}

/* A private temp dir (mkdtemp) and its removal with everything in it. */
static inline char *unit_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/ftr-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	return mkdtemp(buf);
}

static inline int unit_rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st; (void)type; (void)f;
	return remove(p);
}

static inline void unit_rmtree(const char *dir)
{
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to path (creating it); 0 or -errno. */
static inline int unit_write_file(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/* The whole (small) file as a string in buf; 0 or -errno. */
static inline int unit_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

#endif
