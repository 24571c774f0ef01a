// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "knob.h"
#include "ktap.h"
#include "mapping.h"
#include "thp.h"

int ftr_smaps_parse(FILE *f, unsigned long addr, struct ftr_smaps *out)
{
	char line[512];
	int in = 0;

	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, kb;

		/* A VMA header is "start-end perms ..."; field lines are "Name:  N kB". */
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, ' ') > strchr(line, '-')) {
			if (in)
				return 0;
			in = addr >= s && addr < e;
			out->start = s;
			out->end = e;
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Rss: %lu kB", &kb) == 1)
			out->rss_kb = kb;
		else if (sscanf(line, "FilePmdMapped: %lu kB", &kb) == 1)
			out->file_pmd_kb = kb;
		else if (sscanf(line, "ShmemPmdMapped: %lu kB", &kb) == 1)
			out->shmem_pmd_kb = kb;
		else if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			out->anon_huge_kb = kb;
	}
	if (in)
		return 0;
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

int ftr_smaps_read(pid_t pid, unsigned long addr, struct ftr_smaps *out)
{
	char path[64];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid ? pid : getpid());
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = ftr_smaps_parse(f, addr, out);
	fclose(f);
	return ret;
}

int ftr_folio_runs(const uint64_t *pagemap, const uint64_t *kpf, unsigned long nr_pages,
		   struct ftr_folio_run *runs, int max_runs)
{
	unsigned long i = 0;
	int n = 0;

	while (i < nr_pages && n < max_runs) {
		struct ftr_folio_run *r = &runs[n++];
		uint64_t pfn = pagemap[i] & FTR_PM_PFN_MASK;
		unsigned long j = i + 1;

		r->first = i;
		r->kpf = 0;
		if (!(pagemap[i] & FTR_PM_PRESENT) || !pfn) {
			r->order = (pagemap[i] & FTR_PM_PRESENT) ? -2 : -1;
			while (j < nr_pages && (pagemap[j] & FTR_PM_PRESENT) == (pagemap[i] & FTR_PM_PRESENT) &&
			       !(pagemap[j] & FTR_PM_PFN_MASK) == !pfn)
				j++;
			r->nr = j - i;
			i = j;
			continue;
		}
		r->kpf = kpf[i];
		r->order = 0;
		if (!(kpf[i] & (1ULL << FTR_KPF_COMPOUND_HEAD) || kpf[i] & (1ULL << FTR_KPF_COMPOUND_TAIL))) {
			/* Neighbouring small folios share a run: a split PMD stays one line. */
			while (j < nr_pages && (pagemap[j] & FTR_PM_PRESENT) && (pagemap[j] & FTR_PM_PFN_MASK) &&
			       !(kpf[j] & ((1ULL << FTR_KPF_COMPOUND_HEAD) | (1ULL << FTR_KPF_COMPOUND_TAIL))))
				j++;
		} else {
			/* Extend over tails at consecutive PFNs; a tail that starts the range is
			 * part of a folio whose head lies before it. */
			while (j < nr_pages && (pagemap[j] & FTR_PM_PRESENT) &&
			       (pagemap[j] & FTR_PM_PFN_MASK) == pfn + (j - i) &&
			       (kpf[j] & (1ULL << FTR_KPF_COMPOUND_TAIL)))
				j++;
			/* The folio's size is the largest power of two at which the head PFN is
			 * aligned and that the run covers: enough to tell PMD order from smaller. */
			if (kpf[i] & (1ULL << FTR_KPF_COMPOUND_HEAD)) {
				int o = 1;

				while ((1UL << o) <= j - i && !(pfn & ((1UL << o) - 1)))
					o++;
				r->order = o - 1;
			} else {
				r->order = -3;	/* tail without its head in the range */
			}
		}
		r->nr = j - i;
		i = j;
	}
	return n;
}

/* pagemap and kpageflags of nr pages from addr of pid (0: self); kpageflags 0 where
 * a page is not mapped.  0 or -errno. */
static int read_flags(pid_t pid, unsigned long addr, unsigned long nr, uint64_t *pm, uint64_t *kpf)
{
	long psz = sysconf(_SC_PAGESIZE);
	int pfd, kfd, ret = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid ? pid : getpid());
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || kfd < 0) {
		ret = -errno;
		goto out;
	}
	if (pread(pfd, pm, nr * sizeof(*pm), addr / psz * sizeof(*pm)) != (ssize_t)(nr * sizeof(*pm))) {
		ret = -EIO;
		goto out;
	}
	/* One read per run of consecutive pfns: a THP is one read, not 512. */
	for (unsigned long i = 0; i < nr; ) {
		uint64_t pfn = pm[i] & FTR_PM_PFN_MASK;
		unsigned long n = 1;

		if (!(pm[i] & FTR_PM_PRESENT) || !pfn) {
			kpf[i++] = 0;
			continue;
		}
		while (i + n < nr && (pm[i + n] & FTR_PM_PRESENT) && (pm[i + n] & FTR_PM_PFN_MASK) == pfn + n)
			n++;
		if (pread(kfd, &kpf[i], n * sizeof(*kpf), pfn * sizeof(*kpf)) != (ssize_t)(n * sizeof(*kpf)))
			memset(&kpf[i], 0, n * sizeof(*kpf));
		i += n;
	}
