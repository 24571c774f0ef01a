#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh - run the file-thp-race selftests on scratch filesystems.
#
# The runner owns everything around a test: it builds (source tree only), sets
# up scratch filesystems (tmpfs, and xfs/ext4/btrfs on loop devices over
# sparse images in a private temp dir), runs each selftest binary once per
# filesystem label it declares (CONTRACT: "NAME --describe"), enforces the
# timeout by killing the test's whole session, restores THP knobs a test
# changed, fails a test that tainted the kernel, and cleans up on every exit
# path.  It never touches anything it did not create.
#
# Exit status: 0 nothing failed, 1 something failed, 2 bad usage,
# 4 cannot run (not root, missing build dependencies).
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

usage() {
	cat <<EOF
Usage: $PROG [options]
Run the file-thp-race selftests (root) on scratch filesystems, KTAP output.

  --fs LIST          comma list of labels: ${ALL_LABELS[*]} (default: all)
  --dir DIR          test an existing mounted directory instead (label "dir");
                     tests not declaring its fs type are skipped
  --duration S       per-test duration in seconds (positive number)
  --seed N           seed passed to every test (default: random, printed)
  --quick            CI profile: pass --quick, duration ${QUICK_DURATION}s unless --duration
  -t PATTERN[,...]   select tests: a glob on NAME or NAME:LABEL; without glob
                     characters NAME:LABEL exactly, or a substring of NAME;
                     several patterns separated by commas select their union
  --exclude PAT[,..] leave out what these patterns match (same syntax as -t)
  --list             print the selected test:label lines and exit (no root)
  --loop N           run the selection N times
  --until-fail       rerun until the first failure (at most --loop N times);
                     the failing iteration's output is kept in a results dir
  --timeout-mul N    multiply every timeout by N (integer; x3 more on a
                     debug kernel: KASAN, LOCKDEP, DEBUG_VM, PROVE_LOCKING)
  --test-args "ARGS" append ARGS (whitespace split) to every test's command
  --known-issues F   waive the known kernel issues F lists ("TEST:FS ID" lines,
                     see README): such a failure with its evidence is XFAIL
  --no-install       never install packages; print what is missing
  -h, --help         this text

Environment:
  FTR_BUILD      build dir holding selftests/NAME (default: ./build in the
                 source tree, built with make; ./selftests in an install tree)
  FTR_IMG_DIR    where the private scratch dir is made (default \${TMPDIR:-/var/tmp})
  FTR_IMG_SIZE   size of the sparse xfs/ext4/btrfs images (default 1G)
  FTR_RESULTS    where --until-fail makes its results dir (default \${TMPDIR:-/var/tmp})
  FTR_TEST_ARGS  like --test-args
  FTR_TIMEOUT    per-test budget in seconds, overriding all timeouts/multipliers
EOF
}

# One line, exit 2: every usage error goes through here before anything exists.
die_usage() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 2; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

