// SPDX-License-Identifier: GPL-2.0
/*
 * ftr-supervise - run one test in a session of its own, under a deadline.
 *
 *   ftr-supervise [--timeout S] [--grace S] [--prefix STR] [--diagnose PROG]
 *                 [--progress TEXT] -- CMD [ARG...]
 *
 * CMD runs in a new session with stdout and stderr on one pipe; its lines come out on
 * our stdout behind STR.  Our own notes carry STR too, and the first line is always
 * "STRsession SID".  At the deadline, before anything is killed, "PROG --session SID
 * --sysrq" says what the session's tasks wait on; then the session gets SIGTERM and,
 * GRACE seconds later, SIGKILL.  A process that left the session (setsid again) is
 * found by its parent links, which stay ours when its parent died since we are a child
 * subreaper: it is killed too.  After CMD exited, whatever of it still holds the pipe
 * 2 s later is killed as well.
 *
 * With TEXT and a terminal on stderr, a progress line "TEXT Ns/Ts" is kept there.
 *
 * Exit status: CMD's (128+N when signal N ended it, as a shell says), 124 when the
 * deadline fired (like timeout(1)), 127 when CMD cannot run, 2 on bad usage, and
 * 128+N when we got signal N (INT, TERM, HUP: the session is killed first).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MS	2000	/* how long the pipe may outlive CMD */
#define KILL_MS		3000	/* how long SIGKILL is repeated */
#define DIAG_MS		15000	/* the diagnosis' own deadline */

static const char *prefix = "", *progress;
static pid_t child, sid;
static int child_status = -1;
static bool progress_shown;

struct relay {
	size_t len;
	char buf[8192];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void clear_progress(void)
{
	if (progress_shown && write(2, "\r\033[K", 4) >= 0)
		progress_shown = false;
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	clear_progress();
	fputs(prefix, stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void emit(struct relay *r, size_t end, size_t skip)
{
	printf("%s%.*s\n", prefix, (int)end, r->buf);
	r->len -= end + skip;
	memmove(r->buf, r->buf + end + skip, r->len);
}

/* Pass on each whole line of @len new bytes; a line longer than the buffer in parts. */
static void relay(struct relay *r, const char *p, size_t len, bool eof)
{
	char *nl;

	clear_progress();
	do {
		size_t n = sizeof(r->buf) - r->len < len ? sizeof(r->buf) - r->len : len;

		memcpy(r->buf + r->len, p, n);
		r->len += n;
		p += n;
		len -= n;
		while ((nl = memchr(r->buf, '\n', r->len)))
			emit(r, nl - r->buf, 1);
		if (r->len == sizeof(r->buf) || (eof && !len && r->len))
			emit(r, r->len, 0);
	} while (len);
	fflush(stdout);
}

static void reap(void)
{
	int st;
	pid_t p;

	/* As subreaper we also get the orphans of the session: reap them all. */
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == child)
			child_status = st;
}

/*
 * Signal (with sig 0: count) the live processes that are ours: the session's, and our
 * descendants, which may have left it.  A process is a descendant when its parent is us
 * or one found to be one, so the pass over the snapshot repeats until nothing changes.
 */
static int signal_tree(int sig)
{
	static struct proc { pid_t pid, ppid; bool ours; } p[32768];
	int n = 0, live = 0, s;
	pid_t pid, ppid, self = getpid();
	char path[64], buf[512], *c, state;
	bool more = true;
	struct dirent *e;
	DIR *d = opendir("/proc");
	FILE *f;

	while (d && (e = readdir(d)) && n < (int)(sizeof(p) / sizeof(p[0]))) {
		if ((pid = atoi(e->d_name)) <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (!(f = fopen(path, "re")))
			continue;
		/* the comm may hold spaces and ')': parse after the last one */
		c = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!c || sscanf(c + 1, " %c %d %*d %d", &state, &ppid, &s) != 3 || state == 'Z')
			continue;
		p[n++] = (struct proc){ pid, ppid, s == sid || ppid == self };
	}
	if (d)
		closedir(d);
	while (more) {
		more = false;
		for (int i = 0; i < n; i++)
			for (int j = 0; !p[i].ours && j < n; j++)
				if (p[j].ours && p[j].pid == p[i].ppid)
					p[i].ours = more = true;
	}
	for (int i = 0; i < n; i++)
		if (p[i].ours) {
			live++;
			if (sig)
				kill(p[i].pid, sig);
		}
	return live;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* SIGTERM, @grace_ms to go, then SIGKILL for KILL_MS; 0 when nothing is left. */
static int kill_tree(int grace_ms)
{
	long long end = now_ms() + grace_ms;

	kill(-sid, SIGTERM);
	signal_tree(SIGTERM);
	for (; now_ms() < end; sleep_ms(100)) {
		reap();
		if (!signal_tree(0))
			return 0;
	}
	for (end = now_ms() + KILL_MS; now_ms() < end; sleep_ms(100)) {
		reap();
		kill(-sid, SIGKILL);
		if (!signal_tree(SIGKILL))
			return 0;
	}
	reap();
	return signal_tree(0) ? -1 : 0;
}

/* Run "@prog --session SID --sysrq", its lines relayed like the test's, bounded in time. */
static void diagnose(const char *prog)
{
	struct relay r = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	long long end = now_ms() + DIAG_MS;
	char arg[16], buf[4096];
	int fds[2], st;
	ssize_t n = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return;
	snprintf(arg, sizeof(arg), "%d", sid);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execl(prog, prog, "--session", arg, "--sysrq", (char *)NULL);
		dprintf(1, "cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	while (pid > 0 && n > 0 && now_ms() < end)
		if (poll(&pfd, 1, end - now_ms()) > 0 && (n = read(fds[0], buf, sizeof(buf))) >= 0)
			relay(&r, buf, n, n == 0);
	close(fds[0]);
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0 && now_ms() < end)
		sleep_ms(10);
	if (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		note("%s took over %d s; killed", prog, DIAG_MS / 1000);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr, "ftr-supervise: %s\nusage: ftr-supervise [--timeout S] [--grace S] "
		"[--prefix STR] [--diagnose PROG] [--progress TEXT] -- CMD [ARG...]\n", why);
	exit(2);
}

static long seconds(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1000000)
		usage("expected a number of seconds");
	return v;
}

int main(int argc, char **argv)
{
	long timeout_s = 0, grace_s = 3, n;
	const char *diag = NULL;
	struct signalfd_siginfo si;
	struct relay out = { 0 };
	struct pollfd pfd[2];
	long long start, deadline, drain = 0, tick = 0;
	bool timed_out = false;
	int fds[2], i, interrupted = 0;
	sigset_t mask, old;
	char buf[8192];

	for (i = 1; i < argc && strcmp(argv[i], "--"); i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (!val)
			usage("an option without its argument, or no -- CMD");
		if (!strcmp(opt, "--timeout"))
			timeout_s = seconds(val);
		else if (!strcmp(opt, "--grace"))
			grace_s = seconds(val);
		else if (!strcmp(opt, "--prefix"))
			prefix = val;
		else if (!strcmp(opt, "--diagnose"))
			diag = val;
		else if (!strcmp(opt, "--progress"))
			progress = isatty(2) ? val : NULL;
		else
			usage("bad option");
	}
	if (i + 1 >= argc)
		usage("no command");

	/*
	 * Signals arrive as data on a signalfd, so one poll() serves pipe, child and us.
	 * A shell starts a background job with SIGINT ignored, and an ignored signal never
	 * reaches a signalfd: take the defaults back (they are blocked from here on).
	 * A reader that went away (the runner's cleanup) must not kill us before the
	 * session is killed: SIGPIPE is ignored, its EPIPE too.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &old) || (pfd[1].fd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) || pipe2(fds, O_CLOEXEC))
		usage(strerror(errno));
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	child = fork();
	if (child < 0)
		usage(strerror(errno));
	if (child == 0) {
		/* The test gets the dispositions a foreground command would have. */
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		setsid();
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[i + 1], argv + i + 1);
		dprintf(2, "ftr-supervise: cannot run %s: %s\n", argv[i + 1], strerror(errno));
		_exit(127);
	}
	sid = child;
	close(fds[1]);
	note("session %d", sid);

