// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crash.h"
#include "engine.h"
#include "knob.h"
#include "mapping.h"
#include "test.h"
#include "thp.h"
#include "trace.h"
#include "waiver.h"

static char private_mnt[64];

/* Runs from atexit and from signal handlers: async-signal-safe calls only.  The
 * private tmpfs needs nothing: it lives in the test's own mount namespace; a trace
 * instance is global and must go. */
static void cleanup(void)
{
	ftr_knob_restore_all();
	ftr_trace_cleanup();
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(const struct ftr_opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_signal };
	char replay[2048];

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* Crashes too: a knob must not stay changed because the test segfaulted. */
	snprintf(replay, sizeof(replay), "%s%s --seed %llu", o->prog, o->cmdline, (unsigned long long)o->seed);
	ftr_crash_replay(replay);
	ftr_crash_install(cleanup);
	atexit(cleanup);
}

/* --inject hang: change a knob, then hang in two processes that ignore polite signals.
 * Only the runner's timeout, its kill of the process group and its knob restore end it;
 * it hangs holding its trace instance, which only the runner can remove then. */
static void __attribute__((noreturn)) hang(void)
{
	ftr_knob_set(FTR_THP_SYSFS "/khugepaged/scan_sleep_millisecs", "4242");
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	ftr_diag("inject: hang (scan_sleep_millisecs=4242, two processes)");
	fflush(stdout);
	fork();
	for (;;)
		pause();
}

/*
 * Without --dir the test runs on a tmpfs of its own, mounted over /tmp in a mount
 * namespace of its own: whatever way the test dies, the mount dies with it, and the
 * machine's /tmp is never touched.
 */
static int mount_private_tmpfs(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=50%,huge=never"))
		return -errno;
	snprintf(private_mnt, sizeof(private_mnt), "/tmp");
	return 0;
}

