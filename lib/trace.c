// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"
#include "trace.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EV_COLLAPSE	"events/huge_memory/mm_khugepaged_collapse_file"
#define EV_SCAN		"events/huge_memory/mm_khugepaged_scan_file"
/* Per CPU.  The engine drains the buffer every epoch (at most 2 s), other tests from a
 * thread every 10 ms.  A 2 MiB shmem collapse takes ~300 us, so one collapser emits
 * ~3,300 collapse_file + scan_file pairs a second; at ~100 bytes an event this holds
 * 6 s of one CPU, and a test whose failing calls loop faster (uffd-race: 50,000 events
 * a second) still fits between two drains.  Overwritten events are reported as lost. */
#define BUF_KB		"4096"
#define MAX_RESULTS	64

/* Everything the signal-time cleanup touches is plain data set before "live". */
static int inst_dir = -1;		/* <tracefs>/instances, pins the mount */
static char inst_name[32];		/* ftr-<pid> */
static char match_glob[64];
static pid_t owner;
static volatile sig_atomic_t live, mounted;
static volatile int pipe_fd = -1;	/* trace_pipe, consumed as the run goes */
static bool mono;			/* trace_clock is CLOCK_MONOTONIC */

bool ftr_trace_active(void)
{
	return live;
}

bool ftr_trace_mono(void)
{
	return live && mono;
}

static int inst_write(const char *rel, const char *val)
{
	char path[256];
	ssize_t n, len = strlen(val);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", inst_name, rel);
	fd = openat(inst_dir, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n != len)
		n = -(n < 0 ? errno : EIO);
	close(fd);
	return n < 0 ? n : 0;
}

static void remove_instance(int tries)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	/* EBUSY while a forked role still holds a file of the instance open. */
	while (unlinkat(inst_dir, inst_name, AT_REMOVEDIR) && errno == EBUSY && --tries > 0)
		nanosleep(&ts, NULL);
}

void ftr_trace_cleanup(void)
{
	if (getpid() != owner)
		return;
	if (pipe_fd >= 0) {
		close(pipe_fd);
		pipe_fd = -1;
	}
	if (live) {
		live = 0;
		remove_instance(20);
	}
	if (inst_dir >= 0) {
		close(inst_dir);
		inst_dir = -1;
	}
	/* Lazily: a test that found our mount and uses it through its fds keeps working. */
	if (mounted) {
		mounted = 0;
		umount2(TRACEFS, MNT_DETACH);
	}
}

/* Instances of tests that died by SIGKILL: nothing else would ever remove them. */
static void sweep_stale(void)
{
	int fd = dup(inst_dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, "ftr-", 4))
			continue;
		pid = strtol(de->d_name + 4, &end, 10);
		if (*end || pid <= 0 || pid == owner || !kill(pid, 0) || errno != ESRCH)
			continue;
		unlinkat(inst_dir, de->d_name, AT_REMOVEDIR);
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
}

static int find_tracefs(char *root, size_t len, char *why, size_t wlen)
{
	static const char *const roots[] = { TRACEFS, "/sys/kernel/debug/tracing" };
	char path[128];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/instances", roots[i]);
		if (!access(path, F_OK)) {
			snprintf(root, len, "%s", roots[i]);
			return 0;
		}
	}
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		int err = errno;

		snprintf(why, wlen, "not mounted, and mounting it at " TRACEFS " failed: %s", strerror(err));
		return -err;
	}
	mounted = 1;
	snprintf(root, len, "%s", TRACEFS);
	return 0;
}

