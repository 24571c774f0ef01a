// SPDX-License-Identifier: GPL-2.0
/*
 * thp-race: the race engine from the command line, for reproducing by hand.
 *
 * A selftest fixes its role mix at compile time; here the mix is chosen per run
 * (writers, readers, churn, collapse and split mode, window targeting) and everything
 * else is the selftest harness itself (ftr_main()): the same options, private tmpfs,
 * probing, checks, KTAP verdicts, failure report and exit status.  With stdout on a
 * terminal it prints progress at most once a second, after an epoch was verified
 * (the roles are quiesced then, so their counters are read without racing them).
 *
 * --replay FILE runs a --record again: the same scenario from the record's header, each
 * writer, the collapser and the splitter doing its recorded operations in its order,
 * epoch by epoch (lib/replay.h).  Timing is not replayed.  Records with churn roles,
 * khugepaged or --fzsync, or whose log wrapped, are refused with the reason.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "ledger.h"
#include "mapping.h"
#include "readers.h"
#include "replay.h"
#include "role.h"
#include "roster.h"
#include "test.h"
#include "thp.h"

static const char *const collapse_modes[] = { "madvise", "khugepaged", "none", NULL };
static const char *const split_modes[] = { "auto", "punch", "debugfs", "pageout", "none", NULL };

static void usage(const char *prog)
{
	printf("usage: %s [--writers MIX] [--readers MIX] [--churn MIX] [--collapse madvise|khugepaged|none]\n"
	       "       [--split auto|punch|debugfs|pageout|none] [--ops N] [--pause-us N] [--fzsync] [--ro]\n"
	       "       [--file-pmds N] [selftest options: --dir DIR --fs LABEL --duration S --seed N\n"
	       "       --file-size SIZE --record FILE --verbose --known-issues FILE ...]\n"
	       "   or: %s --replay FILE [--dir DIR --fs LABEL --record FILE --verbose --known-issues FILE --timeout-mul N]\n"
	       "   or: %s --minimize FILE [--tries K] [--budget S] [--dir DIR --fs LABEL ...]: the smallest run\n"
	       "       that still fails like the recorded one (K runs a cut, default 3; S seconds, default 600);\n"
	       "       with --find N and a run's options, first that run up to N times, new seeds, until one\n"
	       "       fails, recorded into FILE\n"
	       "MIX is name=count,... e.g. --writers write=2,uring=1,mmap=2; a name alone counts 1.\n"
	       "  writers: write pwrite pwritev2 uring uring-fixed mmap direct openw\n"
	       "  readers: read map map2 bigread splice sendfile copy\n"
	       "  churn:   ",
	       prog, prog, prog);
	for (unsigned i = 0; i < ftr_churn_nr; i++)
		printf("%s%s", i ? " " : "", ftr_churn_roles[i]->name);
	printf("\nDefault: --writers write=1,mmap=1 --readers read=1,map2=1, MADV_COLLAPSE, auto split.\n"
	       "Exit: 0 pass, 1 fail, 4 skip, 2 usage.  Without --dir a private tmpfs is used.\n");
}

/* The options that make the run (a replay takes them from its record; each cut of the
 * minimizer sets its own); of them, those without a value. */
static const char *const fixed[] = { "--writers", "--readers", "--churn", "--collapse", "--split",
				     "--ops", "--pause-us", "--file-pmds", "--fzsync", "--ro", "--seed",
				     "--file-size", "--threads", "--duration", "--quick", "--inject", NULL };
static const char *const fixed_flags[] = { "--fzsync", "--ro", "--quick", NULL };

static int bad(const char *prog, const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "%s: %s '%s': %s\n", prog, opt, arg, why);
	return -1;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Names of one kind of role; the engine accepts the same ones. */
static bool role_name_ok(char kind, const char *name)
{
	switch (kind) {
	case 'w':
		for (int i = FTR_P_WRITE; i <= FTR_P_OPENW; i++)
			if (!strcmp(name, ftr_path_names[i]))
				return true;
		return false;
	case 'r':
		for (int i = 0; i < FTR_READ_NR; i++)
			if (!strcmp(name, ftr_read_names[i]))
				return true;
		return false;
	default:
		for (unsigned i = 0; i < ftr_churn_nr; i++)
			if (!strcmp(name, ftr_churn_roles[i]->name))
				return true;
		return false;
	}
}

