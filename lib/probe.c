// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <numa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "knob.h"
#include "ktap.h"
#include "mapping.h"
#include "probe.h"
#include "thp.h"

void ftr_cap_fail(struct ftr_cap *c, int err, const char *fmt, ...)
{
	va_list ap;

	c->ok = false;
	c->err = err;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

static void cap_ok(struct ftr_cap *c)
{
	c->ok = true;
	c->err = 0;
	c->why[0] = '\0';
}

static const char *fstype_name(long magic)
{
	switch (magic) {
	case TMPFS_MAGIC: return "tmpfs";
	case XFS_SUPER_MAGIC: return "xfs";
	case EXT4_SUPER_MAGIC: return "ext4";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	default: return NULL;
	}
}

/* Tries MADV_COLLAPSE of one PMD of path through a shared mapping. */
static void probe_collapse(const char *path, bool writable, bool shmem, struct ftr_cap *c)
{
	size_t pmd = ftr_pmd_size();
	struct ftr_smaps sm;
	volatile char sink;
	char *p;
	int fd, ret;

	fd = open(path, writable ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return ftr_cap_fail(c, errno, "open: %s", strerror(errno));
	p = ftr_mmap_aligned(pmd, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd);
	if (p == MAP_FAILED) {
		ftr_cap_fail(c, errno, "mmap: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < pmd; i += ftr_page_size())
		sink = p[i];
	(void)sink;
	/* EAGAIN is "try again" (a folio locked or on a per-CPU LRU list for a moment). */
	for (int tries = 0;; tries++) {
		ret = madvise(p, pmd, MADV_COLLAPSE) ? errno : 0;
		if (ret != EAGAIN || tries == 5)
			break;
		usleep(10000);
	}
	if (ret) {
		ftr_cap_fail(c, ret, "MADV_COLLAPSE of a %s shared mapping: %s%s",
			     writable ? "writable" : "read-only", strerror(ret),
			     ret == EINVAL ? " (this kernel does not collapse this filesystem's page cache)" : "");
	} else if (ftr_smaps_read(0, (unsigned long)p, &sm) ||
		   (shmem ? sm.shmem_pmd_kb : sm.file_pmd_kb) < pmd >> 10) {
		ftr_cap_fail(c, 0, "MADV_COLLAPSE returned 0 but smaps shows no PMD mapping");
	} else {
		cap_ok(c);
	}
	munmap(p, pmd);
out:
	close(fd);
}

static void probe_odirect(const char *path, struct ftr_cap *c)
{
	size_t psz = ftr_page_size();
	void *buf;
	int fd;

	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0)
		return ftr_cap_fail(c, errno, "O_DIRECT open: %s", strerror(errno));
	if (posix_memalign(&buf, psz, psz)) {
		close(fd);
		return ftr_cap_fail(c, ENOMEM, "no memory");
	}
	if (pread(fd, buf, psz, 0) != (ssize_t)psz)
		ftr_cap_fail(c, errno, "O_DIRECT read: %s", strerror(errno));
	else
		cap_ok(c);
	free(buf);
	close(fd);
}

static void probe_io_uring(struct ftr_cap *c)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(4, &ring, 0);

	if (ret)
		return ftr_cap_fail(c, -ret, "io_uring_queue_init: %s", strerror(-ret));
	io_uring_queue_exit(&ring);
	cap_ok(c);
}

static void probe_debugfs_split(struct ftr_cap *c)
{
	char cmd[64];
	int fd, n;

	fd = open("/sys/kernel/debug/split_huge_pages", O_WRONLY);
	if (fd < 0)
		return ftr_cap_fail(c, errno, "debugfs split_huge_pages: %s", strerror(errno));
	/* An empty range of our own address space: harmless, but goes through the checks. */
	n = snprintf(cmd, sizeof(cmd), "%d,0x1000,0x2000", getpid());
	if (write(fd, cmd, n) != n)
		ftr_cap_fail(c, errno, "debugfs split_huge_pages write: %s", strerror(errno));
	else
		cap_ok(c);
	close(fd);
}

static void probe_tracefs(struct ftr_cap *c)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[128];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/huge_memory/mm_khugepaged_collapse_file", roots[i]);
		if (!access(path, F_OK))
			return cap_ok(c);
	}
	ftr_cap_fail(c, ENOENT, "tracefs with huge_memory:mm_khugepaged_collapse_file not found");
}

