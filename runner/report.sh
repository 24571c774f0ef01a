# SPDX-License-Identifier: GPL-2.0
#
# runner/report.sh - what run_tests.sh prints: KTAP lines, the iteration log, the
# coverage table.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

# Output.  Everything for stdout goes through out() so --until-fail can keep
# an iteration's full text, and --soak can hold a test's text in HELD (a file)
# instead of stdout until it knows whether the test failed.
ITER_LOG="" HELD="" HELD_WHAT="" HELD_T0=0 HELD_BEAT=0
COV_LINES=()
TTY=0; [[ -t 2 ]] && TTY=1
out() {
	if [[ -n $HELD ]]; then
		printf '%s\n' "$*" >>"$HELD"
		# A held test still says it is alive, once a minute while it prints (its epoch
		# lines): vm-run takes 300 s of silence for a hung guest, and a 7.2 test with
		# compaction under TCG ran 5 minutes.
		if ((SECONDS - HELD_BEAT >= 60)); then
			HELD_BEAT=$SECONDS
			printf '# soak: still running: %s, %ss\n' "$HELD_WHAT" "$((SECONDS - HELD_T0))"
		fi
	else
		printf '%s\n' "$*"
		[[ -n $ITER_LOG ]] && printf '%s\n' "$*" >>"$ITER_LOG"
	fi
	# What the suite-wide coverage table is made of (tools/coverage-table.awk).
	[[ $* == *coverage-table:* || $* == "ok "* || $* == "not ok "* ]] && COV_LINES+=("$*")
	return 0
}

# The collapse outcomes every test reached (from their trace instances) and the work it
# did, row x test.
coverage_table() {
	local awkf
	for awkf in "$SCRIPT_DIR/tools/coverage-table.awk" "$SCRIPT_DIR/coverage-table.awk"; do
		[[ -f $awkf ]] || continue
		((${#COV_LINES[@]})) || return 0
		out "# collapse outcomes (tracefs huge_memory:mm_khugepaged_collapse_file) and the work each test did"
		out "# (run.*: epochs verified, epochs whose disk was read, dirty splits read back from the disk, of a THP,"
		out "# collapse calls that overlapped a DMA read into the mapping, that began with a page under"
		out "# writeback), per test:"
		while IFS= read -r line; do out "#   $line"; done < <(printf '%s\n' "${COV_LINES[@]}" | awk -f "$awkf")
		return 0
	done
}


N_PASS=0 N_FAIL=0 N_SKIP=0 TNUM=0

report() { # ok|fail|skip NAME:LABEL [WHY]
	TNUM=$((TNUM + 1))
	case $1 in
	ok) N_PASS=$((N_PASS + 1)); out "ok $TNUM $2" ;;
	skip) N_SKIP=$((N_SKIP + 1)); out "ok $TNUM $2 # SKIP $3" ;;
	*) N_FAIL=$((N_FAIL + 1)); out "not ok $TNUM $2${3:+ # $3}" ;;
	esac
}
