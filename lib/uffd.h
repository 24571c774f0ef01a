/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd: userfaultfd missing and write-protect on shmem against MADV_COLLAPSE, the
 * body of the collapse_uffd selftest (subtests uffd-missing, uffd-wp, uffd-race).
 * Its own module because it drives faults by hand rather than through the engine.
 */
#ifndef FTR_UFFD_H
#define FTR_UFFD_H

#include "scenario.h"

#define FTR_UFFD_SUBTESTS 3

void ftr_uffd_run(struct ftr_env *env);

#endif
