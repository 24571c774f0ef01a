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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	       "MIX is name=count,... e.g. --writers write=2,uring=1,mmap=2; a name alone counts 1.\n"
	       "  writers: write pwrite pwritev2 uring uring-fixed mmap direct openw\n"
	       "  readers: read map map2 bigread splice sendfile copy\n"
	       "  churn:   ",
	       prog, prog);
	for (unsigned i = 0; i < ftr_churn_nr; i++)
		printf("%s%s", i ? " " : "", ftr_churn_roles[i]->name);
	printf("\nDefault: --writers write=1,mmap=1 --readers read=1,map2=1, MADV_COLLAPSE, auto split.\n"
	       "Exit: 0 pass, 1 fail, 4 skip, 2 usage.  Without --dir a private tmpfs is used.\n");
}

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

int main(int argc, char **argv)
{
	static const struct ftr_test t = {
		.name = "thp-race",
		.desc = "the race engine with a role mix from the command line",
		.fs = "tmpfs,xfs,ext4,btrfs,other",
		.scenario = &sc,
	};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	/* the replay's own options: the run comes from the record, these would change it */
	static const char *const fixed[] = { "--writers", "--readers", "--churn", "--collapse", "--split",
					     "--ops", "--pause-us", "--file-pmds", "--fzsync", "--ro", "--seed",
					     "--file-size", "--threads", "--duration", "--quick", "--inject", NULL };
	static struct ftr_replay rp;
	static char seed_s[32], size_s[32], dur_s[32];
	char **pass = calloc(argc + 9, sizeof(*pass)), why[160];
	const char *replay = NULL, *scen_opt = NULL;
	bool duration = false;
	int npass = 0;

	if (!pass)
		return FTR_EXIT_FAIL;
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
