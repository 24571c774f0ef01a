# SPDX-License-Identifier: GPL-2.0
#
# runner/plan.sh - the tests (--describe), the selection, the plan, the budgets.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

label_type() { [[ $1 == tmpfs-huge ]] && echo tmpfs || echo "$1"; }

declare -A T_FS=() T_TIMEOUT=() T_ERR=()
TESTS=()

describe_tests() {
	local name out line k v
	local -a all
	mapfile -t all < <(list_binaries)
	for name in "${all[@]}"; do
		out=$(timeout 30 "$BIN_DIR/$name" --describe </dev/null 2>/dev/null)
		local rc=$?
		T_FS[$name]="" T_TIMEOUT[$name]=""
		while IFS= read -r line; do
			k=${line%%=*}; v=${line#*=}
			case $k in
			fs) T_FS[$name]=$v ;;
			timeout) [[ $v =~ ^[0-9]+$ ]] && T_TIMEOUT[$name]=$v ;;
			esac
		done <<<"$out"
		if ((rc != 0)); then
			T_ERR[$name]="--describe exited $rc"
		elif [[ -z ${T_FS[$name]} ]]; then
			T_ERR[$name]="--describe gave no fs= line"
		fi
		TESTS+=("$name")
	done
}

# A bad waiver file is one line and exit 2 before anything is set up: the tests
# parse it (lib/known.c), so ask one of them.
check_known_issues() {
	[[ -n $OPT_KNOWN && ${#TESTS[@]} -gt 0 ]] || return 0
	local err
	err=$("$BIN_DIR/${TESTS[0]}" --known-issues "$OPT_KNOWN" --describe 2>&1 >/dev/null) ||
		die_usage "--known-issues ${err#*--known-issues }"
}

# Does test NAME declare filesystem TYPE?  "tmpfs" covers both tmpfs labels.
test_has_type() {
	local t; local -a types
	IFS=, read -ra types <<<"${T_FS[$1]}"
	for t in "${types[@]}"; do [[ ${t// /} == "$2" ]] && return 0; done
	return 1
}

# -t PATTERN: with glob characters, a glob on NAME or NAME:LABEL; with a colon,
# exactly NAME:LABEL; otherwise a substring of NAME.
# match_any PATTERNS NAME LABEL: NAME:LABEL matches one of the comma-separated patterns.
match_any() {
	local pat
	local -a pats
	IFS=, read -ra pats <<<"$1"
	for pat in "${pats[@]}"; do
		if [[ $pat == *[*?[]* ]]; then
			# shellcheck disable=SC2053  # $pat is a glob on purpose
			[[ $2 == $pat || "$2:$3" == $pat ]] && return 0
		elif [[ $pat == *:* ]]; then
			[[ "$2:$3" == "$pat" ]] && return 0
		else
			[[ $2 == *"$pat"* ]] && return 0
		fi
	done
	return 1
}

pattern_match() { # NAME LABEL: selected by -t and not taken out by --exclude
	[[ -n $OPT_PATTERN ]] && ! match_any "$OPT_PATTERN" "$1" "$2" && return 1
	[[ -n $OPT_EXCLUDE && -n $2 ]] && match_any "$OPT_EXCLUDE" "$1" "$2" && return 1
	return 0
}

# Plan: one entry per test:label.  P_KIND: run, skip (reason in P_WHY), error.
P_TEST=() P_LABEL=() P_KIND=() P_WHY=()
add_plan() { P_TEST+=("$1"); P_LABEL+=("$2"); P_KIND+=("$3"); P_WHY+=("$4"); }

build_plan() {
	local name l
	for name in "${TESTS[@]}"; do
		if [[ -n ${T_ERR[$name]:-} ]]; then
			pattern_match "$name" "" && add_plan "$name" describe error "${T_ERR[$name]}"
			continue
		fi
		if [[ -n $OPT_DIR ]]; then
			pattern_match "$name" dir || continue
			if test_has_type "$name" "$DIR_TYPE"; then
				add_plan "$name" dir run ""
			else
				add_plan "$name" dir skip "fs type $DIR_TYPE of --dir not in the test's fs list (${T_FS[$name]})"
			fi
			continue
		fi
		for l in "${SEL_LABELS[@]}"; do
			test_has_type "$name" "$(label_type "$l")" || continue
			pattern_match "$name" "$l" && add_plan "$name" "$l" run ""
		done
	done
}

budget_for() { # NAME -> seconds
	local b=${T_TIMEOUT[$1]:-}
	if [[ -n ${FTR_TIMEOUT:-} ]]; then echo "$FTR_TIMEOUT"; return; fi
	[[ -n $b ]] || b=$SETTINGS_TIMEOUT
	# A requested duration longer than the timeout allows still gets to finish.
	if [[ -n $DURATION ]]; then
		local d=${DURATION%%.*}; d=$(( ${d:-0} + 1 ))
		((2 * d + 30 > b)) && b=$((2 * d + 30))
	fi
	echo $((b * EFF_TMUL))
}

# --list: the selected test:label lines on stdout, a test that cannot describe itself on stderr.
print_plan() {
	local k
	for k in "${!P_TEST[@]}"; do
		[[ ${P_KIND[$k]} == run ]] && echo "${P_TEST[$k]}:${P_LABEL[$k]}"
		[[ ${P_KIND[$k]} == error ]] && warn "${P_TEST[$k]}: ${P_WHY[$k]}"
	done
}