out:
	if (pfd >= 0)
		close(pfd);
	if (kfd >= 0)
		close(kfd);
	return ret;
}

int ftr_folio_scan_pid(pid_t pid, unsigned long addr, size_t len, struct ftr_folio_run *runs,
		       int max_runs)
{
	unsigned long nr = len / sysconf(_SC_PAGESIZE);
	uint64_t *pm = calloc(nr, sizeof(*pm)), *kpf = calloc(nr, sizeof(*kpf));
	int ret = -ENOMEM;

	if (pm && kpf && !(ret = read_flags(pid, addr, nr, pm, kpf)))
		ret = ftr_folio_runs(pm, kpf, nr, runs, max_runs);
	free(pm);
	free(kpf);
	return ret;
}

long ftr_pages_with_flag(void *addr, size_t len, int kpf_bit)
{
	unsigned long nr = len / sysconf(_SC_PAGESIZE);
	uint64_t *pm = calloc(nr, sizeof(*pm)), *kpf = calloc(nr, sizeof(*kpf));
	long ret = -ENOMEM;

	if (pm && kpf && !(ret = read_flags(0, (unsigned long)addr, nr, pm, kpf)))
		for (unsigned long i = 0; i < nr; i++)
			ret += !!(kpf[i] & (1ULL << kpf_bit));
	free(pm);
	free(kpf);
	return ret;
}

int ftr_folio_scan(void *addr, size_t len, struct ftr_folio_run *runs, int max_runs)
{
	return ftr_folio_scan_pid(0, (unsigned long)addr, len, runs, max_runs);
}

/* PAGEMAP_SCAN (6.7+); spelled out here because the build's uapi headers may predate it. */
struct ftr_page_region { uint64_t start, end, categories; };
struct ftr_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define FTR_PAGEMAP_SCAN	_IOWR('f', 16, struct ftr_pm_scan_arg)
#define FTR_PAGE_IS_HUGE	(1 << 6)

long ftr_pmd_mapped_bytes(pid_t pid, unsigned long addr, size_t len)
{
	struct ftr_page_region reg[16];
	struct ftr_pm_scan_arg arg = {
		.size = sizeof(arg), .start = addr, .end = addr + len,
		.vec = (uintptr_t)reg, .vec_len = 16,
		.category_mask = FTR_PAGE_IS_HUGE, .return_mask = FTR_PAGE_IS_HUGE,
	};
	char path[64];
	long bytes = 0;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid ? pid : getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (arg.start < arg.end) {
		n = ioctl(fd, FTR_PAGEMAP_SCAN, &arg);
		if (n < 0) {
			bytes = -errno;
			break;
		}
		for (int i = 0; i < n; i++)
			bytes += reg[i].end - reg[i].start;
		if (n < 16 || arg.walk_end >= arg.end)
			break;
		arg.start = arg.walk_end;
	}
	close(fd);
	return bytes;
}

int ftr_thp_range_read(pid_t pid, unsigned long addr, size_t len, struct ftr_thp_range *r)
{
	r->nruns = ftr_folio_scan_pid(pid, addr, len, r->runs, FTR_THP_RANGE_RUNS);
	r->len = len;
	r->pmd_mapped = ftr_pmd_mapped_bytes(pid, addr, len);
	return r->nruns < 0 ? r->nruns : 0;
}

