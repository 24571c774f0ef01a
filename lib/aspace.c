// SPDX-License-Identifier: GPL-2.0
/*
 * Address-space changes during collapse.  Collapse retracts page tables of every VMA
 * that maps the file, under the file's i_mmap lock but not the other processes'
 * mmap_lock, so what races it is other address spaces changing: a fork whose child
 * writes its MAP_PRIVATE copy, mremap of a collapsed range, a process that exits in
 * the middle of MADV_COLLAPSE, and mappings whose file offset is not PMD-aligned with
 * the address (collapse must refuse them, never corrupt).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aspace.h"
#include "contract.h"
#include "control.h"
#include "mapping.h"
#include "role.h"
#include "thp.h"

static uint64_t as_pmd(struct ftr_role *r)
{
	uint64_t off = ftr_rng_below(&r->rng, r->arena->npmds) * r->arena->pmd;

	ftr_churn_range(r, off, r->arena->pmd);
	return off;
}

/* Copies a PMD out of a live mapping 8 bytes at a time: the check must see one
 * value of each word, not whatever a writer stores between two looks. */
static char *as_copy(const char *map, size_t len)
{
	char *buf = malloc(len);

	for (size_t b = 0; buf && b < len; b += 8)
		*(uint64_t *)(buf + b) = __atomic_load_n((const uint64_t *)(map + b), __ATOMIC_RELAXED);
	return buf;
}

/* Checks one PMD seen through another mapping, racing tolerance from pre on. */
static bool as_check(struct ftr_role *r, const char *map, uint64_t off, const uint64_t *pre)
{
	struct ftr_arena *a = r->arena;
	char *copy = as_copy(map, a->pmd);
	struct ftr_bad bad[FTR_FATAL_BADS];
	uint32_t nbad;

	if (!copy)
		return true;
	nbad = ftr_oracle_check(&a->oracle, copy, off / FTR_BLOCK, a->pmd / FTR_BLOCK, pre, bad, FTR_FATAL_BADS, NULL);
	free(copy);
	if (!nbad)
		return true;
	ftr_fatal(r, bad, nbad, "%s: another mapping of [%#llx, +PMD) shows wrong data", r->name,
		  (unsigned long long)off);
	return false;
}

/*
 * fork(): the child maps a PMD MAP_PRIVATE, writes a private page, collapses its copy,
 * and checks that its page kept its bytes and the rest still shows the file.  Its
 * writes must never reach the file; the engine's epoch checks see to that.
 */
static int op_fork(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = as_pmd(r);
	int status;
	pid_t pid;

	ftr_oracle_snapshot(&a->oracle, off / FTR_BLOCK, a->pmd / FTR_BLOCK, (uint64_t *)p->buf);
	pid = fork();
	if (pid < 0)
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, errno, 1000);
	if (!pid) {
		char *m = ftr_mmap_pmd(a->pmd, PROT_READ | PROT_WRITE, MAP_PRIVATE, p->fd, off);
		size_t page = ftr_rng_below(&r->rng, a->pmd / a->psz) * a->psz;

		if (m == MAP_FAILED)
			_exit(3);
		memset(m + page, 0xc5, a->psz);
		madvise(m, a->pmd, MADV_COLLAPSE);
		for (size_t i = 0; i < a->psz; i++)
			if ((unsigned char)m[page + i] != 0xc5)
				_exit(2);
		/* The rest of the private copy is the file as of the fork or later. */
		memcpy(m + page, a->map + off + page, a->psz);
		m = as_copy(m, a->pmd);
		_exit(m && ftr_oracle_check(&a->oracle, m, off / FTR_BLOCK, a->pmd / FTR_BLOCK,
					    (uint64_t *)p->buf, NULL, 0, NULL) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, ECHILD, 1000);
	if (!WIFEXITED(status)) {
		ftr_contract_fail(r, "a MAP_PRIVATE child of [%#llx, +PMD) died of signal %d (%s)",
				  (unsigned long long)off, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, ECHILD, 1000);
	}
	if (WEXITSTATUS(status) == 2)
		ftr_contract_fail(r, "a MAP_PRIVATE child lost its own write after MADV_COLLAPSE of its copy");
	else if (WEXITSTATUS(status) == 1)
		ftr_contract_fail(r, "a MAP_PRIVATE child of [%#llx, +PMD) saw data the file never held",
				  (unsigned long long)off);
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, WEXITSTATUS(status) == 3 ? ENOMEM : 0, 1000);
}

/* MADV_COLLAPSE of the test file's PMD at off through m: a collapse of the page cache
 * like the collapser's, sealed like one when a write raced it (contract.h). */
