#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# runner_checks.sh - prove run_tests.sh's detectors and cleanup (root).
#
# Uses the real runner.  The hang and signal checks use the real selftest
# collapse_basic (run with --inject hang) when $FTR_BUILD/selftests/collapse_basic
# exists, otherwise small fake selftests written here that obey the selftest
# contract.  The pass/fail/skip accounting always uses fakes, because only fakes
# can be made to fail on purpose.
#
# Output: "ok N desc" / "not ok N desc" lines, then "N passed, N failed".
# Exit 0 when every check passed, 1 otherwise, 4 when not root.
set -u -o pipefail
shopt -s nullglob

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$HERE/../.." && pwd -P)
RUNNER=$REPO/run_tests.sh
BUILD=${FTR_BUILD:-$REPO/build}
KNOB=/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs
TIMEOUT_BUDGET=6          # FTR_TIMEOUT for the hang check, seconds

if ((EUID != 0)); then
	echo "runner_checks.sh: needs root (mounts, loop devices, THP knobs)" >&2
	exit 4
fi

N=0 NFAIL=0
ok() { N=$((N + 1)); echo "ok $N $*"; }
nok() { N=$((N + 1)); NFAIL=$((NFAIL + 1)); echo "not ok $N $*"; }
# check DESC CMD...: ok when CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
# COND; expect DESC: ok when COND (the previous command) succeeded.
expect() { local rc=$?; if ((rc == 0)); then ok "$1"; else nok "$1"; fi; }
words() { tr -s '\n' ' ' <<<"$1" | sed 's/ $//'; }
diag() { sed 's/^/# /'; }

TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/ftr-rchk.XXXXXX") || exit 1
chmod 755 "$TMP"
IMGDIR=$TMP/img     # FTR_IMG_DIR of every runner started here
mkdir -p "$IMGDIR"

# If a check failed, the runner may have leaked: clean what lives under TMP
# so the machine is left as found, but only after the checks looked.
final_cleanup() {
	local m img dev
	for m in $(findmnt -rn -o TARGET | awk -v w="$TMP/" 'index($0, w) == 1' | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	for img in "$IMGDIR"/*/img/*.img; do
		for dev in $(losetup -n -O NAME -j "$img"); do losetup -d "$dev"; done
	done
	rm -rf --one-file-system -- "$TMP"
}
trap final_cleanup EXIT

# ---------------------------------------------------------------------------
# Fake selftests: shell scripts obeying the selftest contract.
# fake_pass, fake_fail, fake_skip, fake_knob (changes THP defrag and passes),
# fake_taint (writes 512 to $FTR_TAINT_FILE when set, passes),
# fake_all (declares every fs type, passes).  All honour --inject hang and
# fail when the --dir they get is not empty (proves cleaning between tests).
# ---------------------------------------------------------------------------
make_fakes() { # DIR
	local d=$1/selftests n
	mkdir -p "$d"
	cat >"$d/fake_pass" <<'EOF'
#!/bin/bash
name=${0##*/}
fs=tmpfs
[[ $name == fake_all ]] && fs=tmpfs,xfs,ext4,btrfs
[[ $name == fake_xfsonly ]] && fs=xfs
if [[ ${1:-} == --describe ]]; then
	printf 'name=%s\nfs=%s\ntimeout=60\ndesc=fake selftest for runner_checks\n' "$name" "$fs"
	exit 0
fi
dir="" inject="" duration=0
while (($#)); do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--inject) inject=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--fs|--seed|--timeout-mul|--threads|--file-size|--record) shift 2 ;;
	--quick|--verbose) shift ;;
	*) echo "$name: bad usage: $1" >&2; exit 2 ;;
	esac
done
echo "TAP version 13"
echo "1..1"
[[ -d $dir ]] || { echo "not ok 1 no --dir"; exit 1; }
left=$(ls -A "$dir" | grep -vx lost+found)
[[ -z $left ]] || { echo "# dir not clean: $left"; echo "not ok 1 clean dir"; exit 1; }
echo data >"$dir/fake.$$"
if [[ $inject == hang ]]; then
	echo 4242 >/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs
	trap '' TERM INT
	sleep 1000000 &
	echo "# hanging"
	while :; do sleep 1; done
fi
sleep "$duration"
case $name in
fake_fail) echo "# oracle: class=LOST fake"; echo "not ok 1 fake"; exit 1 ;;
fake_skip) echo "ok 1 fake # SKIP first reason"; echo "ok 2 fake # SKIP fake reason"; exit 4 ;;
fake_taint)
	[[ -n ${FTR_TAINT_FILE:-} ]] && echo 512 >"$FTR_TAINT_FILE"
	echo "ok 1 fake taint"; exit 0 ;;
fake_knob)
	f=/sys/kernel/mm/transparent_hugepage/defrag
	cur=$(sed 's/.*\[\(.*\)\].*/\1/' "$f")
	new=never; [[ $cur == never ]] && new=always
	echo "$new" >"$f"
	echo "ok 1 fake knob" ; exit 0 ;;
