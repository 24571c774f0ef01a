// SPDX-License-Identifier: GPL-2.0
/*
 * bench-core: the two measurements of tools/bench that need no race engine.
 *
 *   bench-core ceiling --dir DIR [--duration S] [--split auto|debugfs|punch]
 *	One thread splits and re-collapses the same PMD of a file in DIR, nothing else
 *	runs: the most collapses per second this kernel and filesystem can do, the
 *	yardstick for the collapser under writers.
 *   bench-core oracle --dir DIR [--size BYTES] [--duration S]
 *	Verification throughput of ftr_oracle_check() over a quiesced file in the page
 *	cache, next to memcmp() of the same bytes against a private copy.
 *
 * Each prints one "key=value ..." line on stdout for tools/bench to parse.  Exit
 * status: 0, 1 a measurement went wrong, 2 bad usage, 4 cannot run here (the reason on
 * stdout as "skip=...").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mapping.h"
#include "opts.h"
#include "oracle.h"
#include "probe.h"
#include "thp.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_SKIP	4

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The loops poll a flag so an interrupted run still unlinks its file. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int usage_err(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench-core: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (usage: bench-core ceiling|oracle --dir DIR [--duration S] "
		"[--size BYTES] [--split auto|debugfs|punch])\n");
	return EXIT_USAGE;
}

struct args {
	const char *dir;
	double duration;
	long long size;
	const char *split;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "split", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 't':
			errno = 0;
			a->duration = strtod(optarg, &end);
			if (errno || *end || !(a->duration > 0 && a->duration <= 3600))
				return usage_err("--duration '%s' must be a number of seconds in (0, 3600]", optarg);
			break;
		case 's':
			a->size = ftr_parse_size(optarg);
			if (a->size < (long long)ftr_page_size() || a->size > (1ll << 34))
				return usage_err("--size '%s' must be a page to 16G", optarg);
			break;
		case 'p':
			if (strcmp(optarg, "auto") && strcmp(optarg, "debugfs") && strcmp(optarg, "punch"))
				return usage_err("--split '%s' must be auto, debugfs or punch", optarg);
			a->split = optarg;
			break;
		default:
			return usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err("unexpected argument '%s'", argv[optind]);
	if (!a->dir)
		return usage_err("%s", "--dir DIR is required");
	return 0;
}

/* ---------------------------------------------------------------------------------- */

struct pmd_file {
	char path[PATH_MAX + 32];
	int fd, pagemap, kpageflags;
	char *map;
	size_t psz, pmd;
	char *page;		/* the content every page of the file holds */
	uint64_t *pm, *kpf;	/* pagemap and kpageflags of the PMD, one entry per page */
};

/*
 * Is the PMD behind f->map one PMD-order folio right now?  1 yes, 0 no, -1 cannot
 * tell (a page is not mapped).  Every page must be mapped at consecutive PFNs, the
 * first a compound head and all others its tails: a split may be non-uniform (a punch
 * leaves folios of order 8, 7, ... around the hole, still physically contiguous), so
 * checking the ends alone is not enough.  Two 4 KiB reads, cheap next to a collapse,
 * so every iteration of the ceiling loop can afford the check.
 */
static int pmd_is_folio(const struct pmd_file *f)
{
	size_t nr = f->pmd / f->psz, len = nr * sizeof(uint64_t);
	uint64_t vpn = (unsigned long)f->map / f->psz, *pm = f->pm, *kpf = f->kpf, pfn0;

	if (pread(f->pagemap, pm, len, vpn * 8) != (ssize_t)len)
		return -1;
	for (size_t i = 0; i < nr; i++)
		if (!(pm[i] & FTR_PM_PRESENT))
			return -1;
	pfn0 = pm[0] & FTR_PM_PFN_MASK;
	if (!pfn0)
		return -1;
	for (size_t i = 1; i < nr; i++)
		if ((pm[i] & FTR_PM_PFN_MASK) != pfn0 + i)
			return 0;
	if (pread(f->kpageflags, kpf, len, pfn0 * 8) != (ssize_t)len ||
	    !(kpf[0] & 1ull << FTR_KPF_COMPOUND_HEAD))
		return 0;
	for (size_t i = 1; i < nr; i++)
		if (!(kpf[i] & 1ull << FTR_KPF_COMPOUND_TAIL))
			return 0;
	return 1;
}

