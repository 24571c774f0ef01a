# SPDX-License-Identifier: GPL-2.0
#
# runner/scratch.sh - the scratch filesystems, all under one private dir (WORK).
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

WORK="" RESULTS="" DIR_WORK=""
MOUNTS=() LOOPS=() LOOP_RA=()
declare -A FS_MNT=() FS_SKIP=()

tmpfs_size_mb() {
	local kb mb
	kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	mb=$(( ${kb:-1048576} / 1024 / 4 ))
	((mb > 2048)) && mb=2048
	((mb < 64)) && mb=64
	echo $(( mb / 2 * 2 ))   # a whole number of 2 MiB pages for huge=always
}

setup_label() { # LABEL
	local l=$1 mnt=$WORK/mnt/$1 img dev err
	mkdir -p "$mnt" || { FS_SKIP[$l]="cannot create $mnt"; return; }
	case $l in
	tmpfs|tmpfs-huge)
		local huge=never; [[ $l == tmpfs-huge ]] && huge=always
		if ! err=$(mount -t tmpfs -o "size=$(tmpfs_size_mb)m,huge=$huge,mode=0755" "ftr-$l" "$mnt" 2>&1); then
			FS_SKIP[$l]="mount tmpfs huge=$huge failed: ${err//$'\n'/ }"; return
		fi
		MOUNTS+=("$mnt") ;;
	xfs|ext4|btrfs)
		if [[ -n ${MKFS_MISSING[$l]:-} ]]; then FS_SKIP[$l]=${MKFS_MISSING[$l]}; return; fi
		img=$WORK/img/$l.img
		if ! { mkdir -p "$WORK/img" && truncate -s "$IMG_SIZE" "$img"; }; then
			FS_SKIP[$l]="cannot create sparse image $img"; return
		fi
		case $l in
		xfs) err=$(timeout 120 mkfs.xfs -f -q "$img" 2>&1) ;;
		ext4) err=$(timeout 120 mkfs.ext4 -q -F "$img" 2>&1) ;;
		btrfs) err=$(timeout 120 mkfs.btrfs -q -f "$img" 2>&1) ;;
		esac || { FS_SKIP[$l]="mkfs.$l failed: ${err//$'\n'/ }"; return; }
		# Direct IO to the image: one page cache (the test's), and the loop worker
		# keeps several requests in flight instead of copying through a second cache
		# one at a time (under TCG that worker, busy in filemap_read() of the image,
		# held a test's writes for minutes).  The kernel falls back where it cannot.
		dev=$(losetup -f --show --direct-io=on "$img" 2>&1) || dev=$(losetup -f --show "$img" 2>&1) ||
			{ FS_SKIP[$l]="losetup failed: $dev"; return; }
		LOOPS+=("$dev")
		[[ -f /sys/block/${dev##*/}/queue/read_ahead_kb ]] && LOOP_RA+=("/sys/block/${dev##*/}/queue/read_ahead_kb")
		if ! err=$(mount -t "$l" "$dev" "$mnt" 2>&1); then
			FS_SKIP[$l]="mount $l failed: ${err//$'\n'/ }"; return
		fi
		MOUNTS+=("$mnt") ;;
	esac
	FS_MNT[$l]=$mnt
	local t src opts
	read -r t src opts < <(findmnt -n -o FSTYPE,SOURCE,OPTIONS -T "$mnt")
	[[ $(cat "/sys/block/${src##*/}/loop/dio" 2>/dev/null) == 1 ]] && src+=" (direct IO)"
	out "# fs $l: $t on $src at $mnt ($opts)"
}

setup_scratch() {
	local l k; local -A need=()
	for k in "${!P_KIND[@]}"; do [[ ${P_KIND[$k]} == run ]] && need[${P_LABEL[$k]}]=1; done
	if [[ -n $OPT_DIR ]]; then
		# Tests get a private subdirectory, so cleaning never touches the user's files.
		DIR_WORK=$(mktemp -d "$OPT_DIR/.ftr-run.XXXXXX") || { warn "cannot create a work dir in $OPT_DIR"; exit 1; }
		FS_MNT[dir]=$DIR_WORK
		out "# dir: $OPT_DIR (type $DIR_TYPE), tests run in $DIR_WORK"
		return
	fi
	((${#need[@]})) || return 0
	local base=${FTR_IMG_DIR:-${TMPDIR:-/var/tmp}}
	WORK=$(mktemp -d "$base/ftr-scratch.XXXXXX") || { warn "cannot create a scratch dir in $base"; exit 1; }
	out "# scratch: $WORK"
	[[ -n $OPT_SLOW ]] && ! slow_disk_probe && for l in xfs ext4 btrfs; do FS_SKIP[$l]="--slow-disk: $SLOW_WHY"; done
	for l in "${SEL_LABELS[@]}"; do
		[[ -n ${need[$l]:-} && -z ${FS_SKIP[$l]:-} ]] && setup_label "$l"
		[[ -n ${FS_SKIP[$l]:-} ]] && out "# fs $l unavailable: ${FS_SKIP[$l]}"
	done
	if [[ -n $OPT_SLOW && -z $SLOW_WHY ]] && ((${#LOOPS[@]})) && ! slow_disk_setup "$OPT_SLOW"; then
		slow_disk_teardown
		for l in xfs ext4 btrfs; do
			[[ -n ${FS_MNT[$l]:-} ]] || continue
			unset "FS_MNT[$l]"
			FS_SKIP[$l]="--slow-disk: $SLOW_WHY"
			out "# fs $l unavailable: ${FS_SKIP[$l]}"
		done
	fi
	return 0
}

# Empty a scratch dir between tests.  Keep ext4's lost+found; never cross into
# another filesystem.
clean_dir() {
	local d=$1 e
	[[ -d $d ]] || return 0
	for e in "$d"/* "$d"/.[!.]* "$d"/..?*; do
		[[ ${e##*/} == lost+found ]] && continue
		rm -rf --one-file-system -- "$e" 2>/dev/null || out "# could not remove $e"
	done
}

# Every exit path: unmount, detach and remove what setup_scratch made.
scratch_teardown() {
	local m dev img
	slow_disk_teardown
	# Unmount everything under our scratch dir, deepest first (a test might
	# have left a mount inside a scratch fs).
	if [[ -n $WORK ]]; then
		local -a under
		mapfile -t under < <(findmnt -rn -o TARGET | awk -v w="$WORK/" 'index($0, w) == 1' | sort -r)
		for m in "${under[@]}"; do
			umount "$m" 2>/dev/null || { sleep 0.5; umount "$m" 2>/dev/null; } ||
				{ warn "umount $m failed, detaching lazily"; umount -l "$m" 2>/dev/null; }
		done
	fi
	# Detach the loop devices over our images (asking losetup -j rather than
	# trusting LOOPS: a signal may land between losetup and recording it).
	for img in "${WORK:-/nonexistent}"/img/*.img; do
		while read -r dev; do
			[[ -n $dev ]] || continue
			losetup -d "$dev" 2>/dev/null || { sleep 0.5; losetup -d "$dev" 2>/dev/null; } ||
				warn "losetup -d $dev failed"
		done < <(losetup -n -O NAME -j "$img" 2>/dev/null)
	done
	if [[ -n $WORK && -d $WORK ]]; then
		rm -rf --one-file-system -- "$WORK" 2>/dev/null || warn "could not remove $WORK"
	fi
	if [[ -n $DIR_WORK && -d $DIR_WORK ]]; then
		rm -rf --one-file-system -- "$DIR_WORK" 2>/dev/null || warn "could not remove $DIR_WORK"
	fi
}
