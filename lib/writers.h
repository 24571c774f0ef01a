/* SPDX-License-Identifier: GPL-2.0 */
/* writers: one role per write path (mode: enum ftr_path). */
#ifndef FTR_WRITERS_H
#define FTR_WRITERS_H

#include <stdbool.h>
#include <stddef.h>

struct ftr_arena;
struct ftr_role_ops;

extern const struct ftr_role_ops ftr_writer_ops;
/* Whether a writer path can run here; fills why when not. */
bool ftr_path_usable(const struct ftr_arena *a, unsigned path, char *why, size_t len);

#endif