int ftr_trace_start(const char *match, char *why, size_t len)
{
	char root[64], path[160], filter[128];
	int ret;

	owner = getpid();
	snprintf(inst_name, sizeof(inst_name), "ftr-%d", (int)owner);
	snprintf(match_glob, sizeof(match_glob), "%s", match);
	ret = find_tracefs(root, sizeof(root), why, len);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/" EV_COLLAPSE, root);
	if (access(path, F_OK)) {
		ret = -errno;
		snprintf(why, len, "%s/" EV_COLLAPSE ": %s", root, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/instances", root);
	inst_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (inst_dir < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		goto fail;
	}
	sweep_stale();
	ret = mkdirat(inst_dir, inst_name, 0700) ? -errno : 0;
	if (ret == -EEXIST) {
		/* A recycled pid's leftover: it is not ours, but nobody else wants it. */
		unlinkat(inst_dir, inst_name, AT_REMOVEDIR);
		ret = mkdirat(inst_dir, inst_name, 0700) ? -errno : 0;
	}
	if (ret) {
		snprintf(why, len, "cannot create instances/%s: %s", inst_name, strerror(-ret));
		goto fail;
	}
	live = 1;
	snprintf(filter, sizeof(filter), "filename %s \"%s\"", strpbrk(match, "*?[") ? "~" : "==", match);
	if ((ret = inst_write("buffer_size_kb", BUF_KB)) ||
	    (ret = inst_write(EV_COLLAPSE "/filter", filter)) ||
	    (ret = inst_write(EV_SCAN "/filter", filter)) ||
	    (ret = inst_write(EV_COLLAPSE "/enable", "1")) ||
	    (ret = inst_write(EV_SCAN "/enable", "1")) ||
	    (ret = inst_write("tracing_on", "1"))) {
		snprintf(why, len, "setting up instances/%s: %s", inst_name, strerror(-ret));
		goto fail;
	}
	/* Timestamps the collapser's clock_gettime() can be matched with. */
	mono = !inst_write("trace_clock", "mono");
	return 0;
fail:
	ftr_trace_cleanup();
	return ret;
}

struct hist {
	int nr;
	struct { char ev; char name[40]; unsigned long n; } r[MAX_RESULTS];
};

static void hist_add(struct hist *h, char ev, const char *name, size_t len)
{
	int i;

	if (len >= sizeof(h->r[0].name))
		len = sizeof(h->r[0].name) - 1;
	for (i = 0; i < h->nr; i++)
		if (h->r[i].ev == ev && !strncmp(h->r[i].name, name, len) && !h->r[i].name[len])
			break;
	if (i == h->nr) {
		if (h->nr == MAX_RESULTS)
			return;
		h->r[h->nr].ev = ev;
		memcpy(h->r[h->nr].name, name, len);
		h->r[h->nr].name[len] = '\0';
		h->r[h->nr++].n = 0;
	}
	h->r[i].n++;
}

static int hist_cmp(const void *a, const void *b)
{
	const typeof(((struct hist *)0)->r[0]) *x = a, *y = b;

	if (x->ev != y->ev)
		return x->ev - y->ev;
	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

bool ftr_trace_collapsed(const char *result)
{
	return !strcmp(result, "succeeded") || !strcmp(result, "pte_mapped_hugepage");
}

/*
 * One line of the trace file, e.g.
 *   madvise-1234 [001] ..... 12.345678: mm_khugepaged_collapse_file: mm=..., index=512, ..., filename=ftr1234, nr=512, result=succeeded
 * Task names may hold anything, so the line is taken apart from the event name
 * outwards: the timestamp ends right before it, the tid before the "[cpu]".
 */
bool ftr_trace_parse(const char *line, struct ftr_trace_ev *ev)
{
	const char *name = strstr(line, ": mm_khugepaged_"), *p, *fn, *res, *idx, *nr;
	unsigned long sec, usec;

	if (!name)
		return false;
	p = name + 16;
	if (!strncmp(p, "collapse_file: ", 15))
		ev->ev = 'c';
	else if (!strncmp(p, "scan_file: ", 11))
		ev->ev = 's';
	else
		return false;
	fn = strstr(name, "filename=");
	res = strstr(name, "result=");
	if (!fn || !res)
		return false;
	snprintf(ev->file, sizeof(ev->file), "%.*s", (int)strcspn(fn + 9, ","), fn + 9);
	snprintf(ev->result, sizeof(ev->result), "%.*s", (int)strcspn(res + 7, ",\n "), res + 7);
	idx = strstr(name, " index=");
	ev->index = idx ? strtol(idx + 7, NULL, 10) : -1;
	nr = strstr(name, " nr=");
	ev->nr = nr ? strtol(nr + 4, NULL, 10) : 0;
	for (p = name; p > line && p[-1] != ' '; p--)
		;
	if (sscanf(p, "%lu.%lu:", &sec, &usec) != 2)
		return false;
	ev->us = (uint64_t)sec * 1000000 + usec;
	for (; p > line && *p != ']'; p--)
		;
	for (; p > line && *p != '['; p--)
		;
	for (; p > line && p[-1] == ' '; p--)
		;
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == line || p[-1] != '-')
		return false;
	ev->tid = atoi(p);
	return true;
}

static struct hist hist;		/* every event drained so far */

/* The filter already selected the file; the check here keeps a kernel whose filter
 * ignored us honest. */
static void take_line(const char *line, ftr_trace_fn fn, void *arg)
{
	struct ftr_trace_ev ev;

	if (!ftr_trace_parse(line, &ev) || fnmatch(match_glob, ev.file, 0))
		return;
	hist_add(&hist, ev.ev, ev.result, strlen(ev.result));
	if (fn)
		fn(&ev, line, arg);
}

int ftr_trace_drain(ftr_trace_fn fn, void *arg)
{
	static char line[1024];
	static size_t len;
	char buf[16384];
	ssize_t n;

	if (!live)
		return -ENOENT;
	if (pipe_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "%s/trace_pipe", inst_name);
		if ((pipe_fd = openat(inst_dir, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
			return -errno;
	}
	/* trace_pipe hands out whole events, but a line may straddle two reads. */
	while ((n = read(pipe_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			take_line(line, fn, arg);
			len = 0;
		}
	}
	return n < 0 && errno != EAGAIN ? -errno : 0;
}

static pthread_t drainer;
static int drainer_on, drainer_stop;

static void *drain_loop(void *arg)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	(void)arg;
	while (!__atomic_load_n(&drainer_stop, __ATOMIC_ACQUIRE)) {
		ftr_trace_drain(NULL, NULL);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void ftr_trace_background(bool on)
{
	if (on && live && !drainer_on) {
		__atomic_store_n(&drainer_stop, 0, __ATOMIC_RELEASE);
		drainer_on = !pthread_create(&drainer, NULL, drain_loop, NULL);
	} else if (!on && drainer_on) {
		__atomic_store_n(&drainer_stop, 1, __ATOMIC_RELEASE);
		pthread_join(drainer, NULL);
		drainer_on = 0;
	}
}

/* Events the ring buffer overwrote or dropped before they were drained. */
static unsigned long lost_events(void)
{
	unsigned long lost = 0, v;
	char path[96], line[128];

	for (int cpu = 0;; cpu++) {
		FILE *f;
		int fd;

		snprintf(path, sizeof(path), "%s/per_cpu/cpu%d/stats", inst_name, cpu);
		if ((fd = openat(inst_dir, path, O_RDONLY | O_CLOEXEC)) < 0 || !(f = fdopen(fd, "r"))) {
			if (fd >= 0)
				close(fd);
			return lost;
		}
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "overrun: %lu", &v) == 1 || sscanf(line, "dropped events: %lu", &v) == 1)
				lost += v;
		fclose(f);
	}
}

void ftr_trace_report(void)
{
	unsigned long lost, ev_n[2] = { 0 }, ok = 0;
	char table[2048];
	size_t o = 0;
	int ret;

	if (!live)
		return;
	inst_write("tracing_on", "0");
	ret = ftr_trace_drain(NULL, NULL);
	lost = lost_events();
	/* The pipe must be closed before the instance can go. */
	ftr_trace_cleanup();
	if (ret) {
		ftr_diag("coverage: cannot read instances/%s/trace_pipe: %s", inst_name, strerror(-ret));
		ftr_diag("coverage-table: unavailable");
		return;
	}

	qsort(hist.r, hist.nr, sizeof(hist.r[0]), hist_cmp);
	table[0] = '\0';
	for (int i = 0; i < hist.nr; i++) {
		bool c = hist.r[i].ev == 'c';

		ftr_diag("coverage: %sresult=%s %lu", c ? "" : "scan ", hist.r[i].name, hist.r[i].n);
		ev_n[!c] += hist.r[i].n;
		/* MADV_COLLAPSE reports both as success; the second leaves the page
		 * tables to retract. */
		if (c && ftr_trace_collapsed(hist.r[i].name))
			ok += hist.r[i].n;
		if (o < sizeof(table))
			o += snprintf(table + o, sizeof(table) - o, "%s.%s=%lu ", c ? "collapse" : "scan",
				      hist.r[i].name, hist.r[i].n);
	}
	ftr_diag("coverage: %s: %lu events%s, %lu lost; %lu of %lu collapse_file calls collapsed, %d distinct outcomes",
		 match_glob, ev_n[0] + ev_n[1], hist.nr == MAX_RESULTS ? " (table full)" : "", lost, ok, ev_n[0],
		 hist.nr);
	ftr_diag("coverage-table: %slost=%lu", table, lost);
}
