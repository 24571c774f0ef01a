// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ktap.h"
#include "replay.h"
#include "role.h"

static const char *const split_names[] = { "none", "debugfs", "punch", "pageout" };



/* "write=2,mmap=1,write=1": the roles of one kind in id order, runs counted, so that
 * the engine builds them again with the same ids (--threads spreads are spelled out). */
static void rle_mix(const struct ftr_roles *rs, enum ftr_role_kind kind, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < rs->nroles;) {
		const struct ftr_role *r = &rs->roles[i];
		int j = i + 1;

		if (r->kind != kind) {
			i++;
			continue;
		}
		while (j < rs->nroles && rs->roles[j].kind == kind && rs->roles[j].mode == r->mode)
			j++;
		if (o < len)
			o += snprintf(buf + o, len - o, "%s%s=%d", o ? "," : "", r->mode_name, j - i);
		i = j;
	}
}

void ftr_replay_write(const struct ftr_arena *a, const struct ftr_roles *rs, uint64_t epochs, FILE *f)
{
	static char w[256], rd[256], ch[256];
	bool wrapped = false, collapser = false;

	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];

		collapser |= r->kind == FTR_R_COLLAPSER;
		if ((r->ops->replay_fits != NULL) && r->log->head > r->log->cap)
			wrapped = true;
	}
	rle_mix(rs, FTR_R_WRITER, w, sizeof(w));
	rle_mix(rs, FTR_R_READER, rd, sizeof(rd));
	rle_mix(rs, FTR_R_CHURN, ch, sizeof(ch));
	fprintf(f, "# replay section, read by thp-race --replay FILE: the run, its roles, then "
		"\"R role epoch op path off len arg gen res\" for every operation of each writer, "
		"collapser and splitter in its order\n");
	fprintf(f, FTR_REPLAY_HEADER " seed=%llu pmd=%zu size=%zu epochs=%llu wrapped=%d collapse=%s "
		"split=%s pause_us=%u ro=%d fzsync=%d inject=%s duration=%g writers=%s readers=%s churn=%s\n",
		(unsigned long long)a->seed, a->pmd, a->size, (unsigned long long)epochs, wrapped,
		a->khugepaged ? "khugepaged" : collapser ? "madvise" : "none", split_names[a->split],
		a->sc->pause_us, a->sc->ro_mapping, a->sc->fzsync, ftr_inject_names[a->env->opts->inject],
		a->env->opts->duration ?: (a->env->opts->quick ? 2 : 10), w, rd, ch);
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_role *r = &rs->roles[i];

		fprintf(f, "@role %d %s replayed=%d n=%llu wrapped=%d\n", i, r->name, (r->ops->replay_fits != NULL),
			(unsigned long long)r->log->head, r->log->head > r->log->cap);
	}
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_oplog *l = rs->roles[i].log;

		if (!rs->roles[i].ops->replay_fits)
			continue;
		for (uint64_t k = l->head > l->cap ? l->head - l->cap : 0; k < l->head; k++) {
			const struct ftr_op_entry *x = &l->e[k % l->cap];

			fprintf(f, "R %d %u %s %s %#llx %#x %#x %u %d\n", i, x->epoch, ftr_op_names[x->op],
				x->op == FTR_OP_WRITE ? ftr_path_names[x->path] : "-",
				(unsigned long long)x->off, x->len, x->arg, x->gen, x->res);
		}
	}
}

static int header(struct ftr_replay *rp, char *line, char *why, size_t len)
{
	char *tok, *save;

	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '='), *v;
		unsigned long long n;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		n = strtoull(v, NULL, 10);
#define STR(k) else if (!strcmp(tok, #k)) snprintf(rp->k, sizeof(rp->k), "%s", v)
		if (!strcmp(tok, "seed"))
			rp->seed = n;
		else if (!strcmp(tok, "pmd"))
			rp->pmd = n;
		else if (!strcmp(tok, "size"))
			rp->size = n;
		else if (!strcmp(tok, "epochs"))
			rp->epochs = n;
		else if (!strcmp(tok, "wrapped"))
			rp->wrapped = n;
		else if (!strcmp(tok, "pause_us"))
			rp->pause_us = n;
		else if (!strcmp(tok, "ro"))
			rp->ro = n;
		else if (!strcmp(tok, "fzsync"))
			rp->fzsync = n;
		else if (!strcmp(tok, "duration"))
			rp->duration = strtod(v, NULL);
		STR(collapse); STR(split); STR(inject); STR(writers); STR(readers); STR(churn);
#undef STR
	}
	if (!rp->pmd || !rp->size || rp->size % rp->pmd || !rp->epochs || !rp->writers[0])
		return snprintf(why, len, "the header line lacks the PMD or file size, the epochs or the writers"), -1;
	return 0;
}

