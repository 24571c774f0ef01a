/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktap: KTAP output and kselftest exit codes.
 *
 * A selftest binary prints "TAP version 13", a plan, "# " diagnostics and one result
 * line per subtest; its exit status sums them up the way kselftest does (any fail ->
 * 1, else any pass -> 0, else all skipped -> 4).  Output is line-buffered and
 * serialised so that role threads may print diagnostics.
 */
#ifndef FTR_KTAP_H
#define FTR_KTAP_H

#include <stdarg.h>

enum ftr_exit {
	FTR_EXIT_PASS = 0,
	FTR_EXIT_FAIL = 1,
	FTR_EXIT_USAGE = 2,
	FTR_EXIT_SKIP = 4,
};

/* FTR_XFAIL: a known kernel issue that a waiver covers (known.h): "ok ... # XFAIL why". */
enum ftr_result { FTR_PASS, FTR_FAIL, FTR_SKIP, FTR_XFAIL };

void ftr_ktap_plan(int nr_tests);
void ftr_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ftr_vdiag(const char *fmt, va_list ap);
/* Prints "ok N name", "not ok N name", "ok N name # SKIP reason" or "ok N name # XFAIL
 * reason"; fmt is the reason. */
void ftr_ktap_result(enum ftr_result r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Exit status for everything reported so far: 1 if anything failed; else 0 if a
 * subtest other than aux passed and req (the subtest the test exists for) did not
 * skip; else 4.  A test that did not run its race, or whose only pass is the kernel
 * log's, is skipped, not passed. */
void ftr_ktap_roles(const char *req, const char *aux);
int ftr_ktap_exit_code(void);

#endif