static int pmd_file_open(struct pmd_file *f, const char *dir)
{
	char abs[PATH_MAX];

	f->psz = ftr_page_size();
	f->pmd = ftr_pmd_size();
	f->fd = f->pagemap = f->kpageflags = -1;
	f->map = MAP_FAILED;
	/* split_huge_pages takes an absolute path. */
	if (!realpath(dir, abs))
		return -errno;
	snprintf(f->path, sizeof(f->path), "%s/ftrbc.%d", abs, getpid());
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f->fd < 0)
		return -errno;
	f->page = malloc(f->psz);
	f->pm = calloc(f->pmd / f->psz, sizeof(uint64_t));
	f->kpf = calloc(f->pmd / f->psz, sizeof(uint64_t));
	if (!f->page || !f->pm || !f->kpf)
		return -ENOMEM;
	for (size_t i = 0; i < f->psz; i++)
		f->page[i] = 'A' + i % 26;
	for (size_t off = 0; off < f->pmd; off += f->psz)
		if (pwrite(f->fd, f->page, f->psz, off) != (ssize_t)f->psz)
			return -errno ?: -EIO;
	f->map = ftr_mmap_aligned(f->pmd, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd);
	if (f->map == MAP_FAILED)
		return -errno;
	f->pagemap = open("/proc/self/pagemap", O_RDONLY);
	f->kpageflags = open("/proc/kpageflags", O_RDONLY);
	if (f->pagemap < 0 || f->kpageflags < 0)
		return -errno;
	return 0;
}

static void pmd_file_close(struct pmd_file *f)
{
	if (f->map != MAP_FAILED)
		munmap(f->map, f->pmd);
	if (f->fd >= 0) {
		close(f->fd);
		unlink(f->path);
	}
	if (f->pagemap >= 0)
		close(f->pagemap);
	if (f->kpageflags >= 0)
		close(f->kpageflags);
	free(f->page);
	free(f->pm);
	free(f->kpf);
}

/*
 * pmd_is_folio() after mapping the whole range: a split of a file folio unmaps it and
 * nothing remaps it.  The populate is part of the check, not of the loop's time.
 */
static int pmd_state(const struct pmd_file *f, uint64_t *check_ns)
{
	uint64_t t = now_ns();
	int ret = -1;

	if (!madvise(f->map, f->pmd, MADV_POPULATE_READ))
		ret = pmd_is_folio(f);
	*check_ns += now_ns() - t;
	return ret;
}

/*
 * Splits the PMD folio.  Punching one page is what the engine's splitter does where
 * debugfs is locked down: the partial truncate splits the large folio, and the page is
 * written back so the next collapse has no hole to fill.  The punched page moves
 * around so no single index is favoured.
 */
static int split_pmd(struct pmd_file *f, bool debugfs, unsigned iter)
{
	size_t nr = f->pmd / f->psz, pg = 1 + iter % (nr - 1);
	char cmd[PATH_MAX + 96];
	int fd, n;

	if (debugfs) {
		fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY);
		if (fd < 0)
			return -errno;
		n = snprintf(cmd, sizeof(cmd), "%s,0x0,0x%zx", f->path, nr);
		n = write(fd, cmd, n) == n ? 0 : -errno;
		close(fd);
		return n;
	}
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pg * f->psz, f->psz))
		return -errno;
	if (pwrite(f->fd, f->page, f->psz, pg * f->psz) != (ssize_t)f->psz)
		return -errno ?: -EIO;
	return 0;
}