int ftr_replay_header(struct ftr_replay *rp, const char *file, char *why, size_t len)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int ret = -1;

	memset(rp, 0, sizeof(*rp));
	rp->file = file;
	if (!f)
		return snprintf(why, len, "%s", strerror(errno)), -1;
	while ((got = getline(&line, &cap, f)) > 0) {
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (!strncmp(line, FTR_REPLAY_HEADER " ", sizeof(FTR_REPLAY_HEADER))) {
			ret = header(rp, line, why, len);
			break;
		}
	}
	if (got <= 0)
		snprintf(why, len, "no \"%s\" line: not a --record file of this version", FTR_REPLAY_HEADER);
	free(line);
	fclose(f);
	return ret;
}

static int find_name(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return i;
	return -1;
}

/* One "R role epoch op path off len arg gen res" line, checked so that a hand-edited
 * record cannot write outside the file. */
static int op_line(struct ftr_replay *rp, const char *line, char *why, size_t len)
{
	char opn[32], pathn[32];
	unsigned long long off;
	unsigned epoch, l, arg, gen;
	struct ftr_replay_role *rr;
	struct ftr_replay_op *o;
	int role, res, op, path = 0;

	if (sscanf(line, "R %d %u %31s %31s %llx %x %x %u %d", &role, &epoch, opn, pathn, &off, &l,
		   &arg, &gen, &res) != 9)
		return snprintf(why, len, "not \"R role epoch op path off len arg gen res\""), -1;
	if (role < 0 || role >= rp->nroles || !rp->roles[role].replayed)
		return snprintf(why, len, "role %d is not a replayed role of the record", role), -1;
	rr = &rp->roles[role];
	op = find_name(ftr_op_names, FTR_OP_NR, opn);
	if (strcmp(pathn, "-") && (path = find_name(ftr_path_names, FTR_P_NR, pathn)) < 0)
		return snprintf(why, len, "unknown path '%s'", pathn), -1;
	if (op < 0)
		return snprintf(why, len, "unknown operation '%s'", opn), -1;
	if (!epoch || epoch > rp->epochs || (rr->n && epoch < rr->ops[rr->n - 1].epoch))
		return snprintf(why, len, "epoch %u out of order or beyond the run's %u", epoch, rp->epochs), -1;
	if (off % FTR_BLOCK || l % FTR_BLOCK || !l || off + l > rp->size)
		return snprintf(why, len, "extent %#llx+%#x is not whole blocks inside the file", off, l), -1;
	o = realloc(rr->ops, (rr->n + 1) * sizeof(*o));
	if (!o)
		return snprintf(why, len, "%s", strerror(ENOMEM)), -1;
	rr->ops = o;
	rr->ops[rr->n++] = (struct ftr_replay_op){ .off = off, .len = l, .arg = arg, .gen = gen,
						   .epoch = epoch, .op = op, .path = path };
	return 0;
}

int ftr_replay_load(struct ftr_replay *rp, const char *file, char *why, size_t len)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, name[64];
	unsigned long lineno = 0;
	unsigned long long n[FTR_MAX_ROLES] = { 0 };
	bool have_header = false;
	size_t cap = 0;
	ssize_t got;
	int ret = -1, id, rep, wrap;

	memset(rp, 0, sizeof(*rp));
	rp->file = file;
	if (!f)
		return snprintf(why, len, "%s", strerror(errno)), -1;
	while ((got = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (!have_header) {
			if (strncmp(line, FTR_REPLAY_HEADER " ", sizeof(FTR_REPLAY_HEADER)))
				continue;
			if (header(rp, line, why, len))
				goto out;
			have_header = true;
		} else if (!strncmp(line, "@role ", 6)) {
			if (sscanf(line, "@role %d %63s replayed=%d n=%llu wrapped=%d", &id, name, &rep, &n[rp->nroles],
				   &wrap) != 5 || id != rp->nroles || rp->nroles == FTR_MAX_ROLES ||
				   strlen(name) >= sizeof(rp->roles[0].name)) {
				snprintf(why, len, "line %lu: a malformed role line", lineno);
				goto out;
			}
			snprintf(rp->roles[id].name, sizeof(rp->roles[id].name), "%s", name);
			rp->roles[id].replayed = rep;
			rp->wrapped |= rep && wrap;
			rp->nroles++;
		} else if (line[0] == 'R') {
			char what[160];

			if (op_line(rp, line, what, sizeof(what))) {
				snprintf(why, len, "line %lu: %s", lineno, what);
				goto out;
			}
		} else if (line[0] && line[0] != '#') {
			snprintf(why, len, "line %lu: not part of a replay section", lineno);
			goto out;
		}
	}
	if (!have_header) {
		snprintf(why, len, "no \"%s\" line: not a --record file of this version", FTR_REPLAY_HEADER);
		goto out;
	}
	/* What cannot be replayed, said plainly. */
	if (rp->wrapped) {
		snprintf(why, len, "a role's operation log wrapped: the record lacks its oldest operations");
		goto out;
	}
	if (rp->churn[0]) {
		snprintf(why, len, "it has churn roles (%s), which are not replayed", rp->churn);
		goto out;
	}
	if (!strcmp(rp->collapse, "khugepaged")) {
		snprintf(why, len, "khugepaged collapses on its own schedule, which cannot be replayed");
		goto out;
	}
	if (rp->fzsync) {
		snprintf(why, len, "--fzsync pairs operations by their timing, which cannot be replayed");
		goto out;
	}
	for (int i = 0; i < rp->nroles; i++)
		if (rp->roles[i].replayed && rp->roles[i].n != n[i]) {
			snprintf(why, len, "role %s has %u operations, its role line says %llu: truncated",
				 rp->roles[i].name, rp->roles[i].n, n[i]);
			goto out;
		}
	/* Cursors: roles may be forked processes, and the controller reads them. */
	rp->pos = mmap(NULL, 3 * FTR_MAX_ROLES * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rp->pos == MAP_FAILED) {
		rp->pos = NULL;
		snprintf(why, len, "%s", strerror(errno));
		goto out;
	}
	rp->skipped = rp->pos + FTR_MAX_ROLES;
	rp->diverged = rp->pos + 2 * FTR_MAX_ROLES;
	ret = 0;
out:
	free(line);
	fclose(f);
	return ret;
}

