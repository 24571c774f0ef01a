# SPDX-License-Identifier: GPL-2.0
#
# runner/slowdisk.sh - --slow-disk KIBPS: the loop devices under the scratch filesystems
# take the tests' writes at about KIBPS KiB/s, so that folios stay under writeback
# long enough for collapse, split and truncate to meet them (a fast loop device ends
# writeback before anyone looks).  Reads go 16 times faster: at the write rate, under
# TCG, every collapse that reads its PMD in took 0.7 s and a quick test made 13.
# Neither VM kernel has dm-delay or blk-throttle; blk-iocost with a fixed linear model
# (vrate pinned at 100%) does it.
# iocost never throttles the root cgroup, so the runner moves itself, and with it every
# test, into a child cgroup with the io and memory controllers: cgroup writeback
# charges a file's writeback to the cgroup that dirtied it.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

SLOW_ROOT=/sys/fs/cgroup SLOW_CG="" SLOW_WHY="" SLOW_ADDED=""
SLOW_DEVS=()
declare -A SLOW_WAS=()	# MAJ:MIN -> its io.cost.qos and io.cost.model lines before

# Whether the kernel can do it here; SLOW_WHY says why not.
slow_disk_probe() {
	local ctl
	if [[ ! -f $SLOW_ROOT/cgroup.controllers ]]; then
		SLOW_WHY="no cgroup2 mounted at $SLOW_ROOT"
	elif [[ ! -f $SLOW_ROOT/io.cost.qos ]]; then
		SLOW_WHY="no blk-iocost (io.cost.qos) in $SLOW_ROOT"
	else
		ctl=" $(<"$SLOW_ROOT/cgroup.controllers") "
		[[ $ctl == *" io "* && $ctl == *" memory "* ]] ||
			SLOW_WHY="the cgroup2 root at $SLOW_ROOT lacks the io or memory controller (bound to cgroup v1?)"
	fi
	[[ -z $SLOW_WHY ]]
}

# After the loop devices exist: their model and QoS, then the runner into the child.
slow_disk_setup() { # KIBPS
	local bps=$(($1 * 1024)) rbps iops riops c dev mm
	rbps=$((bps * 16)) iops=$((bps / 4096 > 0 ? bps / 4096 : 1)) riops=$((rbps / 4096 > 0 ? rbps / 4096 : 1))
	for c in io memory; do
		[[ " $(<"$SLOW_ROOT/cgroup.subtree_control") " == *" $c "* ]] && continue
		echo "+$c" >"$SLOW_ROOT/cgroup.subtree_control" || { SLOW_WHY="cannot enable the $c controller"; return 1; }
		SLOW_ADDED+=" $c"
	done
	SLOW_CG=$SLOW_ROOT/ftr-slow-$$
	mkdir "$SLOW_CG" || { SLOW_WHY="cannot create $SLOW_CG"; SLOW_CG=""; return 1; }
	for dev in "${LOOPS[@]}"; do
		mm=$(<"/sys/block/${dev##*/}/dev") || continue
		SLOW_WAS[$mm]="$(grep "^$mm " "$SLOW_ROOT/io.cost.qos")|$(grep "^$mm " "$SLOW_ROOT/io.cost.model")"
		SLOW_DEVS+=("$mm")
		if ! echo "$mm ctrl=user model=linear rbps=$rbps rseqiops=$riops rrandiops=$riops wbps=$bps" \
			"wseqiops=$iops wrandiops=$iops" >"$SLOW_ROOT/io.cost.model" ||
			! echo "$mm enable=1 ctrl=user min=100.00 max=100.00" >"$SLOW_ROOT/io.cost.qos"; then
			SLOW_WHY="blk-iocost refused $dev"
			return 1
		fi
	done
	echo $$ >"$SLOW_CG/cgroup.procs" || { SLOW_WHY="cannot move into $SLOW_CG"; return 1; }
	out "# slow disk: ${LOOPS[*]} take the tests' writes at $1 KiB/s, reads at $((rbps / 1024)) KiB/s (blk-iocost, cgroup ${SLOW_CG#"$SLOW_ROOT"/})"
}

# Every exit path, before the loop devices go: nothing throttled, the runner back in
# the root, the child gone, the controllers as they were.
slow_disk_teardown() {
	local mm c
	for mm in "${SLOW_DEVS[@]}"; do
		local was=${SLOW_WAS[$mm]:-|} qos model
		qos=${was%%|*} model=${was#*|}
		echo "${qos:-$mm enable=0}" >"$SLOW_ROOT/io.cost.qos" 2>/dev/null
		echo "${model:-$mm ctrl=auto}" >"$SLOW_ROOT/io.cost.model" 2>/dev/null
	done
	SLOW_DEVS=()
	if [[ -n $SLOW_CG ]]; then
		echo $$ >"$SLOW_ROOT/cgroup.procs" 2>/dev/null
		rmdir "$SLOW_CG" 2>/dev/null || { sleep 0.5; rmdir "$SLOW_CG" 2>/dev/null; } || warn "could not remove $SLOW_CG"
		SLOW_CG=""
	fi
	for c in $SLOW_ADDED; do echo "-$c" >"$SLOW_ROOT/cgroup.subtree_control" 2>/dev/null; done
	SLOW_ADDED=""
}