static int cmd_ceiling(const struct args *a)
{
	struct ftr_counters c0, c1;
	struct ftr_caps caps;
	struct pmd_file f = { .fd = -1 };
	uint64_t t0, t_end, check_ns = 0, in_collapse = 0, calls = 0, ok = 0, real = 0, unsplit = 0, unknown = 0;
	bool debugfs;
	int ret, rc = 0;
	double secs;

	ret = ftr_probe(a->dir, &caps);
	if (ret) {
		printf("skip=\"%s unusable: %s\"\n", a->dir, strerror(-ret));
		return EXIT_SKIP;
	}
	if (!caps.collapse_rw.ok) {
		printf("skip=\"%s\"\n", caps.collapse_rw.why);
		return EXIT_SKIP;
	}
	if (!strcmp(a->split, "debugfs") || (!strcmp(a->split, "auto") && caps.debugfs_split.ok)) {
		if (!caps.debugfs_split.ok) {
			printf("skip=\"%s\"\n", caps.debugfs_split.why);
			return EXIT_SKIP;
		}
		debugfs = true;
	} else if (caps.punch.ok) {
		debugfs = false;
	} else {
		printf("skip=\"no way to split: %s; %s\"\n", caps.debugfs_split.why, caps.punch.why);
		return EXIT_SKIP;
	}

	ret = pmd_file_open(&f, a->dir);
	if (ret) {
		fprintf(stderr, "bench-core: cannot set up %s: %s\n", f.path, strerror(-ret));
		pmd_file_close(&f);
		return EXIT_FAIL;
	}
	/* The first collapse is setup, not a measurement. */
	if (madvise(f.map, f.pmd, MADV_COLLAPSE) || pmd_state(&f, &check_ns) != 1) {
		printf("skip=\"the first MADV_COLLAPSE of %s left no PMD folio (%s)\"\n", f.path,
		       strerror(errno));
		pmd_file_close(&f);
		return EXIT_SKIP;
	}

	check_ns = 0;
	ftr_counters_read(&c0);
	t0 = now_ns();
	t_end = t0 + (uint64_t)(a->duration * 1e9);
	while (!stop && now_ns() < t_end) {
		uint64_t t;
		int before, after;

		ret = split_pmd(&f, debugfs, calls);
		if (ret) {
			fprintf(stderr, "bench-core: split of %s: %s\n", f.path, strerror(-ret));
			rc = EXIT_FAIL;
			break;
		}
		/* A collapse counts only if it turned a range seen split into a PMD folio:
		 * a split that silently failed would make MADV_COLLAPSE a cheap no-op and
		 * inflate the ceiling. */
		before = pmd_state(&f, &check_ns);
		unsplit += before == 1;
		t = now_ns();
		ret = madvise(f.map, f.pmd, MADV_COLLAPSE);
		in_collapse += now_ns() - t;
		calls++;
		if (ret)
			continue;
		ok++;
		after = pmd_state(&f, &check_ns);
		if (before == 0 && after == 1)
			real++;
		else if (before != 1)
			unknown++;
	}
	secs = (now_ns() - t0 - check_ns) / 1e9;
	ftr_counters_read(&c1);

	/* The content must have survived every round trip, or the loop measured nonsense. */
	for (size_t off = 0; off < f.pmd && rc == 0; off += f.psz)
		if (memcmp(f.map + off, f.page, f.psz)) {
			fprintf(stderr, "bench-core: %s differs at %#zx after the loop\n", f.path, off);
			rc = EXIT_FAIL;
		}
	if (stop) {
		rc = 128 + SIGINT;
	} else if (rc == 0) {
		uint64_t kernel = ftr_counter(&c1, "thp_collapse_alloc") - ftr_counter(&c0, "thp_collapse_alloc");

		/*
		 * thp_collapse_alloc counts the whole machine (khugepaged, other tests):
		 * it can only confirm an upper bound, so the rate is the smaller of the
		 * two counts.
		 */
		printf("split=%s seconds=%.3f calls=%llu ok=%llu real=%llu kernel=%llu unsplit=%llu "
		       "unknown=%llu rate=%.1f collapse_us=%.1f\n", debugfs ? "debugfs" : "punch", secs,
		       (unsigned long long)calls, (unsigned long long)ok, (unsigned long long)real,
		       (unsigned long long)kernel, (unsigned long long)unsplit, (unsigned long long)unknown,
		       (real < kernel ? real : kernel) / secs, calls ? in_collapse / 1e3 / calls : 0.0);
	}
	pmd_file_close(&f);
	return rc;
}

/* ---------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define ORACLE_MAX_PASSES 64

/*
 * Both checkers read the same page-cache bytes through the same mapping, passes
 * alternate so a noisy neighbour slows both alike, and the median pass is reported:
 * on a shared machine noise only ever adds time.
 */