void ftr_thp_range_str(const struct ftr_thp_range *r, char *buf, size_t len)
{
	size_t o;

	if (r->pmd_mapped < 0)
		o = snprintf(buf, len, "PMD-mapped: unknown (%s), ", strerror(-r->pmd_mapped));
	else if (!r->pmd_mapped)
		o = snprintf(buf, len, "not PMD-mapped, ");
	else
		o = snprintf(buf, len, "PMD-mapped %ld of %zu kB, ", r->pmd_mapped >> 10, r->len >> 10);
	if (o >= len)
		return;
	if (r->nruns < 0) {
		snprintf(buf + o, len - o, "folios unreadable: %s", strerror(-r->nruns));
		return;
	}
	o += snprintf(buf + o, len - o, "pages:order");
	for (int i = 0, j; i < r->nruns && o < len; i = j) {
		const struct ftr_folio_run *a = &r->runs[i];
		uint64_t dirty = a->kpf & (1ULL << FTR_KPF_DIRTY);
		char rest[24] = "";

		for (j = i + 1; j < r->nruns && r->runs[j].order == a->order && r->runs[j].order > 0 &&
		     (r->runs[j].kpf & (1ULL << FTR_KPF_DIRTY)) == dirty; j++)
			;
		if (j - i > 1)
			snprintf(rest, sizeof(rest), "x%d", j - i);
		o += snprintf(buf + o, len - o, " ");
		if (o < len)
			ftr_folio_runs_str(a, 1, buf + o, len - o);
		if (j - i > 1) {
			/* widen "first-last" of the first folio to the whole group */
			char *colon = strchr(buf + o, ':');
			char tail[32];

			snprintf(tail, sizeof(tail), "%s", colon ? colon : "");
			o += snprintf(buf + o, len - o, "%lu-%lu%s%s", a->first,
				      r->runs[j - 1].first + r->runs[j - 1].nr - 1, tail, rest);
		} else {
			o += strlen(buf + o);
		}
	}
}

char ftr_thp_range_char(const struct ftr_thp_range *r, int pmd_order)
{
	bool any = false, large = false, small = false;

	if (r->nruns <= 0)
		return '?';
	if (r->pmd_mapped > 0 && (size_t)r->pmd_mapped == r->len)
		return 'H';
	for (int i = 0; i < r->nruns; i++) {
		any |= r->runs[i].order >= 0 || r->runs[i].order == -3;
		large |= r->runs[i].order > 0 || r->runs[i].order == -3;
		small |= r->runs[i].order == 0;
	}
	if (!any)
		return '.';
	if (r->nruns == 1 && r->runs[0].order == pmd_order)
		return 'T';
	return large && small ? 'm' : large ? 'l' : 's';
}

int ftr_folio_max_order(void *addr, size_t len)
{
	struct ftr_folio_run runs[1024];
	int n = ftr_folio_scan(addr, len, runs, 1024), i, max = -1;

	for (i = 0; i < n; i++)
		if (runs[i].order > max)
			max = runs[i].order;
	return max;
}

void ftr_folio_runs_str(const struct ftr_folio_run *runs, int nr, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < nr && off < len; i++) {
		const struct ftr_folio_run *r = &runs[i];
		char o[16];

		if (r->order >= 0)
			snprintf(o, sizeof(o), "o%d", r->order);
		else
			snprintf(o, sizeof(o), "%s", r->order == -1 ? "-" : r->order == -2 ? "?" : "t");
		off += snprintf(buf + off, len - off, "%s%lu-%lu:%s%s", i ? " " : "", r->first,
				r->first + r->nr - 1, o,
				r->kpf & (1ULL << FTR_KPF_DIRTY) ? "d" : "");
	}
}

static void counters_add(struct ftr_counters *c, const char *name, uint64_t v)
{
	if (c->nr == FTR_COUNTERS_MAX)
		return;
	snprintf(c->name[c->nr], sizeof(c->name[0]), "%.47s", name);
	c->val[c->nr++] = v;
}

void ftr_counters_read(struct ftr_counters *c)
{
	char path[512], dir[128], line[128], name[64];
	unsigned long v;
	struct dirent *de;
	FILE *f;
	DIR *d;

	c->nr = 0;
	f = fopen("/proc/vmstat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "thp_", 4) && sscanf(line, "%47s %lu", name, &v) == 2)
			counters_add(c, name, v);
	if (f)
		fclose(f);

	snprintf(dir, sizeof(dir), FTR_THP_SYSFS "/hugepages-%lukB/stats", ftr_pmd_size() >> 10);
	d = opendir(ftr_knob_path(dir, path, sizeof(path)));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%.200s", dir, de->d_name);
		snprintf(name, sizeof(name), "pmd_%.40s", de->d_name);
		if (!ftr_knob_read_ul(path, &v))
			counters_add(c, name, v);
	}
	if (d)
		closedir(d);
}

uint64_t ftr_counter(const struct ftr_counters *c, const char *name)
{
	int i;

	for (i = 0; i < c->nr; i++)
		if (!strcmp(c->name[i], name))
			return c->val[i];
	return 0;
}

void ftr_counters_diff(const struct ftr_counters *before, const struct ftr_counters *after)
{
	char buf[1024];
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < after->nr; i++) {
		uint64_t b = ftr_counter(before, after->name[i]);

		if (after->val[i] != b && off < sizeof(buf))
			off += snprintf(buf + off, sizeof(buf) - off, " %s=%+lld", after->name[i],
					(long long)(after->val[i] - b));
	}
	ftr_diag("kernel counters:%s", off ? buf : " (no thp counter changed)");
}
