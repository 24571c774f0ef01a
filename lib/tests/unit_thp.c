// SPDX-License-Identifier: GPL-2.0
/*
 * unit_thp: the smaps parser against recorded smaps text, and folio-run grouping on
 * synthetic pagemap/kpageflags arrays (no root, no THP needed).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "thp.h"
#include "unit.h"

#define HEAD	(1ULL << FTR_KPF_COMPOUND_HEAD)
#define TAIL	(1ULL << FTR_KPF_COMPOUND_TAIL)
#define THP	(1ULL << FTR_KPF_THP)
#define MMAP	(1ULL << FTR_KPF_MMAP)
#define DIRTY	(1ULL << FTR_KPF_DIRTY)
#define PM(pfn)	(FTR_PM_PRESENT | (uint64_t)(pfn))

static int parse_fixture(const char *name, unsigned long addr, struct ftr_smaps *sm)
{
	FILE *f = fopen(unit_fixture(name), "r");
	int ret;

	if (!f) {
		DIAG("cannot open fixture %s: %s (set FTR_FIXTURES?)", unit_fixture(name),
		     strerror(errno));
		return -EIO;
	}
	ret = ftr_smaps_parse(f, addr, sm);
	fclose(f);
	return ret;
}

/* Recorded on a tmpfs huge=always mapping after MADV_COLLAPSE. */
static void test_smaps_shmem(void)
{
	struct ftr_smaps sm;

	/* The 4 MB tmpfs mapping: its first byte and its last byte. */
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x7f292cc00000UL, &sm), ==, 0);
	CHECK(sm.start == 0x7f292cc00000UL && sm.end == 0x7f292d000000UL);
	CHECK_INT(sm.rss_kb, ==, 4096);
	/* "Anonymous:" precedes it and starts with a hex digit: it must not end the VMA. */
	CHECK_INT(sm.shmem_pmd_kb, ==, 4096);
	CHECK_INT(sm.file_pmd_kb, ==, 0);
	CHECK_INT(sm.anon_huge_kb, ==, 0);
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x7f292cffffffUL, &sm), ==, 0);
	CHECK_INT(sm.shmem_pmd_kb, ==, 4096);

	/* end is exclusive: the next VMA (a PROT_NONE guard) is found, not the tmpfs one. */
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x7f292d000000UL, &sm), ==, 0);
	CHECK(sm.start == 0x7f292d000000UL && sm.end == 0x7f292d400000UL);
	CHECK_INT(sm.rss_kb, ==, 0);
	CHECK_INT(sm.shmem_pmd_kb, ==, 0);

	/* The first VMA of the file and the last (no header follows it: ends at EOF). */
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x563357b28800UL, &sm), ==, 0);
	CHECK(sm.start == 0x563357b28000UL && sm.end == 0x563357b29000UL);
	CHECK_INT(sm.rss_kb, ==, 4);
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0xffffffffff600000UL, &sm), ==, 0);
	CHECK(sm.start == 0xffffffffff600000UL && sm.end == 0xffffffffff601000UL);

	/* Holes between VMAs, below the first and above the last: -ENOENT, out cleared. */
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x7f292d400000UL, &sm), ==, -ENOENT);
	CHECK(sm.start == 0 && sm.end == 0 && sm.rss_kb == 0);
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x1000UL, &sm), ==, -ENOENT);
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0x7fffd9853000UL, &sm), ==, -ENOENT);
	CHECK_INT(parse_fixture("smaps-shmem-pmd.txt", 0xffffffffff601000UL, &sm), ==, -ENOENT);
}

/* Hand-edited from the recording: the mapping is an xfs file, 2 MB of it PMD-mapped. */
static void test_smaps_file(void)
{
	struct ftr_smaps sm;

	CHECK_INT(parse_fixture("smaps-file-pmd.txt", 0x7f292ce00000UL, &sm), ==, 0);
	CHECK(sm.start == 0x7f292cc00000UL && sm.end == 0x7f292d000000UL);
	CHECK_INT(sm.rss_kb, ==, 3072);
	CHECK_INT(sm.file_pmd_kb, ==, 2048);
	CHECK_INT(sm.shmem_pmd_kb, ==, 0);
	CHECK_INT(parse_fixture("smaps-file-pmd.txt", 0x7f292d477000UL, &sm), ==, 0);
	CHECK_INT(sm.anon_huge_kb, ==, 2048);
	CHECK_INT(sm.file_pmd_kb, ==, 0);
}