is_posnum() { [[ $1 =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ && $1 =~ [1-9] ]]; }
is_posint() { [[ $1 =~ ^[0-9]+$ && $1 =~ [1-9] && ${#1} -le 9 ]]; }

label_type() { [[ $1 == tmpfs-huge ]] && echo tmpfs || echo "$1"; }

# ---------------------------------------------------------------------------
# Options.  Validate everything before creating or changing anything.
# ---------------------------------------------------------------------------
OPT_FS="" OPT_DIR="" OPT_DURATION="" OPT_SEED="" OPT_QUICK=0 OPT_PATTERN="" OPT_EXCLUDE=""
OPT_LIST=0 OPT_LOOP="" OPT_UNTIL_FAIL=0 OPT_TMUL=1 OPT_NO_INSTALL=0 OPT_KNOWN=""
OPT_TEST_ARGS=${FTR_TEST_ARGS:-}

parse_args() {
	local opt val
	while (($#)); do
		opt=$1; val=""
		# Accept --opt=value as well as --opt value.
		if [[ $opt == --*=* ]]; then
			val=${opt#*=}; opt=${opt%%=*}
			set -- "$opt" "$val" "${@:2}"
		fi
		case $opt in
		--fs|--dir|--duration|--seed|-t|--exclude|--loop|--timeout-mul|--test-args|--known-issues)
			(($# >= 2)) || die_usage "$opt needs an argument"
			val=$2; shift 2 ;;
		*) shift ;;
		esac
		case $opt in
		--fs) OPT_FS=$val ;;
		--dir) OPT_DIR=$val ;;
		--duration) is_posnum "$val" || die_usage "--duration: expected a positive number of seconds, got '$val'"
			OPT_DURATION=$val ;;
		--seed) [[ $val =~ ^[0-9]{1,18}$ ]] || die_usage "--seed: expected a non-negative integer, got '$val'"
			OPT_SEED=$val ;;
		--quick) OPT_QUICK=1 ;;
		-t) [[ -n $val ]] || die_usage "-t: empty pattern"
			OPT_PATTERN=$val ;;
		--exclude) [[ -n $val ]] || die_usage "--exclude: empty pattern"
			OPT_EXCLUDE=$val ;;
		--list) OPT_LIST=1 ;;
		--loop) is_posint "$val" || die_usage "--loop: expected a positive integer, got '$val'"
			OPT_LOOP=$val ;;
		--until-fail) OPT_UNTIL_FAIL=1 ;;
		--timeout-mul) is_posint "$val" || die_usage "--timeout-mul: expected a positive integer, got '$val'"
			OPT_TMUL=$val ;;
		--test-args) OPT_TEST_ARGS="$OPT_TEST_ARGS $val" ;;
		--known-issues) [[ -f $val && -r $val ]] || die_usage "--known-issues: '$val' is not a readable file"
			# absolute: the tests run elsewhere; its lines are checked by the first test
			OPT_KNOWN=$(realpath -- "$val") ;;
		--no-install) OPT_NO_INSTALL=1 ;;
		-h|--help) usage; exit 0 ;;
		-*) die_usage "unknown option '$opt'" ;;
		*) die_usage "unexpected argument '$opt'" ;;
		esac
	done

	local l k ok
	SEL_LABELS=()
	if [[ -n $OPT_DIR ]]; then
		[[ -z $OPT_FS ]] || die_usage "--fs and --dir exclude each other"
		[[ -e $OPT_DIR ]] || die_usage "--dir: '$OPT_DIR' does not exist"
		[[ -d $OPT_DIR ]] || die_usage "--dir: '$OPT_DIR' is not a directory"
		OPT_DIR=$(cd -- "$OPT_DIR" && pwd -P) || die_usage "--dir: cannot enter '$OPT_DIR'"
		DIR_TYPE=$(dir_fstype "$OPT_DIR")
		[[ -n $DIR_TYPE ]] || die_usage "--dir: cannot tell the filesystem type of '$OPT_DIR'"
		SEL_LABELS=(dir)
	elif [[ -n $OPT_FS ]]; then
		[[ $OPT_FS =~ ^[a-z0-9-]+(,[a-z0-9-]+)*$ ]] || die_usage "--fs: bad list '$OPT_FS' (labels: ${ALL_LABELS[*]})"
		local -a want
		IFS=, read -ra want <<<"$OPT_FS"
		for l in "${want[@]}"; do
			ok=0
			for k in "${ALL_LABELS[@]}"; do [[ $l == "$k" ]] && ok=1; done
			((ok)) || die_usage "--fs: unknown filesystem label '$l' (labels: ${ALL_LABELS[*]})"
		done
		# Keep the canonical order, drop duplicates.
		for k in "${ALL_LABELS[@]}"; do
			for l in "${want[@]}"; do [[ $l == "$k" ]] && { SEL_LABELS+=("$k"); break; }; done
		done
	else
		SEL_LABELS=("${ALL_LABELS[@]}")
	fi
	# The split is deliberate: --test-args is a whitespace separated list.
	read -ra TEST_ARGS <<<"$OPT_TEST_ARGS"
	if [[ -n ${FTR_TIMEOUT:-} ]]; then
		is_posint "$FTR_TIMEOUT" || die_usage "FTR_TIMEOUT: expected a positive integer, got '$FTR_TIMEOUT'"
	fi
	[[ $IMG_SIZE =~ ^[1-9][0-9]*[MG]$ ]] || die_usage "FTR_IMG_SIZE: expected e.g. 512M or 2G, got '$IMG_SIZE'"
}

