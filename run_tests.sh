#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh - run the file-thp-race selftests on scratch filesystems.
#
# The runner owns everything around a test: it builds (source tree only), sets
# up scratch filesystems (tmpfs, and xfs/ext4/btrfs on loop devices over
# sparse images in a private temp dir), runs each selftest binary once per
# filesystem label it declares (CONTRACT: "NAME --describe"), enforces the
# timeout through tools/ftr-supervise (a session per test, killed whole at the
# deadline, after its blocked tasks were named), restores THP knobs a test
# changed, fails a test that tainted the kernel, and cleans up on every exit
# path.  It never touches anything it did not create.
#
# Exit status: 0 nothing failed, 1 something failed, 2 bad usage,
# 4 cannot run (not root, missing build dependencies), or a --soak skipped every run.
set -u -o pipefail
shopt -s nullglob

PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
THP=/sys/kernel/mm/transparent_hugepage
ALL_LABELS=(tmpfs tmpfs-huge xfs ext4 btrfs)
DEFAULT_TIMEOUT=300        # when neither the test nor ./settings say otherwise
QUICK_DURATION=2           # --quick default per-test duration, seconds
KILL_GRACE=3               # seconds between SIGTERM and SIGKILL of a test
IMG_SIZE=${FTR_IMG_SIZE:-1G}

# The rest lives in runner/, beside this script in the source and the install tree.
# shellcheck source=runner/common.sh
source "$SCRIPT_DIR/runner/common.sh"
# shellcheck source=runner/args.sh
source "$SCRIPT_DIR/runner/args.sh"
# shellcheck source=runner/deps.sh
source "$SCRIPT_DIR/runner/deps.sh"
# shellcheck source=runner/plan.sh
source "$SCRIPT_DIR/runner/plan.sh"
# shellcheck source=runner/slowdisk.sh
source "$SCRIPT_DIR/runner/slowdisk.sh"
# shellcheck source=runner/knobs.sh
source "$SCRIPT_DIR/runner/knobs.sh"
# shellcheck source=runner/scratch.sh
source "$SCRIPT_DIR/runner/scratch.sh"
# shellcheck source=runner/tracefs.sh
source "$SCRIPT_DIR/runner/tracefs.sh"
# shellcheck source=runner/report.sh
source "$SCRIPT_DIR/runner/report.sh"
# shellcheck source=runner/soak.sh
source "$SCRIPT_DIR/runner/soak.sh"
# shellcheck source=runner/cleanup.sh
source "$SCRIPT_DIR/runner/cleanup.sh"

# ---------------------------------------------------------------------------
# Run one test under tools/ftr-supervise, which owns its session: the deadline,
# the diagnosis of a hang, the kill.  Sets R_STATUS (ok|fail|skip|timeout) R_WHY R_RC.
# ---------------------------------------------------------------------------
CUR_SID="" CUR_FD="" CUR_SUP="" CUR_TAG="" RECORD=""

