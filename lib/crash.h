/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crash: a test that dies of a signal, or hangs, still says where.
 *
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT print one diagnostic line before the
 * process dies of the same signal: the signal, the faulting address, the thread and
 * the role it ran, and the replay line, then the cleanup runs (knobs, trace instance).
 * A SIGBUS inside an access that expects one (mapping.h) is not a crash.
 */
#ifndef FTR_CRASH_H
#define FTR_CRASH_H

#include <setjmp.h>
#include <stdbool.h>

/* Installs the handlers; cleanup runs in the handler (async-signal-safe calls only). */
void ftr_crash_install(void (*cleanup)(void));
/* The command line that replays this run, said with the crash (copied). */
void ftr_crash_replay(const char *line);
/* Names what the calling thread runs (a role's name, a static string), for the report
 * and as the thread's comm. */
void ftr_crash_who(const char *name);
/* A test that judged itself hung says what its tasks wait on in the kernel: the
 * runner's classifier ($FTR_HANG_SUMMARY --session SID --sysrq), as diagnostic lines. */
void ftr_crash_hang(void);

/* For mapping.c: while *ftr_crash_bus_jmp is set, a SIGBUS of this thread jumps there
 * with its address in ftr_crash_bus_addr instead of crashing. */
extern __thread sigjmp_buf *ftr_crash_bus_jmp;
extern __thread void *ftr_crash_bus_addr;

#endif
