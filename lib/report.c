// SPDX-License-Identifier: GPL-2.0
/*
 * What a failure report says: where (file, offset), what was expected and found,
 * decoded, which operations touched it recently, the THP state there, the kernel log,
 * and one command line that replays the run.  Also the run's counters and the KTAP
 * verdicts of the data and collapse subtests.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "contract.h"
#include "engine.h"
#include "known.h"
#include "ktap.h"
#include "replay.h"
#include "role.h"
#include "roster.h"
#include "thp.h"
#include "trace.h"

#define HITS 12

static void hex_line(const char *tag, const uint8_t *p, unsigned off)
{
	char buf[128];
	size_t o = 0;

	for (unsigned i = 0; i < 16; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%02x%s", p[off + i], i == 7 ? "  " : " ");
	ftr_diag("    %s +%03x: %s", tag, off, buf);
}

int ftr_engine_find_ops(struct ftr_engine *e, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
			struct ftr_op_hit *hits, int max)
{
	struct ftr_oplog *logs[FTR_MAX_ROLES];

	for (int i = 0; i < e->nroles; i++)
		logs[i] = e->roles[i].log;
	return ftr_oplog_find(logs, e->nroles, off, len, op_mask, until, hits, max);
}

void ftr_report_ops(struct ftr_engine *e, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
		    int max, const char *title)
{
	struct ftr_op_hit hits[HITS];
	char line[256];
	int n = ftr_engine_find_ops(e, off, len, op_mask, until, hits, max < HITS ? max : HITS);

	ftr_diag("  %s (oldest first):%s", title, n ? "" : " none");
	for (int i = 0; i < n; i++) {
		ftr_op_format(&hits[i], e->roles[hits[i].role].name, line, sizeof(line));
		ftr_diag("    %s", line);
	}
}

static void report_one(struct ftr_engine *e, const struct ftr_bad *b)
{
	uint64_t off = (uint64_t)b->block * FTR_BLOCK, want = b->want;
	const struct ftr_found *f = &b->found;
	uint8_t exp[FTR_BLOCK], got[FTR_BLOCK];
	unsigned at = b->first_byte & ~15u;

	ftr_diag("block %u at offset %#llx (+%u): class %s, %u of %d bytes differ from byte %u",
		 b->block, (unsigned long long)off, FTR_BLOCK, ftr_class_name(b->cls), b->nr_bytes,
		 FTR_BLOCK, b->first_byte);
	ftr_diag("  expected: gen %u by %s%s", ftr_ver_gen(want), ftr_path_names[ftr_ver_path(want)],
		 b->oldest != want ? " (or anything back to" : "");
	if (b->oldest != want)
		ftr_diag("            gen %u by %s, the versions a racing read may see)",
			 ftr_ver_gen(b->oldest), ftr_path_names[ftr_ver_path(b->oldest)]);
	if (f->stamp_valid)
		ftr_diag("  found:    stamp of file %u block %u gen %u by %s%s", f->file_id, f->block,
			 f->gen, f->path < FTR_P_NR ? ftr_path_names[f->path] : "?",
			 f->seed != e->seed ? " (from another seed)" : "");
	else
		ftr_diag("  found:    no valid stamp header");
	ftr_stamp(&e->oracle, exp, b->block, ftr_ver_gen(want), ftr_ver_path(want));
	if (pread(e->fd, got, FTR_BLOCK, off) == FTR_BLOCK && at < FTR_BLOCK) {
		hex_line("want", exp, at);
		hex_line("file", got, at);
	}
	/* Apart, or a busy reader's reads crowd out the write that matters; of the whole
	 * page, since the kernel caches, zeroes and invalidates pages, not blocks. */
	ftr_report_ops(e, off & ~(uint64_t)(e->psz - 1), e->psz, FTR_OPS_DATA & ~(1u << FTR_OP_READ),
		       UINT64_MAX, HITS, "recent writes and punches of its page");
	ftr_report_ops(e, off, FTR_BLOCK, 1u << FTR_OP_READ, UINT64_MAX, HITS / 2,
		       "recent racing reads of this block");
	ftr_report_ops(e, off, FTR_BLOCK, FTR_OPS_ALL & ~FTR_OPS_DATA, UINT64_MAX, HITS / 2,
		       "recent collapses and splits of its PMD");
	ftr_report_thp_range(e, off / e->pmd);
}

