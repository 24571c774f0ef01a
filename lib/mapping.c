// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crash.h"
#include "knob.h"
#include "mapping.h"

size_t ftr_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

size_t ftr_pmd_size(void)
{
	unsigned long v;

	/* Absent without THP; then a PMD maps a page full of 8-byte entries. */
	if (!ftr_knob_read_ul(FTR_THP_SYSFS "/hpage_pmd_size", &v) && v)
		return v;
	return ftr_page_size() / 8 * ftr_page_size();
}

void *ftr_mmap_aligned(size_t len, int prot, int flags, int fd)
{
	return ftr_mmap_pmd(len, prot, flags, fd, 0);
}

void *ftr_mmap_pmd(size_t len, int prot, int flags, int fd, off_t off)
{
	size_t pmd = ftr_pmd_size();
	char *area, *p;

	/* Reserve len + pmd, then place the real mapping at the aligned address. */
	area = mmap(NULL, len + pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return MAP_FAILED;
	p = (char *)(((unsigned long)area + pmd - 1) & ~(pmd - 1));
	if (p > area)
		munmap(area, p - area);
	munmap(p + len, area + len + pmd - (p + len));
	return mmap(p, len, prot, flags | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, off);
}

/*
 * One guarded walk for both: step bytes at a time, copying 8 of them when dst is set.
 * The index is volatile so that its value survives the jump out of the handler.
 */
static size_t guarded(void *dst, const void *src, size_t len, size_t step)
{
	sigjmp_buf jb, *outer = ftr_crash_bus_jmp;
	volatile size_t i = 0;

	if (sigsetjmp(jb, 1)) {
		ftr_crash_bus_jmp = outer;
		return i;
	}
	ftr_crash_bus_jmp = &jb;
	for (; i < len; i += step) {
		if (dst)
			*(uint64_t *)((char *)dst + i) =
				__atomic_load_n((const uint64_t *)((const char *)src + i), __ATOMIC_RELAXED);
		else
			(void)__atomic_load_n((const char *)src + i, __ATOMIC_RELAXED);
	}
	ftr_crash_bus_jmp = outer;
	return len;
}

size_t ftr_map_read(void *dst, const void *src, size_t len)
{
	return guarded(dst, src, len, 8);
}

size_t ftr_fault_in(const void *addr, size_t len, size_t step)
{
	return guarded(NULL, addr, len, step);
}

void *ftr_map_fault_addr(void)
{
	return ftr_crash_bus_addr;
}

ssize_t ftr_map_pread(int fd, void *buf, size_t len, off_t off)
{
	return syscall(SYS_pread64, fd, buf, len, off);
}

ssize_t ftr_map_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return syscall(SYS_pwrite64, fd, buf, len, off);
}