static bool fs_declared(const char *list, const char *type)
{
	size_t n = strlen(type);

	for (const char *p = list; p && *p; p += strcspn(p, ",") + !!p[strcspn(p, ",")])
		if (!strncmp(p, type, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static unsigned long mem_available(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

static void kernel_subtest(struct ftr_env *env, int kmsg_err)
{
	unsigned long taint;

	ftr_kmsg_poll(&env->kmsg);
	if (kmsg_err) {
		ftr_ktap_result(FTR_SKIP, "kernel", "the kernel log cannot be watched: /dev/kmsg: %s",
				strerror(kmsg_err));
	} else if (env->kmsg.nr_splats && env->waived_splat && ftr_kmsg_splats_all(&env->kmsg, env->waived_splat)) {
		ftr_ktap_result(FTR_XFAIL, "kernel", "kernel log: %s: the evidence of %s", env->kmsg.first_splat,
				env->waived_why);
	} else if (env->kmsg.nr_splats) {
		ftr_kmsg_dump(&env->kmsg, 40);
		ftr_ktap_result(FTR_FAIL, "kernel", "kernel log: %s", env->kmsg.first_splat);
	} else if (ftr_kmsg_taint_changed(&env->kmsg, &taint)) {
		ftr_kmsg_dump(&env->kmsg, 40);
		ftr_ktap_result(FTR_FAIL, "kernel", "taint changed from %lu to %lu", env->kmsg.taint0, taint);
	} else {
		ftr_ktap_result(FTR_PASS, "kernel", NULL);
	}
}

/* Collapse outcomes of the test's own files: the engine's is ftr<pid>, custom bodies
 * name theirs <tag><pid>. */
static void trace_start(const struct ftr_test *t, struct ftr_env *env)
{
	char match[32];
	int ret;

	snprintf(match, sizeof(match), "%s%d", t->scenario ? "ftr" : "*", (int)getpid());
	ret = ftr_trace_start(match, env->caps.tracefs.why, sizeof(env->caps.tracefs.why));
	env->caps.tracefs.ok = !ret;
	env->caps.tracefs.err = -ret;
	if (!ret)
		env->caps.tracefs.why[0] = '\0';
}

int ftr_main(const struct ftr_test *t, int argc, char **argv)
{
	struct ftr_counters before, after;
	static struct ftr_env env;
	struct ftr_opts opts;
	struct utsname u;
	size_t size;
	int ret, kmsg_err;

	if (ftr_opts_parse(&opts, argc, argv) || (opts.known_issues && ftr_known_load(opts.prog, opts.known_issues)))
		return FTR_EXIT_USAGE;
	if (opts.describe) {
		printf("name=%s\nfs=%s\n", t->name, t->fs);
		if (t->timeout)
			printf("timeout=%u\n", t->timeout);
		printf("desc=%s\n", t->desc);
		if (t->tags)
			printf("tags=%s\n", t->tags);
		return 0;
	}
	size = t->scenario ? (opts.file_size ?: (t->scenario->file_pmds ?: 4) * ftr_pmd_size()) : ftr_pmd_size();
	if (size * 2 > mem_available() / 4) {
		if (opts.file_size) {
			fprintf(stderr, "%s: --file-size %zu needs more than 25%% of MemAvailable\n", opts.prog, size);
			return FTR_EXIT_USAGE;
		}
		ftr_ktap_plan(1);
		ftr_ktap_result(FTR_SKIP, t->name, "a %zu-byte file (PMD %zu) exceeds 25%% of MemAvailable",
				size, ftr_pmd_size());
		return FTR_EXIT_SKIP;
	}
	if (geteuid()) {
		ftr_ktap_plan(1);
		ftr_ktap_result(FTR_SKIP, t->name, "needs root: MADV_COLLAPSE checks, kpageflags, "
				"/dev/kmsg, THP knobs and scratch mounts");
		return FTR_EXIT_SKIP;
	}
	install_handlers(&opts);
	uname(&u);
	env.opts = &opts;
	env.name = t->name;
	env.kernel = u.release;
	if (opts.record && !(env.record = fopen(opts.record, "we"))) {
		fprintf(stderr, "%s: --record '%s': %s\n", opts.prog, opts.record, strerror(errno));
		return FTR_EXIT_USAGE;
	}
	if (!opts.dir && (ret = mount_private_tmpfs())) {
		fprintf(stderr, "%s: cannot mount a private tmpfs: %s\n", opts.prog, strerror(-ret));
		return FTR_EXIT_FAIL;
	}
	env.dir = opts.dir ?: private_mnt;
	env.fs = opts.fs ?: (opts.dir ? "dir" : "tmpfs");
	ftr_ktap_plan(t->scenario ? 3 + !!t->scenario->churn : t->nr_subtests + 1);
	ftr_diag("%s on %s (%s), kernel %s, seed %llu", t->name, env.fs, env.dir, u.release,
		 (unsigned long long)opts.seed);
	if ((kmsg_err = -ftr_kmsg_start(&env.kmsg)))
		ftr_diag("kernel log watch unavailable: %s", strerror(kmsg_err));
	ftr_ktap_roles(t->scenario ? "collapse" : NULL, "kernel");
	ret = ftr_probe(env.dir, &env.caps);
	if (ret) {
		ftr_ktap_result(FTR_FAIL, t->name, "cannot use %s: %s", env.dir, strerror(-ret));
		return FTR_EXIT_FAIL;
	}
	trace_start(t, &env);
	/* After the instance exists: a test killed by the runner leaves one behind. */
	if (opts.inject == FTR_INJECT_HANG)
		hang();
	ftr_probe_print(&env.caps);
	if (!env.caps.tracefs.ok)
		ftr_diag("coverage: tracefs not usable: %s", env.caps.tracefs.why);
	if (!fs_declared(t->fs, env.caps.fstype)) {
		ftr_ktap_result(FTR_SKIP, t->name, "runs on %s, not %s", t->fs, env.caps.fstype);
		return FTR_EXIT_SKIP;
	}
	if (opts.inject == FTR_INJECT_KMSG &&
	    ftr_kmsg_write("<4>file-thp-race: injected WARNING: test of the kernel-log watch\n"))
		ftr_diag("inject: cannot write /dev/kmsg");
	ftr_counters_read(&before);
	if (t->scenario) {
		ftr_engine_run(t->scenario, &env);
	} else {
		ftr_trace_background(true);
		t->run(&env);
		ftr_trace_background(false);
	}
	ftr_counters_read(&after);
	ftr_counters_diff(&before, &after);
	ftr_trace_report();
	kernel_subtest(&env, kmsg_err);
	ftr_kmsg_stop(&env.kmsg);
	if (env.record)
		fclose(env.record);
	return ftr_ktap_exit_code();
}