# Filesystem type of a directory: findmnt knows ext4 from ext2/3, stat -f is
# the fallback when findmnt is missing.
dir_fstype() {
	local t
	t=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -n1)
	if [[ -z $t ]]; then
		t=$(stat -f -c %T -- "$1" 2>/dev/null)
		[[ $t == ext2/ext3 ]] && t=ext4
	fi
	echo "$t"
}

# ---------------------------------------------------------------------------
# Where the binaries are.  Source tree: selftests/*.c beside the script.
# ---------------------------------------------------------------------------
locate_binaries() {
	local -a srcs=("$SCRIPT_DIR"/selftests/*.c)
	SOURCE_TREE=0; ((${#srcs[@]})) && SOURCE_TREE=1
	if [[ -n ${FTR_BUILD:-} ]]; then
		BUILD_DIR=$FTR_BUILD; BUILD_EXPLICIT=1
	elif ((SOURCE_TREE)); then
		BUILD_DIR=$SCRIPT_DIR/build; BUILD_EXPLICIT=0
	else
		BUILD_DIR=$SCRIPT_DIR; BUILD_EXPLICIT=0
	fi
	BIN_DIR=$BUILD_DIR/selftests
}

list_binaries() {
	local f
	for f in "$BIN_DIR"/*; do
		[[ -f $f && -x $f ]] && echo "${f##*/}"
	done
}

# ---------------------------------------------------------------------------
# Packages.  apt-get first; dnf/zypper names where they differ.
# ---------------------------------------------------------------------------
declare -A PKG_APT=([gcc]=gcc [make]=make [liburing]=liburing-dev [libnuma]=libnuma-dev
	[xfs]=xfsprogs [ext4]=e2fsprogs [btrfs]=btrfs-progs [util-linux]="util-linux mount")
declare -A PKG_DNF=([gcc]=gcc [make]=make [liburing]=liburing-devel [libnuma]=numactl-devel
	[xfs]=xfsprogs [ext4]=e2fsprogs [btrfs]=btrfs-progs [util-linux]=util-linux)
declare -A PKG_ZYP=([gcc]=gcc [make]=make [liburing]=liburing-devel [libnuma]=libnuma-devel
	[xfs]=xfsprogs [ext4]=e2fsprogs [btrfs]=btrfs-progs [util-linux]=util-linux)
declare -A MKFS=([xfs]=mkfs.xfs [ext4]=mkfs.ext4 [btrfs]=mkfs.btrfs)

have_header() { printf '#include <%s>\n' "$1" | gcc -E -x c - >/dev/null 2>&1; }

missing_build_deps() {
	command -v gcc >/dev/null || echo gcc
	command -v make >/dev/null || echo make
	if command -v gcc >/dev/null; then
		have_header liburing.h || echo liburing
		have_header numa.h || echo libnuma
	fi
}

missing_runtime_deps() {
	local l t
	for t in losetup mount umount findmnt setsid timeout; do
		command -v "$t" >/dev/null || { echo util-linux; break; }
	done
	for l in "$@"; do
		[[ -n ${MKFS[$l]:-} ]] || continue
		command -v "${MKFS[$l]}" >/dev/null || echo "$l"
	done
}

