#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - the suite's own tests (`make check`, root).
#
# A test that cannot fail is a defect, so besides the unit tests this makes every
# detector fire on purpose: each kind of data damage must be classified as its class,
# the THP contract check, the errno contract check, the kernel-log watch and the
# engine's hang watchdog must fail a run, a recorded hang must be diagnosed, and the runner's
# timeout, hang diagnosis and cleanup are proven by runner_checks.sh.
# Then a ThreadSanitizer build of the engine must race cleanly, and the --quick
# profile runs every selftest on every scratch filesystem.
#
# Output: "ok N desc" / "not ok N desc" with "# " diagnostics; last line
# "N passed, N failed".  Exit 0 only when everything passed.
set -u -o pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$HERE/../.." && pwd -P)
BUILD=${FTR_BUILD:-$REPO/build}
ST=$BUILD/selftests
export FTR_FIXTURES=$HERE/fixtures
# The waiver file of known kernel issues (README): make check waives the project's list,
# ./known-issues, unless told otherwise (KNOWN_ISSUES=FILE, or KNOWN_ISSUES= for none).
KNOWN=(${FTR_KNOWN_ISSUES:+--known-issues "$FTR_KNOWN_ISSUES"})
WAIVED="waiving the known kernel issues of ${FTR_KNOWN_ISSUES:-no list (KNOWN_ISSUES= given)}"

if ((EUID != 0)); then
	echo "check.sh: needs root (MADV_COLLAPSE checks, kpageflags, mounts, THP knobs)" >&2
	exit 4
fi

echo "# check.sh: $WAIVED"
N=0 NFAIL=0
ok() { N=$((N + 1)); echo "ok $N $*"; }
nok() { N=$((N + 1)); NFAIL=$((NFAIL + 1)); echo "not ok $N $*"; }
diag() { sed 's/^/# /'; }
section() { echo "# ---- $* ----"; }

# run_expect DESC RC PATTERN CMD...: CMD must exit with RC and print PATTERN (grep -E),
# within T seconds (default 120).  Its output stays in LAST_OUT for expect_more.
LAST_OUT=
run_expect() {
	local desc=$1 want_rc=$2 pat=$3 rc
	shift 3
	LAST_OUT=$(timeout "${T:-120}" "$@" 2>&1)
	rc=$?
	if [[ $rc == "$want_rc" ]] && grep -Eq -- "$pat" <<<"$LAST_OUT"; then
		ok "$desc"
	else
		echo "$LAST_OUT" | tail -n 40 | diag
		nok "$desc (exit $rc, wanted $want_rc and /$pat/)"
	fi
}

# expect_none DESC PATTERN: the last run_expect's output did not print PATTERN.
expect_none() {
	if ! grep -Eq -- "$2" <<<"$LAST_OUT"; then
		ok "$1"
	else
		grep -E -- "$2" <<<"$LAST_OUT" | head -n 5 | diag
		nok "$1 (printed /$2/)"
	fi
}

# expect_more DESC PATTERN: the last run_expect's output also printed PATTERN.
expect_more() {
	if grep -Eq -- "$2" <<<"$LAST_OUT"; then
		ok "$1"
	else
		echo "$LAST_OUT" | tail -n 40 | diag
		nok "$1 (no /$2/)"
	fi
}

section "lib/ stays in one-way layers"
run_expect "every include of lib/ points down its layers (lib/tests/layers.sh)" 0 'every include points down' \
	"$HERE/layers.sh"
rm -rf "$BUILD/layers" && cp -r "$REPO/lib" "$BUILD/layers" &&
	sed -i 's/^#include "ktap.h"/#include "ktap.h"\n#include "verify.h"/' "$BUILD/layers/contract.c"
run_expect "... and an include that points up fails it" 1 'contract.c \(layer 4\) includes verify.h \(layer 9\)' \
	"$HERE/layers.sh" "$BUILD/layers"

