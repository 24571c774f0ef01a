// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "outcome.h"
#include "trace.h"

#define FTR_DIRTY_RESULT "page_dirty_or_writeback"
/*
 * tracefs prints a timestamp rounded to the nearest microsecond (ns2usecs()), so an
 * event printed at p happened in [p - 0.5 us, p + 0.5 us).  The trace clock and
 * clock_gettime() are the same timekeeper; another 0.5 us on each side absorbs what
 * reading it twice may differ by.
 */
#define SLACK_NS 1000

static uint64_t ev_from(const struct ftr_trace_ev *ev)
{
	return ev->us * 1000 > SLACK_NS ? ev->us * 1000 - SLACK_NS : 0;
}

static uint64_t ev_to(const struct ftr_trace_ev *ev)
{
	return ev->us * 1000 + SLACK_NS;
}

/* Whether ev may have happened inside call c.  collapse_file names the index its
 * walk over the range stopped at: the range's end on success. */
static bool in_window(const struct ftr_call *c, const struct ftr_trace_ev *ev)
{
	return c->t0 <= ev_to(ev) && ev_from(ev) <= c->t1 &&
	       (ev->ev != 'c' || (ev->index >= c->index && ev->index <= c->index + ev->nr));
}

/* The one call ev may belong to, or NULL (counted as ambiguous or outside). */
static struct ftr_call *owner(struct ftr_call *calls, size_t n, const struct ftr_trace_ev *ev,
			      struct ftr_outcome_stats *st)
{
	size_t lo = 0, hi = n, i;
	struct ftr_call *c = NULL;

	/* The first call that started after the event's interval... */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (calls[mid].t0 <= ev_to(ev))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ...and back over every call that ended inside it or later: calls of one
	 * thread follow each other, and a fast one takes less than a microsecond. */
	for (i = lo; i > 0 && calls[i - 1].t1 >= ev_from(ev); i--) {
		if (!in_window(&calls[i - 1], ev))
			continue;
		if (c) {
			st->ambiguous++;
			return NULL;
		}
		c = &calls[i - 1];
	}
	if (!c)
		st->outside++;
	return c;
}

void ftr_outcome_attribute(FILE *f, int tid, struct ftr_call *calls, size_t n,
			   struct ftr_outcome_stats *st)
{
	struct ftr_trace_ev ev;
	char line[1024];

	while (fgets(line, sizeof(line), f)) {
		struct ftr_call *c;

		if (!ftr_trace_parse(line, &ev) || ev.tid != tid)
			continue;
		st->events++;
		if (!(c = owner(calls, n, &ev, st)))
			continue;
		st->attributed++;
		if (ev.ev == 'c') {
			c->collapsed |= ftr_trace_collapsed(ev.result);
			c->succeeded |= !strcmp(ev.result, "succeeded");
			c->attempts += c->attempts < UINT8_MAX;
			c->dirty += c->dirty < UINT8_MAX && !strcmp(ev.result, FTR_DIRTY_RESULT);
		}
		snprintf(c->outcome, sizeof(c->outcome), "%s", ev.result);
	}
}

/* Outcomes that go away on their own, by the kernel's result names. */
static const struct { const char *outcome, *why; } transient[] = {
	{ FTR_DIRTY_RESULT, "MADV_COLLAPSE writes dirty and writeback folios back and retries; "
			    "a writer that dirtied them again is transient" },
	{ "not_suitable_page_count", "someone else held a reference to a folio" },
	{ "page_locked", "someone else held a folio lock" },
	{ "page_not_in_lru", "a folio was off the LRU" },
	{ "could_not_delete_page_from_lru", "a folio could not be isolated from the LRU" },
	{ "page_filled", "a hole was filled while the collapse ran" },
};

const char *ftr_outcome_broken(const struct ftr_call *c)
{
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (!strcmp(c->outcome, transient[i].outcome))
			return c->err == EAGAIN ? NULL : transient[i].why;
	return NULL;
}

static int row_cmp(const void *a, const void *b)
{
	const unsigned long *x = a, *y = b;

	return *x < *y ? 1 : *x > *y ? -1 : 0;
}

static const char *err_name(int err)
{
	return err ? strerrorname_np(err) ?: "?" : "ok";
}

void ftr_outcome_add(struct ftr_outcome_tab *t, const struct ftr_call *calls, size_t n,
		     const struct ftr_outcome_stats *st)
{
	for (size_t i = 0; i < n; i++) {
		const char *oc = calls[i].outcome[0] ? calls[i].outcome : "-";
		unsigned r;

		t->retried += calls[i].attempts > 1;
		t->dirty += calls[i].dirty > 0;
		t->collapsed += calls[i].collapsed && !calls[i].err && (calls[i].succeeded || calls[i].checked);
		for (r = 0; r < t->nrows; r++)
			if (t->row[r].err == calls[i].err && !strcmp(t->row[r].outcome, oc))
				break;
		if (r == t->nrows) {
			if (r == sizeof(t->row) / sizeof(t->row[0]))
				continue;
			t->row[t->nrows++].err = calls[i].err;
			snprintf(t->row[r].outcome, sizeof(t->row[r].outcome), "%s", oc);
		}
		t->row[r].n++;
	}
	t->calls += n;
	t->st.events += st->events;
	t->st.attributed += st->attributed;
	t->st.ambiguous += st->ambiguous;
	t->st.outside += st->outside;
}

void ftr_outcome_print(const struct ftr_outcome_tab *t)
{
	struct ftr_outcome_row rows[sizeof(t->row) / sizeof(t->row[0])];	/* sorted to print */
	char buf[1024];
	size_t o = 0;

	memcpy(rows, t->row, sizeof(rows));
	qsort(rows, t->nrows, sizeof(rows[0]), row_cmp);
	buf[0] = '\0';
	for (unsigned r = 0; r < t->nrows && o < sizeof(buf); r++)
		o += snprintf(buf + o, sizeof(buf) - o, " %s=%s:%lu", rows[r].outcome, err_name(rows[r].err),
			      rows[r].n);
	ftr_diag("errno by outcome:%s", t->nrows ? buf : " no calls logged");
	ftr_diag("errno by outcome: %lu calls (%lu more not logged), %lu of %lu events attributed (%lu "
		 "ambiguous, %lu outside the calls); %lu calls met dirty folios, %lu wrote back and retried",
		 t->calls, t->unlogged, t->st.attributed, t->st.events, t->st.ambiguous, t->st.outside,
		 t->dirty, t->retried);
}

void ftr_outcome_lines(FILE *f, int tid, struct ftr_call *calls, size_t n, const struct ftr_call *c,
		       int max)
{
	struct ftr_outcome_stats ignored;
	struct ftr_trace_ev ev;
	char line[1024];

	while (max > 0 && fgets(line, sizeof(line), f)) {
		if (!ftr_trace_parse(line, &ev) || ev.tid != tid || !in_window(c, &ev))
			continue;
		line[strcspn(line, "\n")] = '\0';
		ftr_diag("    %s%s", line + strspn(line, " "),
			 owner(calls, n, &ev, &ignored) == c ? "" : "  (or the next call's: not counted)");
		max--;
	}
}