	start = now_ms();
	deadline = timeout_s ? start + timeout_s * 1000 : -1;
	pfd[0] = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	pfd[1].events = POLLIN;
	while (pfd[0].fd >= 0 || child_status == -1) {
		long long now = now_ms(), wake = now + 1000;

		if (deadline >= 0 && !timed_out && child_status == -1 && now >= deadline) {
			if (diag)
				diagnose(diag);
			note("TIMEOUT: killing session %d after %llds", sid, (now - start) / 1000);
			timed_out = true;
			if (kill_tree(grace_s * 1000)) {
				/* In D state, say: nothing more to wait for. */
				note("some processes of session %d survived SIGKILL", sid);
				break;
			}
			continue;
		}
		if (drain && now >= drain) {
			note("test left processes behind; killing session %d", sid);
			if (kill_tree(1000))
				break;
			drain = now_ms() + DRAIN_MS;
		}
		if (progress && now >= tick) {
			dprintf(2, "\r\033[K%s %llds/%lds", progress, (now - start) / 1000, timeout_s);
			progress_shown = true;
			tick = now + 1000;
		}
		if (deadline >= 0 && !timed_out && deadline < wake)
			wake = deadline;
		if (drain && drain < wake)
			wake = drain;
		if (poll(pfd, 2, wake > now ? wake - now : 0) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) {
			n = read(pfd[0].fd, buf, sizeof(buf));
			relay(&out, buf, n > 0 ? n : 0, n <= 0);
			if (n <= 0) {
				close(pfd[0].fd);
				pfd[0].fd = -1;
			}
		}
		if (pfd[1].revents && read(pfd[1].fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
			interrupted = si.ssi_signo;
			note("%s: killing session %d", strsignal(interrupted), sid);
			kill_tree(grace_s * 1000);
			break;
		}
		reap();
		if (child_status != -1 && pfd[0].fd >= 0 && !drain)
			drain = now_ms() + DRAIN_MS;
	}
	/* CMD and its pipe are done; anything else of the session goes too. */
	if (!interrupted && !timed_out && signal_tree(0)) {
		note("killing leftover processes of session %d", sid);
		kill_tree(1000);
	}
	clear_progress();
	if (interrupted)
		return 128 + interrupted;
	if (timed_out)
		return 124;
	if (WIFSIGNALED(child_status))
		return 128 + WTERMSIG(child_status);
	return WEXITSTATUS(child_status);
}