static void collapse_sealed(struct ftr_role *r, char *m, uint64_t off)
{
	struct ftr_arena *a = r->arena;
	struct ftr_pmd_state *s = &a->pmds[off / a->pmd];
	uint64_t w0 = ftr_seqc_read(&s->write), t0;

	ftr_seqc_begin(&a->sh->collapse_any);
	ftr_seqc_begin(&s->collapse);
	t0 = ftr_now_ns();
	if (!madvise(m, a->pmd, MADV_COLLAPSE) && !ftr_seqc_same(&s->write, w0))
		ftr_contract_seal(a, off / a->pmd, t0, ftr_now_ns(), true);
	ftr_seqc_end(&s->collapse);
	ftr_seqc_end(&a->sh->collapse_any);
}

/* mremap of a collapsed range to another PMD-aligned place, or to a misaligned one. */
static int op_mremap(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = as_pmd(r);
	char *m, *dst, *to;
	int err = 0;

	m = ftr_mmap_pmd(a->pmd, PROT_READ, MAP_SHARED, p->fd, off);
	dst = ftr_mmap_pmd(2 * a->pmd, PROT_NONE, MAP_PRIVATE, -1, 0);
	if (m == MAP_FAILED || dst == MAP_FAILED) {
		if (m != MAP_FAILED)
			munmap(m, a->pmd);
		if (dst != MAP_FAILED)
			munmap(dst, 2 * a->pmd);
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, ENOMEM, 1000);
	}
	collapse_sealed(r, m, off);
	ftr_oracle_snapshot(&a->oracle, off / FTR_BLOCK, a->pmd / FTR_BLOCK, (uint64_t *)p->buf);
	to = dst + (ftr_rng_below(&r->rng, 2) ? 0 : a->psz);	/* PMD-aligned or not */
	if (mremap(m, a->pmd, a->pmd, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED) {
		err = errno;
		munmap(m, a->pmd);
	} else {
		as_check(r, to, off, (uint64_t *)p->buf);
	}
	munmap(dst, 2 * a->pmd);
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, err, 1000);
}

/* A process killed while it collapses: its page tables go away under collapse. */
static int op_exit(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = as_pmd(r);
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, errno, 1000);
	if (!pid) {
		char *m = ftr_mmap_pmd(a->pmd, PROT_READ, MAP_SHARED, p->fd, off);

		for (;;)
			madvise(m, a->pmd, MADV_COLLAPSE);
	}
	ftr_pause_us(r, 500);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Our SIGKILL, or a crash of the child while it collapsed. */
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		ftr_contract_fail(r, "a child collapsing [%#llx, +PMD) died of signal %d (%s)",
				  (unsigned long long)off, WTERMSIG(status), strsignal(WTERMSIG(status)));
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, 0, 1000);
}

/* The file offset is not PMD-aligned with the address: no PMD can map it. */
static int op_misaligned(struct ftr_role *r)
{
	struct role_priv *p = r->priv;
	struct ftr_arena *a = r->arena;
	uint64_t t0 = ftr_now_ns(), off = as_pmd(r);
	char *area = ftr_mmap_pmd(2 * a->pmd, PROT_NONE, MAP_PRIVATE, -1, 0), *m;
	struct ftr_smaps sm;
	int ret;

	if (area == MAP_FAILED)
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, ENOMEM, 1000);
	m = mmap(area + a->psz, a->pmd, PROT_READ, MAP_SHARED | MAP_FIXED, p->fd, off);
	if (m == MAP_FAILED) {
		munmap(area, 2 * a->pmd);
		return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, errno, 1000);
	}
	/* No whole PMD of this VMA can be mapped by a PMD: nothing to do, or EINVAL. */
	ret = madvise(m, a->pmd, MADV_COLLAPSE) ? errno : 0;
	if (!ftr_smaps_read(0, (unsigned long)m, &sm) && sm.file_pmd_kb + sm.shmem_pmd_kb)
		ftr_contract_fail(r, "MADV_COLLAPSE PMD-mapped a range whose file offset is not PMD-aligned");
	else if (ret && ret != EINVAL)
		ftr_contract_fail(r, "MADV_COLLAPSE of a misaligned mapping failed with %s, not EINVAL",
				  strerror(ret));
	ftr_oracle_snapshot(&a->oracle, off / FTR_BLOCK, a->pmd / FTR_BLOCK, (uint64_t *)p->buf);
	as_check(r, m, off, (uint64_t *)p->buf);
	munmap(area, 2 * a->pmd);
	return ftr_op_done(r, FTR_OP_READ, t0, off, a->pmd, ret == EINVAL ? 0 : ret, 1000);
}

const struct ftr_role_ops ftr_churn_fork = { .name = "fork", .op = op_fork };
const struct ftr_role_ops ftr_churn_mremap = { .name = "mremap", .op = op_mremap };
const struct ftr_role_ops ftr_churn_exit = { .name = "exit", .op = op_exit };
const struct ftr_role_ops ftr_churn_misaligned = { .name = "misaligned", .op = op_misaligned };
