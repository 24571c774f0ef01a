#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# layers.sh - lib/ is built in one-way layers; this keeps it so (make check runs it).
#
# A module (M.c with M.h) may include its own header, headers of lower layers, and in
# layer 0 other leaves; nothing above it, nothing beside it.  A module missing from
# the table fails too: a new file says where it stands.  And no module over 550 lines.
# Prints one line per break and exits 1 if there is any.
set -u -o pipefail

# Usage: layers.sh [LIBDIR] (default: the lib/ beside this script)
LIB=${1:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)}

# layer: modules (README "Layout" says what each layer is for)
LAYERS=(
	"0: ktap knob opts rng oracle fzsync kmsg trace outcome thp oplog mapping crash waiver"
	"1: probe"
	"2: scenario"
	"3: arena ledger"
	"4: contract disk"
	"5: role"
	"6: control extent replay"
	"7: writers readers collapser splitter churn holes pins dma aspace evidence fadvise"
	"8: roster report known inject"
	"9: verify verdict uffd_io"
	"10: engine uffd"
	"11: test"
	"12: test_main"
)

declare -A layer
for row in "${LAYERS[@]}"; do
	for m in ${row#*:}; do layer[$m]=${row%%:*}; done
done

bad=0
for f in "$LIB"/*.c "$LIB"/*.h; do
	m=${f##*/}
	m=${m%.*}
	if [[ -z ${layer[$m]:-} ]]; then
		echo "lib/${f##*/}: module '$m' has no layer in lib/tests/layers.sh"
		bad=1
		continue
	fi
	while read -r inc; do
		i=${inc%.h}
		[[ $i == "$m" ]] && continue
		if [[ -z ${layer[$i]:-} ]]; then
			echo "lib/${f##*/}: includes $inc, which has no layer"
			bad=1
		elif ((layer[$i] > layer[$m] || (layer[$i] == layer[$m] && layer[$m] > 0))); then
			echo "lib/${f##*/} (layer ${layer[$m]}) includes $inc (layer ${layer[$i]}): includes point down only"
			bad=1
		fi
	done < <(sed -n 's/^#include "\([a-z_0-9]*\.h\)".*/\1/p' "$f")
done

# Leaves may include leaves: no circle among them either (tsort names one).
pairs=$(for f in "$LIB"/*.[ch]; do
	m=${f##*/}; m=${m%.*}
	sed -n "s/^#include \"\([a-z_0-9]*\)\.h\".*/$m \1/p" "$f"
done | awk '$1 != $2')
if ! out=$(tsort <<<"$pairs" 2>&1 >/dev/null) || [[ -n $out ]]; then
	echo "an include circle: $out"
	bad=1
fi
# A module a newcomer can read: none much over 500 lines.
for f in "$LIB"/*.[ch]; do
	n=$(wc -l <"$f")
	((n <= 550)) || { echo "lib/${f##*/}: $n lines, over 550: split it by what it does"; bad=1; }
done
((bad == 0)) && echo "lib/: $(ls "$LIB"/*.[ch] | wc -l) files in ${#LAYERS[@]} layers, every include points down"
exit $bad