*) echo "ok 1 fake"; exit 0 ;;
esac
EOF
	chmod 755 "$d/fake_pass"
	for n in fake_fail fake_skip fake_knob fake_all fake_xfsonly fake_taint; do
		cp "$d/fake_pass" "$d/$n"
	done
	chmod -R a+rX "$1"
	# The runner finds its supervisor beside the tests; the fakes borrow the build's.
	[[ -d $BUILD/tools ]] && ln -s "$BUILD/tools" "$1/tools"
	return 0
}

FAKES=$TMP/fakes
make_fakes "$FAKES"

if [[ -x $BUILD/selftests/collapse_basic ]]; then
	HANG_BUILD=$BUILD HANG_TEST=collapse_basic
else
	HANG_BUILD=$FAKES HANG_TEST=fake_all
fi
echo "# runner: $RUNNER"
echo "# hang/signal checks use $HANG_BUILD/selftests/$HANG_TEST"

# ---------------------------------------------------------------------------
# Helpers that look at the machine.
# ---------------------------------------------------------------------------
runner() { # run the runner with our scratch location; extra env before args
	FTR_IMG_DIR=$IMGDIR "$RUNNER" "$@"
}
mounts_under() { findmnt -rn -o TARGET | awk -v w="$1/" 'index($0, w) == 1'; }
loops_under() { losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v w="$1/" 'index($2, w) == 1'; }
session_alive() { # SID: any live process in that session?
	local p st rest; local -a f
	for p in /proc/[0-9]*; do
		read -r st 2>/dev/null <"$p/stat" || continue
		rest=${st##*) }; read -ra f <<<"$rest"
		((${#f[@]} >= 4)) || continue
		[[ ${f[3]} == "$1" && ${f[0]} != Z ]] && return 0
	done
	return 1
}
procs_running() { # PATH: any process whose command line names PATH?
	local p c
	for p in /proc/[0-9]*; do
		[[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		[[ $c == *"$1"* ]] && return 0
	done
	return 1
}
nothing_left() { # nothing of a runner remains under IMGDIR
	[[ -z $(mounts_under "$IMGDIR") && -z $(loops_under "$IMGDIR") && -z $(ls -A "$IMGDIR") ]]
}
knob() { cat "$KNOB"; }
# Trace instances are global to the kernel, whatever is mounted where: look at
# them through a tracefs of our own in a private mount namespace, which leaves
# the machine's mounts as they were.  Not at /sys/kernel/tracing: the kernel
# refuses a second mount of tracefs where it is mounted already (EBUSY).
TRACEFS=/sys/kernel/tracing
PEEK=$TMP/tracefs
mkdir -p "$PEEK"
in_tracefs() { # SHELL-CMD, run with a fresh tracefs at $PEEK
	unshare -m sh -c "mount -t tracefs nodev $PEEK && $1" 2>/dev/null
}
instance_left() { in_tracefs "test -d $PEEK/instances/ftr-$1"; }
# Not the negation: a tracefs that cannot be mounted proves nothing gone.
instance_gone() { in_tracefs "test -d $PEEK/instances -a ! -e $PEEK/instances/ftr-$1"; }
tracefs_mounts() { awk '$3 == "tracefs" { print $2 }' /proc/self/mounts | sort | tr '\n' ' '; }
# The real hang test makes an instance only where tests can trace collapses.
TRACE_OK=0
[[ $HANG_TEST != fake_* ]] &&
	in_tracefs "test -d $PEEK/instances -a -e $PEEK/events/huge_memory/mm_khugepaged_collapse_file" &&
	TRACE_OK=1
echo "# trace instance checks: $( ((TRACE_OK)) && echo on || echo "off ($HANG_TEST, or no tracefs with huge_memory events)")"

# trace_checks WHAT SID OUTPUT MOUNTS-BEFORE: the killed test's instance was
# removed by the runner, and tracefs is mounted where it was before.
trace_checks() {
	local what=$1 sid=$2 out=$3 before=$4 now
	if ((!TRACE_OK)); then
		ok "$what: no trace instance left # SKIP no trace instance to leave"
		return
	fi
	grep -q "^# removed trace instance /sys/kernel/[a-z/]*tracing/instances/ftr-$sid left by the test\$" <<<"$out"
	expect "$what: runner removed instances/ftr-${sid:-?} of the killed test"
	[[ -n $sid ]] && instance_gone "$sid"
	expect "$what: no instances/ftr-${sid:-?} left"
	now=$(tracefs_mounts)
	if [[ $now == "$before" ]]; then
		ok "$what: tracefs mounted as before (${now:-nowhere})"
	elif other_runners; then
		ok "$what: tracefs mounted as before # SKIP another run_tests.sh was running"
	else
		nok "$what: tracefs mounted as before: '$before' -> '$now'"
	fi
	# Leave the machine as found, whatever the checks said.
	[[ -n $sid ]] && instance_left "$sid" && in_tracefs "rmdir $PEEK/instances/ftr-$sid"
	[[ " $before" != *" $TRACEFS "* && " $now" == *" $TRACEFS "* ]] && ! other_runners && umount -l "$TRACEFS"
	return 0
}
other_runners() { # another run_tests.sh on the machine (not one of ours)?
	local p c
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		[[ $c == *run_tests.sh* && $c != *"$IMGDIR"* ]] || continue
		[[ $(tr '\0' '\n' 2>/dev/null <"$p/environ") == *"FTR_IMG_DIR=$IMGDIR"* ]] && continue
		return 0
	done
	return 1
}

# ---------------------------------------------------------------------------
# (a) a hanging test is a TIMEOUT within its budget; its session is gone; the
#     knob it changed is restored.
# ---------------------------------------------------------------------------
check_hang() {
	local before out rc t0 t1 sid mnt
	before=$(knob)
	mnt=$(tracefs_mounts)
	t0=$SECONDS
	out=$(FTR_BUILD=$HANG_BUILD FTR_TIMEOUT=$TIMEOUT_BUDGET runner --fs tmpfs -t "$HANG_TEST:tmpfs" \
		--seed 1 --duration 1 --test-args "--inject hang" 2>&1)
	rc=$?
	t1=$SECONDS
	diag <<<"$out"
	sid=$(sed -n 's/^# TIMEOUT: killing session \([0-9]*\).*/\1/p' <<<"$out" | head -n1)
	check "hang: runner exit 1" test "$rc" -eq 1
	check "hang: reported as TIMEOUT" grep -q "^not ok 1 $HANG_TEST:tmpfs # TIMEOUT after ${TIMEOUT_BUDGET}s\$" <<<"$out"
	# Budget + SIGTERM grace + set-up: well under twice the budget plus 10 s.
	check "hang: runner finished in $((t1 - t0))s (budget ${TIMEOUT_BUDGET}s)" test $((t1 - t0)) -le $((2 * TIMEOUT_BUDGET + 10))
	[[ -n $sid ]] && ! session_alive "$sid"
	expect "hang: test session ${sid:-?} is gone"
	! procs_running "$HANG_BUILD/selftests/$HANG_TEST"
	expect "hang: no process of $HANG_TEST left"
	check "hang: scan_sleep_millisecs restored ($(knob) == $before)" test "$(knob)" = "$before"
	if grep -q "^# restored khugepaged/scan_sleep_millisecs: '4242' -> '$before'" <<<"$out"; then
		ok "hang: restore was reported"
	elif other_runners; then
		# Another runner restores knobs after its own tests and may win the race.
		ok "hang: restore was reported # SKIP another run_tests.sh was running"
	else
		nok "hang: restore was reported"
	fi
	trace_checks hang "$sid" "$out" "$mnt"
	check "hang: summary line" test "$(tail -n1 <<<"$out")" = "0 passed, 1 failed, 0 skipped"
	# Diagnosed before anything was killed: what each task of the session waits on.
	awk '/^# hang: summary: /{ s = NR } /^# TIMEOUT: killing session/{ t = NR } END { exit !(s && t && s < t) }' <<<"$out"
	expect "hang: the blocked tasks were named before the kill"
	local summary
	summary=$(grep -m1 '^# hang: summary: ' <<<"$out")
	if [[ $HANG_TEST == fake_* ]]; then
		check "hang: the summary names the fake's sleep: $summary" grep -Eq 'waits (sleep|wait\(\))' <<<"$summary"
	else
		# lib/test.c hang(): two processes in pause(); the kernel's frame is
		# __do_sys_pause since syscall wrappers (4.17), sys_pause before.
		check "hang: the summary names pause(), where --inject hang sleeps, in both processes: $summary" \
			grep -Eq "^# hang: summary: (__do_sys_pause|sys_pause) waits pause\(\) \($HANG_TEST ${sid:-x} [0-9]+\)\$" <<<"$summary"
	fi
	check "hang: nothing left in the scratch dir" nothing_left
}

# ---------------------------------------------------------------------------
# (b) SIGINT to the runner's process group (what Ctrl-C does) and SIGTERM to
#     the runner alone, mid-test, with a loop-device fs set up: nothing left.
# ---------------------------------------------------------------------------
check_signal() { # INT|TERM
	local sig=$1 before log=$TMP/sig-$1.log pid i rc sid had_loop=0 had_mount=0 hung=0 mnt had_inst=0
	before=$(knob)
	mnt=$(tracefs_mounts)
	# Its own process group for the runner, and SIGINT not ignored in it: a shell
	# cannot trap a signal ignored when it started, as it is under "make check &".
	set -m
	FTR_BUILD=$HANG_BUILD FTR_TIMEOUT=300 FTR_IMG_DIR=$IMGDIR env --default-signal=INT \
		"$RUNNER" --fs tmpfs,xfs -t "$HANG_TEST" --seed 1 --test-args "--inject hang" >"$log" 2>&1 &
	pid=$!
	set +m
	# Wait until the test hangs: the knob says 4242 and the runner named the session.
	for ((i = 0; i < 600; i++)); do
		[[ $(knob) == 4242 ]] && grep -q '^# session ' "$log" && { hung=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.5
	[[ -n $(loops_under "$IMGDIR") ]] && had_loop=1
	[[ -n $(mounts_under "$IMGDIR") ]] && had_mount=1
	sid=$(sed -n 's/^# session \([0-9]*\)$/\1/p' "$log" | head -n1)
	[[ -n $sid ]] && instance_left "$sid" && had_inst=1
	if [[ $sig == INT ]]; then kill -INT -- "-$pid"; else kill -TERM "$pid"; fi
	for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"; rc=$?
	diag <"$log"
	check "SIG$sig: the test was hanging, with tmpfs and xfs on a loop device set up" \
		test "$hung$had_loop$had_mount" = 111
	local want=130; [[ $sig == TERM ]] && want=143
	check "SIG$sig: runner exited $rc (want $want)" test "$rc" -eq "$want"
	check "SIG$sig: no mounts left" test -z "$(mounts_under "$IMGDIR")"
	check "SIG$sig: no loop devices left" test -z "$(loops_under "$IMGDIR")"
	check "SIG$sig: no images or temp dir left" test -z "$(ls -A "$IMGDIR")"
	[[ -n $sid ]] && ! session_alive "$sid"
	expect "SIG$sig: test session ${sid:-?} gone"
	! procs_running "$RUNNER" && ! procs_running "$HANG_BUILD/selftests/$HANG_TEST"
	expect "SIG$sig: no process of the runner or test left"
	check "SIG$sig: scan_sleep_millisecs restored" test "$(knob)" = "$before"
	check "SIG$sig: summary line printed" grep -Eq '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log"
	((TRACE_OK)) && check "SIG$sig: the hanging test had made instances/ftr-${sid:-?}" test "$had_inst" = 1
	trace_checks "SIG$sig" "$sid" "$(<"$log")" "$mnt"
}

# ---------------------------------------------------------------------------
# (b2) SIGKILL: nothing in a test survives it, so its trace instance stays
#      unless the runner removes it.  First without the runner (the control:
#      the instance does stay), then under it, killed from outside.
# ---------------------------------------------------------------------------
wait_for() { # TENTHS CMD...: poll CMD every 0.1 s, at most TENTHS times
	local n=$1 i; shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
session_gone() { ! session_alive "$1"; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
check_sigkill() {
	if ((!TRACE_OK)); then
		ok "SIGKILL: trace instance removed # SKIP no trace instance to leave"
		return
	fi
	local before mnt
	before=$(knob)
	mnt=$(tracefs_mounts)
	# The control restores the knob itself: not to another hang test's value.
	if [[ $before == 4242 ]]; then
		ok "SIGKILL alone: instance stays after the kill # SKIP another hang test is running"
	else
		sigkill_alone "$before" "$mnt"
	fi
	sigkill_runner "$before" "$mnt"
}
sigkill_alone() { # KNOB-BEFORE TRACEFS-MOUNTS-BEFORE
	local before=$1 mnt=$2 d=$TMP/sigkill log=$TMP/sigkill.log pid had=0 left=0
	mkdir -p "$d"
	# Not a process group leader, so setsid runs the test itself: its pid is
	# the session id and names the instance.
	setsid "$HANG_BUILD/selftests/$HANG_TEST" --dir "$d" --seed 1 --duration 1 --inject hang \
		</dev/null >"$log" 2>&1 &
	pid=$!
	wait_for 300 grep -q '^# inject: hang' "$log"
	instance_left "$pid" && had=1
	kill -KILL -- "-$pid" 2>/dev/null
	wait_for 50 session_gone "$pid"
	wait "$pid" 2>/dev/null
	instance_left "$pid" && left=1
	diag <"$log"
	check "SIGKILL alone: the hanging test had made instances/ftr-$pid" test "$had" = 1
	check "SIGKILL alone: instances/ftr-$pid stays after the kill (what the runner must clean)" test "$left" = 1
	# The control's own leftovers: instance, knob, the tracefs mount the test made.
	((left)) && in_tracefs "rmdir $PEEK/instances/ftr-$pid"
	echo "$before" >"$KNOB"
	[[ " $mnt" != *" $TRACEFS "* && " $(tracefs_mounts)" == *" $TRACEFS "* ]] && umount -l "$TRACEFS"
	instance_gone "$pid" && [[ $(knob) == "$before" && $(tracefs_mounts) == "$mnt" ]]
	expect "SIGKILL alone: the check cleaned up after the control"
	rm -rf -- "$d"
}
sigkill_runner() { # KNOB-BEFORE TRACEFS-MOUNTS-BEFORE
	local before=$1 mnt=$2 log=$TMP/sigkill-runner.log rpid rc sid had=0 out
	FTR_BUILD=$HANG_BUILD FTR_TIMEOUT=300 FTR_IMG_DIR=$IMGDIR \
		"$RUNNER" --fs tmpfs -t "$HANG_TEST:tmpfs" --seed 1 --duration 1 --test-args "--inject hang" >"$log" 2>&1 &
	rpid=$!
	wait_for 300 grep -q '^# # inject: hang' "$log"
	sid=$(sed -n 's/^# session \([0-9]*\)$/\1/p' "$log" | head -n1)
	[[ -n $sid ]] && instance_left "$sid" && had=1
	[[ -n $sid ]] && kill -KILL -- "-$sid" 2>/dev/null
	# The runner ends on its own once its test is dead; a stuck one is stopped.
	wait_for 300 pid_gone "$rpid" || kill -TERM "$rpid"
	wait "$rpid"; rc=$?
	out=$(<"$log")
	diag <<<"$out"
	check "SIGKILL under the runner: the hanging test had made instances/ftr-${sid:-?}" test "$had" = 1
	[[ $rc -eq 1 ]] && grep -q "^not ok 1 $HANG_TEST:tmpfs # exit=137\$" <<<"$out"
	expect "SIGKILL under the runner: exit $rc (want 1), reported as exit=137"
	trace_checks "SIGKILL under the runner" "$sid" "$out" "$mnt"
	check "SIGKILL under the runner: scan_sleep_millisecs restored" test "$(knob)" = "$before"
	check "SIGKILL under the runner: nothing left in the scratch dir" nothing_left
}

# ---------------------------------------------------------------------------
# (c) bad input: one line, exit 2, nothing created.
# ---------------------------------------------------------------------------
check_bad_input() {
	local file=$TMP/a-file out rc args
	: >"$file"
	local -a cases=(
		"--bogus"
		"--dir $TMP/does-not-exist"
		"--dir $file"
		"--duration 0"
		"--duration -1"
		"--duration abc"
		"--fs tmpfs,nosuchfs"
		"--loop 0"
		"--soak 0"
		"--soak 5 --loop 2"
		"--soak 5 --until-fail"
		"--seed x"
		"--timeout-mul 0"
		"--dir $TMP --fs xfs"
		"-t"
		"stray"
	)
	for args in "${cases[@]}"; do
		# shellcheck disable=SC2086  # the cases are word lists on purpose
		out=$(FTR_BUILD=$FAKES runner $args 2>&1)
		rc=$?
		[[ $rc -eq 2 && $(wc -l <<<"$out") -eq 1 ]]
	expect "bad input '$args': exit 2, one line: $out"
	done
	# Only look under IMGDIR: other runs on this machine may mount meanwhile.
	nothing_left
	expect "bad input: nothing created"
}

# ---------------------------------------------------------------------------
# (d) --list: no root needed, test:label lines, no side effects.
# ---------------------------------------------------------------------------
check_list() {
	local out rc want
	out=$(runuser -u nobody -- env FTR_BUILD="$FAKES" FTR_IMG_DIR="$IMGDIR" "$RUNNER" --list 2>&1)
	rc=$?
	diag <<<"$out"
	want="fake_all:tmpfs fake_all:tmpfs-huge fake_all:xfs fake_all:ext4 fake_all:btrfs fake_fail:tmpfs fake_fail:tmpfs-huge fake_knob:tmpfs fake_knob:tmpfs-huge fake_pass:tmpfs fake_pass:tmpfs-huge fake_skip:tmpfs fake_skip:tmpfs-huge fake_taint:tmpfs fake_taint:tmpfs-huge fake_xfsonly:xfs"
	check "--list as nobody: exit 0" test "$rc" -eq 0
	check "--list: every test:label of the fakes" test "$(words "$out")" = "$want"
	out=$(FTR_BUILD=$FAKES runner --list --fs xfs,ext4 -t 'fake_*:xfs' 2>&1)
	check "--list --fs xfs,ext4 -t 'fake_*:xfs'" test "$(words "$out")" = "fake_all:xfs fake_xfsonly:xfs"
	check "--list: nothing created" test -z "$(ls -A "$IMGDIR")"
	if [[ -x $BUILD/selftests/collapse_basic ]]; then
		out=$(runuser -u nobody -- env FTR_BUILD="$BUILD" "$RUNNER" --list -t collapse_basic 2>&1)
		check "--list of the real build names collapse_basic: $(words "$out")" grep -q '^collapse_basic:' <<<"$out"
	fi
}

# ---------------------------------------------------------------------------
# (e) exit status and summary for a pass/fail/skip mix; knob restore after a
#     normal test; --loop and --until-fail; --dir.
# ---------------------------------------------------------------------------
check_mix() {
	local out rc defrag res
	defrag=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/defrag)
	out=$(FTR_BUILD=$FAKES runner --fs tmpfs,tmpfs-huge --seed 7 --quick 2>&1)
	rc=$?
	diag <<<"$out"
	check "mix: exit 1" test "$rc" -eq 1
	check "mix: summary 8 passed, 2 failed, 2 skipped" test "$(tail -n1 <<<"$out")" = "8 passed, 2 failed, 2 skipped"
	check "mix: plan 1..12" grep -qx '1\.\.12' <<<"$out"
	check "mix: skip reason is the test's last # SKIP" grep -qx 'ok [0-9]* fake_skip:tmpfs # SKIP fake reason' <<<"$out"
	check "mix: failure reported" grep -qx 'not ok [0-9]* fake_fail:tmpfs-huge # exit=1' <<<"$out"
	check "mix: test output indented" grep -qx '# # oracle: class=LOST fake' <<<"$out"
	check "mix: --quick passes --quick --duration 2" grep -q '^# cmd: fake_pass .*--duration 2 --quick' <<<"$out"
	check "mix: kernel line" grep -q "^# kernel: $(uname -r)\$" <<<"$out"
	[[ $(sed "s/.*\[\(.*\)\].*/\1/" /sys/kernel/mm/transparent_hugepage/defrag) == "$defrag" ]] && grep -q "^# restored defrag: " <<<"$out"
	expect "mix: defrag knob restored and reported"
	check "mix: nothing left" nothing_left

	echo 0 >"$TMP/taint"
	out=$(FTR_BUILD=$FAKES FTR_TAINT_FILE=$TMP/taint runner --fs tmpfs -t taint --duration 0.1 2>&1); rc=$?
	diag <<<"$out"
	[[ $rc -eq 1 ]] && grep -qx 'not ok 1 fake_taint:tmpfs # taint 0 -> 512' <<<"$out"
	expect "taint: a test that changed the taint fails (FTR_TAINT_FILE hook)"

	out=$(FTR_BUILD=$FAKES runner --fs tmpfs -t pass --loop 3 --duration 0.1 2>&1); rc=$?
	[[ $rc -eq 0 && $(tail -n1 <<<"$out") == "3 passed, 0 failed, 0 skipped" ]]
	expect "pass only, --loop 3: exit 0, 3 passed"
	out=$(FTR_BUILD=$FAKES runner --fs tmpfs -t skip --duration 0.1 2>&1); rc=$?
	[[ $rc -eq 0 && $(tail -n1 <<<"$out") == "0 passed, 0 failed, 1 skipped" ]]
	expect "skip only: exit 0, 1 skipped"

	out=$(FTR_BUILD=$FAKES FTR_RESULTS=$TMP runner --fs tmpfs -t 'fake_[pf]a*' --until-fail --duration 0.1 2>&1); rc=$?
	diag <<<"$out"
	res=$(sed -n 's/^# until-fail: iteration 1 failed .* output kept in \(.*\)$/\1/p' <<<"$out")
	[[ $rc -eq 1 && -n $res ]] && grep -q "^not ok 1 fake_fail:tmpfs" "$res"
	expect "until-fail: stops at iteration 1, exit 1, log kept"
	out=$(FTR_BUILD=$FAKES FTR_RESULTS=$TMP runner --fs tmpfs -t pass --until-fail --loop 3 --duration 0.1 2>&1); rc=$?
	[[ $rc -eq 0 ]] && grep -q "no failure in 3 iterations" <<<"$out" && grep -qx "1\.\.3" <<<"$out"
	expect "until-fail --loop 3 on a pass: exit 0, reports 3 iterations"
	rm -rf "$TMP"/ftr-results.*

	local d=$TMP/userdir
	mkdir -p "$d"; echo keep >"$d/user-file"
	out=$(FTR_BUILD=$FAKES runner --dir "$d" -t 'fake_[ap]*' --duration 0.1 2>&1); rc=$?
	diag <<<"$out"
	local t; t=$(findmnt -n -o FSTYPE -T "$d")
	[[ $rc -eq 0 ]] && grep -qx "ok 1 fake_all:dir" <<<"$out" && grep -q "^ok 2 fake_pass:dir # SKIP fs type $t" <<<"$out"
	expect "--dir ($t): fake_all runs, fake_pass (tmpfs only) skipped"
	check "--dir: user's files kept, nothing of ours left" test "$(ls -A "$d")" = user-file

	# --slow-disk: where this kernel has cgroup2 with io and memory and blk-iocost, the
	# tests run throttled and nothing of it is left; elsewhere its filesystems skip,
	# saying why, and tmpfs runs as ever.
	local cg=/sys/fs/cgroup sub=""
	[[ -f $cg/cgroup.subtree_control ]] && sub=$(<"$cg/cgroup.subtree_control")
	out=$(FTR_BUILD=$FAKES FTR_IMG_DIR=$IMGDIR runner --fs tmpfs,xfs -t fake_all --slow-disk 1024 --duration 0.1 2>&1); rc=$?
	diag <<<"$out"
	if [[ -f $cg/io.cost.qos && " $(<"$cg/cgroup.controllers") " == *" io "* && " $(<"$cg/cgroup.controllers") " == *" memory "* ]]; then
		[[ $rc -eq 0 ]] && grep -q "^# slow disk: /dev/loop[0-9]* take the tests' writes at 1024 KiB/s" <<<"$out" &&
			grep -qx 'ok 2 fake_all:xfs' <<<"$out" && [[ -z $(find "$cg" -maxdepth 1 -name 'ftr-slow-*') ]] &&
			[[ $(<"$cg/cgroup.subtree_control") == "$sub" ]]
		expect "--slow-disk: the tests ran throttled; no cgroup left, the controllers as before"
	else
		[[ $rc -eq 0 ]] && grep -qx 'ok 1 fake_all:tmpfs' <<<"$out" &&
			grep -Eq '^ok 2 fake_all:xfs # SKIP fs xfs unavailable: --slow-disk: (no cgroup2|no blk-iocost|the cgroup2 root)' <<<"$out"
		expect "--slow-disk where the kernel cannot: xfs skips with the reason, tmpfs runs"
	fi
	check "--slow-disk: nothing left" nothing_left
}

# ---------------------------------------------------------------------------
# (f) tools/ftr-supervise alone: the status, the deadline, a session left behind.
# ---------------------------------------------------------------------------
check_supervisor() {
	local sup=$BUILD/tools/ftr-supervise out rc t0 tag=9999.$$ pid
	if [[ ! -x $sup ]]; then
		nok "supervisor: $sup is missing"
		return
	fi
	out=$("$sup" --prefix '> ' -- sh -c 'echo "@@ftr-runner exit 0"; echo err >&2; exit 3'); rc=$?
	[[ $rc == 3 && $out =~ ^\>\ session\ [0-9]+$'\n'\>\ @@ftr-runner\ exit\ 0$'\n'\>\ err$ ]]
	expect "supervisor: exit 3 passed on; stdout and stderr behind the prefix, nothing in-band"
	"$sup" -- sh -c 'kill -KILL $$' >/dev/null; rc=$?
	check "supervisor: a test killed by SIGKILL is status 137 ($rc)" test "$rc" = 137
	# At the deadline: TERM ignored, a grandchild in a session of its own.
	t0=$SECONDS
	out=$("$sup" --timeout 1 --grace 1 -- sh -c "trap '' TERM; setsid sleep $tag & sleep $tag"); rc=$?
	diag <<<"$out"
	[[ $rc == 124 ]] && grep -q '^TIMEOUT: killing session [0-9]* after 1s$' <<<"$out"
	expect "supervisor: the deadline is status 124 and a TIMEOUT line ($rc after $((SECONDS - t0))s)"
	check "supervisor: the session and the child that left it are gone" wait_for 20 pid_gone_all "sleep $tag"
	# A test that exits and leaves a process holding its pipe, or one that does not.
	out=$("$sup" -- sh -c "sleep $tag & exit 0"); rc=$?
	[[ $rc == 0 ]] && grep -q '^test left processes behind; killing session' <<<"$out" && pid_gone_all "sleep $tag"
	expect "supervisor: what holds the pipe after the test exited is killed, status 0"
	out=$("$sup" -- sh -c "sleep $tag >/dev/null 2>&1 & exit 0"); rc=$?
	[[ $rc == 0 ]] && grep -q '^killing leftover processes of session' <<<"$out" && pid_gone_all "sleep $tag"
	expect "supervisor: a leftover process of the session is killed, status 0"
	# SIGTERM to the supervisor: the session goes first.
	"$sup" -- sh -c "trap '' TERM; sleep $tag" >"$TMP/sup.log" &
	pid=$!
	wait_for 50 pgrep -f "sleep $tag" >/dev/null
	kill -TERM "$pid"; wait "$pid"; rc=$?
	[[ $rc == 143 ]] && pid_gone_all "sleep $tag"
	expect "supervisor: SIGTERM kills the session, then status 143 ($rc)"
}
pid_gone_all() { ! pgrep -f "$1" >/dev/null; }

# ---------------------------------------------------------------------------
# (g) --soak: a failure is kept (output with its replay line, operation log,
#     kernel log) and the soak goes on; passing runs leave nothing; a table
#     ends it.  A TIMEOUT ends it early; a soak that only skipped exits 4.
# ---------------------------------------------------------------------------
check_soak() {
	local out rc t0 t res n logs kept
	if [[ -x $BUILD/selftests/collapse_pin && -x $BUILD/selftests/collapse_write ]]; then
		# --inject dma-orphan fails collapse_pin only: collapse_write has no DMA role.
		# --seed 1 starts the first round with collapse_pin (bash 5.2's RANDOM), so
		# the rest of the soak comes after a failure even on a slow machine.
		t0=$SECONDS
		out=$(FTR_BUILD=$BUILD FTR_RESULTS=$TMP runner --soak 15 --fs tmpfs -t collapse_write:tmpfs,collapse_pin:tmpfs \
			--duration 1 --seed 1 --test-args=--inject=dma-orphan 2>&1)
		rc=$?
		t=$((SECONDS - t0))
		diag < <(grep -v '^# # ' <<<"$out")
		res=$(sed -n 's/^# soak: 15s, .*; failures kept in \(.*\)$/\1/p' <<<"$out")
		check "soak: exit 1 after a failure ($rc), in ${t}s" test "$rc" -eq 1
		n=$(grep -c '^# soak: run [0-9]* ' <<<"$out")
		awk '/^not ok [0-9]+ collapse_pin:tmpfs # exit=1$/ { f = 1; next } f && /^# soak: run [0-9]+ / { r = 1 } END { exit !r }' <<<"$out"
		expect "soak: $n runs, one of them after collapse_pin:tmpfs failed"
		grep -Eq '^# soak: [0-9]+ tests run, [0-9]+ failed, ([0-9]+ (s|min) left|time is up)$' <<<"$out"
		expect "soak: a progress line after each test"
		grep -Eq '^# soak: collapse_pin:tmpfs +[1-9][0-9]* +0 +0 +[1-9][0-9]*$' <<<"$out" &&
			grep -Eq '^# soak: collapse_write:tmpfs +[1-9][0-9]* ' <<<"$out"
		expect "soak: the table counts both test:labels, collapse_pin:tmpfs failing every run"
		kept=$(sed -n 's/^# soak: failed: collapse_pin:tmpfs seed [0-9]* duration 1s (exit=1): \(.*\)\.{log,oplog,dmesg}$/\1/p' <<<"$out" | head -n1)
		[[ -n $res && $kept == "$res"/* ]] && grep -q '^# # replay: collapse_pin .*--inject=dma-orphan .*--seed [0-9]*$' "$kept.log" &&
			grep -q '^not ok [0-9]* collapse_pin:tmpfs # exit=1$' "$kept.log"
		expect "soak: the failed run's output, with its replay line and verdict, is kept: ${kept:-?}.log"
		[[ -s $kept.oplog ]] && head -n1 "$kept.oplog" | grep -q '^# file-thp-race operation log: collapse_pin, seed' && [[ -s $kept.dmesg ]]
		expect "soak: ... and its operation log and kernel log"
		# Files for each failed run it says it kept (the first 3 of a test:fs), none else.
		logs=$(find "${res:-/nonexistent}" -name '*.log' 2>/dev/null | wc -l)
		n=$(grep -c '^# soak: failed: .*\.{log,oplog,dmesg}$' <<<"$out")
		check "soak: files only for the $n failed runs it kept ($logs logs)" \
			test "$logs" -eq "$n" -a "$(find "${res:-/nonexistent}" -type f | wc -l)" -eq $((3 * logs))
		check "soak: nothing left in the scratch dir" nothing_left
		rm -rf "$TMP"/ftr-results.*
	else
		ok "soak: failures kept # SKIP no collapse_pin and collapse_write in $BUILD"
	fi

	t0=$SECONDS
	out=$(FTR_BUILD=$FAKES FTR_RESULTS=$TMP FTR_TIMEOUT=3 runner --soak 60 --fs tmpfs -t fake_pass,fake_all \
		--duration 0.1 --test-args "--inject hang" 2>&1)
	rc=$?
	t=$((SECONDS - t0))
	diag <<<"$out"
	[[ $rc -eq 1 && $(grep -c '^# soak: run ' <<<"$out") -eq 1 ]] && ((t < 40)) &&
		grep -q '^# soak: ended early by a TIMEOUT: fake_[a-z]*:tmpfs timed out (seed [0-9]*); the kernel may be stuck' <<<"$out"
	expect "soak: a TIMEOUT ends a soak of 60s after its one run, in ${t}s, saying the kernel may be stuck"
	grep -q '^# soak: failed: fake_[a-z]*:tmpfs seed [0-9]* duration 0.1s (TIMEOUT after 3s): ' <<<"$out" &&
		[[ $(tail -n1 <<<"$out") == "0 passed, 1 failed, 0 skipped" ]]
	expect "soak: ... with its table and summary"
	rm -rf "$TMP"/ftr-results.*

	out=$(FTR_BUILD=$FAKES FTR_RESULTS=$TMP runner --soak 1 --fs tmpfs -t fake_skip --duration 0.1 2>&1); rc=$?
	# As many runs as fit in its second, every one skipped.
	[[ $rc -eq 4 ]] && grep -Eq '^# soak: fake_skip:tmpfs +([1-9][0-9]*) +0 +\1 +0$' <<<"$out"
	expect "soak: a soak whose every run skipped exits 4 ($rc)"
	local -a left=("$TMP"/ftr-results.*)
	check "soak: no results dir left when nothing failed" test "${#left[@]}" -eq 0
}

check_supervisor
check_hang
check_signal INT
check_signal TERM
check_sigkill
check_bad_input
check_list
check_mix
check_soak

echo "$((N - NFAIL)) passed, $NFAIL failed"
((NFAIL == 0))
