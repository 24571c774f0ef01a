// SPDX-License-Identifier: GPL-2.0
/*
 * hang-summary - say what the tasks of a hang wait on, from their kernel stacks.
 *
 *   hang-summary --session SID [--sysrq]   the live tasks (every thread) of a session,
 *                                          from /proc/PID/task/TID/{stack,wchan}
 *   hang-summary --pid PID [--sysrq]       the threads of one process: a session
 *                                          led from outside our pid namespace reads as 0
 *   hang-summary --log FILE                a kernel log holding a sysrq-w dump
 *                                          ("task:NAME state:D ... pid:N", "Call Trace:")
 *
 * Both feed one classifier.  A stack is cut in three: the wait primitives on top
 * (schedule, rwsem_down_read_slowpath, folio_wait_bit_common, __folio_lock...), which
 * say what the task waits on; then the frames that did something (collapse_file,
 * page_cache_ra_order, truncate_inode_pages_range...); then the syscall entry.  Each
 * task gets a line, then one summary line names each distinct wait as
 * "OUTER<-INNER waits KIND": INNER is the frame that waited, OUTER two callers up.
 * Two or more tasks asleep in D state on locks make it a "deadlock?".
 *
 * --sysrq also writes 'w' and 'l' to /proc/sysrq-trigger, so that the kernel log holds
 * every blocked task of the machine, the ones outside the session too, and what each
 * CPU runs; only where /proc/sys/kernel/sysrq enables dumps (1 or bit 8): the kernel
 * would obey root anyway, but that sysctl is how the admin says whether such dumps are
 * wanted.
 *
 * Output: lines starting "hang:", on stdout.  Exit 0, 1 when no task was found, 2 on
 * bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TASKS	512
#define MAX_FRAMES	48
#define NAME_LEN	64
#define SHOW_FRAMES	4	/* frames on a task's line */
#define SHOW_GROUPS	6	/* distinct waits on the summary line */

struct task {
	char comm[NAME_LEN];
	int pid;
	char state;			/* R, S, D, ... */
	int nframes;
	char frame[MAX_FRAMES][NAME_LEN];
	/* filled by classify() */
	const char *kind;		/* what it waits on */
	bool lock;			/* a sleeping lock, not a voluntary sleep */
	int inner, outer;		/* frame range that did something; inner <= outer */
};

static struct task tasks[MAX_TASKS];
static int ntasks;

/* Frames that only implement waiting; the outermost one with a kind names the wait. */
static const struct { const char *fn; const char *kind; bool lock; } waits[] = {
	{ "rwsem_down_read_slowpath", "rwsem(read)", true },
	{ "down_read", "rwsem(read)", true },
	{ "down_read_killable", "rwsem(read)", true },
	{ "rwsem_down_write_slowpath", "rwsem(write)", true },
	{ "down_write", "rwsem(write)", true },
	{ "down_write_killable", "rwsem(write)", true },
	{ "percpu_rwsem_wait", "percpu rwsem", true },
	{ "percpu_down_write", "percpu rwsem(write)", true },
	{ "__mutex_lock", "mutex", true },
	{ "mutex_lock", "mutex", true },
	{ "mutex_lock_killable", "mutex", true },
	/* __folio_lock() tail-calls it, so its own frame is often missing; the other bit
	 * waits (writeback) keep frames of their own, and the outermost kind wins. */
	{ "folio_wait_bit_common", "folio lock", true },
	{ "__folio_lock", "folio lock", true },
	{ "__folio_lock_killable", "folio lock", true },
	{ "__folio_lock_or_retry", "folio lock", true },
	{ "folio_wait_locked", "folio lock", true },
	{ "__lock_page", "page lock", true },
	{ "folio_wait_writeback", "page writeback", true },
	{ "folio_wait_stable", "page writeback", true },
	{ "wait_on_page_writeback", "page writeback", true },
	{ "__down", "semaphore", true },
	{ "__down_common", "semaphore", true },
	{ "wait_for_completion", "completion", false },
	{ "poll_schedule_timeout", "poll", false },
	{ "futex_do_wait", "futex", false },
	{ "__futex_wait", "futex", false },
	{ "io_schedule", NULL, false },
	{ "io_schedule_timeout", NULL, false },
	{ "schedule", NULL, false },
	{ "__schedule", NULL, false },
	{ "schedule_preempt_disabled", NULL, false },
	{ "schedule_timeout", NULL, false },
	{ "schedule_hrtimeout_range", NULL, false },
	{ "schedule_hrtimeout_range_clock", NULL, false },
	{ "bit_wait_io", NULL, false },
	{ "__wait_on_bit", NULL, false },
	{ "out_of_line_wait_on_bit", NULL, false },
};

