// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "waiver.h"

const char *const ftr_known_names[FTR_KI_NR] = {
	[FTR_KI_NONE] = "none",
	[FTR_KI_RO_THP_TRUNCATE] = "ro-thp-openw-truncate",
	[FTR_KI_DIO_STALE] = "dio-stale-pagecache",
	[FTR_KI_DIO_WRITEBACK] = "dio-stale-writeback",
	[FTR_KI_DIO_COLLAPSE] = "dio-collapse-stale-pagecache",
	[FTR_KI_ZERO_BESIDE] = "xfs-zero-range-beside",
	[FTR_KI_CACHESTAT] = "cachestat-double-count",
};

#define MAX_WAIVERS 256

static struct waiver {
	char test[64], fs[32], kernel[64];
	enum ftr_known_id id;
	int line;
} waivers[MAX_WAIVERS];
static int nwaivers;
static char waiver_file[256];

static int load_err(const char *prog, const char *file, int line, const char *what, const char *tok)
{
	fprintf(stderr, "%s: --known-issues '%s' line %d: %s '%s' (lines are \"TEST:FS ID [KERNEL]\")\n", prog, file,
		line, what, tok);
	return -1;
}

int ftr_known_load(const char *prog, const char *file)
{
	char buf[512], tok[3][128], extra[2];
	FILE *f = fopen(file, "re");
	int line = 0;

	if (!f) {
		fprintf(stderr, "%s: --known-issues '%s': %s\n", prog, file, strerror(errno));
		return -1;
	}
	snprintf(waiver_file, sizeof(waiver_file), "%s", file);
	while (fgets(buf, sizeof(buf), f)) {
		struct waiver *w = &waivers[nwaivers];
		char *colon;
		int n, id;

		line++;
		buf[strcspn(buf, "#\n")] = '\0';
		n = sscanf(buf, "%127s %127s %127s %1s", tok[0], tok[1], tok[2], extra);
		if (n <= 0)
			continue;
		colon = strchr(tok[0], ':');
		if (n < 2 || n > 3 || !colon || colon == tok[0] || !colon[1]) {
			fclose(f);
			return load_err(prog, file, line, "not a waiver:", buf);
		}
		for (id = 1; id < FTR_KI_NR && strcmp(tok[1], ftr_known_names[id]); id++)
			;
		if (id == FTR_KI_NR || nwaivers == MAX_WAIVERS || (size_t)(colon - tok[0]) >= sizeof(w->test) ||
		    strlen(colon + 1) >= sizeof(w->fs) || (n == 3 && strlen(tok[2]) >= sizeof(w->kernel))) {
			fclose(f);
			return load_err(prog, file, line, id == FTR_KI_NR ? "unknown issue id" : "too long or too many:",
					id == FTR_KI_NR ? tok[1] : tok[0]);
		}
		*colon = '\0';
		memcpy(w->test, tok[0], colon - tok[0] + 1);
		memcpy(w->fs, colon + 1, strlen(colon + 1) + 1);
		snprintf(w->kernel, sizeof(w->kernel), "%s", n == 3 ? tok[2] : "*");
		w->id = id;
		w->line = line;
		nwaivers++;
	}
	fclose(f);
	return 0;
}

const char *ftr_known_waiver(const char *test, const char *fstype, const char *kernel, enum ftr_known_id id)
{
	static char where[300];

	for (int i = 0; i < nwaivers; i++)
		if (waivers[i].id == id && !fnmatch(waivers[i].test, test, 0) && !fnmatch(waivers[i].fs, fstype, 0) &&
		    !fnmatch(waivers[i].kernel, kernel, 0)) {
			snprintf(where, sizeof(where), "%s:%d", waiver_file, waivers[i].line);
			return where;
		}
	return NULL;
}

