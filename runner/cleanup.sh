# SPDX-License-Identifier: GPL-2.0
#
# runner/cleanup.sh - every exit path of run_tests.sh: the EXIT trap and the signals.
# Idempotent; only what the runner created.  Sourced by run_tests.sh; no side effects
# but definitions.
# shellcheck shell=bash

CLEANED=0 INTERRUPTED="" STARTED=0 ITER=0 RUN_T0=0
declare -A INIT_KNOBS=()

cleanup() {
	((CLEANED)) && return
	CLEANED=1
	trap '' INT TERM HUP
	IFS=$' \t\n'    # a trap can run while a command's "IFS= read" prefix is active
	HELD=""         # a soak's test was cut short: from here on, stdout
	local j
	local -a kids
	# Nobody reads the supervisor's notes any more (it ignores the EPIPE); on
	# SIGTERM it kills the test's session before it exits.
	[[ -n $CUR_FD ]] && exec {CUR_FD}<&-
	mapfile -t kids < <(jobs -p)
	[[ -n $CUR_SUP ]] && kids+=("$CUR_SUP")
	for j in "${kids[@]}"; do kill -TERM "$j" 2>/dev/null; done
	wait 2>/dev/null
	[[ -n $CUR_SID ]] && trace_leftovers "$CUR_SID"
	((${#INIT_KNOBS[@]})) && knob_restore INIT_KNOBS
	scratch_teardown
	[[ -n $SK_BASE ]] && rm -f -- "$SK_BASE".*   # the soak's interrupted test has no verdict
	if [[ -n $RESULTS && -d $RESULTS ]]; then
		rmdir -- "$RESULTS" 2>/dev/null   # kept only when it holds a failure
	fi
	if ((STARTED)) && [[ -n $INTERRUPTED ]]; then
		((OPT_UNTIL_FAIL)) && out "# interrupted in iteration $ITER after $((SECONDS - RUN_T0))s"
		out "# interrupted by SIG$INTERRUPTED"
		((${#SK_KEYS[@]})) && soak_table
		out "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	fi
}

# No "read -t" anywhere (the supervisor keeps the deadline), so a trap may exit:
# bash's read timeout once longjmp'd into a dead frame when one did.
on_signal() {
	INTERRUPTED=$1
	trap '' INT TERM HUP
	case $1 in INT) exit 130 ;; TERM) exit 143 ;; *) exit 129 ;; esac
}