static const char *check_mix(char kind, const char *mix, char *why, size_t len)
{
	char buf[256], *tok, *save;
	int total = 0;

	if (strlen(mix) >= sizeof(buf))
		return "too long";
	snprintf(buf, sizeof(buf), "%s", mix);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		long n = 1;

		if (eq) {
			*eq = '\0';
			n = strtol(eq + 1, &end, 10);
			if (end == eq + 1 || *end || n < 1 || n > 16)
				return "counts must be 1..16";
		}
		if (!role_name_ok(kind, tok)) {
			snprintf(why, len, "unknown role '%s' (see --help)", tok);
			return why;
		}
		total += n;
	}
	return total > 32 ? "more than 32 roles" : NULL;
}

static struct ftr_scenario sc = {
	.writers = "write=1,mmap=1",
	.readers = "read=1,map2=1",
	.pause_us = 300,
};

/* Per role: ops at the last report, for the rates. */
static uint64_t last_ops[FTR_MAX_ROLES], last_ns;

static void progress(const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	uint64_t now = ftr_now_ns(), ok = 0, tried = 0;
	char line[1024];
	size_t o = 0;
	double dt;

	if (now - last_ns < 1000000000ULL)
		return;
	dt = (now - last_ns) / 1e9;
	last_ns = now;
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];
		uint64_t ops = r->st->ops;

		if (r->kind == FTR_R_COLLAPSER || r->kind == FTR_R_KHUGEPAGED) {
			ok += r->st->res[0];
			tried += ops;
		}
		if (o < sizeof(line))
			o += snprintf(line + o, sizeof(line) - o, " %s %.0f/s", r->name,
				      (ops - last_ops[i]) / dt);
		last_ops[i] = ops;
	}
	ftr_diag("progress %.0fs epoch %llu (%s): collapses %llu of %llu;%s", now / 1e9,
		 (unsigned long long)l->epochs, l->data_bad ? "DATA BAD" : "verified ok",
		 (unsigned long long)ok, (unsigned long long)tried, line);
}

/*
 * --minimize RECORD: from the record of a failing run to the smallest command line
 * that still fails.  Each cut (one role fewer, no splitter, half the file, half the
 * time) is kept when a run with it fails within `tries` runs of the recorded seed;
 * the rest of the command line (--dir, --fs, --known-issues, ...) goes to every run.
 * It stops when no cut fails any more or the budget is spent, then measures how often
 * the smallest one fails.
 */
struct cut {
	char mix[3][256];	/* writers, readers, churn */
	char split[16];
	size_t size;
	double duration;
};

static void cut_cmd(const struct ftr_replay *rp, const struct cut *c, char *buf, size_t len)
{
	snprintf(buf, len, "--writers %s --readers '%s'%s%s --collapse %s --split %s --pause-us %u --seed %llu "
		 "--file-size %zu --duration %g%s%s%s%s", c->mix[0], c->mix[1], c->mix[2][0] ? " --churn " : "",
		 c->mix[2], rp->collapse, c->split, rp->pause_us, (unsigned long long)rp->seed, c->size, c->duration,
		 rp->fzsync ? " --fzsync" : "", rp->ro ? " --ro" : "", strcmp(rp->inject, "none") ? " --inject " : "",
		 strcmp(rp->inject, "none") ? rp->inject : "");
}

