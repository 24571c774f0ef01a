/* SPDX-License-Identifier: GPL-2.0 */
/* readers: verifying readers, one role per way of walking the page cache (mode: enum
 * ftr_read_mode). */
#ifndef FTR_READERS_H
#define FTR_READERS_H

#include "engine.h"

extern const struct ftr_role_ops ftr_reader_ops;
extern const char *const ftr_read_names[FTR_READ_NR];

#endif
