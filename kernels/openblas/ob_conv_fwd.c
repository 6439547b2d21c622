/* ob_conv_fwd.c: forward convolution as GEMMs, three lowerings.
 *
 *   gemm_1x1          y_n[K,HW] = W[K,C] x_n[C,HW] per image, on the
 *                     tensors themselves (1x1, stride 1, no padding)
 *   im2col_per_image  col = im2col(x_n) [CRS,PQ], y_n[K,PQ] = W[K,CRS] col
 *   im2col_batched    b images at a time (the whole batch when it fits):
 *                     col = im2col(x_n..) [CRS,b PQ], Y[K,b PQ] = W col,
 *                     then Y scattered to y's NCHW planes
 * (per group g: rows g K/G.. of W and y, rows g C/G R S.. of col).
 *
 * Each thread of the team owns a range of GEMM columns (output positions)
 * for the whole call, the same range at every step: it unfolds those
 * columns of col, multiplies them and (batched) scatters them, never
 * touching another thread's columns, so there is no barrier. The im2col
 * variants take their columns "chunk" at a time (see ob.h).
 *
 * With small-integer data every product and partial sum is an integer
 * below 2^24, exact in float in any order, so all three match ref exactly:
 * tolerance 0. */
#include "ob.h"

/* out[:, j0:j1] = W col[:, j0:j1], group by group (see ob.h); col and out
 * rows are ldcol and ldout floats long. */
static void fwd_gemms(const cb_conv_geom *g, const float *w, const float *col, int64_t ldcol,
                      float *out, int64_t ldout, int64_t j0, int64_t j1) {
  for (int64_t grp = 0; grp < g->cv.groups; grp++)
    cb_ob_sgemm(false, false, g->kg, j1 - j0, g->cgrs, 1.0f, w + grp * g->kg * g->cgrs, g->cgrs,
                col + grp * g->cgrs * ldcol + j0, ldcol, 0.0f, out + grp * g->kg * ldout + j0,
                ldout);
}

/* The im2col lowerings, images in steps of b: x (NCHW) -> y through col
 * [CRS, b PQ] and, when b > 1, ymat [K, b PQ]. chunk is the parameter. */
static void fwd_steps(const cb_conv_geom *g, const float *x, const float *w, float *y, float *col,
                      float *ymat, int64_t b, int chunk, int threads) {
  const cb_conv *cv = &g->cv;
  int64_t ld = b * g->pq;
#pragma omp parallel num_threads(threads)
  {
    int64_t j0, j1;
    cb_ob_share(ld, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &j0, &j1);
    int64_t step = cb_ob_chunk(chunk, j1 - j0);
    for (int64_t n0 = 0; n0 < cv->n; n0 += b) {
      int64_t nb = cv->n - n0 < b ? cv->n - n0 : b, cols = nb * g->pq;
      int64_t lo = j0 < cols ? j0 : cols, hi = j1 < cols ? j1 : cols;
      const float *x0 = x + n0 * cv->c * g->hw;
      float *y0 = y + n0 * cv->k * g->pq;
      /* One image's [K, PQ] is y's own layout: the GEMMs write y. */
      float *out = nb == 1 ? y0 : ymat;
      int64_t ldout = nb == 1 ? g->pq : ld;
      for (int64_t jc = lo; jc < hi; jc += step) {
        int64_t je = hi - jc < step ? hi : jc + step;
        cb_im2col(g, x0, 0, g->crs, jc, je, col + jc, ld);
        fwd_gemms(g, w, col, ld, out, ldout, jc, je);
      }
      if (nb > 1) cb_matrix_to_planes(ymat + lo, y0, ld, cv->k, g->pq, lo, hi);
    }
  }
}

/* ---- gemm_1x1 ------------------------------------------------------------ */

/* x[n,c,h,w] (src0), w[k,c/g,1,1] (src1) -> y[n,k,h,w] (dst). A 1x1
 * stride-1 unpadded col matrix is x_n itself. */
static cb_status fwd_1x1_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                             const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_fwd/gemm_1x1", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  const cb_conv *cv = &g.cv;
  const float *x = args->src0, *w = args->src1;
  float *y = args->dst;
#pragma omp parallel num_threads(threads)
  {
    int64_t j0, j1;
    cb_ob_share(g.hw, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &j0, &j1);
    for (int64_t n = 0; n < cv->n; n++)
      fwd_gemms(&g, w, x + n * cv->c * g.hw, g.hw, y + n * cv->k * g.pq, g.pq, j0, j1);
  }
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_fwd_gemm_1x1, fwd_1x1, CB_OP_CONV_FWD, "conv_fwd", "gemm_1x1",
                   CB_OB_GEMM_1X1,
                   "1x1 stride 1 unpadded: sgemm per image and group on the tensors, no im2col", 0,
                   NULL);

/* ---- im2col_per_image ------------------------------------------------------ */

/* x (src0), w (src1) -> y (dst); workspace: col [CRS, PQ]. */
static cb_status fwd_per_image_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                   void *plan, const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_fwd/im2col_per_image", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  fwd_steps(&g, args->src0, args->src1, args->dst, workspace, NULL, 1,
            cb_ob_param(params, 0, cb_ob_fwd_per_image_params), threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_fwd_im2col_per_image, fwd_per_image, CB_OP_CONV_FWD, "conv_fwd",
                   "im2col_per_image", CB_OB_PER_IMAGE,
                   "per image: im2col [CRS,PQ], then sgemm per group into y", 1,
                   cb_ob_fwd_per_image_params);

/* ---- im2col_batched -------------------------------------------------------- */

/* x (src0), w (src1) -> y (dst); workspace: col [CRS, b PQ], then Y
 * [K, b PQ] when b > 1. */
static cb_status fwd_batched_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                                 const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_fwd/im2col_batched", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  int64_t b =
      cb_ob_step_images(prob, CB_OB_BATCHED, cb_ob_param(params, 0, cb_ob_fwd_batched_params));
  float *col = workspace, *ymat = b > 1 ? col + g.crs * b * g.pq : NULL;
  fwd_steps(&g, args->src0, args->src1, args->dst, col, ymat, b,
            cb_ob_param(params, 1, cb_ob_fwd_batched_params), threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_fwd_im2col_batched, fwd_batched, CB_OP_CONV_FWD, "conv_fwd",
                   "im2col_batched", CB_OB_BATCHED,
                   "b images at a time (auto: the whole batch when it fits): im2col [CRS,b PQ], "
                   "sgemm per group, scatter to NCHW",
                   2, cb_ob_fwd_batched_params);
