// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ktap.h"

static pthread_mutex_t ktap_lock = PTHREAD_MUTEX_INITIALIZER;
static int ktap_nr, ktap_pass, ktap_fail, ktap_skip;
/* The subtest a test exists for, and one that never makes a test pass on its own. */
static char required[32], auxiliary[32];
static bool required_skipped;

void ftr_ktap_plan(int nr_tests)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", nr_tests);
}

void ftr_vdiag(const char *fmt, va_list ap)
{
	pthread_mutex_lock(&ktap_lock);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&ktap_lock);
}

void ftr_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ftr_vdiag(fmt, ap);
	va_end(ap);
}

void ftr_ktap_result(enum ftr_result r, const char *name, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ktap_lock);
	ktap_nr++;
	printf("%s %d %s", r == FTR_FAIL ? "not ok" : "ok", ktap_nr, name);
	if (r == FTR_SKIP || r == FTR_XFAIL)
		fputs(r == FTR_SKIP ? " # SKIP" : " # XFAIL", stdout);
	if (fmt && *fmt) {
		fputs(r == FTR_SKIP || r == FTR_XFAIL ? " " : " # ", stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
	if (r == FTR_PASS || r == FTR_XFAIL)
		ktap_pass += strcmp(name, auxiliary) != 0;
	else if (r == FTR_FAIL)
		ktap_fail++;
	else
		ktap_skip++;
	required_skipped |= r == FTR_SKIP && !strcmp(name, required);
	pthread_mutex_unlock(&ktap_lock);
}

void ftr_ktap_roles(const char *req, const char *aux)
{
	snprintf(required, sizeof(required), "%s", req ?: "");
	snprintf(auxiliary, sizeof(auxiliary), "%s", aux ?: "");
}

int ftr_ktap_exit_code(void)
{
	int code;

	pthread_mutex_lock(&ktap_lock);
	if (ktap_fail)
		code = FTR_EXIT_FAIL;
	else if (ktap_pass && !required_skipped)
		code = FTR_EXIT_PASS;
	else
		code = FTR_EXIT_SKIP;
	pthread_mutex_unlock(&ktap_lock);
	return code;
}
