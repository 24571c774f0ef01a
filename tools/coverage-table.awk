#!/usr/bin/awk -f
# SPDX-License-Identifier: GPL-2.0
#
# coverage-table.awk - which collapse outcomes each test produced, from the runner's
# KTAP output:  ./run_tests.sh ... | awk -f tools/coverage-table.awk
#
# Every selftest prints, before its result line, lines (see lib/trace.h, lib/report.c)
#   # coverage-table: collapse.succeeded=164 collapse.page_locked=3 scan.succeeded=167 lost=0
#   # coverage-table: run.epochs=6 run.disk_epochs=6 run.dirty_splits=12 ...
# (or "# coverage-table: unavailable" for the trace); the runner indents the test's output with
# "# " and then prints "ok N test:label ...".  The table has one row per outcome and
# one column per test, counts summed over the filesystem labels; -v by=label gives a
# column per test:label instead.  "-" is zero, "n/a" no tracefs for that column, and a
# final "lost" row warns that the ring buffer dropped events.

function col_of(name) {
	if (by != "label")
		sub(/:.*/, "", name)
	if (!(name in seen)) {
		seen[name] = 1
		cols[++ncols] = name
	}
	return name
}

/^[# ]*coverage-table:/ {
	line = $0
	sub(/^[# ]*coverage-table:[ ]*/, "", line)
	if (line == "unavailable")
		unavail = 1
	else
		pending = pending " " line
	have = 1
	next
}

/^(not )?ok [0-9]+ [^ ]+/ {
	if (!have)
		next
	c = col_of($0 ~ /^not / ? $4 : $3)
	if (unavail)
		na[c] = 1
	{
		n = split(pending, kv, " ")
		for (i = 1; i <= n; i++) {
			split(kv[i], p, "=")
			key = p[1]
			if (key != "lost" && !(key in rowseen)) {
				rowseen[key] = 1
				rows[++nrows] = key
			}
			count[key, c] += p[2]
		}
	}
	have = unavail = 0
	pending = ""
}

END {
	if (!ncols) {
		print "coverage-table: no coverage-table lines in the input" > "/dev/stderr"
		exit 1
	}
	# collapse.* rows first, then scan.*, each alphabetically (insertion sort: POSIX awk).
	for (i = 2; i <= nrows; i++)
		for (j = i; j > 1 && rows[j - 1] > rows[j]; j--) {
			t = rows[j]; rows[j] = rows[j - 1]; rows[j - 1] = t
		}
	rows[++nrows] = "lost"
	w = 8
	for (i = 1; i <= nrows; i++)
		if (length(rows[i]) > w)
			w = length(rows[i])
	printf "%-" w "s", "outcome"
	for (j = 1; j <= ncols; j++) {
		h = cols[j]
		sub(/^collapse_/, "", h)
		cw[j] = length(h) < 5 ? 5 : length(h)
		printf "  %" cw[j] "s", h
	}
	printf "\n"
	for (i = 1; i <= nrows; i++) {
		printf "%-" w "s", rows[i]
		for (j = 1; j <= ncols; j++) {
			v = count[rows[i], cols[j]]
			printf "  %" cw[j] "s", na[cols[j]] && !v ? "n/a" : v ? v : "-"
		}
		printf "\n"
	}
}
