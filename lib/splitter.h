/* SPDX-License-Identifier: GPL-2.0 */
/* splitter: splits collapsed PMDs (mode: enum ftr_split_mode). */
#ifndef FTR_SPLITTER_H
#define FTR_SPLITTER_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_splitter_ops;

#endif
