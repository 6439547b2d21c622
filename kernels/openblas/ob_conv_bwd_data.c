/* ob_conv_bwd_data.c: backward-data convolution as GEMMs, three lowerings,
 * the transposes of the forward ones (ob_conv_fwd.c):
 *
 *   gemm_1x1          dx_n[C,HW] = W^T[C,K] dy_n[K,HW] per image (1x1,
 *                     stride 1, no padding)
 *   im2col_per_image  col = W^T[CRS,K] dy_n[K,PQ], dx_n = col2im(col)
 *   im2col_batched    b images at a time (the whole batch when it fits):
 *                     DY[K,b PQ] gathered from dy's NCHW planes,
 *                     col = W^T DY [CRS,b PQ], dx = col2im(col)
 * (per group g: rows g K/G.. of W and dy, rows g C/G R S.. of col).
 *
 * Threads own ranges of GEMM columns for the gather and the GEMMs, then
 * ranges of dx rows for col2im (which reads every column of col that
 * touches its rows): a barrier before col2im, and one after it before the
 * next step overwrites col.
 *
 * col2im sums a few col entries into each dx element. With small-integer
 * data every product and sum is an integer below 2^24, exact in float in
 * any order, so all three match ref exactly: tolerance 0. */
#include "ob.h"

/* col[:, j0:j1] = W^T dy[:, j0:j1], group by group (see ob.h); dy and col
 * rows are lddy and ldcol floats long. */
static void bwd_data_gemms(const cb_conv_geom *g, const float *w, const float *dy, int64_t lddy,
                           float *col, int64_t ldcol, int64_t j0, int64_t j1) {
  for (int64_t grp = 0; grp < g->cv.groups; grp++)
    cb_ob_sgemm(true, false, g->cgrs, j1 - j0, g->kg, 1.0f, w + grp * g->kg * g->cgrs, g->cgrs,
                dy + grp * g->kg * lddy + j0, lddy, 0.0f, col + grp * g->cgrs * ldcol + j0, ldcol);
}

/* The im2col lowerings, images in steps of b: dy (NCHW) -> dx through
 * dymat [K, b PQ] (when b > 1) and col [CRS, b PQ]. */
static void bwd_data_steps(const cb_conv_geom *g, const float *dy, const float *w, float *dx,
                           float *col, float *dymat, int64_t b, int threads) {
  const cb_conv *cv = &g->cv;
  int64_t ld = b * g->pq;
#pragma omp parallel num_threads(threads)
  {
    int64_t j0, j1;
    cb_ob_share(ld, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &j0, &j1);
    for (int64_t n0 = 0; n0 < cv->n; n0 += b) {
      int64_t nb = cv->n - n0 < b ? cv->n - n0 : b, cols = nb * g->pq;
      int64_t lo = j0 < cols ? j0 : cols, hi = j1 < cols ? j1 : cols, r0, r1;
      const float *dy0 = dy + n0 * cv->k * g->pq;
      /* One image's [K, PQ] is dy's own layout: the GEMMs read dy. */
      if (nb > 1) cb_planes_to_matrix(dy0, dymat + lo, ld, cv->k, g->pq, lo, hi);
      bwd_data_gemms(g, w, nb == 1 ? dy0 : dymat, nb == 1 ? g->pq : ld, col, ld, lo, hi);
#pragma omp barrier
      cb_ob_share(nb * cv->c * cv->h, 1, cb_ob_thread(), cb_ob_team(), &r0, &r1);
      cb_ob_col2im(g, col, ld, r0, r1, dx + n0 * cv->c * g->hw);
#pragma omp barrier
    }
  }
}

/* ---- gemm_1x1 ------------------------------------------------------------ */

/* dy[n,k,h,w] (src0), w[k,c/g,1,1] (src1) -> dx[n,c,h,w] (dst). A 1x1
 * stride-1 unpadded col matrix is dx_n itself, and col2im is nothing. */
static cb_status bwd_data_1x1_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                  void *plan, const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_bwd_data/gemm_1x1", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  const cb_conv *cv = &g.cv;
  const float *dy = args->src0, *w = args->src1;
  float *dx = args->dst;
#pragma omp parallel num_threads(threads)
  {
    int64_t j0, j1;
    cb_ob_share(g.hw, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &j0, &j1);
    for (int64_t n = 0; n < cv->n; n++)
      bwd_data_gemms(&g, w, dy + n * cv->k * g.pq, g.pq, dx + n * cv->c * g.hw, g.hw, j0, j1);
  }
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_bwd_data_gemm_1x1, bwd_data_1x1, CB_OP_CONV_BWD_DATA, "conv_bwd_data",
                   "gemm_1x1", CB_OB_GEMM_1X1,
                   "1x1 stride 1 unpadded: sgemm (W^T dy) per image and group, no col2im", 0, NULL);

/* ---- im2col_per_image ------------------------------------------------------ */

/* dy (src0), w (src1) -> dx (dst); workspace: col [CRS, PQ]. */
static cb_status bwd_data_per_image_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                        void *plan, const cb_args *args, void *workspace) {
  (void)params, (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_bwd_data/im2col_per_image", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  bwd_data_steps(&g, args->src0, args->src1, args->dst, workspace, NULL, 1, threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_bwd_data_im2col_per_image, bwd_data_per_image, CB_OP_CONV_BWD_DATA,
                   "conv_bwd_data", "im2col_per_image", CB_OB_PER_IMAGE,
                   "per image: sgemm per group (W^T dy) into col [CRS,PQ], then col2im", 0, NULL);

/* ---- im2col_batched -------------------------------------------------------- */

/* dy (src0), w (src1) -> dx (dst); workspace: col [CRS, b PQ], then DY
 * [K, b PQ] when b > 1. */
static cb_status bwd_data_batched_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                      void *plan, const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_bwd_data/im2col_batched", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  int64_t b =
      cb_ob_step_images(prob, CB_OB_BATCHED, cb_ob_param(params, 0, cb_ob_bwd_data_batched_params));
  float *col = workspace, *dymat = b > 1 ? col + g.crs * b * g.pq : NULL;
  bwd_data_steps(&g, args->src0, args->src1, args->dst, col, dymat, b, threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(
    cb_ob_conv_bwd_data_im2col_batched, bwd_data_batched, CB_OP_CONV_BWD_DATA, "conv_bwd_data",
    "im2col_batched", CB_OB_BATCHED,
    "b images at a time (auto: the whole batch when it fits): gather dy to [K,b PQ], "
    "sgemm per group into col, col2im",
    1, cb_ob_bwd_data_batched_params);