/* Where a task sleeps on purpose: the frame itself names the wait. */
static const struct { const char *fn; const char *kind; } sleeps[] = {
	{ "__do_sys_pause", "pause()" }, { "sys_pause", "pause()" },
	{ "sigsuspend", "sigsuspend()" }, { "do_nanosleep", "sleep" },
	{ "hrtimer_nanosleep", "sleep" }, { "do_wait", "wait()" },
	{ "pipe_read", "pipe" }, { "anon_pipe_read", "pipe" }, { "pipe_write", "pipe" },
	{ "futex_wait_queue", "futex" }, { "futex_wait", "futex" },
	{ "do_select", "poll" }, { "do_sys_poll", "poll" }, { "ep_poll", "poll" },
	{ "io_cqring_wait", "io_uring" }, { "__refrigerator", "freezer" },
	{ "do_signal_stop", "stopped" }, { "ptrace_stop", "traced" },
};

/* The syscall and exception entry below the frames that did something. */
static bool entry_frame(const char *fn)
{
	static const char *const pre[] = {
		"do_syscall_", "entry_SYSCALL", "x64_sys_call", "__x64_sys_", "__ia32_sys_",
		"__se_sys_", "ret_from_fork", "asm_", "kthread",
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strncmp(fn, pre[i], strlen(pre[i])))
			return true;
	return false;
}

static int wait_index(const char *fn)
{
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (!strcmp(fn, waits[i].fn))
			return i;
	return -1;
}

static void classify(struct task *t)
{
	int i = 0, w;

	t->kind = NULL;
	t->lock = false;
	for (; i < t->nframes && (w = wait_index(t->frame[i])) >= 0; i++)
		if (waits[w].kind) {
			t->kind = waits[w].kind;
			t->lock = waits[w].lock;
		}
	t->inner = i;
	while (i < t->nframes && !entry_frame(t->frame[i]))
		i++;
	t->outer = i - 1;
	if (t->outer < t->inner && t->inner < t->nframes)
		t->outer = t->inner;	/* only entry frames: name the first one */
	for (i = t->inner; !t->kind && i <= t->outer; i++)
		for (size_t k = 0; k < sizeof(sleeps) / sizeof(sleeps[0]); k++)
			if (!strcmp(t->frame[i], sleeps[k].fn))
				t->kind = sleeps[k].kind;
	if (!t->kind)
		t->kind = t->state == 'R' ? "nothing (running)" :
			  t->nframes ? "something" : "an unknown stack";
}

/* "name+0x1a/0x40 [mod]", "name.isra.0+0x..." -> "name" */
static void add_frame(struct task *t, const char *s)
{
	size_t n = strcspn(s, "+. \t\n");

	if (!n || t->nframes == MAX_FRAMES)
		return;
	if (n >= NAME_LEN)
		n = NAME_LEN - 1;
	memcpy(t->frame[t->nframes], s, n);
	t->frame[t->nframes++][n] = '\0';
}

static struct task *new_task(void)
{
	struct task *t;

	if (ntasks == MAX_TASKS)
		return NULL;
	t = &tasks[ntasks++];
	memset(t, 0, sizeof(*t));
	return t;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = -1;

