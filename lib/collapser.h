/* SPDX-License-Identifier: GPL-2.0 */
/* collapser: the MADV_COLLAPSE role, and the khugepaged watcher of khugepaged mode. */
#ifndef FTR_COLLAPSER_H
#define FTR_COLLAPSER_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_collapser_ops, ftr_khugepaged_ops;

#endif