pkg_names() { # KEY... -> "apt: ...; dnf: ...; zypper: ..."
	local k a="" d="" z=""
	for k in "$@"; do a+=" ${PKG_APT[$k]}"; d+=" ${PKG_DNF[$k]}"; z+=" ${PKG_ZYP[$k]}"; done
	echo "apt-get install${a}; dnf install${d}; zypper install${z}"
}

install_pkgs() { # KEY...
	local k; local -a pk=()
	if command -v apt-get >/dev/null; then
		for k in "$@"; do read -ra p <<<"${PKG_APT[$k]}"; pk+=("${p[@]}"); done
		warn "installing missing packages with apt-get: ${pk[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pk[@]}" >&2 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pk[@]}" >&2; }
	elif command -v dnf >/dev/null; then
		for k in "$@"; do read -ra p <<<"${PKG_DNF[$k]}"; pk+=("${p[@]}"); done
		warn "installing missing packages with dnf: ${pk[*]}"
		dnf install -y "${pk[@]}" >&2
	elif command -v zypper >/dev/null; then
		for k in "$@"; do read -ra p <<<"${PKG_ZYP[$k]}"; pk+=("${p[@]}"); done
		warn "installing missing packages with zypper: ${pk[*]}"
		zypper --non-interactive install "${pk[@]}" >&2
	else
		warn "no apt-get, dnf or zypper to install: $(pkg_names "$@")"
		return 1
	fi
}

