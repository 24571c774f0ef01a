/* SPDX-License-Identifier: GPL-2.0 */
/*
 * thp: what the kernel says about huge pages in a range.
 *
 * Three views, each from a different kernel interface, because each can be wrong on
 * its own: smaps (how a VMA is mapped: FilePmdMapped/ShmemPmdMapped), pagemap +
 * /proc/kpageflags (which folio, of which order, backs each page), and counters
 * (/proc/vmstat thp_* and hugepages-<PMD>kB/stats) whose deltas tell what happened
 * during a run.  Parsers take FILE * or arrays so unit tests can feed recorded fixtures.
 */
#ifndef FTR_THP_H
#define FTR_THP_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct ftr_smaps {
	unsigned long start, end;	/* the VMA that contains the address */
	unsigned long rss_kb, file_pmd_kb, shmem_pmd_kb, anon_huge_kb;
};

/* 0 and *out filled when a VMA of f contains addr, -ENOENT otherwise. */
int ftr_smaps_parse(FILE *f, unsigned long addr, struct ftr_smaps *out);
int ftr_smaps_read(pid_t pid, unsigned long addr, struct ftr_smaps *out);

#define FTR_KPF_DIRTY		4
#define FTR_KPF_WRITEBACK	8
#define FTR_KPF_MMAP		11
#define FTR_KPF_COMPOUND_HEAD	15
#define FTR_KPF_COMPOUND_TAIL	16
#define FTR_KPF_THP		22
#define FTR_KPF_PRIVATE		35	/* PG_private: a filesystem's per-folio data */

#define FTR_PM_PRESENT		(1ULL << 63)
#define FTR_PM_PFN_MASK		((1ULL << 55) - 1)

/* A run of pages backed by one large folio, or by neighbouring small folios (order 0),
 * or not present (order -1). */
struct ftr_folio_run {
	unsigned long first;	/* page index in the range */
	unsigned long nr;	/* pages of the range in this run */
	int order;		/* folio order; -1: not present; -2: pfn hidden (no root) */
	uint64_t kpf;		/* kpageflags of the first page */
};

/*
 * Groups pages into folio runs from their pagemap entries and kpageflags: a head page
 * followed by its tails at consecutive PFNs forms one run; the order is that of the
 * whole folio (from the head's PFN alignment and the count of tails the range shows,
 * clipped by the range).  Returns the number of runs written, at most max_runs.
 */
int ftr_folio_runs(const uint64_t *pagemap, const uint64_t *kpf, unsigned long nr_pages,
		   struct ftr_folio_run *runs, int max_runs);
/* Reads /proc/self/pagemap and /proc/kpageflags for [addr, addr+len) and groups them. */
int ftr_folio_scan(void *addr, size_t len, struct ftr_folio_run *runs, int max_runs);
/* The same for [addr, addr+len) of process pid (0: this one). */
int ftr_folio_scan_pid(pid_t pid, unsigned long addr, size_t len, struct ftr_folio_run *runs,
		       int max_runs);
/* The pages of [addr, addr+len) mapped here whose kpageflags have bit kpf_bit
 * (FTR_KPF_*); -errno. */
long ftr_pages_with_flag(void *addr, size_t len, int kpf_bit);
/* Bytes of [addr, addr+len) of pid (0: self) mapped by PMDs, from PAGEMAP_SCAN (6.7+):
 * per range, where smaps only sums per VMA.  -errno when the kernel cannot tell. */
long ftr_pmd_mapped_bytes(pid_t pid, unsigned long addr, size_t len);

/*
 * One range (typically one PMD) as the failure report and tools/thpmap show it: its
 * folio runs and how much of it is PMD-mapped.  One code path for both, so what a
 * report says can be checked by hand with thpmap.
 */
#define FTR_THP_RANGE_RUNS 512	/* a PMD of 4k pages in single folios */
struct ftr_thp_range {
	size_t len;
	long pmd_mapped;	/* bytes, or -errno */
	int nruns;		/* or -errno */
	struct ftr_folio_run runs[FTR_THP_RANGE_RUNS];
};
int ftr_thp_range_read(pid_t pid, unsigned long addr, size_t len, struct ftr_thp_range *r);
/* "PMD-mapped 2048 of 2048 kB, pages:order 0-511:o9"; neighbouring folios of one
 * order are counted, not listed: "128-383:o2x64". */
void ftr_thp_range_str(const struct ftr_thp_range *r, char *buf, size_t len);
/* One character: H PMD-mapped, T one PMD-order folio mapped by PTEs, l large folios,
 * m large and small, s small pages only, . nothing present, ? unreadable. */
char ftr_thp_range_char(const struct ftr_thp_range *r, int pmd_order);

/* Largest folio order that backs any page of [addr, addr+len); -1 if none present. */
int ftr_folio_max_order(void *addr, size_t len);
/* Formats runs compactly, e.g. "0-511:o9 512-515:o0 516-1023:-" */
void ftr_folio_runs_str(const struct ftr_folio_run *runs, int nr, char *buf, size_t len);

#define FTR_COUNTERS_MAX 96
struct ftr_counters {
	int nr;
	char name[FTR_COUNTERS_MAX][48];
	uint64_t val[FTR_COUNTERS_MAX];
};

/* thp_* lines of /proc/vmstat and the PMD-size hugepages-*kB/stats files. */
void ftr_counters_read(struct ftr_counters *c);
/* Value of a counter, 0 when absent. */
uint64_t ftr_counter(const struct ftr_counters *c, const char *name);
/* Prints "name +delta" for every counter that changed, as diagnostics. */
void ftr_counters_diff(const struct ftr_counters *before, const struct ftr_counters *after);

#endif
