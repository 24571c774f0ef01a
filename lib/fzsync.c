// SPDX-License-Identifier: GPL-2.0
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fzsync.h"
#include "rng.h"

/* Weight of a new sample in the moving averages: 1/16 settles within the sampling
 * phase and still follows a window that drifts as the file's state changes. */
#define ALPHA		(1.0 / 16)
/* Spins before a barrier starts yielding: on a machine with fewer CPUs than runnable
 * roles a pure spin would keep the partner it waits for off the CPU. */
#define SPINS		2000

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint32_t ld32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint64_t ld64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

void ftr_fzsync_init(struct ftr_fzsync *f, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->rng = seed ^ 0x667a73796e63ULL;	/* "fzsync" */
}

void ftr_fzsync_stop(struct ftr_fzsync *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
}

void ftr_fzsync_reset(struct ftr_fzsync *f)
{
	__atomic_store_n(&f->arrive_a, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&f->arrive_b, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&f->stop, 0, __ATOMIC_RELEASE);
}

/* Everything this side published before arriving is visible to the other side once it
 * passed the same barrier. */
static bool barrier(struct ftr_fzsync *f, uint32_t *mine, const uint32_t *theirs)
{
	uint32_t me = __atomic_add_fetch(mine, 1, __ATOMIC_ACQ_REL);

	for (unsigned spins = 0; ld32(theirs) < me; spins++) {
		if (ld32(&f->stop))
			return false;
		if (spins > SPINS)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
	}
	return true;
}

/* Spin the last stretch for precision; sleep through a long delay instead, or the
 * delayed side steals the CPU the other side's operation needs. */
static void spin_ns(int64_t ns)
{
	uint64_t until = mono_ns() + ns;

	if (ns > 200000) {
		struct timespec ts = { (ns - 100000) / 1000000000, (ns - 100000) % 1000000000 };

		nanosleep(&ts, NULL);
	}
	while (mono_ns() < until)
		;
}

/* Where B should start relative to A this iteration, as a delay of one side. */
static int64_t pick_delay(struct ftr_fzsync *f)
{
	int64_t lo, hi, off;

	if (f->samples < FTR_FZ_SAMPLES)
		return 0;
	lo = -(int64_t)f->avg_b;
	hi = (int64_t)f->avg_a;
	f->rng += 0x9e3779b97f4a7c15ULL;
	off = lo + (int64_t)(ftr_mix64(f->rng) % (uint64_t)(hi - lo + 1));
	if (!f->delayed++ || off < f->min_off)
		f->min_off = off;
	if (f->delayed == 1 || off > f->max_off)
		f->max_off = off;
	/* Starting together, B already starts avg_dstart after A. */
	return off - (int64_t)f->avg_dstart;
}

/* A side preempted for 10 ms must not move the window it is measured to have:
 * past the first samples, no sample counts for more than four times the average. */
static double clip(const struct ftr_fzsync *f, uint64_t x, double avg)
{
	return f->samples > FTR_FZ_SAMPLES / 2 && x > 4 * avg ? 4 * avg : (double)x;
}

bool ftr_fzsync_start_a(struct ftr_fzsync *f, uint32_t *target)
{
	int64_t d = pick_delay(f);

	__atomic_store_n(&f->delay_ns, d, __ATOMIC_RELEASE);
	if (!barrier(f, &f->arrive_a, &f->arrive_b))
		return false;
	*target = __atomic_load_n(&f->target, __ATOMIC_ACQUIRE);
	if (d < 0)
		spin_ns(-d);
	st64(&f->a_start, mono_ns());
	return true;
}

void ftr_fzsync_end_a(struct ftr_fzsync *f)
{
	uint64_t as, ae, bs, be;
	int64_t d = __atomic_load_n(&f->delay_ns, __ATOMIC_RELAXED);

	st64(&f->a_end, mono_ns());
	if (!barrier(f, &f->arrive_a, &f->arrive_b))
		return;
	as = ld64(&f->a_start);
	ae = ld64(&f->a_end);
	bs = ld64(&f->b_start);
	be = ld64(&f->b_end);
	f->iters++;
	f->sum_a += ae - as;
	f->sum_b += be - bs;
	if (bs < ae && as < be)
		f->overlaps++;
	f->samples++;
	if (f->samples == 1) {
		f->avg_a = ae - as;
		f->avg_b = be - bs;
		f->avg_dstart = (double)(int64_t)(bs - as);
		return;
	}
	f->avg_a += (clip(f, ae - as, f->avg_a) - f->avg_a) * ALPHA;
	f->avg_b += (clip(f, be - bs, f->avg_b) - f->avg_b) * ALPHA;
	/* The natural offset is what remains once this iteration's delay is taken out. */
	f->avg_dstart += ((double)((int64_t)(bs - as) - d) - f->avg_dstart) * ALPHA;
}

bool ftr_fzsync_start_b(struct ftr_fzsync *f, uint32_t target)
{
	int64_t d;

	__atomic_store_n(&f->target, target, __ATOMIC_RELEASE);
	if (!barrier(f, &f->arrive_b, &f->arrive_a))
		return false;
	d = __atomic_load_n(&f->delay_ns, __ATOMIC_ACQUIRE);
	if (d > 0)
		spin_ns(d);
	st64(&f->b_start, mono_ns());
	return true;
}

void ftr_fzsync_end_b(struct ftr_fzsync *f)
{
	st64(&f->b_end, mono_ns());
	barrier(f, &f->arrive_b, &f->arrive_a);
}

void ftr_fzsync_str(const struct ftr_fzsync *f, char *buf, unsigned long len)
{
	double n = f->iters ? f->iters : 1;

	snprintf(buf, len, "%llu iterations, %llu overlapped (%.1f%%); mean window: collapse %.1f us, "
		 "write %.1f us (moving averages now %.1f, %.1f); natural start offset %+.1f us; "
		 "offsets tried %+.1f..%+.1f us",
		 (unsigned long long)f->iters, (unsigned long long)f->overlaps,
		 100.0 * f->overlaps / n, f->sum_a / n / 1e3, f->sum_b / n / 1e3, f->avg_a / 1e3,
		 f->avg_b / 1e3, f->avg_dstart / 1e3, f->min_off / 1e3, f->max_off / 1e3);
}