ensure_build() {
	((SOURCE_TREE)) || return 0
	# An explicit FTR_BUILD that already holds binaries (make run_tests, or a
	# directory of fakes) is used as is; otherwise make (incremental) keeps it fresh.
	if ((BUILD_EXPLICIT)) && [[ -n $(list_binaries) ]]; then return 0; fi
	local -a miss
	mapfile -t miss < <(missing_build_deps)
	if ((${#miss[@]})); then
		if ((OPT_NO_INSTALL)); then
			warn "missing build dependencies, not installing (--no-install): $(pkg_names "${miss[@]}")"
			exit 4
		fi
		install_pkgs "${miss[@]}" || { warn "could not install build dependencies: $(pkg_names "${miss[@]}")"; exit 4; }
		mapfile -t miss < <(missing_build_deps)
		((${#miss[@]} == 0)) || { warn "still missing build dependencies: $(pkg_names "${miss[@]}")"; exit 4; }
	fi
	warn "building in $BUILD_DIR"
	make -s -C "$SCRIPT_DIR" OUTPUT="$BUILD_DIR" all >&2 || { warn "build failed"; exit 1; }
}

# Runtime tools: a missing mkfs only skips that filesystem (MKFS_MISSING).
declare -A MKFS_MISSING=()
ensure_runtime() {
	local -a miss; local k
	mapfile -t miss < <(missing_runtime_deps "$@")
	((${#miss[@]})) || return 0
	if ((OPT_NO_INSTALL)); then
		warn "missing runtime tools, not installing (--no-install): $(pkg_names "${miss[@]}")"
	else
		install_pkgs "${miss[@]}" || warn "could not install: $(pkg_names "${miss[@]}")"
		mapfile -t miss < <(missing_runtime_deps "$@")
	fi
	for k in "${miss[@]}"; do
		[[ $k == util-linux ]] && { warn "util-linux tools (losetup, mount, findmnt, setsid) are required"; exit 4; }
		MKFS_MISSING[$k]="${MKFS[$k]} not found (package ${PKG_APT[$k]})"
	done
}

# ---------------------------------------------------------------------------
# Tests: --describe, selection, plan.
# ---------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------
# THP knobs and loop device read-ahead: snapshot, compare, restore.
# ---------------------------------------------------------------------------
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
	local cfg
	if [[ -r /proc/config.gz ]]; then
		cfg=$(zcat /proc/config.gz 2>/dev/null)
	elif [[ -r /boot/config-$(uname -r) ]]; then
		cfg=$(<"/boot/config-$(uname -r)")
	else
		return 1
	fi
	grep -Eq '^CONFIG_(KASAN|LOCKDEP|DEBUG_VM|PROVE_LOCKING)=y' <<<"$cfg"
}

# ---------------------------------------------------------------------------
# Output.  Everything for stdout goes through out() so --until-fail can keep
# an iteration's full text.
# ---------------------------------------------------------------------------
ITER_LOG=""
COV_LINES=()
TTY=0; [[ -t 2 ]] && TTY=1
PROGRESS_SHOWN=0
out() {
	if ((PROGRESS_SHOWN)); then printf '\r\033[K' >&2; PROGRESS_SHOWN=0; fi
	printf '%s\n' "$*"
	[[ -n $ITER_LOG ]] && printf '%s\n' "$*" >>"$ITER_LOG"
	# What the suite-wide coverage table is made of (tools/coverage-table.awk).
	[[ $* == *coverage-table:* || $* == "ok "* || $* == "not ok "* ]] && COV_LINES+=("$*")
	return 0
}

# The collapse outcomes every test reached, outcome x test, from their trace instances.
coverage_table() {
	local awkf
	for awkf in "$SCRIPT_DIR/tools/coverage-table.awk" "$SCRIPT_DIR/coverage-table.awk"; do
		[[ -f $awkf ]] || continue
		((${#COV_LINES[@]})) || return 0
		out "# collapse outcomes (tracefs huge_memory:mm_khugepaged_collapse_file), per test:"
		while IFS= read -r line; do out "#   $line"; done < <(printf '%s\n' "${COV_LINES[@]}" | awk -f "$awkf")
		return 0
	done
}
progress() { ((TTY)) || return 0; printf '\r\033[K%s' "$*" >&2; PROGRESS_SHOWN=1; }

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# ---------------------------------------------------------------------------
# Scratch filesystems.  Everything lives under one private dir (WORK).
# ---------------------------------------------------------------------------
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
		dev=$(losetup -f --show "$img" 2>&1) || { FS_SKIP[$l]="losetup failed: $dev"; return; }
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
	for l in "${SEL_LABELS[@]}"; do
		[[ -n ${need[$l]:-} ]] && setup_label "$l"
		[[ -n ${FS_SKIP[$l]:-} ]] && out "# fs $l unavailable: ${FS_SKIP[$l]}"
	done
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

# ---------------------------------------------------------------------------
# Process sessions.  A test runs in its own session (setsid), so its session
# id names all its processes, even ones that changed process group.
# ---------------------------------------------------------------------------
session_pids() { # SID -> live (non-zombie) pids in that session
	local p st rest; local -a f
	for p in /proc/[0-9]*; do
		read -r st 2>/dev/null <"$p/stat" || continue
		rest=${st##*) }
		read -ra f <<<"$rest"   # state ppid pgrp session ...
		((${#f[@]} >= 4)) || continue
		[[ ${f[3]} == "$1" && ${f[0]} != Z ]] && echo "${p#/proc/}"
	done
}

kill_session() { # SID GRACE: TERM, wait up to GRACE s, then KILL; 0 if all gone
	local sid=$1 grace=$2 p end; local -a pids
	mapfile -t pids < <(session_pids "$sid")
	((${#pids[@]})) || return 0
	kill -TERM -- "-$sid" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# Deadlines by the clock: one scan of /proc costs ~0.1 s itself.
	end=$(( $(now_ms) + grace * 1000 ))
	while (( $(now_ms) < end )); do
		[[ -z $(session_pids "$sid") ]] && return 0
		sleep 0.1
	done
	end=$(( $(now_ms) + 3000 ))
	while (( $(now_ms) < end )); do
		mapfile -t pids < <(session_pids "$sid")
		((${#pids[@]})) || return 0
		kill -KILL -- "-$sid" 2>/dev/null
		for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
		sleep 0.1
	done
	[[ -z $(session_pids "$sid") ]]
}

# ---------------------------------------------------------------------------
# Trace instances.  A test makes instances/ftr-<its pid> (its session id) and
# removes it on its way out, but a SIGKILL leaves it, and tracefs too when the
# test mounted it itself; the kernel keeps both until someone removes them.
# ---------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------
# Run one test.  Sets R_STATUS (ok|fail|skip|timeout) R_WHY R_RC.
# ---------------------------------------------------------------------------
CUR_SID="" CUR_FD="" CUR_SUB=""
MARK="@@ftr-runner-$$-$RANDOM@@"
RESET_SIG=()
env --default-signal=INT true 2>/dev/null && RESET_SIG=(env "--default-signal=INT,QUIT")

run_one() { # NAME LABEL DIR BUDGET
	local name=$1 label=$2 dir=$3 budget=$4
	local -a args=(--dir "$dir" --fs "$label" --seed "$SEED")
	[[ -n $DURATION ]] && args+=(--duration "$DURATION")
	((OPT_QUICK)) && args+=(--quick)
	((EFF_TMUL != 1)) && args+=(--timeout-mul "$EFF_TMUL")
	[[ -n $OPT_KNOWN ]] && args+=(--known-issues "$OPT_KNOWN")
	args+=("${TEST_ARGS[@]}")
	# Soak: keep each test's operation log beside its output for the failing iteration.
	[[ -n ${RESULTS:-} ]] && args+=(--record "$RESULTS/$name-$label.oplog")
	R_STATUS="" R_WHY="" R_RC=""
	out "# cmd: $name ${args[*]}"

	CUR_TRACEFS_MOUNTED=1
	tracefs_mounted "$TRACEFS" || CUR_TRACEFS_MOUNTED=0
	# The subshell reports the test's pid and exit status in-band; the test
	# is a background job here, so give it back default SIGINT/SIGQUIT.  The
	# subshell ignores Ctrl-C so it outlives the test and reaps it (cleanup
	# kills the test's session first, then the subshell).
	exec {CUR_FD}< <(
		trap '' INT
		"${RESET_SIG[@]}" setsid "$BIN_DIR/$name" "${args[@]}" </dev/null 2>&1 &
		echo "$MARK pid $!"
		wait "$!"
		echo "$MARK exit $?"
	)
	CUR_SUB=$!

	local start now line rc pending="" text last_skip="" timed_out=0 main_done=0 eof=0
	start=$(now_ms)
	local deadline=$((start + budget * 1000)) drain_deadline=0
	while ((!eof)); do
		IN_READ=1
		IFS= read -r -t 0.5 -u "$CUR_FD" line; rc=$?
		IN_READ=0
		[[ -n $INTERRUPTED ]] && exit_on_signal
		now=$(now_ms)
		if ((rc > 128)); then
			pending+=$line
		else
			text=$pending$line; pending=""
			if ((rc != 0)); then eof=1; [[ -z $text ]] && continue; fi
			if [[ $text == *"$MARK "* ]]; then
				local ctl=${text#*"$MARK "}
				text=${text%%"$MARK "*}
				case $ctl in
				pid\ *) CUR_SID=${ctl#pid }; out "# session $CUR_SID" ;;
				exit\ *) R_RC=${ctl#exit }; main_done=1; drain_deadline=$((now + 2000)) ;;
				esac
				[[ -z $text ]] && continue
			fi
			[[ $text =~ \#[[:space:]]*SKIP[[:space:]]*(.*)$ ]] && last_skip=${BASH_REMATCH[1]}
			out "# $text"
		fi
		if ((!main_done && !timed_out && now >= deadline)); then
			timed_out=1
			out "# TIMEOUT: killing session $CUR_SID after $(( (now - start) / 1000 ))s"
			kill_session "$CUR_SID" "$KILL_GRACE" || out "# some processes of session $CUR_SID survived SIGKILL"
		fi
		if ((main_done && !eof && now >= drain_deadline)); then
			# The test exited but something of it still holds the pipe.
			out "# test left processes behind; killing session $CUR_SID"
			kill_session "$CUR_SID" 1
			drain_deadline=$((now + 2000))
		fi
		((!eof)) && progress "[$CUR_I/$CUR_N] $name:$label $(( (now - start) / 1000 ))s/${budget}s"
	done
	exec {CUR_FD}<&-
	CUR_FD=""
	wait "$CUR_SUB" 2>/dev/null
	CUR_SUB=""
	# Anything still in the session (it closed its stdout) goes too.
	[[ -n $CUR_SID ]] && [[ -n $(session_pids "$CUR_SID") ]] && {
		out "# killing leftover processes of session $CUR_SID"
		kill_session "$CUR_SID" 1
	}
	# Whatever way the test ended: a timeout, a SIGKILL from outside, a crash.
	[[ -n $CUR_SID ]] && trace_leftovers "$CUR_SID"
	CUR_SID=""
	out "# exit=${R_RC:-none} after $(( (now - start) / 1000 ))s"
	if ((timed_out)); then
		R_STATUS=timeout; R_WHY="TIMEOUT after ${budget}s"
	elif [[ $R_RC == 0 ]]; then
		R_STATUS=ok
	elif [[ $R_RC == 4 ]]; then
		R_STATUS=skip; R_WHY=${last_skip:-test exited 4 without a reason}
	else
		R_STATUS=fail; R_WHY="exit=${R_RC:-unknown}"
	fi
}

# ---------------------------------------------------------------------------
# One pass over the plan.  Counters are global across iterations.
# ---------------------------------------------------------------------------
N_PASS=0 N_FAIL=0 N_SKIP=0 TNUM=0

report() { # ok|fail|skip NAME:LABEL [WHY]
	TNUM=$((TNUM + 1))
	case $1 in
	ok) N_PASS=$((N_PASS + 1)); out "ok $TNUM $2" ;;
	skip) N_SKIP=$((N_SKIP + 1)); out "ok $TNUM $2 # SKIP $3" ;;
	*) N_FAIL=$((N_FAIL + 1)); out "not ok $TNUM $2${3:+ # $3}" ;;
	esac
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

run_iteration() {
	local k name label key budget t0 t1 failed_before=$N_FAIL
	# shellcheck disable=SC2034  # filled and read through namerefs
	local -A test_snap=()
	CUR_N=${#P_TEST[@]}
	for k in "${!P_TEST[@]}"; do
		name=${P_TEST[$k]} label=${P_LABEL[$k]} key="${P_TEST[$k]}:${P_LABEL[$k]}"
		CUR_I=$((k + 1))
		case ${P_KIND[$k]} in
		error) report fail "$key" "${P_WHY[$k]}"; continue ;;
		skip) report skip "$key" "${P_WHY[$k]}"; continue ;;
		esac
		if [[ -n ${FS_SKIP[$label]:-} ]]; then
			report skip "$key" "fs $label unavailable: ${FS_SKIP[$label]}"; continue
		fi
		budget=$(budget_for "$name")
		out "# [$CUR_I/$CUR_N] $key (budget ${budget}s)"
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
		case $R_STATUS in
		ok) report ok "$key" ;;
		skip) report skip "$key" "$R_WHY" ;;
		*) report fail "$key" "$R_WHY" ;;
		esac
	done
	((N_FAIL == failed_before))
}

# ---------------------------------------------------------------------------
# Cleanup: every exit path.  Idempotent; only what we created.
# ---------------------------------------------------------------------------
CLEANED=0 INTERRUPTED="" STARTED=0 ITER=0 RUN_T0=0
declare -A INIT_KNOBS=()

cleanup() {
	((CLEANED)) && return
	CLEANED=1
	trap '' INT TERM HUP
	IFS=$' \t\n'    # a trap can run while a command's "IFS= read" prefix is active
	local m dev img j
	local -a kids
	[[ -n $CUR_SID ]] && { kill_session "$CUR_SID" 2; trace_leftovers "$CUR_SID"; }
	[[ -n $CUR_FD ]] && exec {CUR_FD}<&-
	mapfile -t kids < <(jobs -p)
	[[ -n $CUR_SUB ]] && kids+=("$CUR_SUB")
	for j in "${kids[@]}"; do kill -TERM "$j" 2>/dev/null; done
	wait 2>/dev/null
	((${#INIT_KNOBS[@]})) && knob_restore INIT_KNOBS
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
	if [[ -n $RESULTS && -d $RESULTS ]]; then
		rmdir -- "$RESULTS" 2>/dev/null   # kept only when it holds a failure
	fi
	if ((STARTED)) && [[ -n $INTERRUPTED ]]; then
		((OPT_UNTIL_FAIL)) && out "# interrupted in iteration $ITER after $((SECONDS - RUN_T0))s"
		out "# interrupted by SIG$INTERRUPTED"
		out "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	fi
	PROGRESS_SHOWN=0
	((TTY)) && printf '\r\033[K' >&2
}

# A signal that lands inside "read -t" must not exit from the trap: bash's
# read timeout would later longjmp into a dead frame (seen: "longjmp causes
# uninitialized stack frame", bash aborts and cleanup never finishes).  So
# there the trap only records it and the read loop exits right after.
IN_READ=0
on_signal() {
	INTERRUPTED=$1
	trap '' INT TERM HUP
	((IN_READ)) && return
	exit_on_signal
}
exit_on_signal() {
	case $INTERRUPTED in INT) exit 130 ;; TERM) exit 143 ;; *) exit 129 ;; esac
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
		local k
		for k in "${!P_TEST[@]}"; do
			[[ ${P_KIND[$k]} == run ]] && echo "${P_TEST[$k]}:${P_LABEL[$k]}"
			[[ ${P_KIND[$k]} == error ]] && warn "${P_TEST[$k]}: ${P_WHY[$k]}"
		done
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
	describe_tests
	check_known_issues
	build_plan
	((${#P_TEST[@]})) || { warn "no test matches${OPT_PATTERN:+ \"$OPT_PATTERN\"} on ${SEL_LABELS[*]}"; exit 2; }

	local k; local -A labels=()
	for k in "${!P_KIND[@]}"; do [[ ${P_KIND[$k]} == run ]] && labels[${P_LABEL[$k]}]=1; done
	[[ -z $OPT_DIR ]] && ensure_runtime "${!labels[@]}"

	SETTINGS_TIMEOUT=$DEFAULT_TIMEOUT
	if [[ -r $SCRIPT_DIR/settings ]]; then
		local st
		st=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$SCRIPT_DIR/settings" | tail -n1)
		[[ -n $st ]] && SETTINGS_TIMEOUT=$st
	fi
	EFF_TMUL=$OPT_TMUL DEBUG_KERNEL=0
	if debug_kernel; then DEBUG_KERNEL=1; EFF_TMUL=$((OPT_TMUL * 3)); fi
	DURATION=$OPT_DURATION
	((OPT_QUICK)) && [[ -z $DURATION ]] && DURATION=$QUICK_DURATION

	local loops=${OPT_LOOP:-1}
	out "TAP version 13"
	STARTED=1    # from here on an interrupted run still ends with the summary line
	out "# kernel: $(uname -r)"
	if ((OPT_UNTIL_FAIL)); then
		RESULTS=$(mktemp -d "${FTR_RESULTS:-${TMPDIR:-/var/tmp}}/ftr-results.XXXXXX") ||
			{ warn "cannot create a results dir"; exit 1; }
		out "# until-fail: results dir $RESULTS${OPT_LOOP:+, at most $OPT_LOOP iterations}"
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
