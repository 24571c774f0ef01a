# SPDX-License-Identifier: GPL-2.0
#
# runner/knobs.sh - THP knobs and loop device read-ahead: snapshot, restore; taint.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

knob_files() {
	local f rel
	for rel in enabled defrag shmem_enabled use_zero_page \
		khugepaged/{defrag,max_ptes_none,max_ptes_swap,max_ptes_shared,pages_to_scan,scan_sleep_millisecs,alloc_sleep_millisecs}; do
		f=$THP/$rel
		[[ -f $f ]] && echo "$f"
	done
	for f in "$THP"/hugepages-*/enabled "$THP"/hugepages-*/shmem_enabled; do
		[[ -f $f ]] && echo "$f"
	done
	for f in "${LOOP_RA[@]}"; do echo "$f"; done
}

# "always [madvise] never" means madvise.
knob_read() {
	local v
	IFS= read -r v 2>/dev/null <"$1" || return 1
	[[ $v =~ \[([^]]*)\] ]] && v=${BASH_REMATCH[1]}
	printf '%s' "$v"
}

# snapshot ARRAYNAME: fills an associative array path -> value (writable knobs only;
# root passes access(2), so look at the mode bits instead).
knob_snapshot() {
	# shellcheck disable=SC2034  # nameref: an associative array of the caller
	local -n snap=$1
	local f mode v
	snap=()
	while IFS= read -r f; do
		mode=$(stat -c %a -- "$f" 2>/dev/null) || continue
		((8#$mode & 0200)) || continue
		v=$(knob_read "$f") || continue
		# shellcheck disable=SC2034  # written through the nameref
		snap["$f"]=$v
	done < <(knob_files)
}

# restore ARRAYNAME: write back what changed, one "# " line each.
knob_restore() {
	local -n saved=$1
	local f cur
	for f in "${!saved[@]}"; do
		[[ -e $f ]] || continue
		cur=$(knob_read "$f") || continue
		[[ $cur == "${saved[$f]}" ]] && continue
		if { printf '%s' "${saved[$f]}" >"$f"; } 2>/dev/null; then
			out "# restored ${f#"$THP"/}: '$cur' -> '${saved[$f]}'"
		else
			out "# could not restore ${f#"$THP"/} to '${saved[$f]}' (now '$cur')"
		fi
	done
}

# FTR_TAINT_FILE is a test hook: runner_checks.sh proves the taint detector
# with a file instead of tainting the kernel for real.
TAINT_FILE=${FTR_TAINT_FILE:-/proc/sys/kernel/tainted}
read_taint() { local t; read -r t 2>/dev/null <"$TAINT_FILE"; echo "${t:-0}"; }

debug_kernel() {
	if [[ -r /proc/config.gz ]]; then
		zcat /proc/config.gz 2>/dev/null | config_is_debug
	elif [[ -r /boot/config-$(uname -r) ]]; then
		config_is_debug <"/boot/config-$(uname -r)"
	else
		return 1
	fi
}
