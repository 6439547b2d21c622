/* cuda_impl.h: private to the cuda backend (kernels/cuda/): its variants
 * and the helpers they share. The cublas backend reuses the geometry and
 * the im2col / col2im kernels through cuda_kernels.h. */
#ifndef CB_CUDA_IMPL_H
#define CB_CUDA_IMPL_H

#include "cuda_kernels.h"
#include "cuda_lower.h"
#include "cuda_rt.h"

extern const cb_variant cb_cuda_conv_fwd_im2col_gemm;
extern const cb_variant cb_cuda_conv_fwd_direct;
extern const cb_variant cb_cuda_conv_bwd_data_gemm_col2im;
extern const cb_variant cb_cuda_conv_bwd_data_direct;
extern const cb_variant cb_cuda_conv_bwd_filter_im2col_gemm;
extern const cb_variant cb_cuda_conv_bwd_filter_direct;
extern const cb_variant cb_cuda_gemm_sgemm_tiled;

/* Bytes of col matrix one im2col step may use: the batch is unfolded in
 * steps of as many images as fit (cb_cu_step_images). */
#define CB_CUDA_COL_BUDGET ((int64_t)256 << 20)

/* The workspace of an im2col lowering (the cuda and cublas backends'):
 * one step's col matrix, [C R S, step P Q] floats. */
static inline size_t cb_cuda_lower_bytes(const cb_conv_geom *g) {
  int64_t b = cb_cu_step_images(g, CB_CUDA_COL_BUDGET);
  return (size_t)(g->cv.c * g->cv.r * g->cv.s * b * g->p * g->q) * sizeof(float);
}

/* p's conv op through ops, in the steps CB_CUDA_COL_BUDGET allows:
 * src0, src1 -> dst as cb_args has them; ws holds cb_cuda_lower_bytes. */
static inline cb_status cb_cuda_lower_conv(const cb_cu_lower_ops *ops, const cb_problem *p,
                                           const cb_args *args, void *ws) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  return cb_cu_lower(ops, p->op, &g, cb_cu_step_images(&g, CB_CUDA_COL_BUDGET), args, ws);
}

#endif /* CB_CUDA_IMPL_H */
