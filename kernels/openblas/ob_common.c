/* ob_common.c: what the openblas variants share: the unpacked geometry,
 * the tunable parameters, the support and workspace rules of the three
 * conv lowerings, OpenBLAS's thread count and the plan_info string (see
 * ob.h). */
#include "ob.h"

#include <limits.h>
#include <stdio.h>

/* ---- tunable parameters ------------------------------------------------- */

static const int chunk_values[] = {0, 256, 1024, 4096};
static const int images_values[] = {0, 2, 4, 8, 16, 32, 128};

/* Forward: chunks of 1024 columns measured best or even on L1..L5 and
 * AlexNet at batch 16 (12% faster on L1, where W is small). */
const cb_param_def cb_ob_fwd_per_image_params[1] = {
    {"chunk", chunk_values, (int)(sizeof chunk_values / sizeof *chunk_values), 1024},
};
const cb_param_def cb_ob_fwd_batched_params[2] = {
    {"images", images_values, (int)(sizeof images_values / sizeof *images_values), 0},
    {"chunk", chunk_values, (int)(sizeof chunk_values / sizeof *chunk_values), 1024},
};
const cb_param_def cb_ob_bwd_data_batched_params[1] = {
    {"images", images_values, (int)(sizeof images_values / sizeof *images_values), 0},
};
/* Backward-filter: chunks gained nothing reliable per image (the sums
 * then go through dW once per chunk), so the default is the whole share. */
const cb_param_def cb_ob_bwd_filter_per_image_params[1] = {
    {"chunk", chunk_values, (int)(sizeof chunk_values / sizeof *chunk_values), 0},
};
const cb_param_def cb_ob_bwd_filter_batched_params[2] = {
    {"images", images_values, (int)(sizeof images_values / sizeof *images_values), 0},
    {"chunk", chunk_values, (int)(sizeof chunk_values / sizeof *chunk_values), 0},
};

bool cb_ob_fits_int(int64_t v) {
  return v >= 0 && v <= INT_MAX;
}

/* ---- images per step and workspace -------------------------------------- */

/* The automatic images per step. An image of at least 512 output
 * positions already makes GEMMs wide enough (L1..L3, AlexNet conv1 and
 * conv2 measured even or faster one image at a time), so it goes alone;
 * smaller images (L4, L5, AlexNet conv3..5) go in batches of 4096 GEMM
 * columns (one 13x13 image gives 169), within 256 MiB of workspace. */
#define OB_NARROW_COLS 512
#define OB_WIDE_COLS   4096
#define OB_STEP_BYTES  ((int64_t)256 << 20)

/* Workspace floats for steps of b images: col [CRS, b PQ] and, when b > 1,
 * the [K, b PQ] matrix of y or dy (one image's [K, PQ] is its own
 * layout). False when the count overflows int64. */
static bool step_floats(const cb_conv_geom *g, int64_t b, int64_t *floats) {
  int64_t cols, col, kmat = 0;
  if (__builtin_mul_overflow(b, g->pq, &cols) || __builtin_mul_overflow(g->crs, cols, &col) ||
      (b > 1 && __builtin_mul_overflow(g->cv.k, cols, &kmat)))
    return false;
  return !__builtin_add_overflow(col, kmat, floats);
}

int64_t cb_ob_step_images(const cb_problem *p, cb_ob_lowering how, int images) {
  const cb_conv *cv = &p->conv;
  if (how == CB_OB_GEMM_1X1) return 0;
  if (how == CB_OB_PER_IMAGE) return 1;
  if (images > 0) return images < cv->n ? images : cv->n;

  cb_conv_geom g;
  cb_conv_geom_init(&g, cv);
  if (g.pq >= OB_NARROW_COLS) return 1;
  int64_t b = (OB_WIDE_COLS + g.pq - 1) / g.pq, floats;
  if (b > cv->n) b = cv->n;
  while (b > 1 && (!step_floats(&g, b, &floats) || floats > OB_STEP_BYTES / 4)) b--;
  /* Even steps: 16 images by at most 13 go as 8 + 8, not 13 + 3. */
  int64_t steps = (cv->n + b - 1) / b;
  return (cv->n + steps - 1) / steps;
}

