// SPDX-License-Identifier: GPL-2.0
/*
 * --inject: damage the file the way a kernel bug would, once, after the first epoch's
 * roles quiesced, so that make check can prove every detector fires.  The damage goes
 * only to the test's own file: its page cache, or (stale-disk) the blocks of the
 * loop device that hold the file's own data.  resident damages nothing: it keeps a
 * page from being evicted, which the check after eviction must say.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "inject.h"
#include "ktap.h"

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* The device node that sysfs names for dev, checked to be that device. */
static int open_dev(dev_t dev, char *why, size_t len)
{
	char path[96], line[128], node[80] = "";
	struct stat st;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "DEVNAME=%63s", node + 5) == 1)
				memcpy(node, "/dev/", 5);
		fclose(f);
	}
	if (!node[0])
		return snprintf(why, len, "%s names no device", path), -1;
	fd = open(node, O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
		snprintf(why, len, "%s is not the device %u:%u (%s)", node, major(dev), minor(dev),
			 fd < 0 ? strerror(errno) : "another device");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The loop device whose blocks hold [off, off+FTR_BLOCK) of the file, opened for
 * writing, and where on it: only a loop device (what the runner makes), only an extent
 * that is plainly the file's own (written, not shared, not encoded or inline).
 */
static int own_blocks(struct ftr_arena *a, int fd, uint64_t off, uint64_t *where, char *why, size_t len)
{
	/* Room for one extent behind the header; a union keeps the flexible array last. */
	union {
		struct fiemap fm;
		char room[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	} x;
	const struct fiemap_extent *fe = &x.fm.fm_extents[0];
	unsigned odd = FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED |
		       FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE |
		       FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_SHARED;
	struct stat st;
	char sys[96];
	int bfd;

	memset(&x, 0, sizeof(x));
	x.fm = (struct fiemap){ .fm_start = off, .fm_length = FTR_BLOCK, .fm_flags = FIEMAP_FLAG_SYNC,
				.fm_extent_count = 1 };
	if (a->env->caps.is_shmem || fstat(fd, &st))
		return snprintf(why, len, "the file has no disk (%s)", a->env->caps.fstype), -1;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/loop/backing_file", major(st.st_dev), minor(st.st_dev));
	if (access(sys, F_OK))
		return snprintf(why, len, "%s is not on a loop device", a->env->caps.fstype), -1;
	if (ioctl(fd, FS_IOC_FIEMAP, &x) || x.fm.fm_mapped_extents != 1)
		return snprintf(why, len, "FIEMAP: %s", x.fm.fm_mapped_extents ? strerror(errno) : "no extent"), -1;
	if (fe->fe_flags & odd)
		return snprintf(why, len, "the extent at %#llx has flags %#x", (unsigned long long)off,
				fe->fe_flags), -1;
	bfd = open_dev(st.st_dev, why, len);
	if (bfd < 0)
		return -1;
	*where = fe->fe_physical + (off - fe->fe_logical);
	return bfd;
}

/* The disk gets block b's previous version, the page cache keeps the current one,
 * clean: what a kernel that never marked a THP holding new data dirty leaves behind.
 * Only the check after eviction can see it, or, where the page stays resident
 * (stale-resident), only an O_DIRECT read of the disk. */
static void stale_disk(struct ftr_arena *a, int fd, uint32_t b)
{
	uint64_t v = load64(&a->oracle.done[b]), off = (uint64_t)b * FTR_BLOCK, where = 0;
	char why[160];
	void *buf;
	int bfd;

	if (fsync(fd))
		snprintf(why, sizeof(why), "fsync: %s", strerror(errno)), bfd = -1;
	else
		bfd = own_blocks(a, fd, off, &where, why, sizeof(why));
	if (bfd < 0) {
		ftr_diag("inject: stale-disk not possible here: %s", why);
		return;
	}
	if (posix_memalign(&buf, 4096, FTR_BLOCK)) {
		close(bfd);
		return;
	}
	ftr_stamp(&a->oracle, buf, b, ftr_ver_gen(v) - 1, ftr_ver_path(v));
	if (pwrite(bfd, buf, FTR_BLOCK, where) != FTR_BLOCK)
		ftr_diag("inject: stale-disk: write of the device at %#llx: %s", (unsigned long long)where,
			 strerror(errno));
	else
		ftr_diag("inject: stale-disk at block %u (offset %#llx): gen %u on the device at %#llx, gen %u "
			 "in the clean page cache", b, (unsigned long long)off, ftr_ver_gen(v) - 1,
			 (unsigned long long)where, ftr_ver_gen(v));
	free(buf);
	close(bfd);
}

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
		stale_disk(a, fd, b);
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
