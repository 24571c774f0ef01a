/* SPDX-License-Identifier: GPL-2.0 */
/*
 * engine: runs a scenario (scenario.h) — writers, collapsers, splitters, churn and
 * readers against one file — in epochs, and judges the file after each.
 *
 * It creates the file, gives every block one owner per epoch (owners rotate, so a
 * block written by mmap in one epoch is written by write() or io_uring in the next),
 * lets the roles race for the epoch, then quiesces them and checks (verify.h): the THP
 * contract, then every byte through read(), the mapping, a second mapping, and read()
 * again after the page cache was evicted.  It owns the arena, the roles and the ledger;
 * nothing else sees all three but the checks and verdicts it hands them to.
 */
#ifndef FTR_ENGINE_H
#define FTR_ENGINE_H

#include "scenario.h"

/* Runs the scenario and prints its KTAP subtests (data, churn, collapse). */
void ftr_engine_run(const struct ftr_scenario *sc, struct ftr_env *env);

#endif
