// SPDX-License-Identifier: GPL-2.0
/*
 * unit_opts: the shared selftest options.  Good input fills struct ftr_opts; bad input
 * returns -1 after exactly one line on stderr (captured here to check it).
 */
#include <fcntl.h>

#include "opts.h"
#include "unit.h"

static char err[1024];	/* what the last parse printed to stderr */

/* Parses "prog" + the NULL-terminated arguments, capturing stderr in err. */
static int parse(struct ftr_opts *o, ...)
{
	char *argv[32] = { "/x/build/selftests/collapse_write" };
	int argc = 1, ret, saved, fd;
	FILE *tmp = tmpfile();
	va_list ap;

	va_start(ap, o);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);

	fflush(stderr);
	saved = dup(2);
	fd = fileno(tmp);
	dup2(fd, 2);
	ret = ftr_opts_parse(o, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	err[pread(fd, err, sizeof(err) - 1, 0) > 0 ? strlen(err) : 0] = '\0';
	fclose(tmp);
	return ret;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Bad input: -1 and one line on stderr that names what was wrong. */
#define BAD(what, ...) do {								\
	struct ftr_opts _o;								\
	memset(err, 0, sizeof(err));							\
	CHECK_INT(parse(&_o, __VA_ARGS__, NULL), ==, -1);				\
	if (!CHECK(lines(err) == 1 && strstr(err, what)))				\
		DIAG("  stderr: %s", err);						\
} while (0)

static void test_good(void)
{
	struct ftr_opts o;
	char dir[] = "/tmp";

	CHECK_INT(parse(&o, NULL), ==, 0);
	CHECK_STR(o.prog, "collapse_write");
	CHECK(!o.dir && !o.fs && o.duration == 0 && o.threads == 0 && o.file_size == 0);
	CHECK(o.timeout_mul == 1 && o.inject == FTR_INJECT_NONE && !o.seed_given && !o.quick);
	/* Without --seed one is made up, short enough to type. */
	CHECK(o.seed <= 0xffffffffffffULL);
	CHECK_STR(o.cmdline, "");

	CHECK_INT(parse(&o, "--dir", dir, "--fs", "xfs", "--duration", "2.5", "--seed", "0x2a",
			"--threads", "64", "--file-size", "8M", "--quick", "--timeout-mul", "3",
			"--verbose", "--verbose", "--inject", "misplace", "--record", "/tmp/log",
			NULL), ==, 0);
	CHECK_STR(o.dir, "/tmp");
	CHECK_STR(o.fs, "xfs");
	CHECK(o.duration == 2.5);
	CHECK(o.seed == 42 && o.seed_given);
	CHECK_INT(o.threads, ==, 64);
	CHECK_INT(o.file_size, ==, 8 << 20);
	CHECK(o.quick && o.verbose == 2 && o.timeout_mul == 3);
	CHECK_INT(o.inject, ==, FTR_INJECT_MISPLACE);
	CHECK_STR(o.record, "/tmp/log");
	/* The replay line appends the seed it used: --seed is dropped from cmdline. */
	CHECK(!strstr(o.cmdline, "seed") && !strstr(o.cmdline, "0x2a"));
	CHECK(strstr(o.cmdline, " --dir /tmp --fs xfs --duration 2.5 --threads 64") != NULL);
	CHECK(strstr(o.cmdline, "--inject misplace --record /tmp/log") != NULL);

	/* --opt=value spelling, --seed=N dropped as well; the seed may be 0. */
	CHECK_INT(parse(&o, "--seed=0", "--threads=1", "--describe", NULL), ==, 0);
	CHECK(o.seed == 0 && o.seed_given && o.threads == 1 && o.describe);
	CHECK_STR(o.cmdline, " --threads=1 --describe");

	/* Every inject kind by name. */
	for (int i = 1; i < FTR_INJECT_NR; i++) {
		CHECK_INT(parse(&o, "--inject", (char *)ftr_inject_names[i], NULL), ==, 0);
		CHECK_INT(o.inject, ==, i);
	}

	/* Parsing twice in one process starts over (getopt state is reset). */
	CHECK_INT(parse(&o, "--quick", NULL), ==, 0);
	CHECK(o.quick && o.inject == FTR_INJECT_NONE);
}

static void test_bad(void)
{
	char file[] = "/tmp/ftr-unit-opts.XXXXXX";
	int fd = mkstemp(file);

	BAD("--duration", "--duration", "0");
	BAD("--duration", "--duration", "-1");
	BAD("--duration", "--duration", "abc");
	BAD("--duration", "--duration", "1s");
	BAD("--duration", "--duration", "inf");
	BAD("--duration", "--duration", "nan");
	BAD("--dir", "--dir", "/nonexistent/ftr-unit");
	if (CHECK(fd >= 0))
		BAD("not a directory", "--dir", file);
	BAD("--threads", "--threads", "0");
	BAD("--threads", "--threads", "65");
	BAD("--threads", "--threads", "4x");
	BAD("--threads", "--threads", "");
	BAD("--threads", "--threads", "-3");
	BAD("--bogus", "--bogus");
	BAD("-Z", "-Z");
	BAD("--duration", "--duration");	/* argument missing */
	BAD("--inject", "--inject", "segfault");
	BAD("--inject", "--inject", "none");	/* not a kind one can ask for */
	BAD("--seed", "--seed", "-1");
	BAD("--seed", "--seed", "12abc");
	BAD("--seed", "--seed", "99999999999999999999999");
	BAD("--file-size", "--file-size", "0");
	BAD("--file-size", "--file-size", "garbage");
	BAD("--file-size", "--file-size", "4T");
	BAD("--file-size", "--file-size", "-4k");
	BAD("--timeout-mul", "--timeout-mul", "0.5");
	BAD("extra", "--quick", "extra");
	BAD("extra", "extra", "--quick");	/* options after an argument are not taken */
	if (fd >= 0) {
		close(fd);
		unlink(file);
	}
}

static void test_parse_size(void)
{
	CHECK_INT(ftr_parse_size("4096"), ==, 4096);
	CHECK_INT(ftr_parse_size("4k"), ==, 4096);
	CHECK_INT(ftr_parse_size("4K"), ==, 4096);
	CHECK_INT(ftr_parse_size("2M"), ==, 2 << 20);
	CHECK_INT(ftr_parse_size("2m"), ==, 2 << 20);
	CHECK_INT(ftr_parse_size("1G"), ==, 1LL << 30);
	CHECK_INT(ftr_parse_size("0x1000"), ==, 4096);
	CHECK_INT(ftr_parse_size("0"), ==, -1);
	CHECK_INT(ftr_parse_size("-1"), ==, -1);
	CHECK_INT(ftr_parse_size(""), ==, -1);
	CHECK_INT(ftr_parse_size("M"), ==, -1);
	CHECK_INT(ftr_parse_size("4MB"), ==, -1);
	CHECK_INT(ftr_parse_size("4 M"), ==, -1);
	CHECK_INT(ftr_parse_size("1T"), ==, -1);
	/* Too large for bytes in a long long once scaled: rejected, not wrapped. */
	CHECK_INT(ftr_parse_size("9223372036854775807k"), ==, -1);
	CHECK_INT(ftr_parse_size("17179869184G"), ==, -1);
	CHECK_INT(ftr_parse_size("99999999999999999999"), ==, -1);
}

int main(void)
{
	test_good();
	test_bad();
	test_parse_size();
	return unit_done();
}