run_one() { # NAME LABEL DIR BUDGET
	local name=$1 label=$2 dir=$3 budget=$4
	local -a args=(--dir "$dir" --fs "$label" --seed "$SEED") prog=()
	[[ -n $DURATION ]] && args+=(--duration "$DURATION")
	((OPT_QUICK)) && args+=(--quick)
	((EFF_TMUL != 1)) && args+=(--timeout-mul "$EFF_TMUL")
	[[ -n $OPT_KNOWN ]] && args+=(--known-issues "$OPT_KNOWN")
	args+=("${TEST_ARGS[@]}")
	# --until-fail and --soak keep the operation log beside a failing test's output.
	[[ -n $RECORD ]] && args+=(--record "$RECORD")
	R_STATUS="" R_WHY="" R_RC=""
	out "# cmd: $name ${args[*]}"
	((TTY)) && prog=(--progress "$CUR_TAG $name:$label")

	CUR_TRACEFS_MOUNTED=1
	tracefs_mounted "$TRACEFS" || CUR_TRACEFS_MOUNTED=0
	local line last_skip="" start=$SECONDS
	# The supervisor's first line names the session; the rest is the test's output
	# and its notes, all "# " lines.  It ends by the deadline, so no read needs -t.
	exec {CUR_FD}< <(exec "$SUPERVISE" --timeout "$budget" --grace "$KILL_GRACE" --prefix "# " \
		--diagnose "$HANG_SUMMARY" "${prog[@]}" -- "$BIN_DIR/$name" "${args[@]}" </dev/null)
	CUR_SUP=$!
	while IFS= read -r -u "$CUR_FD" line; do
		[[ -z $CUR_SID && $line =~ ^#\ session\ ([0-9]+)$ ]] && CUR_SID=${BASH_REMATCH[1]}
		[[ $line =~ \#[[:space:]]*SKIP[[:space:]]*(.*)$ ]] && last_skip=${BASH_REMATCH[1]}
		out "$line"
	done
	exec {CUR_FD}<&-
	CUR_FD=""
	wait "$CUR_SUP"
	R_RC=$?
	CUR_SUP=""
	# Whatever way the test ended: a timeout, a SIGKILL from outside, a crash.
	[[ -n $CUR_SID ]] && trace_leftovers "$CUR_SID"
	CUR_SID=""
	if ((R_RC == 124)); then
		out "# exit=timeout after $((SECONDS - start))s"
		R_STATUS=timeout; R_WHY="TIMEOUT after ${budget}s"
		return
	fi
	out "# exit=$R_RC after $((SECONDS - start))s"
	case $R_RC in
	0) R_STATUS=ok ;;
	4) R_STATUS=skip; R_WHY=${last_skip:-test exited 4 without a reason} ;;
	*) R_STATUS=fail; R_WHY="exit=$R_RC" ;;
	esac
}

# ---------------------------------------------------------------------------
# One plan entry K: the test on a clean scratch dir, its knobs restored, the
# taint compared.  Sets R_STATUS (ok|fail|skip|timeout) and R_WHY; the caller
# reports it (report_entry), so that --soak can first show a failure's output.
# ---------------------------------------------------------------------------
run_entry() { # K
	local k=$1 name=${P_TEST[$1]} label=${P_LABEL[$1]} budget t0 t1
	# shellcheck disable=SC2034  # filled and read through namerefs
	local -A test_snap=()
	case ${P_KIND[$k]} in
	error) R_STATUS=fail R_WHY=${P_WHY[$k]}; return ;;
	skip) R_STATUS=skip R_WHY=${P_WHY[$k]}; return ;;
	esac
	if [[ -n ${FS_SKIP[$label]:-} ]]; then
		R_STATUS=skip R_WHY="fs $label unavailable: ${FS_SKIP[$label]}"; return
	fi
	budget=$(budget_for "$name")
	out "# $CUR_TAG $name:$label (budget ${budget}s)"
	clean_dir "${FS_MNT[$label]}"
	knob_snapshot test_snap
	t0=$(read_taint)
	run_one "$name" "$label" "${FS_MNT[$label]}" "$budget"
	knob_restore test_snap
	t1=$(read_taint)
	if [[ $t0 != "$t1" ]]; then
		out "# kernel taint changed during the test: $t0 -> $t1"
		R_STATUS=fail; R_WHY="taint $t0 -> $t1${R_WHY:+; $R_WHY}"
	fi
}

report_entry() { # NAME:LABEL
	case $R_STATUS in
	ok) report ok "$1" ;;
	skip) report skip "$1" "$R_WHY" ;;
	*) report fail "$1" "$R_WHY" ;;
	esac
}

# One pass over the plan.  Counters are global across iterations.
run_iteration() {
	local k failed_before=$N_FAIL
	for k in "${!P_TEST[@]}"; do
		CUR_TAG="[$((k + 1))/${#P_TEST[@]}]"
		RECORD=${RESULTS:+$RESULTS/${P_TEST[$k]}-${P_LABEL[$k]}.oplog}
		run_entry "$k"
		report_entry "${P_TEST[$k]}:${P_LABEL[$k]}"
	done
	((N_FAIL == failed_before))
}


