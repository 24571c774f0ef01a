/* SPDX-License-Identifier: GPL-2.0 */
/* dma: pins that write into the mapping (O_DIRECT reads, io_uring READ_FIXED). */
#ifndef FTR_DMA_H
#define FTR_DMA_H

struct ftr_role_ops;
extern const struct ftr_role_ops ftr_churn_dma_dio, ftr_churn_dma_uring, ftr_churn_dma_uring_qd;

#endif
