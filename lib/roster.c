// SPDX-License-Identifier: GPL-2.0
/*
 * The roster: the one place that names every role module.  It turns a scenario's
 * mixes ("write=1,mmap=2", "read=1", "punch=1,fsync=1") into roles with their ops, in
 * an order that --record and --replay rely on: writers, the splitter, the collapser
 * (or the khugepaged watcher), churn roles, then readers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aspace.h"
#include "churn.h"
#include "collapser.h"
#include "dma.h"
#include "fadvise.h"
#include "holes.h"
#include "ktap.h"
#include "pins.h"
#include "readers.h"
#include "role.h"
#include "roster.h"
#include "splitter.h"
#include "writers.h"

const struct ftr_role_ops *const ftr_churn_roles[] = {
	&ftr_churn_fsync, &ftr_churn_fdatasync, &ftr_churn_msync, &ftr_churn_msync_async, &ftr_churn_sync_range,
	&ftr_churn_seek, &ftr_churn_mincore, &ftr_churn_cachestat, &ftr_churn_pageout, &ftr_churn_cold, &ftr_churn_compact,
	&ftr_churn_punch, &ftr_churn_zero, &ftr_churn_truncate,
	&ftr_churn_pin_dio, &ftr_churn_pin_uring, &ftr_churn_pin_vmsplice, &ftr_churn_migrate,
	&ftr_churn_dma_dio, &ftr_churn_dma_uring, &ftr_churn_dma_uring_qd,
	&ftr_churn_fork, &ftr_churn_mremap, &ftr_churn_exit, &ftr_churn_misaligned, &ftr_churn_fadvise,
};
const unsigned ftr_churn_nr = sizeof(ftr_churn_roles) / sizeof(ftr_churn_roles[0]);

static const struct ftr_role_ops *role_ops(enum ftr_role_kind kind, unsigned mode)
{
	switch (kind) {
	case FTR_R_WRITER: return &ftr_writer_ops;
	case FTR_R_COLLAPSER: return &ftr_collapser_ops;
	case FTR_R_KHUGEPAGED: return &ftr_khugepaged_ops;
	case FTR_R_SPLITTER: return &ftr_splitter_ops;
	case FTR_R_READER: return &ftr_reader_ops;
	default: return ftr_churn_roles[mode];
	}
}

/* The name of a role's mode in a mix: its writer path, reader mode or churn role. */
static const char *mode_name(enum ftr_role_kind kind, unsigned m)
{
	switch (kind) {
	case FTR_R_WRITER: return ftr_path_names[m];
	case FTR_R_READER: return ftr_read_names[m];
	case FTR_R_CHURN: return ftr_churn_roles[m]->name;
	default: return role_ops(kind, m)->name;
	}
}

static struct ftr_role *add_role(struct ftr_arena *a, struct ftr_roles *rs, enum ftr_role_kind kind, unsigned mode,
				 const char *name)
{
	struct ftr_role *r = &rs->roles[rs->nroles];

	r->id = rs->nroles++;
	r->arena = a;
	r->kind = kind;
	r->mode = mode;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ops = role_ops(kind, mode);
	r->mode_name = mode_name(kind, mode);
	r->process = r->ops->process || (kind == FTR_R_WRITER && mode == FTR_P_OPENW);
	r->counts_overlaps = kind == FTR_R_CHURN;
	return r;
}

/* "write=1,mmap=2" -> roles; names are writer paths, reader modes or churn roles.
 * --threads N spreads N writers over the mix's paths in order instead of the mix's
 * counts. */