# ---------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------
main() {
	parse_args "$@"
	locate_binaries

	if ((OPT_LIST)); then
		[[ -n $(list_binaries) ]] || { warn "no test binaries in $BIN_DIR (run make)"; exit 2; }
		describe_tests
		build_plan
		print_plan
		exit 0
	fi

	if ((EUID != 0)); then
		warn "must run as root: it mounts tmpfs and loop-device filesystems, writes THP sysfs knobs and reads kernel taint (--list works without root)"
		exit 4
	fi

	trap cleanup EXIT
	trap 'on_signal INT' INT
	trap 'on_signal TERM' TERM
	trap 'on_signal HUP' HUP

	ensure_build
	[[ -n $(list_binaries) ]] || { warn "no test binaries in $BIN_DIR"; exit 2; }
	locate_tools
	describe_tests
	check_known_issues
	build_plan
	((${#P_TEST[@]})) || { warn "no test matches${OPT_PATTERN:+ \"$OPT_PATTERN\"} on ${SEL_LABELS[*]}"; exit 2; }

	local k; local -A labels=()
	for k in "${!P_KIND[@]}"; do [[ ${P_KIND[$k]} == run ]] && labels[${P_LABEL[$k]}]=1; done
	[[ -z $OPT_DIR ]] && ensure_runtime "${!labels[@]}"

	SETTINGS_TIMEOUT=$(settings_timeout "$SCRIPT_DIR/settings" "$DEFAULT_TIMEOUT")
	EFF_TMUL=$OPT_TMUL DEBUG_KERNEL=0
	if debug_kernel; then DEBUG_KERNEL=1; EFF_TMUL=$((OPT_TMUL * 3)); fi
	DURATION=$OPT_DURATION
	((OPT_QUICK)) && [[ -z $DURATION ]] && DURATION=$QUICK_DURATION

	local loops=${OPT_LOOP:-1}
	out "TAP version 13"
	STARTED=1    # from here on an interrupted run still ends with the summary line
	out "# kernel: $(uname -r)"
	if ((OPT_UNTIL_FAIL)) || [[ -n $OPT_SOAK ]]; then
		RESULTS=$(mktemp -d "${FTR_RESULTS:-${TMPDIR:-/var/tmp}}/ftr-results.XXXXXX") ||
			{ warn "cannot create a results dir"; exit 1; }
		((OPT_UNTIL_FAIL)) && out "# until-fail: results dir $RESULTS${OPT_LOOP:+, at most $OPT_LOOP iterations}"
	else
		out "1..$(( ${#P_TEST[@]} * loops ))"
	fi
	((DEBUG_KERNEL)) && out "# debug kernel: timeouts x3"
	out "# taint at start: $(read_taint)"

	knob_snapshot INIT_KNOBS
	setup_scratch
	# Now the loop devices exist: take their read-ahead into the run snapshot.
	((${#LOOP_RA[@]})) && { local -A ra=(); knob_snapshot ra; for k in "${LOOP_RA[@]}"; do INIT_KNOBS[$k]=${ra[$k]:-}; done; }

	RUN_T0=$SECONDS
	if [[ -n $OPT_SOAK ]]; then
		soak
		out "1..$TNUM"
		coverage_table
		soak_table
		cleanup
		out "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
		((N_FAIL == 0)) || exit 1
		((N_PASS == 0 && N_SKIP > 0)) && exit 4   # nothing was tested
		exit 0
	fi
	local fixed_seed=$OPT_SEED ok
	for ((ITER = 1; ; ITER++)); do
		SEED=${fixed_seed:-$(( RANDOM << 15 | RANDOM ))}
		if ((OPT_UNTIL_FAIL)); then
			ITER_LOG=$RESULTS/iteration-$ITER.log
			: >"$ITER_LOG"
		fi
		out "# iteration $ITER seed $SEED"
		run_iteration && ok=1 || ok=0
		if ((OPT_UNTIL_FAIL)); then
			if ((!ok)); then
				ITER_LOG=""
				{ dmesg 2>/dev/null | tail -n 300; } >"$RESULTS/dmesg-iteration-$ITER.txt"
				out "# until-fail: iteration $ITER failed after $((SECONDS - RUN_T0))s (seed $SEED); output kept in $RESULTS/iteration-$ITER.log"
				break
			fi
			rm -f -- "$ITER_LOG" "$RESULTS"/*.oplog; ITER_LOG=""
			if [[ -n $OPT_LOOP ]] && ((ITER >= OPT_LOOP)); then
				out "# until-fail: no failure in $ITER iterations, $((SECONDS - RUN_T0))s"
				break
			fi
		elif ((ITER >= loops)); then
			break
		fi
	done
	((OPT_UNTIL_FAIL)) && out "1..$TNUM"
	coverage_table
	out "# elapsed: $((SECONDS - RUN_T0))s, iterations: $ITER"
	cleanup
	out "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	((N_FAIL == 0))
}

main "$@"