void ftr_report_bad(struct ftr_engine *e, const char *how, const struct ftr_bad *bad,
		    uint32_t nbad, uint32_t detail)
{
	uint32_t classes[FTR_GARBAGE + 1] = { 0 };
	char line[200] = "";
	size_t o = 0;

	for (uint32_t i = 0; i < nbad; i++)
		classes[bad[i].cls]++;
	for (int c = FTR_LOST; c <= FTR_GARBAGE; c++)
		if (classes[c] && o < sizeof(line))
			o += snprintf(line + o, sizeof(line) - o, " %s %u", ftr_class_name(c), classes[c]);
	if (!detail) {
		ftr_diag("wrong data also through %s after epoch %llu: %u blocks (%s), the first block %u at %#llx",
			 how, (unsigned long long)e->epochs, nbad, line + 1, bad[0].block,
			 (unsigned long long)bad[0].block * FTR_BLOCK);
		return;
	}
	ftr_diag("WRONG DATA on %s (%s) in %s, seen through %s after epoch %llu:", e->env->fs,
		 e->env->caps.fstype, e->path, how, (unsigned long long)e->epochs);
	for (uint32_t i = 0; i < nbad && i < detail; i++)
		report_one(e, &bad[i]);
	if (nbad > detail)
		ftr_diag("... and %u more bad blocks", nbad - detail);
	for (int c = FTR_LOST; c <= FTR_GARBAGE; c++)
		if (classes[c])
			ftr_diag("oracle: class=%s blocks=%u", ftr_class_name(c), classes[c]);
}

void ftr_report_thp_range(struct ftr_engine *e, uint32_t pmd)
{
	static struct ftr_thp_range tr;	/* the controller's, and too big for a role's stack */
	struct ftr_pmd_state *s = &e->pmds[pmd];
	struct ftr_smaps sm;
	char str[640];

	/* The same reading and wording as tools/thpmap --pid. */
	ftr_thp_range_read(0, (unsigned long)e->map + (size_t)pmd * e->pmd, e->pmd, &tr);
	ftr_thp_range_str(&tr, str, sizeof(str));
	ftr_diag("  THP state of PMD %u [%#zx, %#zx): %s", pmd, pmd * e->pmd, (pmd + 1) * e->pmd, str);
	if (!ftr_smaps_read(0, (unsigned long)e->map, &sm))
		ftr_diag("  mapping: Rss %lu kB, FilePmdMapped %lu kB, ShmemPmdMapped %lu kB", sm.rss_kb,
			 sm.file_pmd_kb, sm.shmem_pmd_kb);
	ftr_diag("  PMD %u: splits begun %llu, collapses begun %llu, collapsed and untouched since: %s",
		 pmd, (unsigned long long)s->split.seq, (unsigned long long)s->collapse.seq,
		 s->ok_split == s->split.seq + 1 ? "yes" : "no");
}

/* "mmap=2,openw=1" of the roles of one kind the run really had: --threads spreads and
 * unusable paths dropped are already applied, so the line needs neither. */
static size_t role_mix(struct ftr_engine *e, enum ftr_role_kind kind, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < e->nroles; i++) {
		const struct ftr_role *r = &e->roles[i];
		const char *name = ftr_roster_mode_name(kind, r->mode);
		int n = 0;

		if (r->kind != kind)
			continue;
		for (int j = 0; j < e->nroles; j++)
			if (e->roles[j].kind == kind && e->roles[j].mode == r->mode && j < i)
				break;
			else if (e->roles[j].kind == kind && e->roles[j].mode == r->mode)
				n++;
		/* only the first role of each name counts them all */
		if (n && o < len)
			o += snprintf(buf + o, len - o, "%s%s=%d", o ? "," : "", name, n);
	}
	return o;
}

