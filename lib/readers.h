/* SPDX-License-Identifier: GPL-2.0 */
/* readers: verifying readers, one role per way of walking the page cache (mode: enum
 * ftr_read_mode). */
#ifndef FTR_READERS_H
#define FTR_READERS_H

enum ftr_read_mode {
	FTR_READ_READ, FTR_READ_MAP, FTR_READ_MAP2, FTR_READ_BIG, FTR_READ_SPLICE,
	FTR_READ_SENDFILE, FTR_READ_COPY, FTR_READ_NR
};

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_reader_ops;
extern const char *const ftr_read_names[FTR_READ_NR];

#endif
