// SPDX-License-Identifier: GPL-2.0
/*
 * disk: the blocks of the loop device that hold the test file's own data, written
 * behind the page cache's back for --inject (only a loop device the runner made, only
 * an extent that is plainly the file's).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"
#include "ktap.h"

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

void ftr_disk_stale(struct ftr_arena *a, int fd, uint32_t b)
{
	uint64_t v = __atomic_load_n(&a->oracle.done[b], __ATOMIC_ACQUIRE), off = (uint64_t)b * FTR_BLOCK, where = 0;
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