/* One run of the cut, quietly: whether it failed (exit 1). */
static bool cut_fails(const char *self, const struct ftr_replay *rp, const struct cut *c, char **extra, int nextra)
{
	char sz[32], dur[32], pause[32], seed[32];
	const char *argv[40 + nextra];
	int n = 0, status;
	pid_t pid;

	snprintf(sz, sizeof(sz), "%zu", c->size);
	snprintf(dur, sizeof(dur), "%g", c->duration);
	snprintf(pause, sizeof(pause), "%u", rp->pause_us);
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)rp->seed);
	argv[n++] = self;
	argv[n++] = "--writers", argv[n++] = c->mix[0];
	argv[n++] = "--readers", argv[n++] = c->mix[1];
	if (c->mix[2][0])
		argv[n++] = "--churn", argv[n++] = c->mix[2];
	argv[n++] = "--collapse", argv[n++] = rp->collapse;
	argv[n++] = "--split", argv[n++] = c->split;
	argv[n++] = "--pause-us", argv[n++] = pause;
	argv[n++] = "--seed", argv[n++] = seed;
	argv[n++] = "--file-size", argv[n++] = sz;
	argv[n++] = "--duration", argv[n++] = dur;
	if (rp->fzsync)
		argv[n++] = "--fzsync";
	if (rp->ro)
		argv[n++] = "--ro";
	if (strcmp(rp->inject, "none"))
		argv[n++] = "--inject", argv[n++] = rp->inject;
	for (int i = 0; i < nextra; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(self, (char **)argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

/* The mix without one of its k-th name's roles; false if it has no k-th name. */
static bool mix_less(const char *mix, int k, char *out, size_t len)
{
	char buf[256], *tok, *save;
	size_t o = 0;
	bool found = false;
	int i = 0;

	snprintf(buf, sizeof(buf), "%s", mix);
	out[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++) {
		char *eq = strchr(tok, '=');
		long cnt = eq ? strtol(eq + 1, NULL, 10) : 1;

		if (eq)
			*eq = '\0';
		if (i == k) {
			found = true;
			cnt--;
		}
		if (cnt > 0 && o < len)
			o += snprintf(out + o, len - o, "%s%s=%ld", o ? "," : "", tok, cnt);
	}
	return found;
}

/*
 * --find N: the run the rest of the command line describes, up to N times with a new
 * seed each, until one fails (exit 1) with its record in record.  Then drops the
 * options that make the run from extra: each cut of the minimizer sets its own.
 */
static bool find_failure(const char *record, long n, char **extra, int *nextra)
{
	char self[4096], seed[32];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *argv[*nextra + 6];
	int k = 0, status;
	bool found = false;

	if (len <= 0)
		return false;
	self[len] = '\0';
	for (long i = 1; i <= n && !found; i++) {
		uint64_t s = ftr_now_ns() ^ (uint64_t)getpid() << 32 ^ (uint64_t)i * 0x9e3779b97f4a7c15ULL;
		pid_t pid;
		int a = 0;

		snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(s >> 1));
		argv[a++] = self;
		for (int j = 0; j < *nextra; j++)
			argv[a++] = extra[j];
		argv[a++] = "--seed", argv[a++] = seed, argv[a++] = "--record", argv[a++] = record;
		argv[a] = NULL;
		fflush(stdout);
		if (!(pid = fork())) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			execv(self, (char **)argv);
			_exit(127);
		}
		found = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 1;
		printf("# find: run %ld of %ld, seed %s: %s\n", i, n, seed, found ? "failed, recorded" : "passed");
	}
	for (int j = 0; j < *nextra; j++) {
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(extra[j], "="), extra[j]);
		if (!in_list(fixed, name))
			extra[k++] = extra[j];
		else if (!in_list(fixed_flags, name) && !strchr(extra[j], '='))
			j++;	/* and its value */
	}
	*nextra = k;
	return found;
}

