// SPDX-License-Identifier: GPL-2.0
/*
 * thpmap: what huge pages back a file's page cache or a process's address range, PMD
 * by PMD.
 *
 *   thpmap [--json] FILE
 *   thpmap [--json] --pid PID --range 0xSTART-0xEND
 *
 * For a file, only what is resident is looked at: the file is mapped read-only for a
 * moment, mincore() says which pages are cached, and only those are touched, so the
 * tool never reads the file in (which would create the folios it reports).  For a
 * process, its pagemap is read as it is.  Each PMD-sized range gets one line: how much
 * of it is PMD-mapped (PAGEMAP_SCAN) and its folio runs (pagemap + /proc/kpageflags),
 * in the same words as a selftest's failure report (lib/thp.c ftr_thp_range_str), and
 * the whole range one character per PMD.  Needs root for PFNs and kpageflags.
 * Bad input: one line on stderr, exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapping.h"
#include "probe.h"
#include "thp.h"

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "thpmap: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (usage: thpmap [--json] FILE | thpmap [--json] --pid PID --range 0xSTART-0xEND)\n");
	return 2;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	putchar('"');
}

/* Shows [addr, addr+len) of pid, whose first byte is at offset base of what is shown. */
static void show(pid_t pid, unsigned long addr, size_t len, unsigned long base, const char *what, bool json)
{
	static struct ftr_thp_range tr;
	size_t pmd = ftr_pmd_size(), psz = ftr_page_size();
	int order = __builtin_ctzl(pmd / psz);
	char *map = calloc(len / pmd + 2, 1), line[1024];
	unsigned i = 0;

	if (json) {
		printf("{\"target\":");
		json_str(what);
		printf(",\"page_size\":%zu,\"pmd_size\":%zu,\"ranges\":[", psz, pmd);
	} else {
		printf("%s: %zu kB, %zu-kB PMDs\n", what, len >> 10, pmd >> 10);
	}
	for (unsigned long a = addr; a < addr + len; i++) {
		/* Ranges are PMD-aligned in the address space, as the kernel maps them. */
		unsigned long end = (a / pmd + 1) * pmd;
		size_t n = (end < addr + len ? end : addr + len) - a;

		ftr_thp_range_read(pid, a, n, &tr);
		if (map)
			map[i] = ftr_thp_range_char(&tr, order);
		if (json) {
			printf("%s{\"offset\":%lu,\"len\":%zu,\"pmd_mapped\":", i ? "," : "", a - addr + base, n);
			if (tr.pmd_mapped < 0)
				printf("null");
			else
				printf("%ld", tr.pmd_mapped);
			printf(",\"runs\":[");
			for (int k = 0; k < tr.nruns; k++)
				printf("%s{\"first_page\":%lu,\"pages\":%lu,\"order\":%d,\"dirty\":%s}", k ? "," : "",
				       tr.runs[k].first, tr.runs[k].nr, tr.runs[k].order,
				       tr.runs[k].kpf & (1ULL << FTR_KPF_DIRTY) ? "true" : "false");
			printf("]}");
		} else {
			ftr_thp_range_str(&tr, line, sizeof(line));
			printf("  %c 0x%08lx +%-5zu kB: %s\n", map ? map[i] : ' ', a - addr + base, n >> 10, line);
		}
		a += n;
	}
	if (json) {
		printf("],\"map\":");
		json_str(map ? map : "");
		printf("}\n");
	} else {
		printf("map: %s\n(H PMD-mapped, T one PMD-order folio mapped by PTEs, l large folios, m large and "
		       "small, s small pages, . not present; orders: -1 '-' absent, '?' PFN hidden, 't' a tail "
		       "whose head precedes the range; 'd' dirty)\n", map ? map : "");
	}
	free(map);
}

static int file_map(const char *path, bool json)
{
	size_t psz = ftr_page_size();
	unsigned char *vec;
	struct stat st;
	char *p, what[4200];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	volatile char sink;

	if (fd < 0) {
		fprintf(stderr, "thpmap: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return usage_error("%s: not a regular file", path);
	}
	if (!st.st_size) {
		close(fd);
		printf(json ? "{\"target\":\"%s\",\"ranges\":[]}\n" : "%s: empty\n", path);
		return 0;
	}
	/* PMD-aligned, so that a PMD-sized folio can be mapped by one PMD here too. */
	p = ftr_mmap_aligned(st.st_size, PROT_READ, MAP_SHARED, fd);
	vec = calloc((st.st_size + psz - 1) / psz, 1);
	if (p == MAP_FAILED || !vec) {
		fprintf(stderr, "thpmap: %s: cannot map: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	if (mincore(p, st.st_size, vec)) {
		fprintf(stderr, "thpmap: %s: mincore: %s\n", path, strerror(errno));
		return 1;
	}
	/* Map what is cached, read nothing in. */
	for (off_t off = 0; off < st.st_size; off += psz)
		if (vec[off / psz] & 1)
			sink = p[off];
	(void)sink;
	snprintf(what, sizeof(what), "%s (page cache, through a temporary read-only mapping)", path);
	show(0, (unsigned long)p, (st.st_size + psz - 1) / psz * psz, 0, what, json);
	munmap(p, st.st_size);
	free(vec);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *range = NULL;
	unsigned long start, end;
	bool json = false;
	long pid = -1;
	char *e, what[128];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			pid = strtol(argv[++i], &e, 10);
			if (*e || pid <= 0)
				return usage_error("--pid '%s': not a process id", argv[i]);
		} else if (!strcmp(argv[i], "--range") && i + 1 < argc) {
			range = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: thpmap [--json] FILE | thpmap [--json] --pid PID --range 0xSTART-0xEND\n");
			return 0;
		} else if (argv[i][0] == '-' || file) {
			return usage_error("unexpected argument '%s'", argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (!!file == (pid > 0 || range))
		return usage_error("%s", "give either FILE or --pid with --range");
	if (file)
		return file_map(file, json);
	if (pid <= 0 || !range)
		return usage_error("%s", "--pid and --range go together");
	errno = 0;
	start = strtoul(range, &e, 16);
	if (errno || e == range || *e != '-')
		return usage_error("--range '%s': want 0xSTART-0xEND", range);
	end = strtoul(e + 1, &e, 16);
	if (errno || *e || end <= start || start % ftr_page_size() || end % ftr_page_size())
		return usage_error("--range '%s': want page-aligned 0xSTART-0xEND with START < END", range);
	snprintf(what, sizeof(what), "/proc/%ld/pagemap", pid);
	if (access(what, R_OK)) {
		fprintf(stderr, "thpmap: --pid %ld: %s: %s\n", pid, what, strerror(errno));
		return 2;
	}
	snprintf(what, sizeof(what), "pid %ld [%#lx, %#lx)", pid, start, end);
	show(pid, start, end - start, start, what, json);
	return 0;
}