bool ftr_replay_check(const struct ftr_replay *rp, const struct ftr_arena *a, const struct ftr_roles *rs,
		      char *why, size_t len)
{
	if (rs->nroles != rp->nroles)
		return snprintf(why, len, "the record has %d roles, this run %d", rp->nroles, rs->nroles), false;
	if (a->size != rp->size || a->pmd != rp->pmd)
		return snprintf(why, len, "file or PMD size differs"), false;
	for (int i = 0; i < rs->nroles; i++) {
		const struct ftr_replay_role *rr = &rp->roles[i];

		if (strcmp(rs->roles[i].name, rr->name))
			return snprintf(why, len, "role %d is %s here, %s in the record", i, rs->roles[i].name,
					rr->name), false;
		for (uint32_t k = 0; k < rr->n; k++)
			if (!rs->roles[i].ops->replay_fits || !rs->roles[i].ops->replay_fits(&rs->roles[i], &rr->ops[k]))
				return snprintf(why, len, "operation %u of %s does not fit the role", k, rr->name),
				       false;
	}
	return true;
}

const struct ftr_replay_op *ftr_replay_peek(struct ftr_replay *rp, int role, uint32_t epoch,
					    uint32_t k)
{
	const struct ftr_replay_role *rr = &rp->roles[role];
	uint64_t pos;

	if (role >= rp->nroles || !rr->replayed)
		return NULL;
	pos = __atomic_load_n(&rp->pos[role], __ATOMIC_RELAXED);
	if (!k && pos < rr->n && rr->ops[pos].epoch < epoch) {
		while (pos < rr->n && rr->ops[pos].epoch < epoch) {
			pos++;
			rp->skipped[role]++;
		}
		__atomic_store_n(&rp->pos[role], pos, __ATOMIC_RELEASE);
	}
	if (pos + k >= rr->n || rr->ops[pos + k].epoch != epoch)
		return NULL;
	return &rr->ops[pos + k];
}

void ftr_replay_advance(struct ftr_replay *rp, int role, uint32_t k)
{
	__atomic_add_fetch(&rp->pos[role], k, __ATOMIC_RELEASE);
}

void ftr_replay_diverged(struct ftr_replay *rp, int role)
{
	__atomic_add_fetch(&rp->diverged[role], 1, __ATOMIC_RELAXED);
}

bool ftr_replay_epoch_done(struct ftr_replay *rp, uint32_t epoch)
{
	for (int i = 0; i < rp->nroles; i++) {
		const struct ftr_replay_role *rr = &rp->roles[i];
		uint64_t pos = __atomic_load_n(&rp->pos[i], __ATOMIC_ACQUIRE);

		if (rr->replayed && pos < rr->n && rr->ops[pos].epoch <= epoch)
			return false;
	}
	return true;
}

void ftr_replay_summary(struct ftr_replay *rp, uint32_t epochs)
{
	uint64_t total = 0, done = 0, skipped = 0, diverged = 0;

	for (int i = 0; i < rp->nroles; i++) {
		total += rp->roles[i].n;
		done += __atomic_load_n(&rp->pos[i], __ATOMIC_ACQUIRE);
		skipped += __atomic_load_n(&rp->skipped[i], __ATOMIC_ACQUIRE);
		diverged += __atomic_load_n(&rp->diverged[i], __ATOMIC_ACQUIRE);
	}
	ftr_diag("replay of %s: %llu of %llu recorded operations done in %u of %u epochs, %llu skipped "
		 "(their epoch ended first), %llu writes landed on another generation than recorded",
		 rp->file, (unsigned long long)(done - skipped), (unsigned long long)total, epochs,
		 rp->epochs, (unsigned long long)skipped, (unsigned long long)diverged);
}