/* thp-race next to this binary: build/selftests/X -> build/tools/thp-race, the same
 * in an installed tree; thp-race itself names its own path. */
static void thp_race_path(char *buf, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	snprintf(buf, len, "thp-race");
	if (n <= 0)
		return;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	/* Not checked with access(): a private tmpfs over /tmp may hide it from us now. */
	if ((slash = strrchr(exe, '/')) && !strcmp(slash, "/selftests")) {
		*slash = '\0';
		snprintf(buf, len, "%s/tools/thp-race", exe);
	} else if (slash && !strcmp(slash, "/tools")) {
		snprintf(buf, len, "%s/thp-race", exe);
	}
}

void ftr_report_replay(struct ftr_engine *e)
{
	static const char *const splits[] = { "none", "debugfs", "punch", "pageout" };
	const struct ftr_opts *o = e->env->opts;
	const struct ftr_scenario *sc = e->sc;
	char cmd[2048], mix[256], prog[4200];
	bool self = !strcmp(e->env->name, "thp-race");
	size_t n = 0;

	ftr_diag("seed %llu, kernel %s", (unsigned long long)e->seed, e->env->kernel);
	if (!self)
		ftr_diag("replay: %s%s --seed %llu", o->prog, o->cmdline, (unsigned long long)e->seed);
	thp_race_path(prog, sizeof(prog));
#define ARG(...) (n += n < sizeof(cmd) ? snprintf(cmd + n, sizeof(cmd) - n, __VA_ARGS__) : 0)
	ARG("%s", prog);
	if (o->dir)
		ARG(" --dir %s", o->dir);
	ARG(" --fs %s --seed %llu --duration %g --file-size %zu", e->env->fs, (unsigned long long)e->seed,
	    o->duration ?: (o->quick ? 2 : 10), e->size);
	if (role_mix(e, FTR_R_WRITER, mix, sizeof(mix)))
		ARG(" --writers %s", mix);
	ARG(" --readers '%s'", role_mix(e, FTR_R_READER, mix, sizeof(mix)) ? mix : "");
	if (role_mix(e, FTR_R_CHURN, mix, sizeof(mix)))
		ARG(" --churn %s", mix);
	ARG(" --collapse %s --split %s --pause-us %u", e->khugepaged ? "khugepaged" : sc->collapse ?: "madvise",
	    splits[e->split], sc->pause_us);
	if (sc->fzsync)
		ARG(" --fzsync");
	if (sc->ro_mapping)
		ARG(" --ro");
	if (o->inject)
		ARG(" --inject %s", ftr_inject_names[o->inject]);
	if (o->known_issues)
		ARG(" --known-issues %s", o->known_issues);
#undef ARG
	ftr_diag("replay%s (kernel %s, %s on %s): %s", self ? "" : " with thp-race", e->env->kernel,
		 e->env->caps.fstype, e->env->dir, cmd);
	if (e->replay)
		ftr_diag("this run replayed a record: %s --replay %s", prog, e->replay->file);
}

/* --record: every role's operation log, merged by time (the last LOG_CAP_RECORD per
 * role), then the machine section --replay reads (replay.c). */
void ftr_report_record(struct ftr_engine *e)
{
	const char *names[FTR_MAX_ROLES];
	struct ftr_oplog *logs[FTR_MAX_ROLES];
	FILE *f = e->env->record;

	for (int i = 0; i < e->nroles; i++) {
		logs[i] = e->roles[i].log;
		names[i] = e->roles[i].name;
	}
	fprintf(f, "# file-thp-race operation log: %s, seed %llu, kernel %s, fs %s, the last %d "
		"operations of each role\n", e->env->name, (unsigned long long)e->seed, e->env->kernel,
		e->env->fs, e->nroles ? (int)e->roles[0].log->cap : 0);
	int bad = ftr_oplog_dump(logs, e->nroles, names, f);

	if (!bad)
		ftr_replay_write(e, f);
	if (bad || ferror(f) || fflush(f))
		ftr_diag("record: writing %s failed: %s", e->env->opts->record, strerror(errno));
	else
		ftr_diag("record: operation log written to %s", e->env->opts->record);
}

