# SPDX-License-Identifier: GPL-2.0
#
# runner/soak.sh - run_tests.sh --soak S: the selection over and over until S
# seconds are up, for a machine left running (CI at night, a developer away).
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

# A test's duration, in turn: many short runs try many seeds, longer runs give
# what builds up (dirty pages, fragmentation, writeback) time to.
SOAK_DURATIONS=(2 5 10)
# Failed runs whose files are kept, per test:label: a kernel that fails a test
# every few runs all night would fill the disk with operation logs (up to
# 131072 operations per role each), and the first few say what the rest would.
SOAK_KEEP=3

# Per test:label counts, and one line per failed run for the table.
declare -A SK_RUNS=() SK_PASS=() SK_SKIP=() SK_FAIL=() SK_KEPT=()
SK_KEYS=() SK_FAILED=()
SK_N=0          # runs started
SK_DONE=0       # runs counted in the table
SK_BASE=""      # the running test's result files, less their suffix
SK_STOP=""      # why the soak ended before its time

soak_count() { # NAME:LABEL (R_STATUS says how it ended)
	local key=$1
	SK_DONE=$((SK_DONE + 1))
	SK_RUNS[$key]=$((${SK_RUNS[$key]:-0} + 1))
	case $R_STATUS in
	ok) SK_PASS[$key]=$((${SK_PASS[$key]:-0} + 1)) ;;
	skip) SK_SKIP[$key]=$((${SK_SKIP[$key]:-0} + 1)) ;;
	*) SK_FAIL[$key]=$((${SK_FAIL[$key]:-0} + 1)) ;;
	esac
}

soak_left() { # seconds -> "12 min left"
	if (($1 >= 120)); then echo "$(($1 / 60)) min left"
	elif (($1 > 0)); then echo "$1 s left"
	else echo "time is up"
	fi
}

# The soak proper; RUN_T0 is its start.  Every test:label is counted from the
# start, so that the table lists what never got a turn too.
soak() {
	local end=$((RUN_T0 + OPT_SOAK)) k key left d od seed t f
	local -a runnable=() round=()
	# Reproducible choices: the same --seed makes the same rounds, seeds and durations.
	seed=${OPT_SEED:-$((RANDOM << 15 | RANDOM))}
	RANDOM=$seed
	out "# soak: ${OPT_SOAK}s, choices seeded with $seed (--seed $seed repeats them); failures kept in $RESULTS"
	for k in "${!P_TEST[@]}"; do
		key=${P_TEST[$k]}:${P_LABEL[$k]}
		SK_KEYS+=("$key")
		if [[ ${P_KIND[$k]} == run && -z ${FS_SKIP[${P_LABEL[$k]}]:-} ]]; then
			runnable+=("$k")
		else
			# Cannot run (no --describe, fs unavailable): said once, not every round.
			run_entry "$k"; report_entry "$key"; soak_count "$key"
		fi
	done
	while ((${#runnable[@]})); do
		left=$((end - SECONDS))
		((left >= 1)) || break
		# A new round: every runnable test:label once, in a new order.
		if ((${#round[@]} == 0)); then
			round=("${runnable[@]}")
			for ((d = ${#round[@]} - 1; d > 0; d--)); do
				k=$((RANDOM % (d + 1)))
				t=${round[d]}; round[d]=${round[k]}; round[k]=$t
			done
		fi
		k=${round[0]} round=("${round[@]:1}")
		key=${P_TEST[$k]}:${P_LABEL[$k]}
		SK_N=$((SK_N + 1))
		SEED=$((RANDOM << 15 | RANDOM))
		# The last test ends near the soak's end: its duration is cut to the time left.
		if [[ -n $OPT_DURATION ]]; then
			DURATION=$OPT_DURATION od=${OPT_DURATION%%.*}
			((${od:-0} >= left)) && DURATION=$left
		else
			DURATION=${SOAK_DURATIONS[(SK_N - 1) % ${#SOAK_DURATIONS[@]}]}
			((DURATION > left)) && DURATION=$left
		fi
		out "# soak: run $SK_N $key seed $SEED duration ${DURATION}s"
		SK_BASE=$RESULTS/$(printf '%04d' "$SK_N")-${P_TEST[$k]}-${P_LABEL[$k]}-$SEED
		CUR_TAG="[soak $SK_N, $(soak_left "$left")]" RECORD=$SK_BASE.oplog HELD=$SK_BASE.log
		HELD_WHAT="run $SK_N $key" HELD_T0=$SECONDS HELD_BEAT=$SECONDS
		run_entry "$k"
		HELD=""
		if [[ $R_STATUS == ok || $R_STATUS == skip ]]; then
			rm -f -- "$SK_BASE".*
			report_entry "$key"
		else
			{ dmesg 2>/dev/null | tail -n 300; } >"$SK_BASE.dmesg"
			# To stdout too: under vm-run that is the only copy that leaves the guest.
			cat -- "$SK_BASE.log"
			ITER_LOG=$SK_BASE.log
			report_entry "$key"
			ITER_LOG=""
			SK_KEPT[$key]=$((${SK_KEPT[$key]:-0} + 1))
			if ((${SK_KEPT[$key]} > SOAK_KEEP)); then
				rm -f -- "$SK_BASE".*
				t="files not kept: the first $SOAK_KEEP of $key are"
			else
				t=""
				for f in log oplog dmesg; do [[ -e $SK_BASE.$f ]] && t+=${t:+,}$f; done
				[[ $t == *,* ]] && t="{$t}"
				t=$SK_BASE.$t
			fi
			SK_FAILED+=("$key seed $SEED duration ${DURATION}s (${R_WHY:-failed}): $t")
		fi
		soak_count "$key"
		SK_BASE=""
		if [[ $R_STATUS == timeout ]]; then
			SK_STOP="$key timed out (seed $SEED)"
			break
		fi
		out "# soak: $SK_DONE tests run, $N_FAIL failed, $(soak_left $((end - SECONDS)))"
	done
	return 0
}

# The table: per test:label how its runs ended, then each failed run and its files.
soak_table() {
	local key w=7
	for key in "${SK_KEYS[@]}"; do ((${#key} > w)) && w=${#key}; done
	# A test the supervisor had to kill at its deadline was often blocked in the kernel.
	[[ -n $SK_STOP ]] && out "# soak: ended early by a TIMEOUT: $SK_STOP; the kernel may be stuck, so later runs would prove little; on bare metal, reboot before the next soak"
	out "# soak: $SK_DONE runs in $((SECONDS - RUN_T0))s of ${OPT_SOAK}s: $N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	out "$(printf '# soak: %-*s %5s %5s %5s %5s' "$w" test:fs runs pass skip fail)"
	for key in "${SK_KEYS[@]}"; do
		out "$(printf '# soak: %-*s %5d %5d %5d %5d' "$w" "$key" "${SK_RUNS[$key]:-0}" \
			"${SK_PASS[$key]:-0}" "${SK_SKIP[$key]:-0}" "${SK_FAIL[$key]:-0}")"
	done
	for key in "${SK_FAILED[@]}"; do out "# soak: failed: $key"; done
	return 0
}
