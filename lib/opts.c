// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"

const char *const ftr_inject_names[FTR_INJECT_NR] = {
	[FTR_INJECT_NONE] = "none", [FTR_INJECT_LOST] = "lost-write",
	[FTR_INJECT_STALE] = "stale", [FTR_INJECT_MISPLACE] = "misplace",
	[FTR_INJECT_ZERO] = "zero", [FTR_INJECT_FLIP] = "flip", [FTR_INJECT_THP] = "thp",
	[FTR_INJECT_KMSG] = "kmsg", [FTR_INJECT_HANG] = "hang", [FTR_INJECT_STUCK] = "stuck",
	[FTR_INJECT_ERRNO] = "errno", [FTR_INJECT_STALE_DISK] = "stale-disk",
	[FTR_INJECT_THP_CALL] = "thp-call", [FTR_INJECT_RESIDENT] = "resident",
	[FTR_INJECT_CRASH] = "crash", [FTR_INJECT_STALE_RESIDENT] = "stale-resident",
	[FTR_INJECT_DMA_ORPHAN] = "dma-orphan", [FTR_INJECT_EAGAIN] = "eagain",
	[FTR_INJECT_SPLIT_CLEAN] = "split-clean",
};

void ftr_opts_usage(const char *prog)
{
	printf("usage: %s [--dir DIR] [--fs LABEL] [--duration S] [--seed N] [--threads N]\n"
	       "       [--file-size SIZE] [--quick] [--timeout-mul N] [--verbose] [--record FILE]\n"
	       "       [--known-issues FILE] [--describe]\n"
	       "       [--inject lost-write|stale|misplace|zero|flip|thp|kmsg|hang|stuck|errno|stale-disk|thp-call|resident|crash\n"
	       "                 |stale-resident|dma-orphan|eagain|split-clean]\n"
	       "Without --dir the test mounts a private tmpfs. Exit: 0 pass, 1 fail, 4 skip, 2 usage.\n",
	       prog);
}

long long ftr_parse_size(const char *s)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	/* Hex or decimal; a leading zero is not octal here. */
	v = strtoll(s, &end, !strncasecmp(s, "0x", 2) ? 16 : 10);
	if (errno || end == s || v <= 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	/* A shift that overflows is undefined and may wrap to 0 ("the default"). */
	if (*end || v > LLONG_MAX >> shift)
		return -1;
	return v << shift;
}

static int bad(const struct ftr_opts *o, const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "%s: %s '%s': %s\n", o->prog, opt, arg, why);
	return -1;
}

static int positive(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !isfinite(*out) || *out <= 0 ? -1 : 0;
}

int ftr_opts_parse(struct ftr_opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "fs", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'T' },
		{ "file-size", required_argument, NULL, 'S' },
		{ "quick", no_argument, NULL, 'q' },
		{ "timeout-mul", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "inject", required_argument, NULL, 'i' },
		{ "record", required_argument, NULL, 'r' },
		{ "describe", no_argument, NULL, 'X' },
		{ "known-issues", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *p = strrchr(argv[0], '/');
	size_t off = 0;
	struct stat st;
	double d;
	char *end;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->prog = p ? p + 1 : argv[0];
	o->timeout_mul = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+d:f:D:s:T:S:qm:vi:r:XK:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (stat(optarg, &st))
				return bad(o, "--dir", optarg, strerror(errno));
			if (!S_ISDIR(st.st_mode))
				return bad(o, "--dir", optarg, "not a directory");
			o->dir = optarg;
			break;
		case 'f':
			o->fs = optarg;
			break;
		case 'D':
			if (positive(optarg, &o->duration))
				return bad(o, "--duration", optarg, "must be a positive number of seconds");
			break;
		case 's':
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || strchr(optarg, '-'))
				return bad(o, "--seed", optarg, "must be an unsigned number");
			o->seed_given = true;
			break;
		case 'T':
			errno = 0;
			o->threads = strtol(optarg, &end, 10);
			if (errno || *end || o->threads < 1 || o->threads > 64)
				return bad(o, "--threads", optarg, "must be 1..64");
			break;
		case 'S': {
			long long v = ftr_parse_size(optarg);

			if (v < 0)
				return bad(o, "--file-size", optarg, "must be a positive size (e.g. 8M)");
			o->file_size = v;
			break;
		}
		case 'q':
			o->quick = true;
			break;
		case 'm':
			if (positive(optarg, &d) || d < 1)
				return bad(o, "--timeout-mul", optarg, "must be a number >= 1");
			o->timeout_mul = d;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'i':
			for (i = 1; i < FTR_INJECT_NR; i++)
				if (!strcmp(optarg, ftr_inject_names[i]))
					break;
			if (i == FTR_INJECT_NR)
				return bad(o, "--inject", optarg, "unknown kind");
			o->inject = i;
			break;
		case 'r':
			o->record = optarg;
			break;
		case 'X':
			o->describe = true;
			break;
		case 'K':
			o->known_issues = optarg;	/* read by ftr_known_load(), before anything runs */
			break;
		case 'h':
			ftr_opts_usage(o->prog);
			exit(0);
		default:
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", o->prog, argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", o->prog, argv[optind]);
		return -1;
	}
	if (!o->seed_given) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o->seed = (uint64_t)ts.tv_sec * 1000003 ^ ts.tv_nsec ^ (uint64_t)getpid() << 32;
		o->seed &= 0xffffffffffffULL;	/* short enough to type */
	}
	/* The command line minus --seed: the report appends the seed it really used. */
	for (i = 1; i < argc && off < sizeof(o->cmdline); i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--seed=", 7))
			continue;
		off += snprintf(o->cmdline + off, sizeof(o->cmdline) - off, " %s", argv[i]);
	}
	return 0;
}