cb_status cb_ob_conv_workspace(const char *who, const cb_problem *p, cb_ob_lowering how, int images,
                               size_t *bytes) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  int64_t b = cb_ob_step_images(p, how, images), floats = 0;
  *bytes = 0;
  if (b > 0 && (!step_floats(&g, b, &floats) ||
                __builtin_mul_overflow((size_t)floats, sizeof(float), bytes)))
    return cb_error(CB_ERR_UNSUPPORTED, "openblas %s: the workspace size overflows", who);
  return CB_OK;
}

cb_status cb_ob_conv_supports(const char *who, const cb_problem *p, cb_ob_lowering how,
                              int images) {
  const cb_conv *cv = &p->conv;
  if (p->dtype != CB_DTYPE_F32 || p->layout != CB_LAYOUT_NCHW)
    return cb_error(CB_ERR_UNSUPPORTED, "openblas %s: only f32 NCHW", who);
  if (how == CB_OB_GEMM_1X1) {
    /* A 1x1 tap has no spacing, so dilation changes nothing and is allowed. */
    if (cv->r != 1 || cv->s != 1)
      return cb_error(CB_ERR_UNSUPPORTED, "openblas %s: needs a 1x1 filter, not %lldx%lld", who,
                      (long long)cv->r, (long long)cv->s);
    if (cv->stride_h != 1 || cv->stride_w != 1)
      return cb_error(CB_ERR_UNSUPPORTED, "openblas %s: needs stride 1, not %lldx%lld", who,
                      (long long)cv->stride_h, (long long)cv->stride_w);
    if (cv->pad_h != 0 || cv->pad_w != 0)
      return cb_error(CB_ERR_UNSUPPORTED, "openblas %s: needs no padding, not %lldx%lld", who,
                      (long long)cv->pad_h, (long long)cv->pad_w);
  }

  /* Every m, n, k and leading dimension the lowering hands cblas_sgemm:
   * K/G and C/G R S (filters), P Q or H W (one image's plane; equal for
   * gemm_1x1), b P Q (b images per step). */
  cb_conv_geom g;
  cb_conv_geom_init(&g, cv);
  int64_t cols = 0;
  bool fits = cb_ob_fits_int(g.kg) && cb_ob_fits_int(g.cgrs) && cb_ob_fits_int(g.pq) &&
              cb_ob_fits_int(g.hw) &&
              !__builtin_mul_overflow(cb_ob_step_images(p, how, images), g.pq, &cols) &&
              cb_ob_fits_int(cols);
  if (!fits)
    return cb_error(CB_ERR_UNSUPPORTED,
                    "openblas %s: a GEMM dimension exceeds OpenBLAS's 32-bit int", who);
  size_t bytes;
  return cb_ob_conv_workspace(who, p, how, images, &bytes);
}

/* ---- threads and the rest ------------------------------------------------ */

/* Below this many flops a conv runs on one thread: waking a team and
 * splitting the GEMM costs some microseconds, the time of about 1 MFLOP. */
#ifndef OB_PAR_MIN_FLOPS /* tests build with 0 to thread even tiny problems */
#define OB_PAR_MIN_FLOPS 4e6
#endif

int cb_ob_threads_for(const cb_ctx *ctx, double flops) {
  return flops < OB_PAR_MIN_FLOPS ? 1 : ctx->threads;
}

void cb_ob_blas_single(void) {
  openblas_set_num_threads(1);
}

void cb_ob_plan_info(const void *plan, char *buf, size_t len) {
  (void)plan;
  snprintf(buf, len, "sgemm %s", openblas_get_corename());
}

cb_status cb_ob_check_args(const char *who, const cb_args *args) {
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "openblas %s: a tensor pointer is NULL", who);
  return CB_OK;
}

cb_status cb_ob_conv_begin(const char *who, const cb_ctx *ctx, const cb_problem *p,
                           const cb_args *args, cb_conv_geom *g, int *threads) {
  cb_status st = cb_ob_check_args(who, args);
  if (st != CB_OK) return st;
  cb_conv_geom_init(g, &p->conv);
  cb_ob_blas_single();
  *threads = cb_ob_threads_for(ctx, cb_problem_flops(p));
  return CB_OK;
}
