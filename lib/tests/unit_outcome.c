// SPDX-License-Identifier: GPL-2.0
/*
 * unit_outcome: tracefs lines taken apart, collapse events matched with the calls
 * that caused them, and the errno contract judged, over a trace recorded on the 7.2
 * kernel (ext4, collapse_writeback): fixtures/trace-7.2-ext4.txt.  The calls are the
 * collapser's windows around those events; tid 470 is the probe, another thread.
 */
#include <errno.h>

#include "outcome.h"
#include "trace.h"
#include "unit.h"

#define TID 486
#define NS(s, us) ((uint64_t)(s) * 1000000000ULL + (uint64_t)(us) * 1000ULL)
#define CALL(from, to, idx, e) ((struct ftr_call){ .t0 = (from), .t1 = (to), .index = (idx), .err = (e) })

static void test_parse(void)
{
	struct ftr_trace_ev ev;

	CHECK(ftr_trace_parse(" collapse_writeb-486     [000] .....    25.014709: mm_khugepaged_collapse_file: "
			      "mm=00000000efa554af, hpage_pfn=0x3800, index=899, addr=7feebc200000, is_shmem=0, "
			      "filename=ftr470, nr=512, result=page_dirty_or_writeback\n", &ev));
	CHECK_INT(ev.ev, ==, 'c');
	CHECK_INT(ev.tid, ==, 486);
	CHECK_INT(ev.us, ==, 25014709);
	CHECK_INT(ev.index, ==, 899);
	CHECK_INT(ev.nr, ==, 512);
	CHECK_STR(ev.file, "ftr470");
	CHECK_STR(ev.result, "page_dirty_or_writeback");

	/* Task names may hold spaces, dashes and digits; timestamps keep leading zeros. */
	CHECK(ftr_trace_parse("  my prog-2-x-77    [001] .N...  7.000042: mm_khugepaged_scan_file: mm=0, "
			      "scan_pfn=0x1, filename=ftr9, present=3, swap=0, result=page_locked", &ev));
	CHECK_INT(ev.ev, ==, 's');
	CHECK_INT(ev.tid, ==, 77);
	CHECK_INT(ev.us, ==, 7000042);
	CHECK_INT(ev.index, ==, -1);
	CHECK_STR(ev.result, "page_locked");
	CHECK(ftr_trace_parse("           <...>-5       [000] d..1.  0.000001: mm_khugepaged_scan_file: "
			      "filename=a, result=succeeded", &ev));
	CHECK_INT(ev.tid, ==, 5);

	CHECK(!ftr_trace_parse("# entries-in-buffer/entries-written: 18/18   #P:2", &ev));
	CHECK(!ftr_trace_parse("  a-1 [000] ..... 1.000000: sched_switch: prev_comm=a", &ev));
	CHECK(!ftr_trace_parse("  a-1 [000] ..... 1.000000: mm_khugepaged_collapse_file: mm=0, filename=x", &ev));
	CHECK(!ftr_trace_parse("mm_khugepaged_scan_file: filename=x, result=y", &ev));
}

/* The collapser's calls around the fixture's events of tid 486, by start time. */
static size_t fixture_calls(struct ftr_call *c)
{
	size_t n = 0;

	/* The scan found too many references: no collapse_file. */
	c[n++] = CALL(NS(24, 952000), NS(24, 952100), 1536, EAGAIN);
	/* Already a large folio. */
	c[n++] = CALL(NS(24, 974200), NS(24, 974300), 0, 0);
	/* Dirty, written back, dirty again: EAGAIN.  The call names PMD 1, pages 512-1023;
	 * collapse_file names the page it stopped at. */
	c[n++] = CALL(NS(25, 14600), NS(25, 26900), 512, EAGAIN);
	/* 25.047987 falls in no call: older than the log, say. */
	c[n++] = CALL(NS(25, 101800), NS(25, 102000), 512, 0);
	/* Two calls around 25.111693, printed rounded: the event may be either's and is
	 * dropped. */
	c[n++] = CALL(NS(25, 111600), NS(25, 111692) + 700, 1024, EAGAIN);
	c[n++] = CALL(NS(25, 111693) + 100, NS(25, 136800), 1536, EAGAIN);
	return n;
}

static FILE *open_fixture(void)
{
	FILE *f = fopen(unit_fixture("trace-7.2-ext4.txt"), "r");

	if (!f)
		DIAG("cannot open %s: %s", unit_fixture("trace-7.2-ext4.txt"), strerror(errno));
	return f;
}

/* The fixture's events of TID attributed to calls c. */
static bool attribute_fixture(struct ftr_call *c, size_t n, struct ftr_outcome_stats *st)
{
	FILE *f = open_fixture();

	memset(st, 0, sizeof(*st));
	if (!CHECK(f))
		return false;
	ftr_outcome_attribute(f, TID, c, n, st);
	fclose(f);
	return true;
}

