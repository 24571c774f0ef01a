/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mapping: the small facts and accesses every piece that maps the file needs (the
 * suite's vm_util): page and PMD size, PMD-aligned mappings, MADV_COLLAPSE, and
 * access through a mapping that a racing truncation may cut short.
 *
 * A shared mapping that reaches past EOF raises SIGBUS there.  Any access that can
 * race a truncation goes through ftr_map_read() or ftr_fault_in(), which stop at the
 * fault and say how far they got; an access anywhere else that faults is a crash
 * (crash.h), reported with its address.
 */
#ifndef FTR_MAPPING_H
#define FTR_MAPPING_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

size_t ftr_page_size(void);
size_t ftr_pmd_size(void);
/* mmap of len bytes of fd at offset 0 whose address is aligned to the PMD size. */
void *ftr_mmap_aligned(size_t len, int prot, int flags, int fd);
/* The same at file offset off; fd -1 makes an anonymous mapping. */
void *ftr_mmap_pmd(size_t len, int prot, int flags, int fd, off_t off);

/* Copies [src, src+len) of a mapping 8 bytes at a time (atomic loads: writers store
 * through the same mapping meanwhile); len a multiple of 8.  Returns the bytes copied
 * before a SIGBUS, len if none. */
size_t ftr_map_read(void *dst, const void *src, size_t len);
/* Reads a byte every step bytes of [addr, addr+len): a read fault maps what the page
 * cache holds there, so that pagemap can name its pfns, and dirties nothing.  Returns
 * the bytes passed before a SIGBUS, len if none. */
size_t ftr_fault_in(const void *addr, size_t len, size_t step);
/* The fault address of the calling thread's last SIGBUS that the two above caught. */
void *ftr_map_fault_addr(void);
/* pread()/pwrite() with a buffer in the shared mapping, by syscall(): the kernel
 * copies or DMAs there while roles store into other blocks of the same pages, on
 * purpose, and a sanitizer's interceptor would take the kernel's access for this
 * thread's (ThreadSanitizer reports it as a data race with those stores). */
ssize_t ftr_map_pread(int fd, void *buf, size_t len, off_t off);
ssize_t ftr_map_pwrite(int fd, const void *buf, size_t len, off_t off);

#endif
