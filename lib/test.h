/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test: the harness around every selftest binary (it owns main()).
 *
 * A selftest file only declares itself with FTR_TEST(): name, filesystems, kernel
 * commits it guards, and either a scenario for the engine or a custom body.  The
 * harness parses the common options, refuses bad input with exit status 2, answers
 * --describe for the runner, checks root and the memory budget, mounts a private tmpfs
 * when no --dir is given, probes the filesystem, watches the kernel log, restores
 * every knob on every exit path, and turns the subtests into KTAP and an exit status.
 */
#ifndef FTR_TEST_H
#define FTR_TEST_H

#include "ktap.h"
#include "scenario.h"

struct ftr_test {
	const char *name;
	const char *desc;
	const char *fs;			/* filesystem types it runs on: "tmpfs,xfs,ext4,btrfs" */
	unsigned timeout;		/* seconds at --timeout-mul 1; 0: the settings file's */
	const char *tags;		/* kernel commits or threads it guards */
	const struct ftr_scenario *scenario;	/* run by the engine, or: */
	void (*run)(struct ftr_env *env);	/* a custom body printing its own subtests */
	int nr_subtests;		/* of the custom body */
};

extern const struct ftr_test ftr_test;

/*
 * The harness itself: a selftest's main() (test_main.c) is ftr_main(&ftr_test, ...);
 * tools/thp-race calls it with a test it built from its own options.  Returns the
 * exit status.
 */
int ftr_main(const struct ftr_test *t, int argc, char **argv);

#define FTR_TEST(...) const struct ftr_test ftr_test = { __VA_ARGS__ }

#endif
