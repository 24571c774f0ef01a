// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knob.h"

#define KNOB_MAX 64
#define KNOB_PATH 256
#define KNOB_VAL 64

struct knob_saved {
	char path[KNOB_PATH];
	char val[KNOB_VAL];
};

static struct knob_saved knob_saved[KNOB_MAX];
static volatile int knob_nr;
static pthread_mutex_t knob_lock = PTHREAD_MUTEX_INITIALIZER;

const char *ftr_knob_path(const char *path, char *buf, size_t len)
{
	const char *root = getenv("FTR_SYSFS_ROOT");

	snprintf(buf, len, "%s%s", root && path[0] == '/' ? root : "", path);
	return buf;
}

static int knob_write(const char *resolved, const char *val)
{
	size_t len = strlen(val);
	int fd, ret = 0;

	fd = open(resolved, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

int ftr_knob_read(const char *path, char *buf, size_t len)
{
	char p[KNOB_PATH], raw[512], *l, *r;
	ssize_t n;
	int fd;

	fd = open(ftr_knob_path(path, p, sizeof(p)), O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	raw[n] = '\0';
	raw[strcspn(raw, "\n")] = '\0';
	l = strchr(raw, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r) {
		*r = '\0';
		snprintf(buf, len, "%s", l + 1);
	} else {
		snprintf(buf, len, "%s", raw);
	}
	return 0;
}

int ftr_knob_read_ul(const char *path, unsigned long *val)
{
	char buf[64], *end;
	int ret = ftr_knob_read(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoul(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

int ftr_knob_set(const char *path, const char *val)
{
	char resolved[KNOB_PATH], old[KNOB_VAL];
	int i, ret, found = 0;

	ftr_knob_path(path, resolved, sizeof(resolved));
	pthread_mutex_lock(&knob_lock);
	for (i = 0; i < knob_nr; i++)
		if (!strcmp(knob_saved[i].path, resolved))
			found = 1;
	if (!found) {
		if (knob_nr == KNOB_MAX) {
			ret = -ENOSPC;
			goto out;
		}
		ret = ftr_knob_read(path, old, sizeof(old));
		if (ret)
			goto out;
		snprintf(knob_saved[knob_nr].path, KNOB_PATH, "%s", resolved);
		snprintf(knob_saved[knob_nr].val, KNOB_VAL, "%s", old);
		__atomic_store_n(&knob_nr, knob_nr + 1, __ATOMIC_RELEASE);
	}
	ret = knob_write(resolved, val);
out:
	pthread_mutex_unlock(&knob_lock);
	return ret;
}

int ftr_knob_restore_all(void)
{
	int i, failed = 0;

	for (i = __atomic_load_n(&knob_nr, __ATOMIC_ACQUIRE) - 1; i >= 0; i--)
		if (knob_write(knob_saved[i].path, knob_saved[i].val))
			failed++;
	return failed;
}