	if (f && fgets(buf, len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	if (f)
		fclose(f);
	return ret;
}

/* state and session of /proc/PID[/task/TID]; the comm may hold spaces and ')' */
static int read_stat(const char *dir, char *state, int *sid)
{
	char path[128], buf[512], *p;

	snprintf(path, sizeof(path), "%s/stat", dir);
	if (read_line(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return -1;
	return sscanf(p + 1, " %c %*d %*d %d", state, sid) == 2 ? 0 : -1;
}

static void read_task(const char *dir, int tid, char state)
{
	char path[160], line[256];
	struct task *t = new_task();
	FILE *f;

	if (!t)
		return;
	t->pid = tid;
	t->state = state;
	snprintf(path, sizeof(path), "%s/comm", dir);
	if (read_line(path, t->comm, sizeof(t->comm)))
		strcpy(t->comm, "?");
	/* "[<0>] folio_wait_bit_common+0x13c/0x350" */
	snprintf(path, sizeof(path), "%s/stack", dir);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "] ");

		if (p)
			add_frame(t, p + 2);
	}
	if (f)
		fclose(f);
	/* Unreadable stacks (lockdown, no CONFIG_STACKTRACE): wchan still names one frame. */
	snprintf(path, sizeof(path), "%s/wchan", dir);
	if (!t->nframes && !read_line(path, line, sizeof(line)) && strcmp(line, "0"))
		add_frame(t, line);
}

/* every live thread of one process */
static void scan_process(int pid)
{
	char tdir[96], state;
	struct dirent *q;
	DIR *td;
	int s, tid;

	snprintf(tdir, sizeof(tdir), "/proc/%d/task", pid);
	if (!(td = opendir(tdir)))
		return;
	while ((q = readdir(td))) {
		if ((tid = atoi(q->d_name)) <= 0)
			continue;
		snprintf(tdir, sizeof(tdir), "/proc/%d/task/%d", pid, tid);
		if (!read_stat(tdir, &state, &s) && state != 'Z')
			read_task(tdir, tid, state);
	}
	closedir(td);
}

static int scan_session(int sid)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	char dir[64], state;
	int s, pid;

	if (!proc)
		return -1;
	while ((p = readdir(proc))) {
		if ((pid = atoi(p->d_name)) <= 0)
			continue;
		snprintf(dir, sizeof(dir), "/proc/%d", pid);
		if (!read_stat(dir, &state, &s) && s == sid)
			scan_process(pid);
	}
	closedir(proc);
	return 0;
}

/*
 * A sysrq-w dump: "task:NAME state:D stack:0 pid:345 tgid:340 ...", then "Call Trace:",
 * "<TASK>", frames, "</TASK>", interleaved with register lines for user tasks.  Frames
 * marked "?" are stale stack words, not calls.  Only the last dump of the log counts.
 */
static int parse_log(const char *file)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	struct task *t = NULL;
	long dump = -1, pos;

	if (!f)
		return -1;
	for (pos = ftell(f); fgets(line, sizeof(line), f); pos = ftell(f))
		if (strstr(line, "Show Blocked State"))
			dump = pos;
	fseek(f, dump < 0 ? 0 : dump, SEEK_SET);
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *st, *pid;

		line[strcspn(line, "\r\n")] = '\0';
		if (*s == '<')			/* console log level "<6>" */
			s += strspn(s, "<0123456789>");
		if (*s == '[' && (st = strchr(s, ']')))
			s = st + 1;		/* "[  12.345678] " */
		s += strspn(s, " \t");
		if (!strncmp(s, "task:", 5) && (st = strstr(s, " state:")) && (pid = strstr(st, " pid:"))) {
			if (!(t = new_task()))
				break;
			snprintf(t->comm, sizeof(t->comm), "%.*s", (int)(st - s - 5), s + 5);
			t->comm[strcspn(t->comm, " ")] = '\0';
			t->state = st[7];
			t->pid = atoi(pid + 5 + strspn(pid + 5, " "));
			continue;
		}
		if (!t || !strcmp(s, "Call Trace:") || !strcmp(s, "<TASK>") || !strncmp(s, "? ", 2))
			continue;
		if (!strcmp(s, "</TASK>") || strstr(s, "sysrq:") || strstr(s, "NMI backtrace")) {
			t = NULL;
			continue;
		}
		/* "collapse_file+0x5f1/0x1c20" and not a register line "RIP: 0033:0x..." */
		if (strstr(s, "+0x") && !strchr(s, ':'))
			add_frame(t, s);
	}
	fclose(f);
	return 0;
}

static void print_chain(const struct task *t, int from, int to)
{
	for (int i = to; i >= from; i--)
		printf("%s%s", t->frame[i], i > from ? "<-" : "");
}

static bool same_wait(const struct task *a, const struct task *b)
{
	if (a->kind != b->kind || a->outer - a->inner != b->outer - b->inner || strcmp(a->comm, b->comm))
		return false;
	for (int i = 0; i <= a->outer - a->inner; i++)
		if (strcmp(a->frame[a->inner + i], b->frame[b->inner + i]))
			return false;
	return true;
}

/* One summary element: "OUTER<-INNER waits KIND (COMM PID PID)". */
static void print_group(const struct task *t)
{
	int outer = t->outer - t->inner > 2 ? t->inner + 2 : t->outer, n = 0;

	if (t->inner <= outer) {
		print_chain(t, t->inner, outer);
		putchar(' ');
	}
	printf("waits %s (%s", t->kind, t->comm);
	for (const struct task *u = t; u < tasks + ntasks; u++)
		if (same_wait(t, u) && n++ < 4)
			printf(" %d", u->pid);
	printf("%s)", n > 4 ? " ..." : "");
}

