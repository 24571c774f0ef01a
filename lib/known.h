/* SPDX-License-Identifier: GPL-2.0 */
/*
 * known: kernel issues the suite has met before, and when a failure may be blamed on
 * one.
 *
 * A known issue is still a failure: "not ok N data # KNOWN ISSUE <id>: <evidence>".
 * Only a waiver makes it "ok N data # XFAIL KNOWN ISSUE <id> ...", and a waiver applies
 * only where the run found positive evidence of that issue for every bad block; a
 * failure that merely looks like one is reported as what it is, with the evidence
 * that was missing.  Waivers come from a file (--known-issues FILE), in the style of
 * fstests' expunge files: one "TEST:FS ID" per line, TEST and FS globs (fnmatch),
 * '#' to the end of a line a comment:
 *
 *   collapse_openw:ext4 ro-thp-openw-truncate   # 6.12 READ_ONLY_THP_FOR_FS, LKML 2026-06
 *   collapse_*:xfs dio-stale-pagecache
 *
 * The issues (ids) and their evidence:
 *   ro-thp-openw-truncate  READ_ONLY_THP_FOR_FS (collapse works through read-only
 *       mappings only, probed): a writable open truncates the page cache of a file with
 *       nr_thps raised in do_dentry_open(), dirty data included.  Evidence per block:
 *       LOST, last written by another process's writable open, and still dirty (no
 *       logged writeback of it since) at a later writable open that overlapped a
 *       collapse_file() of the file, or followed one that built a THP after the write
 *       began and that no split or earlier open took away (trace, logs).
 *   dio-stale-pagecache  an O_DIRECT write could not invalidate the page cache over its
 *       range and the cache kept older data.  Evidence per block: LOST, last written
 *       by O_DIRECT, the kernel logged the invalidation failure naming this file, and
 *       an O_DIRECT read of the block returns the expected data.
 *   dio-stale-writeback  the same stale page cache, in a large folio that a store
 *       through the mapping dirtied as a whole afterwards: its writeback put the stale
 *       blocks on the disk over the O_DIRECT data.  Evidence per block: LOST, last
 *       written by O_DIRECT, the kernel's invalidation failure naming this file, the
 *       block holds the version before that write (an O_DIRECT read too), and a store
 *       through the mapping into its PMD began after the write ended.
 *   dio-collapse-stale-pagecache  the same stale page cache with nothing in the kernel
 *       log: the write's invalidation after the I/O slept on a folio collapse_file()
 *       had read in during the write and held, and skipped the THP that replaced it.  Evidence per block: LOST, last written by O_DIRECT,
 *       seen after quiescing and right on the disk (O_DIRECT, and after eviction), no
 *       invalidation failure logged for this file, and a collapse_file() that built a
 *       THP of its PMD ran while that write did (trace).
 *   xfs-zero-range-beside  a racing reader saw zeros beside a concurrent sub-page
 *       fallocate(ZERO_RANGE) of another part of the same page.  Evidence: the only
 *       bad block was the racing reader's, class ZERO, such a zero-range overlapped
 *       the read, and every check after quiescing found the block intact.
 *   cachestat-double-count  cachestat() counted more pages than its range holds.
 *       Evidence: a collapse or a split of that range ran during the call (its lockless
 *       walk met the folios replaced).
 */
#ifndef FTR_KNOWN_H
#define FTR_KNOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "ledger.h"
#include "role.h"
#include "waiver.h"


/*
 * The data verdict of a run that found wrong data: the known issue whose evidence
 * covers every bad block (evidence filled), or FTR_KI_NONE after saying which
 * signature matched and what evidence was missing.
 */
enum ftr_known_id ftr_known_data(const struct ftr_arena *a, const struct ftr_roles *rs, const struct ftr_ledger *l,
				 char *evidence, size_t len);
/* Prints the KTAP result of subtest name for a known issue with its evidence:
 * not ok, or ok # XFAIL when a waiver covers this test and filesystem. */
void ftr_known_result(const struct ftr_arena *a, const char *name, enum ftr_known_id id, const char *evidence);

#endif
