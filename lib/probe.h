/* SPDX-License-Identifier: GPL-2.0 */
/*
 * probe: what this kernel and this filesystem can really do, asked at run time.
 *
 * Nothing is inferred from the kernel version: each capability is tried on a small
 * file in the directory under test (collapse through a read-only and a writable
 * shared mapping, O_DIRECT, the largest folio order the page cache produced) or on the
 * interface itself (io_uring, debugfs split, tracefs, NUMA).  Every "no" carries the
 * reason that a SKIP line will print.
 */
#ifndef FTR_PROBE_H
#define FTR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ftr_cap {
	bool ok;
	int err;		/* errno of the failed attempt, 0 if none */
	char why[160];		/* reason when !ok */
};

struct ftr_caps {
	char fstype[32];
	bool is_shmem;
	struct ftr_cap collapse_ro;	/* MADV_COLLAPSE, O_RDONLY fd, PROT_READ shared map */
	struct ftr_cap collapse_rw;	/* MADV_COLLAPSE, O_RDWR fd, writable shared map */
	int max_folio_order;		/* largest order seen after a cold read, -1 unknown */
	struct ftr_cap odirect;
	struct ftr_cap io_uring;
	struct ftr_cap debugfs_split;	/* /sys/kernel/debug/split_huge_pages writable */
	struct ftr_cap tracefs;		/* huge_memory events usable */
	struct ftr_cap punch;		/* fallocate(PUNCH_HOLE) */
	int numa_nodes;
};

/* The READ_ONLY_THP_FOR_FS rules: collapse through read-only mappings only, and a
 * writable open drops the page cache of a file with THPs. */
static inline bool ftr_old_thp_rules(const struct ftr_caps *c)
{
	return !c->is_shmem && c->collapse_ro.ok && !c->collapse_rw.ok;
}
/* Probes dir; 0 on success, -errno if dir itself is unusable. */
int ftr_probe(const char *dir, struct ftr_caps *caps);
void ftr_probe_print(const struct ftr_caps *caps);
/* Fills a struct ftr_cap from a failure. */
void ftr_cap_fail(struct ftr_cap *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