/* The frame a task waits from, or "" when its stack is empty. */
static const char *waiter(const struct task *t)
{
	return t->inner < t->nframes ? t->frame[t->inner] : "";
}

/*
 * Which waits explain a hang?  Tasks asleep on locks in D state, and of those the ones
 * few others share: a pile-up queues many tasks behind one lock from one frame
 * (xfs_ilock), while the tasks that hold the locks the others want each wait somewhere
 * of their own (collapse_file in readahead, truncate on a folio lock).
 */
static int rank(const struct task *t)
{
	int same = 0;

	for (int i = 0; i < ntasks; i++)
		same += !strcmp(waiter(&tasks[i]), waiter(t));
	return (t->state == 'D' && t->lock ? 0 : MAX_TASKS) + same;
}

static void summarize(void)
{
	int nlock = 0, groups = 0, r[MAX_TASKS];
	bool seen[MAX_TASKS] = { false };

	for (int i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];

		classify(t);
		nlock += t->state == 'D' && t->lock;
		printf("hang:   %s[%d] %c waits %s: ", t->comm, t->pid, t->state, t->kind);
		if (t->inner <= t->outer)
			print_chain(t, t->inner, t->outer - t->inner >= SHOW_FRAMES ?
					t->inner + SHOW_FRAMES - 1 : t->outer);
		else
			printf("no stack");
		putchar('\n');
	}
	for (int i = 0; i < ntasks; i++)
		r[i] = rank(&tasks[i]);
	printf("hang: summary: %s", nlock >= 2 ? "deadlock? " : "");
	for (;;) {
		int best = -1;

		for (int i = 0; i < ntasks; i++)
			if (!seen[i] && (best < 0 || r[i] < r[best]))
				best = i;
		if (best < 0)
			break;
		for (int j = best; j < ntasks; j++)
			seen[j] = seen[j] || same_wait(&tasks[best], &tasks[j]);
		if (groups++ < SHOW_GROUPS) {
			printf("%s", groups > 1 ? "; " : "");
			print_group(&tasks[best]);
		}
	}
	if (groups > SHOW_GROUPS)
		printf("; and %d more", groups - SHOW_GROUPS);
	putchar('\n');
}

static const char *sysrq_w(void)
{
	char v[32];
	long mask;
	FILE *f;

	if (read_line("/proc/sys/kernel/sysrq", v, sizeof(v)))
		return "not available (no /proc/sys/kernel/sysrq)";
	mask = strtol(v, NULL, 0);
	if (mask != 1 && !(mask & 8))
		return "skipped (kernel.sysrq disables dumps)";
	/* 'w' the blocked tasks; 'l' what the CPUs run, for a hang that nobody sleeps in
	 * (a livelock, or a lock holder spinning).  One write each: the trigger reads
	 * only the first character it is given. */
	for (const char *c = "wl"; *c; c++) {
		f = fopen("/proc/sysrq-trigger", "we");
		if (!f || fputc(*c, f) == EOF || fclose(f)) {
			if (f)
				fclose(f);
			return "could not write /proc/sysrq-trigger";
		}
	}
	return "blocked tasks and the CPUs' backtraces of the whole machine dumped to the kernel log";
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr, "hang-summary: %s\n"
		"usage: hang-summary --session SID|--pid PID [--sysrq] | --log FILE\n", why);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *log = NULL, *sysrq = NULL;
	int sid = 0, pid = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--session") && i + 1 < argc)
			sid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			pid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!strcmp(argv[i], "--sysrq"))
			sysrq = "";
		else
			usage("bad argument");
	}
	if ((sid > 0) + (pid > 0) + !!log != 1)
		usage("one of --session SID, --pid PID or --log FILE");
	if (log) {
		if (parse_log(log))
			usage("cannot read the log");
		printf("hang: %d blocked tasks in the sysrq-w dump of %s\n", ntasks, log);
	} else {
		if (sysrq)
			sysrq = sysrq_w();
		if (pid)
			scan_process(pid);
		else if (scan_session(sid))
			usage("cannot read /proc");
		printf("hang: %d tasks in %s %d%s%s\n", ntasks, pid ? "process" : "session",
		       pid ? pid : sid, sysrq ? "; sysrq-w: " : "", sysrq ? sysrq : "");
	}
	if (!ntasks)
		return 1;
	summarize();
	return 0;
}