/* Lines that look a bit like a header must not be taken for one, and vice versa. */
static void test_smaps_header_detection(void)
{
	static const char text[] =
		"10000-20000 rw-s 00000000 00:1a 7 /memfd:ftr-ab-cd (deleted)\n"
		"Size:                 64 kB\n"
		"Rss:                  64 kB\n"
		"Anonymous:             0 kB\n"
		"AnonHugePages:         0 kB\n"
		"FilePmdMapped:         0 kB\n"
		"ShmemPmdMapped:       32 kB\n"
		"VmFlags: rd wr sh mr mw me ms ac dd\n"
		/* A bare header: no inode path, no trailing blank. */
		"20000-30000 rw-p 00000000 00:00 0\n"
		"Rss:                   8 kB\n"
		"VmFlags: rd wr mr mw me ac\n";
	struct ftr_smaps sm;
	FILE *f;

	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	CHECK_INT(ftr_smaps_parse(f, 0x1ffff, &sm), ==, 0);
	fclose(f);
	CHECK(sm.start == 0x10000 && sm.end == 0x20000);
	CHECK_INT(sm.rss_kb, ==, 64);
	CHECK_INT(sm.shmem_pmd_kb, ==, 32);

	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	CHECK_INT(ftr_smaps_parse(f, 0x20000, &sm), ==, 0);
	fclose(f);
	CHECK(sm.start == 0x20000 && sm.end == 0x30000);
	CHECK_INT(sm.rss_kb, ==, 8);
	CHECK_INT(sm.shmem_pmd_kb, ==, 0);
}

/* Our own mapping through /proc/self/smaps: the VMA is found around the address. */
static void test_smaps_live(void)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 4 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ftr_smaps sm;

	if (!CHECK(p != MAP_FAILED))
		return;
	memset(p, 1, 4 * psz);
	CHECK_INT(ftr_smaps_read(0, (unsigned long)p + psz, &sm), ==, 0);
	CHECK(sm.start <= (unsigned long)p && sm.end >= (unsigned long)p + 4 * psz);
	CHECK(sm.rss_kb >= (unsigned long)(4 * psz) >> 10);
	munmap(p, 4 * psz);
}

/* Fills n pages of a folio of 2^order pages starting at its page `from`. */
static void folio(uint64_t *pm, uint64_t *kpf, uint64_t head_pfn, int order, int from, int n,
		  uint64_t flags)
{
	for (int i = 0; i < n; i++) {
		int idx = from + i;

		pm[i] = PM(head_pfn + idx);
		kpf[i] = flags | MMAP | (order == 0 ? 0 : idx ? TAIL : HEAD | THP);
	}
}

