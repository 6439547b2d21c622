/* ob_backend.c: the openblas backend table: im2col / col2im + cblas_sgemm
 * convolutions and cblas_sgemm itself, on the host, stateless (no plans).
 *
 * Each op's list starts with the variant a layer should get when nobody
 * has tuned it (layers take the first that supports their problem), from
 * L1..L5 and AlexNet's convolutions at batch 16 on 2 and 1 threads:
 * gemm_1x1 where it applies; im2col_batched for forward and backward-data,
 * whose automatic images per step is one image for big images and a batch
 * for small ones (up to 1.6x faster on 13x13); im2col_per_image for
 * backward-filter, whose per-image GEMMs already sum over a whole image
 * (even or faster everywhere); sgemm_split for GEMM, which keeps a net on
 * one thread pool (AlexNet at batch 16 on 2 threads: about 480 ms against
 * 630 ms with sgemm, conv layers included). */
#include "ob.h"

#include <stdio.h>
#include <string.h>

static const cb_variant *const conv_fwd_variants[] = {
    &cb_ob_conv_fwd_gemm_1x1,
    &cb_ob_conv_fwd_im2col_batched,
    &cb_ob_conv_fwd_im2col_per_image,
    NULL,
};
static const cb_variant *const conv_bwd_data_variants[] = {
    &cb_ob_conv_bwd_data_gemm_1x1,
    &cb_ob_conv_bwd_data_im2col_batched,
    &cb_ob_conv_bwd_data_im2col_per_image,
    NULL,
};
static const cb_variant *const conv_bwd_filter_variants[] = {
    &cb_ob_conv_bwd_filter_gemm_1x1,
    &cb_ob_conv_bwd_filter_im2col_per_image,
    &cb_ob_conv_bwd_filter_im2col_batched,
    NULL,
};
static const cb_variant *const gemm_variants[] = {&cb_ob_gemm_sgemm_split, &cb_ob_gemm_sgemm, NULL};

/* "OpenBLAS 0.3.21 pthread core Cooperlake": the version (the first two
 * words of openblas_get_config()), how the library was threaded and the
 * core it chose for this CPU, which OPENBLAS_CORETYPE can override, so it
 * belongs in the build fingerprint. */
static void ob_version(char *buf, size_t len) {
  const char *config = openblas_get_config();
  const char *end = config;
  for (int words = 0; *end && words < 2; words++) {
    end += strcspn(end, " ");
    if (words == 0) end += strspn(end, " ");
  }
  const char *threading;
  switch (openblas_get_parallel()) {
  case 0:
    threading = "sequential";
    break;
  case 1:
    threading = "pthread";
    break;
  default:
    threading = "openmp";
    break;
  }
  snprintf(buf, len, "%.*s %s core %s", (int)(end - config), config, threading,
           openblas_get_corename());
}

const cb_backend cb_backend_openblas = {
    .api_version = CB_API_VERSION,
    .name = "openblas",
    .desc = "im2col / col2im + cblas_sgemm (OpenBLAS), and sgemm itself",
    .device = CB_DEVICE_HOST,
    .version = ob_version,
    .variants = CB_VARIANTS(conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants,
                            gemm_variants),
};