section "unit tests of lib"
for t in "$BUILD"/lib/tests/unit_*; do
	[[ -x $t ]] || continue
	out=$("$t" 2>&1)
	rc=$?
	grep -E '^not ok' <<<"$out" | diag
	if ((rc == 0)); then
		ok "unit ${t##*/} ($(grep -c '^ok' <<<"$out") checks)"
	else
		nok "unit ${t##*/} ($(grep -c '^not ok' <<<"$out") of $(grep -Ec '^(not )?ok' <<<"$out") failed)"
	fi
done

section "the oracle classifies every kind of damage"
for pair in lost-write:LOST stale:TORN misplace:MISPLACED zero:ZERO flip:GARBAGE; do
	kind=${pair%%:*} class=${pair#*:}
	run_expect "--inject $kind is caught as class $class, with a replay line" 1 \
		"oracle: class=$class blocks=1" \
		"$ST/collapse_write" --duration 1 --seed 7 --inject "$kind"
done
run_expect "the failure report names the block, its operations and a replay line" 1 \
	'replay: collapse_write .*--inject lost-write --seed 7' \
	"$ST/collapse_write" --duration 1 --seed 7 --inject lost-write
expect_more "... and the run puts the bad block right and goes on to check the rest of its time" \
	'^# wrong data in 1 epochs, each put right; [1-9][0-9]* epochs verified after the first$'
run_expect "a clean run passes the same scenario" 0 '^ok 1 data' \
	"$ST/collapse_write" --duration 1 --seed 7
expect_more "... and matches its MADV_COLLAPSE calls with their trace events" \
	'^# errno by outcome: [0-9]+ calls \(0 more not logged\), [1-9][0-9]* of [0-9]+ events attributed'

section "the other detectors fire"
run_expect "--inject thp: the THP contract check after the epoch fails the collapse subtest" 1 \
	'not ok 2 collapse # THP state contradicts the collapse' \
	"$ST/collapse_write" --duration 1 --inject thp
expect_more "... naming the PMD and what it holds" '^# THP CONTRACT BROKEN: PMD 0 .*at the epoch.s end its pages are'
run_expect "--inject thp-call: the THP contract check right after a call fails the collapse subtest" 1 \
	'not ok 2 collapse # THP state contradicts the collapse' \
	"$ST/collapse_write" --duration 2 --inject thp-call
expect_more "... naming the call and the PMD's folios" \
	'^# THP CONTRACT BROKEN: PMD [0-9]+ .*right after MADV_COLLAPSE returned 0, with no split since, its pages are'
run_expect "--inject kmsg: a kernel-log splat fails the kernel subtest, naming the line" 1 \
	'not ok [0-9]+ kernel # kernel log: .*injected WARNING' \
	"$ST/collapse_basic" --inject kmsg
run_expect "--inject eagain: a collapse that answers EAGAIN forever fails collapse_basic, never skips it" 1 \
	'^not ok 1 collapse-ro # MADV_COLLAPSE of PMD 0 of a range nothing else touches: Resource temporarily unavailable after [0-9]+ calls over [0-9]+ s \(the kernel.s last outcome: [a-z_ ]+\)' \
	"$ST/collapse_basic" --inject eagain
# In a new pid namespace, as in CI's container, the test's session leader is outside
# it and getsid() says 0: the diagnosis must not depend on the session.
newpid=()
unshare --pid --fork --kill-child --mount-proc true 2>/dev/null && newpid=(unshare --pid --fork --kill-child --mount-proc)
run_expect "--inject stuck: the engine's watchdog names a role stuck in an operation after 50 times its p99, not the ceiling" 1 \
	'^#   write-writer0 stuck in an operation for over 1[0-9]\.[0-9] s \(its p99 latency: [0-9.]+ ms, limit 10\.0 s\)' \
	"${newpid[@]}" env FTR_HANG_SUMMARY="$BUILD/tools/hang-summary" "$ST/collapse_write" --duration 2 --inject stuck
expect_more "... as a HANG" '^# HANG: 1 of [0-9]+ roles did not finish their operation within 1[0-9]\.[0-9] s:$'
expect_more "... with what each of its threads waits on in the kernel, named by role" \
	'^# hang:   write-writer0\[[0-9]+\] S waits pause\(\): '
run_expect "--inject crash: a role that dies of a signal says where, with the replay line" 135 \
	'^# CRASH: SIGBUS at address 0x[0-9a-f]+ in pid [0-9]+ thread [0-9]+ \(write-writer0\)' \
	"$ST/collapse_write" --duration 2 --seed 3 --inject crash
expect_more "... and how to replay it" '^# CRASH: replay: collapse_write .*--inject crash --seed 3$'
run_expect "--inject errno: an EAGAIN outcome answered EINVAL fails the collapse subtest" 1 \
	"not ok 2 collapse # MADV_COLLAPSE's errno contradicts its trace outcome" \
	"$ST/collapse_write" --duration 2 --inject errno
expect_more "the errno report names the call, the outcome and its trace lines" \
	'^# ERRNO CONTRACT BROKEN: MADV_COLLAPSE of PMD [0-9]+ .*returned EINVAL, expected EAGAIN: it ended on [a-z_]+'
expect_more "... with the kernel's events in that call" '^#     .*-[0-9]+ +\[[0-9]+\] .* mm_khugepaged_(collapse|scan)_file: .*result='
run_expect "--inject dma-orphan: a DMA read lost into an orphaned page fails the data subtest as LOST" 1 \
	'^# oracle: class=LOST blocks=[0-9]+$' \
	"$ST/collapse_pin" --duration 1 --seed 7 --inject dma-orphan
expect_more "... and the report names the pin role that wrote the block" \
	'^#     t=.* dma-dio-churn[0-9]+: write via dma-read off=0x[0-9a-f]+ '
expect_more "... in the data subtest" '^not ok 1 data # wrong data'
run_expect "a record made before lib/ was layered still replays, operation for operation" 0 \
	'^# replay of .*: ([0-9]+) of \1 recorded operations done in 2 of 2 epochs, 0 skipped' \
	"$BUILD/tools/thp-race" --replay "$FTR_FIXTURES/record-6.18-tmpfs-v1.txt"
run_expect "a failing run's record (--record) ..." 1 '^not ok 1 data' \
	"$BUILD/tools/thp-race" --duration 1 --seed 5 --writers write=1,mmap=1 --readers read=1 --churn fsync=1 \
	--inject lost-write --record "$BUILD/min.rec"
T=300 run_expect "... is minimized to the smallest run that still fails (thp-race --minimize)" 1 \
	"^# minimize: smallest failing run, failed [1-9][0-9]* of 2 runs: .* --writers [a-z]+=1 --readers '' --collapse madvise --split none .*--file-size 2097152 --duration 0.5 --inject lost-write" \
	"$BUILD/tools/thp-race" --minimize "$BUILD/min.rec" --tries 1 --budget 200
run_expect "bad input is one line and exit status 2" 2 "--duration '0': must be a positive" \
	"$ST/collapse_write" --duration 0
printf 'collapse_openw:ext4 ro-thp-openw-truncate\ncollapse_write:xfs no-such-issue\n' >"$BUILD/bad-known-issues"
run_expect "a waiver file naming an unknown issue is one line and exit status 2" 2 \
	"line 2: unknown issue id 'no-such-issue'" "$ST/collapse_write" --known-issues "$BUILD/bad-known-issues"
run_expect "... and the runner refuses it before it sets anything up" 2 \
	"^run_tests.sh: --known-issues .* line 2: unknown issue id" \
	"$REPO/run_tests.sh" --fs tmpfs -t collapse_basic --known-issues "$BUILD/bad-known-issues"

section "a hang is diagnosed: the sysrq-w parser on a dump recorded under 7.2"
# lib/tests/fixtures/sysrq-w-7.2-collapse-holes-xfs.txt: the console of a 7.2.13-debugvm
# guest that deadlocked in collapse_holes on xfs, with vm-run's sysrq-w and sysrq-l.
run_expect "hang-summary names both sides of the collapse/fallocate deadlock first" 0 \
	'^hang: summary: deadlock\? xfs_flush_unmap_range<-truncate_inode_pages_range<-__filemap_get_folio_mpol waits folio lock \(collapse_holes 525\); collapse_file<-page_cache_sync_readahead<-page_cache_ra_order waits rwsem\(read\) \(collapse_holes 522\); ' \
	"$BUILD/tools/hang-summary" --log "$FTR_FIXTURES/sysrq-w-7.2-collapse-holes-xfs.txt"
expect_more "... a line for each of the 8 blocked tasks, none from the CPU backtraces after them" \
	'^hang: 8 blocked tasks in the sysrq-w dump of '
expect_more "... and the writers queued behind xfs_ilock, with their frames" \
	'^hang:   collapse_holes\[519\] D waits rwsem\(write\): vfs_write<-xfs_file_buffered_write<-xfs_ilock$'

section "the checks against the disk prove themselves (xfs on a loop device)"
run_expect "--inject stale-disk: old disk blocks under a clean page cache fail on the disk, mappings live" 1 \
	'^# # WRONG DATA on xfs .* seen through an O_DIRECT read of the disk after msync\(MS_SYNC\) and fsync, the mappings live after epoch 1:' \
	"$REPO/run_tests.sh" --fs xfs -t collapse_write:xfs --quick --seed 5 --test-args=--inject=stale-disk
expect_more "... as the lost write it is" '^# # oracle: class=LOST blocks=1$'
expect_more "... and after eviction" '^# # wrong data also through read\(\) after eviction after epoch 1: 1 blocks'
expect_none "... which read() and the mappings did not see" 'seen through (read\(\)|the mapping|a second mapping) after epoch'
run_expect "--inject split-clean: a page written into a large folio, split, and old on the disk fails at once" 1 \
	'^# # (punch|debugfs)-splitter: \[0x[0-9a-f]+, \+0x[0-9a-f]+\), written by one write\(\) into PMD [0-9]+ \((a dirty THP(, one folio after the split)?|a THP written back before the split|not a THP)\), then split, read back from the disk with O_DIRECT: block [0-9]+ holds older data$' \
	"$REPO/run_tests.sh" --fs xfs -t collapse_write:xfs --quick --seed 5 --test-args=--inject=split-clean
expect_more "... as the lost write it is" '^# # oracle: class=LOST blocks=1$'
expect_more "... with the dirty splits it read back counted" '^# # (punch|debugfs)-splitter .* [1-9][0-9]* dirty splits read back from the disk'
run_expect "--inject stale-resident: an old disk block under a page that stays resident fails on the disk" 1 \
	'^# # WRONG DATA on xfs .* seen through an O_DIRECT read of the disk after msync' \
	"$REPO/run_tests.sh" --fs xfs -t collapse_write:xfs --quick --seed 5 --test-args=--inject=stale-resident
expect_more "... as the lost write it is" '^# # oracle: class=LOST blocks=1$'
expect_none "... which the buffered read after eviction, served by the resident page, did not see" \
	'seen through read\(\) after eviction'
run_expect "--inject resident: pages the eviction could not drop are reported as unchecked" 0 \
	'^# # after eviction: [0-9]+ pages still resident, the first at offset 0 .*did not read them from the disk' \
	"$REPO/run_tests.sh" --fs xfs -t collapse_write:xfs --quick --seed 5 --test-args=--inject=resident

section "accesses through the mapping survive a racing truncation"
# The check right after each call faulted in a PMD the truncate role had just cut
# past EOF: SIGBUS in 2 of 6 runs of this seed before the accesses were guarded.
T=600 run_expect "collapse_holes on tmpfs-huge, 20 runs of the seed that died of SIGBUS" 0 \
	'^20 passed, 0 failed' \
	"$REPO/run_tests.sh" --fs tmpfs-huge -t collapse_holes:tmpfs-huge --quick --loop 20 --seed 1001498063

section "the standalone reproducers (tools/repro)"
# They build with libc alone under both compilers, and each run ends in one line whose
# status says found (1), not found (0) or cannot run (4).  No hit is required here: this
# kernel may not have the bug.  collapse-fallocate-deadlock is only asked for its usage:
# on a kernel with the bug it would hang this machine.
for src in "$REPO"/tools/repro/*.c; do
	name=$(basename "$src" .c)
	if out=$(clang -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
		-o "$BUILD/$name.clang" "$src" 2>&1); then
		ok "repro: $name builds with clang -Wall -Wextra -Werror, without lib/"
	else
		echo "$out" | head -n 20 | diag
		nok "repro: $name does not build with clang"
	fi
	rm -f "$BUILD/$name.clang"
done
REPRO=$BUILD/tools/repro
run_expect "repro: bad usage is one line on stderr and exit status 2" 2 '^collapse-fallocate-deadlock: unknown option; usage:' \
	"$REPRO/collapse-fallocate-deadlock" --no-such-option
repro_dir=$(mktemp -d "$BUILD/repro.XXXXXX")
for cmd in "cachestat-double-count --seconds 2" "xfs-zero-range-beside --seconds 2 $repro_dir" \
	"dio-stale-writeback --seconds 2 $repro_dir" "ro-thp-openw-truncate --seconds 2 $repro_dir" \
	"dio-collapse-stale-pagecache --seconds 2 $repro_dir" "dirty-thp-split --seconds 2 $repro_dir"; do
	name=${cmd%% *}
	out=$(timeout 60 $REPRO/$cmd 2>&1)
	rc=$?
	if [[ $rc =~ ^[014]$ ]] && [[ $out =~ ^$name:\ (found|not\ found|cannot\ run):\ [^$'\n']+$ ]] &&
		{ [[ $rc == 0 && $out == *": not found: "* ]] || [[ $rc == 1 && $out == *": found: "* ]] ||
		  [[ $rc == 4 && $out == *": cannot run: "* ]]; }; then
		ok "repro: $name ends in one line that matches its status $rc: ${out#"$name": }"
	else
		echo "$out" | head -n 10 | diag
		nok "repro: $name (exit $rc; wanted 0, 1 or 4 and one matching line)"
	fi
done
rmdir "$repro_dir" 2>/dev/null || { ls -la "$repro_dir" | diag; nok "repro: files left behind in $repro_dir"; }

section "CI: a VM profile fails when it skipped what it must exercise"
printf '%s\n' "ok 1 collapse_write:xfs" "ok 2 collapse_pin:ext4 # SKIP not exercised: 1 of 6 collapses succeeded" \
	"ok 3 collapse_mmap:xfs # SKIP MADV_COLLAPSE of a writable shared mapping: Invalid argument" \
	"ok 4 collapse_basic:btrfs # SKIP fs btrfs unavailable: mkfs.btrfs not found" >"$BUILD/ci-skips.log"
run_expect "a capability SKIP is named" 0 '^ok 3 collapse_mmap:xfs # SKIP MADV_COLLAPSE' \
	bash -c 'source "$1" && skips_not_allowed "$2" "^not exercised"' - "$REPO/.ci/run" "$BUILD/ci-skips.log"
expect_more "... and a filesystem the guest could not set up" '^ok 4 collapse_basic:btrfs # SKIP fs btrfs unavailable'
expect_none "... but not a race that ran and was not exercised, nor a pass" 'collapse_write|collapse_pin'

section "the runner's timeout, knob restore and cleanup"
out=$(FTR_BUILD=$BUILD "$HERE/runner_checks.sh" 2>&1)
rc=$?
grep -v -E '^(ok|not ok) ' <<<"$out" | diag
while read -r line; do
	case $line in
	"ok "*) ok "runner: ${line#ok [0-9]* }" ;;
	"not ok "*) nok "runner: ${line#not ok [0-9]* }" ;;
	esac
done < <(grep -E '^(not )?ok ' <<<"$out")
((rc == 0 || rc == 1)) || nok "runner_checks.sh exited $rc"

section "the other compiler"
# OUTPUT=, not O=: `make check OUTPUT=DIR` passes OUTPUT down to these makes, where it
# beats O= and they would test the binaries already in DIR.
if ! command -v clang >/dev/null; then
	ok "make CC=clang # SKIP clang is not installed (CI installs it)"
elif out=$(make -s -C "$REPO" CC=clang OUTPUT="$BUILD/clang" all unit 2>&1); then
	ok "make CC=clang builds everything warning-free"
else
	echo "$out" | grep -m10 -E 'error|warning' | diag
	nok "make CC=clang"
fi

section "ThreadSanitizer: the engine's own userspace is race-free"
tsan=$BUILD/tsan
# OUTPUT too: under "make check OUTPUT=DIR" MAKEFLAGS hands DIR down, and it would win over O.
if make -s -C "$REPO" SANITIZE=thread O="$tsan" OUTPUT="$tsan" CC="${TSAN_CC:-gcc}" all >/dev/null 2>&1; then
	for t in collapse_mixed collapse_openw collapse_pin; do
		out=$(TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 300 \
			"$tsan/selftests/$t" --duration 2 --seed 11 "${KNOWN[@]}" 2>&1)
		rc=$?
		if ((rc == 0)) && ! grep -q 'ThreadSanitizer' <<<"$out"; then
			ok "tsan: $t races cleanly"
		else
			{ grep -A30 'ThreadSanitizer' <<<"$out" || grep -E '^(not ok|# (CRASH|WRONG|HANG|kernel log))' <<<"$out"; } |
				head -60 | diag
			nok "tsan: $t (exit $rc)"
		fi
	done
else
	nok "tsan: the SANITIZE=thread build failed"
fi

section "the --quick profile on every scratch filesystem"
"$REPO/run_tests.sh" --quick "${KNOWN[@]}" ${CHECK_RUN_ARGS:-} >"$BUILD/quick.log" 2>&1
rc=$?
summary=$(tail -n 1 "$BUILD/quick.log")
grep -E '^(not ok|ok) ' "$BUILD/quick.log" | diag
if ((rc == 0)); then
	ok "run_tests.sh --quick: $summary"
else
	grep -B40 -E '^not ok' "$BUILD/quick.log" | tail -n 80 | diag
	nok "run_tests.sh --quick: $summary (exit $rc; full log $BUILD/quick.log)"
fi

# A passing collapse verdict rests on collapses of the test's own and on PMDs whose THP
# state was checked: the summary line before it says so.
read -r npass nbare < <(awk '
	/^# # collapse: [0-9]+ of [0-9]+ succeeded; THP contract checked on/ { sum = $0 }
	/^# ok [0-9]+ collapse$/ { n++; if (sum !~ /collapse: [1-9][0-9]* of .* checked on [1-9][0-9]* PMDs/) { bare++; print sum > "/dev/stderr" } sum = "" }
	END { print n + 0, bare + 0 }' "$BUILD/quick.log" 2> >(diag))
if ((npass > 0 && nbare == 0)); then
	ok "every one of $npass passing collapse verdicts of the quick profile rests on collapses and checked PMDs"
else
	nok "passing collapse verdicts without evidence: $nbare of $npass"
fi

echo "# check.sh: $WAIVED"
echo "$((N - NFAIL)) passed, $NFAIL failed"
((NFAIL == 0))