static void test_folio_runs(void)
{
	static uint64_t pm[2048], kpf[2048];
	struct ftr_folio_run r[64];
	char s[256];
	int n;

	/* A PMD-order folio: head at a 512-aligned PFN and its 511 tails. */
	folio(pm, kpf, 0x40000, 9, 0, 512, 0);
	n = ftr_folio_runs(pm, kpf, 512, r, 64);
	CHECK_INT(n, ==, 1);
	CHECK(r[0].first == 0 && r[0].nr == 512);
	CHECK_INT(r[0].order, ==, 9);
	CHECK(r[0].kpf & HEAD);
	ftr_folio_runs_str(r, n, s, sizeof(s));
	CHECK_STR(s, "0-511:o9");

	/* Neighbouring small pages share one order-0 run, so a split PMD stays short. */
	for (int i = 0; i < 4; i++) {
		pm[i] = PM(100 + i);
		kpf[i] = MMAP | (i == 2 ? DIRTY : 0);
	}
	n = ftr_folio_runs(pm, kpf, 4, r, 64);
	CHECK_INT(n, ==, 1);
	CHECK(r[0].order == 0 && r[0].first == 0 && r[0].nr == 4);
	ftr_folio_runs_str(r, n, s, sizeof(s));
	CHECK_STR(s, "0-3:o0");

	/* Nothing mapped: one run of order -1. */
	memset(pm, 0, 8 * sizeof(pm[0]));
	n = ftr_folio_runs(pm, kpf, 8, r, 64);
	CHECK_INT(n, ==, 1);
	CHECK(r[0].order == -1 && r[0].nr == 8);

	/* Present but the PFN hidden (no CAP_SYS_ADMIN): -2, shown as "?". */
	for (int i = 0; i < 3; i++)
		pm[i] = FTR_PM_PRESENT;
	n = ftr_folio_runs(pm, kpf, 3, r, 64);
	CHECK(n == 1 && r[0].order == -2 && r[0].nr == 3);
	ftr_folio_runs_str(r, n, s, sizeof(s));
	CHECK_STR(s, "0-2:?");

	/* A range that starts in the middle of a PMD folio: its head is not seen: -3. */
	folio(pm, kpf, 0x40000, 9, 256, 256, 0);
	n = ftr_folio_runs(pm, kpf, 256, r, 64);
	CHECK_INT(n, ==, 1);
	CHECK(r[0].order == -3 && r[0].nr == 256);
	ftr_folio_runs_str(r, n, s, sizeof(s));
	CHECK_STR(s, "0-255:t");

	/* Two PMD folios at consecutive PFNs: the second head starts a new run. */
	folio(pm, kpf, 0x40000, 9, 0, 512, 0);
	folio(pm + 512, kpf + 512, 0x40200, 9, 0, 512, 0);
	n = ftr_folio_runs(pm, kpf, 1024, r, 64);
	CHECK_INT(n, ==, 2);
	CHECK(r[0].order == 9 && r[1].order == 9 && r[1].first == 512 && r[1].nr == 512);

	/* A folio clipped by the range: the order is what the range shows of it. */
	folio(pm, kpf, 0x80000, 9, 0, 64, 0);
	n = ftr_folio_runs(pm, kpf, 64, r, 64);
	CHECK(n == 1 && r[0].order == 6);

	/* An mTHP folio (order 2) at a PFN aligned only to its own size. */
	folio(pm, kpf, 0x40004, 2, 0, 4, 0);
	n = ftr_folio_runs(pm, kpf, 4, r, 64);
	CHECK(n == 1 && r[0].order == 2);
}

/* What a split PMD looks like: a PMD folio, small pages, an mTHP, a hole. */
static void test_folio_runs_mixed(void)
{
	static uint64_t pm[1024], kpf[1024];
	struct ftr_folio_run r[16];
	char s[256];
	int n;

	folio(pm, kpf, 0x40000, 9, 0, 512, DIRTY);		/* 0-511: order 9, dirty */
	pm[512] = PM(7);					/* 512, 513: small pages */
	kpf[512] = MMAP;
	pm[513] = PM(0x99999);
	kpf[513] = MMAP;
	folio(pm + 514, kpf + 514, 0x1234 << 4, 4, 0, 16, 0);	/* 514-529: order 4 */
	memset(pm + 530, 0, (1024 - 530) * sizeof(pm[0]));	/* 530-1023: not present */

	n = ftr_folio_runs(pm, kpf, 1024, r, 16);
	CHECK_INT(n, ==, 4);
	CHECK(r[0].first == 0 && r[0].nr == 512 && r[0].order == 9);
	CHECK(r[1].first == 512 && r[1].nr == 2 && r[1].order == 0);
	CHECK(r[2].first == 514 && r[2].nr == 16 && r[2].order == 4);
	CHECK(r[3].first == 530 && r[3].nr == 494 && r[3].order == -1);
	ftr_folio_runs_str(r, n, s, sizeof(s));
	CHECK_STR(s, "0-511:o9d 512-513:o0 514-529:o4 530-1023:-");

	/* max_runs bounds the output. */
	n = ftr_folio_runs(pm, kpf, 1024, r, 2);
	CHECK_INT(n, ==, 2);
	CHECK(r[1].first == 512);

	/* A short buffer truncates the text and still terminates it. */
	n = ftr_folio_runs(pm, kpf, 1024, r, 16);
	memset(s, 'x', sizeof(s));
	ftr_folio_runs_str(r, n, s, 12);
	CHECK_STR(s, "0-511:o9d 5");
	ftr_folio_runs_str(r, 0, s, sizeof(s));
	CHECK_STR(s, "");
}

int main(void)
{
	test_smaps_shmem();
	test_smaps_file();
	test_smaps_header_detection();
	test_smaps_live();
	test_folio_runs();
	test_folio_runs_mixed();
	return unit_done();
}
