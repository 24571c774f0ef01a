// SPDX-License-Identifier: GPL-2.0
/*
 * --inject: damage the file the way a kernel bug would, once, after the first epoch's
 * roles quiesced, so that make check can prove every detector fires.  The damage goes
 * only to the test's own file: its page cache, or (stale-disk) the blocks of the
 * loop device that hold the file's own data.  resident damages nothing: it keeps a
 * page from being evicted, which the check after eviction must say.  split-clean is
 * the splitter's own (splitter.c): stale-disk under a page it has just split dirty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk.h"
#include "inject.h"
#include "ktap.h"

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

void ftr_inject(struct ftr_arena *a)
{
	enum ftr_inject kind = a->env->opts->inject;
	struct ftr_oracle *o = &a->oracle;
	uint8_t buf[FTR_BLOCK], old[FTR_BLOCK];
	uint32_t b = 0;
	uint64_t v;
	int fd;

	if (kind == FTR_INJECT_RESIDENT) {
		/* Mapped and locked, the page cache there cannot be dropped. */
		a->pinned = mmap(NULL, a->psz, PROT_READ, MAP_SHARED | MAP_LOCKED, a->fd, 0);
		if (a->pinned == MAP_FAILED)
			a->pinned = NULL;
		ftr_diag("inject: resident: the file's first page %s", a->pinned ? "stays mapped and locked" :
			 strerror(errno));
		return;
	}
	if ((kind < FTR_INJECT_LOST || kind > FTR_INJECT_THP) && kind != FTR_INJECT_STALE_DISK &&
	    kind != FTR_INJECT_STALE_RESIDENT)
		return;
	fd = open(a->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ftr_diag("inject: open %s: %s", a->path, strerror(errno));
		return;
	}
	if (kind == FTR_INJECT_THP) {
		struct ftr_pmd_state *s = &a->pmds[0];
		uint8_t *page = malloc(a->psz);

		/* Split PMD 0 by punching its first page, put the data back, and tell the
		 * contract check that a collapse of it succeeded. */
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, a->psz);
		for (uint32_t i = 0; page && i < a->psz / FTR_BLOCK; i++) {
			v = load64(&o->done[i]);
			ftr_stamp(o, page + i * FTR_BLOCK, i, ftr_ver_gen(v), ftr_ver_path(v));
		}
		if (!page || pwrite(fd, page, a->psz, 0) != (ssize_t)a->psz)
			ftr_diag("inject: rewrite of page 0 failed");
		free(page);
		__atomic_store_n(&s->ok_store, load64(&s->store.seq), __ATOMIC_RELEASE);
		__atomic_store_n(&s->ok_split, load64(&s->split.seq) + 1, __ATOMIC_RELEASE);
		ftr_diag("inject: thp: PMD 0 split by a punched page, marked collapsed");
		close(fd);
		return;
	}
	while (b + 1 < a->nblocks && ftr_ver_gen(load64(&o->done[b])) < 2)
		b++;
	if (kind == FTR_INJECT_STALE_RESIDENT) {
		off_t page = (off_t)b * FTR_BLOCK / a->psz * a->psz;

		/* Mapped and locked, the page cache there cannot be dropped. */
		a->pinned = mmap(NULL, a->psz, PROT_READ, MAP_SHARED | MAP_LOCKED, a->fd, page);
		if (a->pinned == MAP_FAILED)
			a->pinned = NULL;
		ftr_diag("inject: stale-resident: the page at %#llx %s", (unsigned long long)page,
			 a->pinned ? "stays mapped and locked" : strerror(errno));
	}
	if (kind == FTR_INJECT_STALE_DISK || kind == FTR_INJECT_STALE_RESIDENT) {
		ftr_disk_stale(a, fd, b);
		close(fd);
		return;
	}
	v = load64(&o->done[b]);
	ftr_stamp(o, buf, b, ftr_ver_gen(v), ftr_ver_path(v));
	switch (kind) {
	case FTR_INJECT_LOST:
		ftr_stamp(o, buf, b, ftr_ver_gen(v) - 1, ftr_ver_path(v));
		break;
	case FTR_INJECT_STALE:
		ftr_stamp(o, old, b, ftr_ver_gen(v) - 1, ftr_ver_path(v));
		memcpy(buf + FTR_BLOCK / 2, old + FTR_BLOCK / 2, FTR_BLOCK / 2);
		break;
	case FTR_INJECT_MISPLACE:
		b = b ? b - 1 : b + 1;	/* the neighbour's data lands here */
		break;
	case FTR_INJECT_ZERO:
		memset(buf, 0, sizeof(buf));
		break;
	default:
		buf[100] ^= 0x10;
		break;
	}
	if (pwrite(fd, buf, FTR_BLOCK, (off_t)b * FTR_BLOCK) != FTR_BLOCK)
		ftr_diag("inject: pwrite: %s", strerror(errno));
	else
		ftr_diag("inject: %s at block %u (offset %#llx)", ftr_inject_names[kind], b,
			 (unsigned long long)b * FTR_BLOCK);
	close(fd);
}

void ftr_inject_crash(const struct ftr_arena *a)
{
	char path[4200];
	char *m;
	int fd;

	snprintf(path, sizeof(path), "%s.crash", a->path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unlink(path);
	m = fd < 0 ? MAP_FAILED : mmap(NULL, a->psz, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ftr_diag("inject: crash not possible here: %s", strerror(errno));
		return;
	}
	ftr_diag("inject: crash (a read past EOF of %s through its mapping at %p)", path, (void *)m);
	(void)*(volatile char *)m;
}