static void test_attribute(void)
{
	struct ftr_outcome_stats st;
	struct ftr_call c[8];
	size_t n = fixture_calls(c);

	if (!attribute_fixture(c, n, &st))
		return;
	CHECK_INT(st.events, ==, 12);		/* the probe's three are another thread's */
	CHECK_INT(st.attributed, ==, 10);
	CHECK_INT(st.ambiguous, ==, 1);
	CHECK_INT(st.outside, ==, 1);

	CHECK_STR(c[0].outcome, "not_suitable_page_count");
	CHECK_INT(c[0].attempts, ==, 0);
	CHECK_STR(c[1].outcome, "pte_mapped_hugepage");
	CHECK_STR(c[2].outcome, "page_dirty_or_writeback");
	CHECK_INT(c[2].attempts, ==, 2);
	CHECK_INT(c[2].dirty, ==, 2);
	CHECK_STR(c[3].outcome, "pte_mapped_hugepage");
	CHECK_INT(c[3].attempts, ==, 1);
	CHECK_INT(c[3].dirty, ==, 0);
	/* Its scan_file was the ambiguous one: collapse_file still names the outcome. */
	CHECK_STR(c[4].outcome, "page_dirty_or_writeback");
	CHECK_STR(c[5].outcome, "not_suitable_page_count");

	/* Summed into the run's table: one row per (outcome, errno). */
	struct ftr_outcome_tab t = { 0 };

	ftr_outcome_add(&t, c, n, &st);
	ftr_outcome_add(&t, c, 2, &st);
	CHECK_INT(t.calls, ==, 8);
	CHECK_INT(t.nrows, ==, 3);
	CHECK_INT(t.row[0].n, ==, 3);		/* not_suitable_page_count, EAGAIN */
	CHECK_INT(t.row[1].n, ==, 3);		/* pte_mapped_hugepage, 0 */
	CHECK_INT(t.row[2].n, ==, 2);		/* page_dirty_or_writeback, EAGAIN */
	CHECK_INT(t.dirty, ==, 2);
	CHECK_INT(t.retried, ==, 1);
	CHECK_INT(t.st.ambiguous, ==, 2);
	/* c[3]'s collapse_file said pte_mapped_hugepage: a collapse only where the THP
	 * was checked right after (a kernel may say so without building one). */
	CHECK_INT(c[3].collapsed, ==, 1);
	CHECK_INT(t.collapsed, ==, 0);
	c[3].checked = 1;
	ftr_outcome_add(&t, c + 3, 1, &st);
	CHECK_INT(t.collapsed, ==, 1);
	c[3].checked = 0;
	c[3].succeeded = 1;
	ftr_outcome_add(&t, c + 3, 1, &st);
	CHECK_INT(t.collapsed, ==, 2);
	c[3].succeeded = 0;

	/* What the kernel answered agrees with what it did. */
	for (size_t i = 0; i < n; i++)
		if (!CHECK(!ftr_outcome_broken(&c[i])))
			DIAG("  call %zu: %s", i, ftr_outcome_broken(&c[i]));

	/* The same calls answered EINVAL: the transient ones break the contract. */
	c[2].err = EINVAL;
	CHECK(ftr_outcome_broken(&c[2]));
	c[0].err = EINVAL;
	CHECK(ftr_outcome_broken(&c[0]));
	c[3].err = EINVAL;			/* not an outcome with a promised errno */
	CHECK(!ftr_outcome_broken(&c[3]));
}

/* collapse_file events on another range than the call's are not the call's. */
static void test_wrong_range(void)
{
	struct ftr_outcome_stats st;
	struct ftr_call c[8];
	size_t n = fixture_calls(c);
	FILE *f;

	c[2].index = 1536;
	if (!attribute_fixture(c, n, &st))
		return;
	CHECK_INT(c[2].attempts, ==, 0);
	CHECK_STR(c[2].outcome, "page_dirty_or_writeback");	/* from its scan_file events */
	CHECK_INT(st.outside, ==, 3);

	/* No calls at all, or another thread: nothing is attributed. */
	memset(&st, 0, sizeof(st));
	if (!CHECK(f = open_fixture()))
		return;
	ftr_outcome_attribute(f, 4242, c, n, &st);
	CHECK_INT(st.events, ==, 0);
	rewind(f);
	ftr_outcome_attribute(f, TID, c, 0, &st);
	CHECK_INT(st.outside, ==, 12);
	fclose(f);
}

/*
 * tracefs rounds to the microsecond: scan_file printed at 24.974247 may have happened
 * at 24.9742466, the last moment of a call that a truncating reader would place
 * before it.  Seen in CI as a call that returned 0 "ending" on its predecessor's
 * not_suitable_page_count.
 */
static void test_rounding(void)
{
	struct ftr_outcome_stats st;
	struct ftr_call c[2];

	c[0] = CALL(NS(24, 974200), NS(24, 974246) + 600, 0, EAGAIN);
	c[1] = CALL(NS(24, 974249), NS(24, 974300), 512, 0);
	if (!attribute_fixture(c, 2, &st))
		return;
	CHECK_STR(c[0].outcome, "pte_mapped_hugepage");
	CHECK_STR(c[1].outcome, "");

	/* The next call began within the event's microsecond: it could be either's. */
	c[0] = CALL(NS(24, 974200), NS(24, 974246) + 600, 0, EAGAIN);
	c[1] = CALL(NS(24, 974246) + 800, NS(24, 974300), 512, 0);
	if (!attribute_fixture(c, 2, &st))
		return;
	CHECK_INT(st.ambiguous, ==, 1);
	CHECK_STR(c[0].outcome, "");
	CHECK_STR(c[1].outcome, "");
}

int main(void)
{
	test_parse();
	test_attribute();
	test_wrong_range();
	test_rounding();
	return unit_done();
}
