/* ref_backend.c: the ref backend table. Plain C on the host, one simple
 * variant per op, no tunable parameters; every other backend is validated
 * against it, so it favours obviously-right loops and exact double
 * accumulation over speed. */
#include "ref.h"

static const cb_variant *const conv_fwd_variants[] = {&cb_ref_conv_fwd_direct, NULL};
static const cb_variant *const conv_bwd_data_variants[] = {&cb_ref_conv_bwd_data_direct, NULL};
static const cb_variant *const conv_bwd_filter_variants[] = {&cb_ref_conv_bwd_filter_direct, NULL};
static const cb_variant *const gemm_variants[] = {&cb_ref_gemm_naive, NULL};

/* Host memory (alloc and friends NULL), nothing to open or close. */
const cb_backend cb_backend_ref = {
    .api_version = CB_API_VERSION,
    .name = "ref",
    .desc = "plain C reference, the correctness oracle",
    .device = CB_DEVICE_HOST,
    .variants = CB_VARIANTS(conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants,
                            gemm_variants),
};
