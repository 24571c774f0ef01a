// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"
#include "ktap.h"

static const char *const splat_patterns[] = {
	"BUG:", "kernel BUG at", "WARNING:", "Oops", "Bad page", "page dumped because",
	"general protection fault", "KASAN:", "UBSAN:", "KFENCE:", "soft lockup",
	"hard LOCKUP", "blocked for more than", "rcu_sched detected stall",
	"rcu_preempt detected stall", "self-detected stall", "Kernel panic",
	"list_add corruption", "list_del corruption", "refcount_t:", "Unable to handle",
	"BUG kmalloc", "Memory failure",
	/* Data the kernel itself says it lost. */
	"Possible data corruption", "Buffer I/O error", "lost async page write",
};

bool ftr_kmsg_is_splat(const char *line)
{
	for (size_t i = 0; i < sizeof(splat_patterns) / sizeof(splat_patterns[0]); i++)
		if (strstr(line, splat_patterns[i]))
			return true;
	return false;
}

static unsigned long read_taint(void)
{
	const char *path = getenv("FTR_TAINT") ?: "/proc/sys/kernel/tainted";
	unsigned long t = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &t) != 1)
			t = 0;
		fclose(f);
	}
	return t;
}

int ftr_kmsg_start(struct ftr_kmsg *k)
{
	const char *path = getenv("FTR_KMSG");

	memset(k, 0, sizeof(*k));
	k->is_dev = !path;
	k->fd = open(path ?: "/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	if (k->is_dev)
		lseek(k->fd, 0, SEEK_END);
	k->taint0 = read_taint();
	return 0;
}

static void kmsg_line(struct ftr_kmsg *k, const char *msg)
{
	snprintf(k->lines[k->nr_lines % FTR_KMSG_KEEP], sizeof(k->lines[0]), "%s", msg);
	k->nr_lines++;
	if (ftr_kmsg_is_splat(msg) && !k->nr_splats++)
		snprintf(k->first_splat, sizeof(k->first_splat), "%s", msg);
}

int ftr_kmsg_poll(struct ftr_kmsg *k)
{
	char rec[8192];
	ssize_t n;

	if (k->fd < 0)
		return k->nr_splats;
	if (!k->is_dev) {
		FILE *f = fdopen(dup(k->fd), "r");

		while (f && fgets(rec, sizeof(rec), f)) {
			rec[strcspn(rec, "\n")] = '\0';
			kmsg_line(k, rec);
		}
		/* Remember how far the text file was read. */
		if (f) {
			lseek(k->fd, ftell(f), SEEK_SET);
			fclose(f);
		}
		return k->nr_splats;
	}
	for (;;) {
		char *msg;

		n = read(k->fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		/* "prio,seq,usec,flags;text\n[ KEY=VAL\n...]" */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = '\0';
		kmsg_line(k, msg);
	}
	return k->nr_splats;
}

bool ftr_kmsg_taint_changed(struct ftr_kmsg *k, unsigned long *now)
{
	*now = read_taint();
	return *now != k->taint0;
}

bool ftr_kmsg_splats_all(const struct ftr_kmsg *k, const char *needle)
{
	int first = k->nr_lines > FTR_KMSG_KEEP ? k->nr_lines - FTR_KMSG_KEEP : 0, n = 0;

	for (int i = first; i < k->nr_lines; i++)
		if (ftr_kmsg_is_splat(k->lines[i % FTR_KMSG_KEEP])) {
			if (!strstr(k->lines[i % FTR_KMSG_KEEP], needle))
				return false;
			n++;
		}
	/* Splats that left the ring cannot be vouched for. */
	return n == k->nr_splats;
}

bool ftr_kmsg_seen(const struct ftr_kmsg *k, const char *needle)
{
	int first = k->nr_lines > FTR_KMSG_KEEP ? k->nr_lines - FTR_KMSG_KEEP : 0;

	for (int i = first; i < k->nr_lines; i++)
		if (strstr(k->lines[i % FTR_KMSG_KEEP], needle))
			return true;
	return false;
}

void ftr_kmsg_dump(const struct ftr_kmsg *k, int max)
{
	int first = k->nr_lines > max ? k->nr_lines - max : 0;

	if (first < k->nr_lines - FTR_KMSG_KEEP)
		first = k->nr_lines - FTR_KMSG_KEEP;
	if (!k->nr_lines) {
		ftr_diag("kernel log: nothing since the test started");
		return;
	}
	ftr_diag("kernel log since the test started (%d lines, last %d):", k->nr_lines,
		 k->nr_lines - first);
	for (int i = first; i < k->nr_lines; i++)
		ftr_diag("  kmsg: %s", k->lines[i % FTR_KMSG_KEEP]);
}

void ftr_kmsg_stop(struct ftr_kmsg *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

int ftr_kmsg_write(const char *line)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
