/* cuda_backend.c: the cuda backend table: hand-written CUDA kernels
 * (cuda_sgemm.cu, cuda_im2col.cu, cuda_direct.cu) on one device. The
 * general lowering comes first in each list (what an untuned layer gets);
 * direct second. */
#include "cuda_impl.h"

static const cb_variant *const conv_fwd_variants[] = {
    &cb_cuda_conv_fwd_im2col_gemm,
    &cb_cuda_conv_fwd_direct,
    NULL,
};
static const cb_variant *const conv_bwd_data_variants[] = {
    &cb_cuda_conv_bwd_data_gemm_col2im,
    &cb_cuda_conv_bwd_data_direct,
    NULL,
};
static const cb_variant *const conv_bwd_filter_variants[] = {
    &cb_cuda_conv_bwd_filter_im2col_gemm,
    &cb_cuda_conv_bwd_filter_direct,
    NULL,
};
static const cb_variant *const gemm_variants[] = {&cb_cuda_gemm_sgemm_tiled, NULL};

const cb_backend cb_backend_cuda = CB_CUDA_BACKEND(
    "cuda", "hand-written CUDA kernels: tiled SGEMM, im2col / col2im, direct convolution",
    cb_cuda_open, cb_cuda_version, conv_fwd_variants, conv_bwd_data_variants,
    conv_bwd_filter_variants, gemm_variants);
