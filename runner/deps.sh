# SPDX-License-Identifier: GPL-2.0
#
# runner/deps.sh - where the binaries are; build and runtime dependencies, installed on demand.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

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

# The supervisor and the hang classifier: beside the tests in a build or install tree;
# a directory of fakes (FTR_BUILD) borrows them from the source tree's build.  A test
# that judges itself hung runs the classifier too (FTR_HANG_SUMMARY, lib/crash.h).
locate_tools() {
	local d
	for d in "$BUILD_DIR/tools" "$SCRIPT_DIR/tools" "$SCRIPT_DIR/build/tools"; do
		[[ -f $d/ftr-supervise && -x $d/ftr-supervise ]] || continue
		SUPERVISE=$d/ftr-supervise HANG_SUMMARY=$d/hang-summary
		export FTR_HANG_SUMMARY=$HANG_SUMMARY
		return 0
	done
	warn "no tools/ftr-supervise in $BUILD_DIR, $SCRIPT_DIR or its build/ (run make)"
	exit 2
}

list_binaries() {
	local f
	for f in "$BIN_DIR"/*; do
		[[ -f $f && -x $f ]] && echo "${f##*/}"
	done
}

# Packages.  apt-get first; dnf/zypper names where they differ.
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
		apt_install "${pk[@]}"
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