static int cmd_oracle(const struct args *a)
{
	uint32_t nblocks = a->size / FTR_BLOCK, chunk = (1u << 20) / FTR_BLOCK;
	uint64_t t_or[ORACLE_MAX_PASSES], t_mc[ORACLE_MAX_PASSES], t_end;
	size_t size = (size_t)nblocks * FTR_BLOCK;
	struct ftr_oracle o;
	struct ftr_bad bad[4];
	char path[PATH_MAX], *buf = NULL, *copy = NULL, *map = MAP_FAILED;
	void *shm = NULL;
	int fd, passes = 0, rc = EXIT_FAIL;

	snprintf(path, sizeof(path), "%s/ftrbo.%d", a->dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench-core: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	shm = calloc(1, ftr_oracle_mem(nblocks));
	buf = malloc((size_t)chunk * FTR_BLOCK);
	copy = malloc(size);
	if (!shm || !buf || !copy) {
		fprintf(stderr, "bench-core: out of memory for %zu bytes\n", size);
		goto out;
	}
	ftr_oracle_init(&o, shm, nblocks, 0x62656e6368ull, 1);
	for (uint32_t b = 0; b < nblocks; b += chunk) {
		uint32_t n = nblocks - b < chunk ? nblocks - b : chunk;

		ftr_oracle_begin_stamp(&o, buf, b, n, FTR_P_PWRITE);
		if (pwrite(fd, buf, (size_t)n * FTR_BLOCK, (off_t)b * FTR_BLOCK) != (ssize_t)n * FTR_BLOCK) {
			fprintf(stderr, "bench-core: writing %s: %s\n", path, strerror(errno ?: EIO));
			goto out;
		}
		ftr_oracle_commit(&o, b, n);
	}
	map = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "bench-core: mmap %s: %s\n", path, strerror(errno));
		goto out;
	}
	memcpy(copy, map, size);

	t_end = now_ns() + (uint64_t)(a->duration * 1e9);
	while (!stop && passes < ORACLE_MAX_PASSES && (passes < 3 || now_ns() < t_end)) {
		uint64_t t = now_ns();
		uint32_t nbad = ftr_oracle_check(&o, map, 0, nblocks, NULL, bad, 4, NULL);
		int diff;

		t_or[passes] = now_ns() - t;
		t = now_ns();
		diff = memcmp(map, copy, size);
		t_mc[passes] = now_ns() - t;
		if (nbad || diff) {
			fprintf(stderr, "bench-core: quiesced file %s does not verify (oracle: %u bad blocks, "
				"memcmp: %d)\n", path, nbad, diff);
			goto out;
		}
		passes++;
	}
	if (stop) {
		rc = 128 + SIGINT;
		goto out;
	}
	qsort(t_or, passes, sizeof(t_or[0]), cmp_u64);
	qsort(t_mc, passes, sizeof(t_mc[0]), cmp_u64);
	{
		double gib = size / (double)(1 << 30);
		double r_or = gib / (t_or[passes / 2] / 1e9), r_mc = gib / (t_mc[passes / 2] / 1e9);

		printf("bytes=%zu passes=%d oracle_gibs=%.3f memcmp_gibs=%.3f ratio=%.3f\n", size, passes,
		       r_or, r_mc, r_or / r_mc);
	}
	rc = 0;
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	close(fd);
	unlink(path);
	free(shm);
	free(buf);
	free(copy);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { .duration = 1, .size = 64 << 20, .split = "auto" };
	const char *cmd = argc > 1 ? argv[1] : "";
	int ret;

	if (strcmp(cmd, "ceiling") && strcmp(cmd, "oracle"))
		return usage_err("unknown subcommand '%s'", cmd);
	ret = parse_args(argc - 1, argv + 1, &a);
	if (ret)
		return ret;
	if (geteuid()) {
		fprintf(stderr, "bench-core: must run as root (MADV_COLLAPSE of page cache, /proc/kpageflags)\n");
		return EXIT_SKIP;
	}
	catch_signals();
	return !strcmp(cmd, "ceiling") ? cmd_ceiling(&a) : cmd_oracle(&a);
}
