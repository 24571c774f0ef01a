/* SPDX-License-Identifier: GPL-2.0 */
/* splitter: splits collapsed PMDs (mode: enum ftr_split_mode). */
#ifndef FTR_SPLITTER_H
#define FTR_SPLITTER_H

#include <stdbool.h>

struct ftr_arena;
struct ftr_role_ops;
extern const struct ftr_role_ops ftr_splitter_ops;

/* Whether the splitter owns pages like a writer: the punch splitter rewrites what it
 * punched, the debugfs one writes pages it then splits dirty (where O_DIRECT reads the
 * disk).  a->split must be set. */
bool ftr_splitter_owns(const struct ftr_arena *a);

#endif
