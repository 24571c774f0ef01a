# SPDX-License-Identifier: GPL-2.0
#
# runner/common.sh - helpers that run_tests.sh and tools/vm-run share.
# Sourced by both; no side effects but definitions.  Both set PROG first.
# shellcheck shell=bash

# One line, exit 2: every usage error goes through here before anything exists.
die_usage() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 2; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

is_posnum() { [[ $1 =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ && $1 =~ [1-9] ]]; }
is_posint() { [[ $1 =~ ^[0-9]+$ && $1 =~ [1-9] && ${#1} -le 9 ]]; }

# settings_timeout FILE DEFAULT: the timeout= of a kselftest settings file.
settings_timeout() {
	local t=""
	[[ -r $1 ]] && t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$1" | tail -n1)
	echo "${t:-$2}"
}

# A kernel config on stdin that slows the tests down enough to triple their timeouts.
config_is_debug() { grep -Eq '^CONFIG_(KASAN|LOCKDEP|DEBUG_VM|PROVE_LOCKING)=y'; }

# apt-get install PKG..., refreshing the package lists once if that fails.
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; }
}