static int parse_mix(struct ftr_arena *a, struct ftr_roles *rs, const char *mix, enum ftr_role_kind kind, int total)
{
	unsigned modes[16], counts[16], n = 0;
	unsigned lim = kind == FTR_R_WRITER ? FTR_P_NR : kind == FTR_R_CHURN ? ftr_churn_nr : FTR_READ_NR;
	char buf[256], name[32], *tok, *save;
	if (!mix || !*mix)
		return 0;
	snprintf(buf, sizeof(buf), "%s", mix);
	for (tok = strtok_r(buf, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned m;

		counts[n] = eq ? strtoul(eq + 1, NULL, 10) : 1;
		if (eq)
			*eq = '\0';
		for (m = 0; m < lim; m++)
			if (!strcmp(tok, mode_name(kind, m)))
				break;
		if (m == lim || counts[n] > 16) {
			fprintf(stderr, "unknown role or count '%s' in mix '%s'\n", tok, mix);
			return -1;
		}
		modes[n++] = m;
	}
	for (unsigned k = 0, c = 0; total ? (int)c < total : k < n; ) {
		unsigned m = total ? modes[c % n] : modes[k];

		if (!total && c == counts[k]) {
			k++;
			c = 0;
			continue;
		}
		c++;
		if (rs->nroles == FTR_MAX_ROLES)
			return -1;
		snprintf(name, sizeof(name), "%s-%s%d", mode_name(kind, m),
			 kind == FTR_R_WRITER ? "writer" : kind == FTR_R_CHURN ? "churn" : "reader",
			 rs->nroles);
		add_role(a, rs, kind, m, name);
	}
	return 0;
}

int ftr_roster_build(struct ftr_arena *a, struct ftr_roles *rs)
{
	const struct ftr_scenario *sc = a->sc;
	const struct ftr_opts *o = a->env->opts;
	const char *split = sc->split ?: "auto";
	char why[160];
	int i, n, splitter = -1;

	if (parse_mix(a, rs, sc->writers, FTR_R_WRITER, o->threads))
		return -1;
	/* Drop writer paths this kernel or filesystem cannot do; say why once. */
	for (i = n = 0; i < rs->nroles; i++) {
		if (!ftr_path_usable(a, rs->roles[i].mode, why, sizeof(why))) {
			ftr_diag("role %s not run: %s", rs->roles[i].name, why);
			continue;
		}
		rs->roles[n] = rs->roles[i];
		rs->roles[n].id = n;
		n++;
	}
	rs->nroles = n;
	for (i = 0; i < rs->nroles; i++)
		a->owner_role[a->nowners++] = i;

	static const char *const split_modes[] = {
		[FTR_SPLIT_NONE] = "none", [FTR_SPLIT_DEBUGFS] = "debugfs",
		[FTR_SPLIT_PUNCH] = "punch", [FTR_SPLIT_PAGEOUT] = "pageout",
	};

	a->split = FTR_SPLIT_NONE;
	if (!strcmp(split, "auto"))
		a->split = a->env->caps.debugfs_split.ok ? FTR_SPLIT_DEBUGFS :
			   a->env->caps.punch.ok && !sc->ro_mapping ? FTR_SPLIT_PUNCH : FTR_SPLIT_PAGEOUT;
	for (i = 0; i < (int)(sizeof(split_modes) / sizeof(split_modes[0])); i++)
		if (!strcmp(split, split_modes[i]))
			a->split = i;
	if (a->split != FTR_SPLIT_NONE) {
		char name[32];

		snprintf(name, sizeof(name), "%s-splitter", split_modes[a->split]);
		add_role(a, rs, FTR_R_SPLITTER, a->split, name);
		/* It owns pages like a writer: to rewrite what it punched, or for dirty splits. */
		if (ftr_splitter_owns(a)) {
			splitter = a->nowners;
			a->owner_role[a->nowners++] = rs->nroles - 1;
		}
	}
	if (!sc->collapse || !strcmp(sc->collapse, "madvise")) {
		add_role(a, rs, FTR_R_COLLAPSER, 0, "collapser");
		/* Only MADV_COLLAPSE has a window to line up with; khugepaged picks its own. */
		if (sc->fzsync && a->nowners && rs->roles[0].kind == FTR_R_WRITER)
			rs->roles[0].fz = true;
	}
	else if (!strcmp(sc->collapse, "khugepaged"))
		a->khugepaged = true, add_role(a, rs, FTR_R_KHUGEPAGED, 0, "khugepaged-watch");
	/* Through debugfs, a whole PMD at times, for dirty splits of a whole THP that it
	 * collapses itself: not where only khugepaged collapses. */
	if (splitter >= 0 && a->split == FTR_SPLIT_DEBUGFS && !a->khugepaged)
		a->pmd_owner = splitter;
	if (parse_mix(a, rs, sc->churn, FTR_R_CHURN, 0))
		return -1;
	for (i = 0; i < rs->nroles; i++) {
		const struct ftr_role_ops *ops = rs->roles[i].ops;

		if (rs->roles[i].kind != FTR_R_CHURN || !ops->owns)
			continue;
		if (ops->tail)
			a->tail_owner = a->nowners;
		a->owner_role[a->nowners++] = i;
	}
	if (parse_mix(a, rs, sc->readers, FTR_R_READER, 0))
		return -1;
	return a->nowners ? 0 : -1;
}

