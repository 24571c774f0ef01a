# SPDX-License-Identifier: GPL-2.0
#
# runner/args.sh - run_tests.sh's options: --help, parsing and validation.
# Sourced by run_tests.sh; no side effects but definitions.
# shellcheck shell=bash

usage() {
	cat <<EOF
Usage: $PROG [options]
Run the file-thp-race selftests (root) on scratch filesystems, KTAP output.

  --fs LIST          comma list of labels: ${ALL_LABELS[*]} (default: all)
  --dir DIR          test an existing mounted directory instead (label "dir");
                     tests not declaring its fs type are skipped
  --duration S       per-test duration in seconds (positive number)
  --seed N           seed passed to every test (default: random, printed);
                     with --soak, the seed of the soak's choices instead
  --quick            CI profile: pass --quick, duration ${QUICK_DURATION}s unless --duration
                     or --soak
  -t PATTERN[,...]   select tests: a glob on NAME or NAME:LABEL; without glob
                     characters NAME:LABEL exactly, or a substring of NAME;
                     several patterns separated by commas select their union
  --exclude PAT[,..] leave out what these patterns match (same syntax as -t)
  --list             print the selected test:label lines and exit (no root)
  --loop N           run the selection N times
  --until-fail       rerun until the first failure (at most --loop N times);
                     the failing iteration's output is kept in a results dir
  --soak S           for S seconds, run the selection's test:label pairs over
                     and over in shuffled rounds, each with a fresh seed and a
                     duration of 2, 5 or 10 s in turn (--duration fixes it);
                     a failure's output, operation log and kernel log are kept
                     in a results dir and the soak goes on; a TIMEOUT ends it
                     (the kernel may be stuck); ends with a table of what ran
                     and failed; exit 4 when every run was skipped
  --timeout-mul N    multiply every timeout by N (integer; x3 more on a
                     debug kernel: KASAN, LOCKDEP, DEBUG_VM, PROVE_LOCKING)
  --test-args "ARGS" append ARGS (whitespace split) to every test's command
  --slow-disk KIBPS  the tests' writes to their xfs/ext4/btrfs loop devices go at
                     about KIBPS KiB/s, reads 16 times faster (blk-iocost from a
                     child cgroup), so that collapse meets folios under writeback;
                     where the kernel cannot, those filesystems skip with the reason
  --known-issues F   waive the known kernel issues F lists ("TEST:FSTYPE ID
                     [KERNEL]" lines, see README; ./known-issues is the
                     project's): such a failure with its evidence is XFAIL;
                     without it nothing is waived
  --no-install       never install packages; print what is missing
  -h, --help         this text

Environment:
  FTR_BUILD      build dir holding selftests/NAME (default: ./build in the
                 source tree, built with make; ./selftests in an install tree)
  FTR_IMG_DIR    where the private scratch dir is made (default \${TMPDIR:-/var/tmp})
  FTR_IMG_SIZE   size of the sparse xfs/ext4/btrfs images (default 1G)
  FTR_RESULTS    where --until-fail and --soak make their results dir (default \${TMPDIR:-/var/tmp})
  FTR_TEST_ARGS  like --test-args
  FTR_TIMEOUT    per-test budget in seconds, overriding all timeouts/multipliers
EOF
}

# Options.  Validate everything before creating or changing anything.
OPT_FS="" OPT_DIR="" OPT_DURATION="" OPT_SEED="" OPT_QUICK=0 OPT_PATTERN="" OPT_EXCLUDE=""
OPT_LIST=0 OPT_LOOP="" OPT_UNTIL_FAIL=0 OPT_SOAK="" OPT_TMUL=1 OPT_NO_INSTALL=0 OPT_KNOWN="" OPT_SLOW=""
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
		--fs|--dir|--duration|--seed|-t|--exclude|--loop|--soak|--timeout-mul|--test-args|--known-issues|--slow-disk)
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
		--soak) is_posint "$val" || die_usage "--soak: expected a positive number of seconds, got '$val'"
			OPT_SOAK=$val ;;
		--timeout-mul) is_posint "$val" || die_usage "--timeout-mul: expected a positive integer, got '$val'"
			OPT_TMUL=$val ;;
		--test-args) OPT_TEST_ARGS="$OPT_TEST_ARGS $val" ;;
		--known-issues) [[ -f $val && -r $val ]] || die_usage "--known-issues: '$val' is not a readable file"
			# absolute: the tests run elsewhere; its lines are checked by the first test
			OPT_KNOWN=$(realpath -- "$val") ;;
		--slow-disk) is_posint "$val" || die_usage "--slow-disk: expected a positive number of KiB/s, got '$val'"
			OPT_SLOW=$val ;;
		--no-install) OPT_NO_INSTALL=1 ;;
		-h|--help) usage; exit 0 ;;
		-*) die_usage "unknown option '$opt'" ;;
		*) die_usage "unexpected argument '$opt'" ;;
		esac
	done

	# A soak picks its own rounds and ends by the clock.
	if [[ -n $OPT_SOAK ]]; then
		[[ -z $OPT_LOOP ]] || die_usage "--soak and --loop exclude each other"
		((!OPT_UNTIL_FAIL)) || die_usage "--soak and --until-fail exclude each other"
	fi

	local l k ok
	SEL_LABELS=()
	if [[ -n $OPT_DIR ]]; then
		[[ -z $OPT_FS ]] || die_usage "--fs and --dir exclude each other"
		[[ -z $OPT_SLOW ]] || die_usage "--slow-disk slows the runner's own loop devices: not with --dir"
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

