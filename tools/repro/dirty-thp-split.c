// SPDX-License-Identifier: GPL-2.0
/*
 * dirty-thp-split - does a split of a dirty file THP keep every piece dirty, and
 * which dirty THPs does the kernel split at all?
 *
 * A THP dirtied by write() alone (no PTE carries a dirty bit) must leave each folio of
 * a split dirty until it is written back, or the write is lost at the next writeback.
 * But __folio_split() first asks filemap_release_folio() to drop the folio's private
 * data, and iomap (xfs) refuses that for a dirty folio with per-block state, which a
 * write() of part of the folio attaches; buffer heads (ext4) refuse while a buffer is
 * dirty.  So which dirty THPs can be split depends on how they were dirtied.
 *
 *   dirty-thp-split [--seconds N] [--rounds N] DIR
 *
 * Each round, for each way of dirtying: fill a PMD in small writes, fsync, collapse it
 * (MADV_COLLAPSE of a writable mapping) until kpageflags shows one PMD-order folio,
 * dirty it: pwrite() of one page ("page"), pwrite() of the whole PMD ("pmd"), or a
 * store through the mapping ("store"), split it through debugfs split_huge_pages,
 * and read what was written back with O_DIRECT (which writes the range back first).
 * Found: a write that the disk does not hold after a split.  Otherwise the line says,
 * per way, how many dirty THPs the kernel split.  Root, debugfs and a kernel that
 * collapses DIR's page cache for a writable mapping.
 */
#include "repro.h"

#define SPLIT_PATH	"/sys/kernel/debug/split_huge_pages"
#define KPF_HEAD	15
#define KPF_TAIL	16

enum way { PAGE_WRITE, PMD_WRITE, STORE, NWAYS };
static const char *const way_names[NWAYS] = { "page", "pmd", "store" };

/* Whether the PMD at p (mapped, faulted in) is one folio of PMD order. */
static int one_folio(const char *p)
{
	uint64_t ent, flags[PMD_SIZE / PAGE], pfn;
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	int ok = 0;

	(void)*(volatile const char *)p;
	if (pm < 0 || kf < 0 || pread(pm, &ent, 8, (uintptr_t)p / PAGE * 8) != 8)
		repro_fail("pagemap and kpageflags (needs root)");
	pfn = ent & ((1ULL << 55) - 1);
	if ((ent >> 63) && pfn && pread(kf, flags, sizeof(flags), pfn * 8) == sizeof(flags)) {
		ok = flags[0] >> KPF_HEAD & 1;
		for (size_t i = 1; i < PMD_SIZE / PAGE && ok; i++)
			ok = flags[i] >> KPF_TAIL & 1 && !(flags[i] >> KPF_HEAD & 1);
	}
	close(pm);
	close(kf);
	return ok;
}

static void fill(char *buf, size_t len, uint32_t round, int way)
{
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(buf + i) = (uint64_t)round << 40 | (uint64_t)way << 32 | (uint32_t)i;
}

int main(int argc, char **argv)
{
	static const char usage[] = "[--seconds N] [--rounds N] DIR";
	double seconds = 60, rounds = 20, t0 = repro_now();
	const struct repro_opt opts[] = { { "--rounds", &rounds, 1 }, { 0 } };
	const char *dir = repro_args(argc, argv, &seconds, opts, usage);
	unsigned long thps[NWAYS] = { 0 }, split[NWAYS] = { 0 }, tries = 0;
	char *buf, *disk, *map, cmd[PATH_MAX + 64];
	int fd, dfd, dbg;
	uint32_t r;

	if (!dir)
		repro_usage(usage, "DIR is required (an xfs or ext4 directory)");
	if ((dbg = open(SPLIT_PATH, O_WRONLY | O_CLOEXEC)) < 0)
		repro_exit(REPRO_CANNOT, "%s: %s", SPLIT_PATH, strerror(errno));
	close(dbg);
	if (posix_memalign((void **)&buf, PAGE, PMD_SIZE) || posix_memalign((void **)&disk, PAGE, PMD_SIZE))
		repro_fail("memory");
	fd = repro_file(dir, 0);
	dfd = repro_open_direct(dir);
	map = repro_map(fd, PMD_SIZE, PROT_READ | PROT_WRITE);
	snprintf(cmd, sizeof(cmd), "%s,0x0,0x%lx,0", repro_path, PMD_SIZE / PAGE);
	for (r = 1; r <= rounds && repro_now() < t0 + seconds; r++) {
		for (int w = 0; w < NWAYS; w++) {
			size_t off = w == PMD_WRITE ? 0 : 7 * PAGE, len = w == PMD_WRITE ? PMD_SIZE : PAGE;
			int thp = 0;

			/* Small folios again: a truncation drops whatever the last round left. */
			if (ftruncate(fd, 0))
				repro_fail("ftruncate");
			repro_fill(fd, PMD_SIZE, 0);
			for (int i = 0; i < 20 && !thp; i++, tries++) {
				if (madvise(map, PMD_SIZE, MADV_COLLAPSE) && errno != EAGAIN && errno != EBUSY)
					repro_exit(REPRO_CANNOT, "MADV_COLLAPSE of a writable mapping on %s: %s", dir,
						   strerror(errno));
				thp = one_folio(map);
				if (!thp)
					usleep(10000);
			}
			if (!thp)
				continue;
			thps[w]++;
			fill(buf, len, r, w);
			if (w == STORE)
				memcpy(map + off, buf, len);
			else if (pwrite(fd, buf, len, off) != (ssize_t)len)
				repro_fail("pwrite");
			if ((dbg = open(SPLIT_PATH, O_WRONLY | O_CLOEXEC)) < 0 ||
			    write(dbg, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
				repro_fail(SPLIT_PATH);
			close(dbg);
			if (one_folio(map))
				continue;
			split[w]++;
			if (pread(dfd, disk, len, off) != (ssize_t)len)
				repro_fail("O_DIRECT read");
			if (memcmp(disk, buf, len))
				repro_exit(REPRO_FOUND, "round %u: a THP dirtied by %s of [%#zx, +%#zx) and split through "
					   "debugfs: an O_DIRECT read (which writes the range back first) returned older "
					   "data; the write was lost with the dirty bit", r,
					   w == STORE ? "a store through the mapping" : "pwrite()", off, len);
		}
	}
	repro_exit(REPRO_NONE, "%u rounds in %.1f s (%lu collapse calls): dirty THPs split / built: "
		   "%s %lu/%lu, %s %lu/%lu, %s %lu/%lu; every split one read back from the disk",
		   r - 1, repro_now() - t0, tries, way_names[0], split[0], thps[0], way_names[1], split[1],
		   thps[1], way_names[2], split[2], thps[2]);
}
