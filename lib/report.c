// SPDX-License-Identifier: GPL-2.0
/*
 * What a failure report says: where (file, offset), what was expected and found,
 * decoded, which operations touched it recently, the THP state there, the kernel log,
 * and one command line that replays the run.  Also the run's counters.  It describes;
 * verdict.c judges.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "ktap.h"
#include "replay.h"
#include "report.h"
#include "role.h"
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

void ftr_report_ops(const struct ftr_roles *rs, uint64_t off, uint64_t len, unsigned op_mask, uint64_t until,
		    int max, const char *title)
{
	struct ftr_op_hit hits[HITS];
	char line[256];
	int n = ftr_roles_find_ops(rs, off, len, op_mask, until, hits, max < HITS ? max : HITS);

	ftr_diag("  %s (oldest first):%s", title, n ? "" : " none");
	for (int i = 0; i < n; i++) {
		ftr_op_format(&hits[i], rs->roles[hits[i].role].name, line, sizeof(line));
		ftr_diag("    %s", line);
	}
}

static void report_one(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_bad *b)
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
			 f->seed != a->seed ? " (from another seed)" : "");
	else
		ftr_diag("  found:    no valid stamp header");
	ftr_stamp(&a->oracle, exp, b->block, ftr_ver_gen(want), ftr_ver_path(want));
	if (pread(a->fd, got, FTR_BLOCK, off) == FTR_BLOCK && at < FTR_BLOCK) {
		hex_line("want", exp, at);
		hex_line("file", got, at);
	}
	/* Apart, or a busy reader's reads crowd out the write that matters; of the whole
	 * page, since the kernel caches, zeroes and invalidates pages, not blocks. */
	ftr_report_ops(rs, off & ~(uint64_t)(a->psz - 1), a->psz, FTR_OPS_DATA & ~(1u << FTR_OP_READ),
		       UINT64_MAX, HITS, "recent writes and punches of its page");
	ftr_report_ops(rs, off, FTR_BLOCK, 1u << FTR_OP_READ, UINT64_MAX, HITS / 2,
		       "recent racing reads of this block");
	ftr_report_ops(rs, off, FTR_BLOCK, FTR_OPS_ALL & ~FTR_OPS_DATA, UINT64_MAX, HITS / 2,
		       "recent collapses and splits of its PMD");
	ftr_arena_show_pmd(a, off / a->pmd);
}

void ftr_report_bad(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
		    const char *how, const struct ftr_bad *bad, uint32_t nbad, uint32_t detail)
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
			 how, (unsigned long long)l->epochs, nbad, line + 1, bad[0].block,
			 (unsigned long long)bad[0].block * FTR_BLOCK);
		return;
	}
	ftr_diag("WRONG DATA on %s (%s) in %s, seen through %s after epoch %llu:", a->env->fs,
		 a->env->caps.fstype, a->path, how, (unsigned long long)l->epochs);
	for (uint32_t i = 0; i < nbad && i < detail; i++)
		report_one(a, rs, &bad[i]);
	if (nbad > detail)
		ftr_diag("... and %u more bad blocks", nbad - detail);
	for (int c = FTR_LOST; c <= FTR_GARBAGE; c++)
		if (classes[c])
			ftr_diag("oracle: class=%s blocks=%u", ftr_class_name(c), classes[c]);
}

/* "mmap=2,openw=1" of the roles of one kind the run really had: --threads spreads and
 * unusable paths dropped are already applied, so the line needs neither. */
static size_t role_mix(const struct ftr_roles *rs, enum ftr_role_kind kind, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];
		const char *name = r->mode_name;
		int n = 0;

		if (r->kind != kind)
			continue;
		for (int j = 0; j < rs->nroles; j++)
			if (rs->roles[j].kind == kind && rs->roles[j].mode == r->mode && j < i)
				break;
			else if (rs->roles[j].kind == kind && rs->roles[j].mode == r->mode)
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

