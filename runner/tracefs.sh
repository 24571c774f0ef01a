# SPDX-License-Identifier: GPL-2.0
#
# runner/tracefs.sh - remove what a killed test left in tracefs.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

# Trace instances.  A test makes instances/ftr-<its pid> (its session id) and
# removes it on its way out, but a SIGKILL leaves it, and tracefs too when the
# test mounted it itself; the kernel keeps both until someone removes them.
TRACEFS=/sys/kernel/tracing
TRACE_ROOTS=("$TRACEFS" /sys/kernel/debug/tracing)
CUR_TRACEFS_MOUNTED=1   # tracefs was at $TRACEFS before the running test started

tracefs_mounted() { # DIR: is a tracefs mounted there?
	local src mnt type rest
	while read -r src mnt type rest; do
		[[ $mnt == "$1" && $type == tracefs ]] && return 0
	done </proc/self/mounts
	return 1
}

trace_leftovers() { # SID: remove what the test of session SID left in tracefs
	local sid=$1 root inst i
	[[ $sid =~ ^[0-9]+$ ]] || return 0
	for root in "${TRACE_ROOTS[@]}"; do
		# Unmounted roots are skipped: a look into debug/tracing would automount it.
		tracefs_mounted "$root" || continue
		inst=$root/instances/ftr-$sid
		[[ -d $inst ]] || continue
		# EBUSY until the last process of the test has closed its files.
		for ((i = 0; i < 20; i++)); do
			rmdir -- "$inst" 2>/dev/null && break
			sleep 0.1
		done
		if [[ -d $inst ]]; then
			out "# could not remove trace instance $inst left by the test"
		else
			out "# removed trace instance $inst left by the test"
		fi
	done
	# A killed test cannot undo its own mount; lazily, as the test itself does.
	if ((!CUR_TRACEFS_MOUNTED)) && tracefs_mounted "$TRACEFS"; then
		if umount -l "$TRACEFS" 2>/dev/null; then
			out "# unmounted $TRACEFS, mounted by the test"
		else
			out "# could not unmount $TRACEFS, mounted by the test"
		fi
	fi
}

