// SPDX-License-Identifier: GPL-2.0
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "crash.h"
#include "ktap.h"

__thread sigjmp_buf *ftr_crash_bus_jmp;
__thread void *ftr_crash_bus_addr;
static __thread const char *who;
static void (*cleanup_fn)(void);
static char replay[2048];

void ftr_crash_replay(const char *line)
{
	size_t n = strlen(line);

	if (n >= sizeof(replay))
		n = sizeof(replay) - 1;
	memcpy(replay, line, n);
	replay[n] = '\0';
}

void ftr_crash_who(const char *name)
{
	who = name;
	/* The kernel's name for the thread too, which a hang's stack dump shows. */
	prctl(PR_SET_NAME, name);
}

/* The handler may use neither stdio nor malloc: a line is built by hand. */
struct line {
	char b[2400];
	size_t n;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b) - 1)
		l->b[l->n++] = *s++;
}

static void put_num(struct line *l, unsigned long v, unsigned base)
{
	char d[24];
	int i = 0;

	do
		d[i++] = "0123456789abcdef"[v % base];
	while ((v /= base));
	if (base == 16)
		put(l, "0x");
	while (i && l->n < sizeof(l->b) - 1)
		l->b[l->n++] = d[--i];
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	default: return "signal";
	}
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	struct line l = { .n = 0 };

	(void)uc;
	if (sig == SIGBUS && ftr_crash_bus_jmp) {
		ftr_crash_bus_addr = si->si_addr;
		siglongjmp(*ftr_crash_bus_jmp, 1);
	}
	put(&l, "# CRASH: ");
	put(&l, sig_name(sig));
	if (sig != SIGABRT) {
		put(&l, " at address ");
		put_num(&l, (unsigned long)si->si_addr, 16);
	}
	put(&l, " in pid ");
	put_num(&l, getpid(), 10);
	put(&l, " thread ");
	put_num(&l, gettid(), 10);
	put(&l, " (");
	put(&l, who ?: "the test's main thread");
	put(&l, ")\n");
	if (replay[0]) {
		put(&l, "# CRASH: replay: ");
		put(&l, replay);
		put(&l, "\n");
	}
	if (write(STDOUT_FILENO, l.b, l.n) < 0)
		(void)!write(STDERR_FILENO, l.b, l.n);
	if (cleanup_fn)
		cleanup_fn();
	signal(sig, SIG_DFL);
	raise(sig);
}

void ftr_crash_install(void (*cleanup)(void))
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa = { .sa_sigaction = on_crash, .sa_flags = SA_SIGINFO | SA_NODEFER };

	cleanup_fn = cleanup;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * The stuck threads are still in the kernel, where only their stacks say what they
 * wait on: the runner's supervisor asks the same classifier at its deadline, but a
 * test that ends itself on a hang never reaches that deadline.  Outside the runner
 * (no $FTR_HANG_SUMMARY) the stacks are in /proc/PID/task/TID/stack.
 */
void ftr_crash_hang(void)
{
	const char *prog = getenv("FTR_HANG_SUMMARY");
	char cmd[1024], buf[512];
	FILE *f;

	if (!prog || !*prog || strchr(prog, '\'')) {
		ftr_diag("hang: the stacks of pid %d are in /proc/%d/task/*/stack", getpid(), getpid());
		return;
	}
	fflush(stdout);
	/* our threads only: the session may be the shell's, or 0 in a container */
	snprintf(cmd, sizeof(cmd), "'%s' --pid %d --sysrq 2>&1", prog, (int)getpid());
	f = popen(cmd, "r");
	if (!f) {
		ftr_diag("hang: cannot run %s", prog);
		return;
	}
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ftr_diag("%s", buf);
	}
	pclose(f);
}
