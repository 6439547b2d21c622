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

const cb_backend cb_backend_cuda = {
    .api_version = CB_API_VERSION,
    .name = "cuda",
    .desc = "hand-written CUDA kernels: tiled SGEMM, im2col / col2im, direct convolution",
    .device = CB_DEVICE_CUDA,
    .init = cb_cuda_open,
    .fini = cb_cuda_close,
    .version = cb_cuda_version,
    CB_CUDA_BACKEND_MEMORY,
    .variants =
        {
            [CB_OP_CONV_FWD] = conv_fwd_variants,
            [CB_OP_CONV_BWD_DATA] = conv_bwd_data_variants,
            [CB_OP_CONV_BWD_FILTER] = conv_bwd_filter_variants,
            [CB_OP_GEMM] = gemm_variants,
        },
};
