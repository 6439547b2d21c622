/* cuda_impl.h: private to the cuda backend (kernels/cuda/): its variants
 * and the helpers they share. The cublas backend reuses the geometry and
 * the im2col / col2im kernels through cuda_kernels.h. */
#ifndef CB_CUDA_IMPL_H
#define CB_CUDA_IMPL_H

#include "cuda_kernels.h"
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

#endif /* CB_CUDA_IMPL_H */