int ftr_probe(const char *dir, struct ftr_caps *caps)
{
	size_t pmd = ftr_pmd_size();
	char path[4096], *buf;
	struct statfs sfs;
	int fd, ret = 0;

	memset(caps, 0, sizeof(*caps));
	caps->max_folio_order = -1;
	if (statfs(dir, &sfs))
		return -errno;
	snprintf(caps->fstype, sizeof(caps->fstype), "%s", fstype_name(sfs.f_type) ?: "other");
	caps->is_shmem = sfs.f_type == TMPFS_MAGIC;

	snprintf(path, sizeof(path), "%s/.ftr-probe.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	buf = malloc(pmd);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	memset(buf, 0x5a, pmd);
	if (pwrite(fd, buf, pmd, 0) != (ssize_t)pmd || fsync(fd)) {
		ret = -errno ?: -EIO;
		goto out;
	}
	/* Cold read through a mapping: the order the page cache chose on its own. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	{
		char *p = ftr_mmap_aligned(pmd, PROT_READ, MAP_SHARED, fd);

		if (p != MAP_FAILED) {
			volatile char sink;

			for (size_t i = 0; i < pmd; i += ftr_page_size())
				sink = p[i];
			(void)sink;
			caps->max_folio_order = ftr_folio_max_order(p, pmd);
			munmap(p, pmd);
		}
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, ftr_page_size()))
		ftr_cap_fail(&caps->punch, errno, "fallocate(PUNCH_HOLE): %s", strerror(errno));
	else
		cap_ok(&caps->punch);
	/* Clean again before the collapse probes: kernels without MADV_COLLAPSE's
	 * write-back-and-retry fail a dirty range with EINVAL, which would read as
	 * "cannot collapse this filesystem". */
	if (pwrite(fd, buf, ftr_page_size(), 0) != (ssize_t)ftr_page_size() || fsync(fd)) {
		ret = -(errno ?: EIO);
		goto out;
	}
	close(fd);
	fd = -1;

	probe_collapse(path, false, caps->is_shmem, &caps->collapse_ro);
	probe_collapse(path, true, caps->is_shmem, &caps->collapse_rw);
	probe_odirect(path, &caps->odirect);
	probe_io_uring(&caps->io_uring);
	probe_debugfs_split(&caps->debugfs_split);
	probe_tracefs(&caps->tracefs);
	caps->numa_nodes = numa_available() < 0 ? 1 : numa_num_configured_nodes();
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	unlink(path);
	return ret;
}

void ftr_probe_print(const struct ftr_caps *c)
{
	const struct { const char *name; const struct ftr_cap *cap; } caps[] = {
		{ "collapse(read-only map)", &c->collapse_ro },
		{ "collapse(writable map)", &c->collapse_rw },
		{ "O_DIRECT", &c->odirect },
		{ "io_uring", &c->io_uring },
		{ "punch-hole", &c->punch },
		{ "debugfs split", &c->debugfs_split },
		{ "tracefs", &c->tracefs },
	};

	ftr_diag("probe: fs=%s page=%zu pmd=%zu max_folio_order=%d numa_nodes=%d", c->fstype,
		 ftr_page_size(), ftr_pmd_size(), c->max_folio_order, c->numa_nodes);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		ftr_diag("probe: %-24s %s%s", caps[i].name, caps[i].cap->ok ? "yes" : "no: ",
			 caps[i].cap->why);
}
