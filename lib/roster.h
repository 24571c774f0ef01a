/* SPDX-License-Identifier: GPL-2.0 */
/* roster: builds the roles of a scenario from its mixes, each with its ops. */
#ifndef FTR_ROSTER_H
#define FTR_ROSTER_H

#include "arena.h"
#include "role.h"

/* Every churn role, in the order a mix names them (tools/thp-race lists them). */
extern const struct ftr_role_ops *const ftr_churn_roles[];
extern const unsigned ftr_churn_nr;

/* The roles of a->sc into rs, and the segment owners into a; -1 on a bad mix. */
int ftr_roster_build(struct ftr_arena *a, struct ftr_roles *rs);

#endif
