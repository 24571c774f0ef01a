/* SPDX-License-Identifier: GPL-2.0 */
/* inject: --inject makes a detector fire on purpose (opts.h lists the kinds). */
#ifndef FTR_INJECT_H
#define FTR_INJECT_H

#include "arena.h"

/* After the first epoch, roles quiesced: the damage of the --inject kind. */
void ftr_inject(struct ftr_arena *a);
/* --inject crash: a SIGBUS that no guard expects, past the EOF of a file of its own. */
void ftr_inject_crash(const struct ftr_arena *a);

#endif