static int minimize(const char *prog, const char *record, int tries, double budget, char **extra, int nextra)
{
	static const char *const kinds[3] = { "writer", "reader", "churn role" };
	char self[4096], why[200], cmd[1200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	uint64_t end = ftr_now_ns() + (uint64_t)(budget * 1e9);
	struct ftr_replay rp;
	struct cut best, c;
	bool progress = true;
	int failed = 0;

	if (n <= 0 || ftr_replay_header(&rp, record, why, sizeof(why)))
		return bad(prog, "--minimize", record, n <= 0 ? strerror(errno) : why), FTR_EXIT_USAGE;
	self[n] = '\0';
	best = (struct cut){ .size = rp.size, .duration = rp.duration > 0 ? rp.duration : 2 };
	snprintf(best.mix[0], sizeof(best.mix[0]), "%s", rp.writers);
	snprintf(best.mix[1], sizeof(best.mix[1]), "%s", rp.readers);
	snprintf(best.mix[2], sizeof(best.mix[2]), "%s", rp.churn);
	snprintf(best.split, sizeof(best.split), "%s", rp.split);
	cut_cmd(&rp, &best, cmd, sizeof(cmd));
	printf("# minimize: %s, %d tries a cut, %.0f s\n# minimize: from %s\n", record, tries, budget, cmd);
	while (progress && ftr_now_ns() < end) {
		progress = false;
		for (int step = 0; !progress && ftr_now_ns() < end; step++) {
			char what[300];
			int k = step;

			c = best;
			/* Cuts in order: a role of each mix, the splitter, half the file, half the time. */
			if (k < 3 * 16) {
				if (!mix_less(best.mix[k / 16], k % 16, c.mix[k / 16], sizeof(c.mix[0])) ||
				    (k / 16 == 0 && !c.mix[0][0]))
					continue;
				snprintf(what, sizeof(what), "one %s fewer (%s -> '%s')", kinds[k / 16], best.mix[k / 16],
					 c.mix[k / 16]);
			} else if ((k -= 3 * 16) == 0) {
				if (!strcmp(best.split, "none"))
					continue;
				snprintf(c.split, sizeof(c.split), "none");
				snprintf(what, sizeof(what), "no splitter");
			} else if (k == 1) {
				if (best.size <= rp.pmd)
					continue;
				c.size = best.size / 2 / rp.pmd * rp.pmd;
				snprintf(what, sizeof(what), "half the file (%zu bytes)", c.size);
			} else if (k == 2) {
				if (best.duration <= 0.5)
					continue;
				c.duration = best.duration / 2;
				snprintf(what, sizeof(what), "half the time (%g s)", c.duration);
			} else {
				break;
			}
			for (int t = 0; t < tries && !progress; t++)
				progress = cut_fails(self, &rp, &c, extra, nextra);
			printf("# minimize: %s: %s\n", what, progress ? "still fails, kept" : "passes, dropped");
			if (progress)
				best = c;
		}
	}
	for (int t = 0; t < 2 * tries; t++)
		failed += cut_fails(self, &rp, &best, extra, nextra);
	cut_cmd(&rp, &best, cmd, sizeof(cmd));
	printf("# minimize: smallest failing run, failed %d of %d runs: %s %s", failed, 2 * tries, self, cmd);
	for (int i = 0; i < nextra; i++)
		printf(" %s", extra[i]);
	printf("\n");
	return failed ? FTR_EXIT_FAIL : FTR_EXIT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ftr_test t = {
		.name = "thp-race",
		.desc = "the race engine with a role mix from the command line",
		.fs = "tmpfs,xfs,ext4,btrfs,other",
		.scenario = &sc,
	};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	static struct ftr_replay rp;
	static char seed_s[32], size_s[32], dur_s[32];
	char **pass = calloc(argc + 9, sizeof(*pass)), why[160];
	const char *replay = NULL, *scen_opt = NULL;
	bool duration = false;
	int npass = 0;

	if (!pass)
		return FTR_EXIT_FAIL;
	/* --minimize RECORD [--tries K] [--budget S]: everything else goes to each run. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--minimize")) {
			const char *record = argv[i + 1];
			char **extra = calloc(argc, sizeof(*extra));
			double budget = 600;
			int tries = 3, nextra = 0;
			long find = 0;

			for (int j = 1; extra && j < argc; j++) {
				if (j == i || j == i + 1)
					continue;
				if (!strcmp(argv[j], "--tries") && j + 1 < argc)
					tries = atoi(argv[++j]);
				else if (!strcmp(argv[j], "--find") && j + 1 < argc)
					find = atol(argv[++j]);
				else if (!strcmp(argv[j], "--budget") && j + 1 < argc)
					budget = strtod(argv[++j], NULL);
				else
					extra[nextra++] = argv[j];
			}
			if (!extra || tries < 1 || budget <= 0 || find < 0)
				return bad(prog, "--minimize", record, "--tries, --budget and --find must be positive"),
				       FTR_EXIT_USAGE;
			ftr_now_reset();
			if (find && !find_failure(record, find, extra, &nextra)) {
				printf("# find: no failure in %ld runs: nothing to minimize\n", find);
				return FTR_EXIT_PASS;
			}
			return minimize(prog, record, tries, budget, extra, nextra);
		}
	pass[npass++] = argv[0];
	for (int i = 1; i < argc; i++) {
		char *opt = argv[i], *val = NULL, *eq = NULL, *end;
		const char *err;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			usage(prog);
			return 0;
		}
		if (!strncmp(opt, "--", 2) && (eq = strchr(opt, '=')))
			*eq = '\0';
#define VAL() (val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL)
		if (!scen_opt)
			for (const char *const *f = fixed; *f; f++)
				if (!strcmp(opt, *f))
					scen_opt = *f;
		if (!strcmp(opt, "--writers") || !strcmp(opt, "--readers") || !strcmp(opt, "--churn")) {
			char kind = opt[2];

			if (!VAL())
				return bad(prog, opt, "", "needs a MIX"), FTR_EXIT_USAGE;
			if (*val && (err = check_mix(kind == 'c' ? 'c' : kind, val, why, sizeof(why))))
				return bad(prog, opt, val, err), FTR_EXIT_USAGE;
			*(kind == 'w' ? &sc.writers : kind == 'r' ? &sc.readers : &sc.churn) = *val ? val : NULL;
		} else if (!strcmp(opt, "--collapse")) {
			if (!VAL() || !in_list(collapse_modes, val))
				return bad(prog, opt, val ?: "", "madvise, khugepaged or none"), FTR_EXIT_USAGE;
			sc.collapse = val;
		} else if (!strcmp(opt, "--split")) {
			if (!VAL() || !in_list(split_modes, val))
				return bad(prog, opt, val ?: "", "auto, punch, debugfs, pageout or none"), FTR_EXIT_USAGE;
			sc.split = val;
		} else if (!strcmp(opt, "--ops") || !strcmp(opt, "--pause-us") || !strcmp(opt, "--file-pmds")) {
			unsigned long long n;

			if (!VAL() || (n = strtoull(val, &end, 10), end == val || *end || strchr(val, '-')) ||
			    (opt[2] != 'p' && !n) || n > (opt[2] == 'o' ? ~0ULL : 1000000ULL))
				return bad(prog, opt, val ?: "", "must be a number (--ops, --file-pmds: > 0)"),
				       FTR_EXIT_USAGE;
			if (opt[2] == 'o')
				sc.max_ops = n;
			else if (opt[2] == 'p')
				sc.pause_us = n;
			else
				sc.file_pmds = n;
		} else if (!strcmp(opt, "--fzsync") && !eq) {
			sc.fzsync = true;
		} else if (!strcmp(opt, "--ro") && !eq) {
			sc.ro_mapping = true;
		} else if (!strcmp(opt, "--replay")) {
			if (!VAL() || !*val)
				return bad(prog, opt, "", "needs a FILE written by --record"), FTR_EXIT_USAGE;
			replay = val;
		} else {
			if (eq)
				*eq = '=';
			duration |= !strncmp(opt, "--duration", 10);
			pass[npass++] = opt;
		}
#undef VAL
	}
	if (replay) {
		if (scen_opt) {
			fprintf(stderr, "%s: --replay '%s': the run comes from the record, %s cannot change it\n",
				prog, replay, scen_opt);
			return FTR_EXIT_USAGE;
		}
		if (ftr_replay_load(&rp, replay, why, sizeof(why)))
			return bad(prog, "--replay", replay, why), FTR_EXIT_USAGE;
		if (rp.pmd != ftr_pmd_size()) {
			snprintf(why, sizeof(why), "recorded with PMDs of %zu bytes, here %zu", rp.pmd, ftr_pmd_size());
			return bad(prog, "--replay", replay, why), FTR_EXIT_USAGE;
		}
		sc = (struct ftr_scenario){
			.writers = rp.writers, .readers = rp.readers[0] ? rp.readers : NULL,
			.collapse = rp.collapse, .split = rp.split, .pause_us = rp.pause_us,
			.ro_mapping = rp.ro, .replay = &rp,
		};
		snprintf(seed_s, sizeof(seed_s), "%llu", (unsigned long long)rp.seed);
		snprintf(size_s, sizeof(size_s), "%zu", rp.size);
		pass[npass++] = "--seed";
		pass[npass++] = seed_s;
		pass[npass++] = "--file-size";
		pass[npass++] = size_s;
		if (rp.duration > 0) {
			snprintf(dur_s, sizeof(dur_s), "%g", rp.duration);
			pass[npass++] = "--duration";
			pass[npass++] = dur_s;
		}
		if (strcmp(rp.inject, "none")) {
			pass[npass++] = "--inject";
			pass[npass++] = rp.inject;
		}
	}
	if (!sc.writers && !(sc.churn && strstr(sc.churn, "punch"))) {
		fprintf(stderr, "%s: --writers must name at least one writer\n", prog);
		return FTR_EXIT_USAGE;
	}
	/* --ops alone: the count ends the run, not the default duration. */
	if (sc.max_ops && !duration) {
		pass[npass++] = "--duration";
		pass[npass++] = "86400";
	}
	if (isatty(STDOUT_FILENO))
		sc.progress = progress;
	return ftr_main(&t, npass, pass);
}