void ftr_report_summary(struct ftr_engine *e)
{
	uint64_t by_path[FTR_P_NR][3] = { { 0 } };

	for (int i = 0; i < e->nroles; i++) {
		struct ftr_role *r = &e->roles[i];
		char line[400];

		if (r->kind == FTR_R_WRITER) {
			by_path[r->mode][0] += r->st->ops;
			by_path[r->mode][1] += r->st->bytes;
			by_path[r->mode][2] += r->st->overlaps;
		}
		ftr_role_describe(r, line, sizeof(line));
		ftr_diag("%s", line);
	}
	if (e->sc->fzsync) {
		char fz[256];

		ftr_fzsync_str(&e->sh->fz, fz, sizeof(fz));
		ftr_diag("fzsync: %s", fz);
	}
	ftr_diag("epochs verified %llu (re-read after a complete eviction %llu, pages still resident after eviction %llu); "
		 "oracle %.2f GiB/s over %.1f MiB", (unsigned long long)e->epochs,
		 (unsigned long long)e->evicted_epochs, (unsigned long long)e->resident_after_evict,
		 e->verify_ns ? e->verified_bytes / (e->verify_ns / 1e9) / (1 << 30) : 0.0,
		 e->verified_bytes / 1048576.0);
}

static void churn_result(struct ftr_engine *e)
{
	uint64_t ops = 0;

	for (int i = 0; i < e->nroles; i++) {
		const struct ftr_role *r = &e->roles[i];

		if (r->kind != FTR_R_CHURN)
			continue;
		ops += r->st->res[0];
		if (!r->st->res[0])
			ftr_diag("%s did nothing here: %s", r->name, r->ops->idle_why ?: strerror(r->st->last_err));
	}
	if (__atomic_load_n(&e->sh->contract, __ATOMIC_ACQUIRE) == 2) {
		ftr_diag("CONTRACT BROKEN: %s", e->sh->contract_msg);
		ftr_report_replay(e);
		ftr_ktap_result(FTR_FAIL, "churn", "%s", e->sh->contract_msg);
	} else if (__atomic_load_n(&e->sh->known, __ATOMIC_ACQUIRE) == 2) {
		ftr_diag("KNOWN KERNEL ISSUE %s: %s", ftr_known_names[e->sh->known_id], e->sh->known_msg);
		ftr_report_replay(e);
		ftr_known_result(e, "churn", e->sh->known_id, e->sh->known_msg);
	} else if (!ops) {
		ftr_ktap_result(FTR_SKIP, "churn", "no churn operation succeeded here (see the role lines)");
	} else {
		ftr_ktap_result(FTR_PASS, "churn", NULL);
	}
}

void ftr_results(struct ftr_engine *e)
{
	enum ftr_known_id id;
	char ev[600];

	ftr_report_summary(e);
	if (e->data_bad) {
		id = ftr_known_data(e, ev, sizeof(ev));
		ftr_kmsg_poll(&e->env->kmsg);
		ftr_kmsg_dump(&e->env->kmsg, 20);
		ftr_report_replay(e);
		if (id) {
			ftr_diag("KNOWN KERNEL ISSUE %s: %s", ftr_known_names[id], ev);
			ftr_known_result(e, "data", id, ev);
		} else {
			ftr_ktap_result(FTR_FAIL, "data", "wrong data (report above)");
		}
	} else {
		ftr_ktap_result(FTR_PASS, "data", NULL);
	}
	if (e->sc->churn)
		churn_result(e);
	if (ftr_engine_collapser(e) && ftr_trace_mono())
		ftr_outcome_print(&e->errnos);
	else if (ftr_engine_collapser(e))
		ftr_diag("errno by outcome: unavailable: %s", ftr_trace_active() ?
			 "the trace clock is not CLOCK_MONOTONIC" : "no trace (see coverage)");
	ftr_contract_result(e);
}