void ftr_report_replay(const struct ftr_arena *a, const struct ftr_roles *rs)
{
	static const char *const splits[] = { "none", "debugfs", "punch", "pageout" };
	const struct ftr_opts *o = a->env->opts;
	const struct ftr_scenario *sc = a->sc;
	char cmd[2048], mix[256], prog[4200];
	bool self = !strcmp(a->env->name, "thp-race");
	size_t n = 0;

	ftr_diag("seed %llu, kernel %s", (unsigned long long)a->seed, a->env->kernel);
	if (!self)
		ftr_diag("replay: %s%s --seed %llu", o->prog, o->cmdline, (unsigned long long)a->seed);
	thp_race_path(prog, sizeof(prog));
#define ARG(...) (n += n < sizeof(cmd) ? snprintf(cmd + n, sizeof(cmd) - n, __VA_ARGS__) : 0)
	ARG("%s", prog);
	if (o->dir)
		ARG(" --dir %s", o->dir);
	ARG(" --fs %s --seed %llu --duration %g --file-size %zu", a->env->fs, (unsigned long long)a->seed,
	    o->duration ?: (o->quick ? 2 : 10), a->size);
	if (role_mix(rs, FTR_R_WRITER, mix, sizeof(mix)))
		ARG(" --writers %s", mix);
	ARG(" --readers '%s'", role_mix(rs, FTR_R_READER, mix, sizeof(mix)) ? mix : "");
	if (role_mix(rs, FTR_R_CHURN, mix, sizeof(mix)))
		ARG(" --churn %s", mix);
	ARG(" --collapse %s --split %s --pause-us %u", a->khugepaged ? "khugepaged" : sc->collapse ?: "madvise",
	    splits[a->split], sc->pause_us);
	if (sc->fzsync)
		ARG(" --fzsync");
	if (sc->ro_mapping)
		ARG(" --ro");
	if (o->inject)
		ARG(" --inject %s", ftr_inject_names[o->inject]);
	if (o->known_issues)
		ARG(" --known-issues %s", o->known_issues);
#undef ARG
	ftr_diag("replay%s (kernel %s, %s on %s): %s", self ? "" : " with thp-race", a->env->kernel,
		 a->env->caps.fstype, a->env->dir, cmd);
	if (a->replay)
		ftr_diag("this run replayed a record: %s --replay %s", prog, a->replay->file);
}

/* --record: every role's operation log, merged by time (the last LOG_CAP_RECORD per
 * role), then the machine section --replay reads (replay.c). */
void ftr_report_record(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	const char *names[FTR_MAX_ROLES];
	struct ftr_oplog *logs[FTR_MAX_ROLES];
	FILE *f = a->env->record;

	for (int i = 0; i < rs->nroles; i++) {
		logs[i] = rs->roles[i].log;
		names[i] = rs->roles[i].name;
	}
	fprintf(f, "# file-thp-race operation log: %s, seed %llu, kernel %s, fs %s, the last %d "
		"operations of each role\n", a->env->name, (unsigned long long)a->seed, a->env->kernel,
		a->env->fs, rs->nroles ? (int)rs->roles[0].log->cap : 0);
	int bad = ftr_oplog_dump(logs, rs->nroles, names, f);

	if (!bad)
		ftr_replay_write(a, rs, l->epochs, f);
	if (bad || ferror(f) || fflush(f))
		ftr_diag("record: writing %s failed: %s", a->env->opts->record, strerror(errno));
	else
		ftr_diag("record: operation log written to %s", a->env->opts->record);
}

void ftr_report_summary(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l)
{
	uint64_t by_path[FTR_P_NR][3] = { { 0 } }, dirty = 0, dirty_thp = 0, dma = 0, wb = 0;

	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];
		char line[400];

		if (r->kind == FTR_R_WRITER) {
			by_path[r->mode][0] += r->st->ops;
			by_path[r->mode][1] += r->st->bytes;
			by_path[r->mode][2] += r->st->overlaps;
		}
		ftr_role_describe(r, line, sizeof(line));
		ftr_diag("%s", line);
	}
	if (a->sc->fzsync) {
		char fz[256];

		ftr_fzsync_str(&a->sh->fz, fz, sizeof(fz));
		ftr_diag("fzsync: %s", fz);
	}
	ftr_diag("epochs verified %llu (re-read after a complete eviction %llu, pages still resident after eviction %llu); "
		 "oracle %.2f GiB/s over %.1f MiB", (unsigned long long)l->epochs,
		 (unsigned long long)l->evicted_epochs, (unsigned long long)l->resident_after_evict,
		 l->verify_ns ? l->verified_bytes / (l->verify_ns / 1e9) / (1 << 30) : 0.0,
		 l->verified_bytes / 1048576.0);
	if (l->disk_epochs)
		ftr_diag("the disk itself (O_DIRECT) was read after %llu of %llu epochs", (unsigned long long)l->disk_epochs,
			 (unsigned long long)l->epochs);
	if (l->bad_epochs)
		ftr_diag("wrong data in %llu epochs, each put right; %llu epochs verified after the first",
			 (unsigned long long)l->bad_epochs, (unsigned long long)l->epochs_after_bad);
	/* The work that found nothing, per test, for the runner's table. */
	for (int i = 0; i < rs->nroles; i++) {
		dirty += rs->roles[i].kind == FTR_R_SPLITTER ? rs->roles[i].st->dirty_splits : 0;
		dirty_thp += rs->roles[i].kind == FTR_R_SPLITTER ? rs->roles[i].st->thp_checked : 0;
		dma += rs->roles[i].st->calls_in_io;
		wb += rs->roles[i].st->over_writeback;
	}
	ftr_diag("coverage-table: run.epochs=%llu run.disk_epochs=%llu run.dirty_splits=%llu run.dirty_thp_splits=%llu "
		 "run.collapses_over_dma=%llu run.collapses_over_writeback=%llu", (unsigned long long)l->epochs,
		 (unsigned long long)l->disk_epochs, (unsigned long long)dirty, (unsigned long long)dirty_thp,
		 (unsigned long long)dma, (unsigned long long)wb);
}
