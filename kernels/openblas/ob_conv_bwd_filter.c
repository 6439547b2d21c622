/* ob_conv_bwd_filter.c: backward-filter convolution as GEMMs, three
 * lowerings (the layout of col is in ob.h):
 *
 *   gemm_1x1          dW[K,C] += dy_n[K,HW] x_n^T[HW,C] per image (1x1,
 *                     stride 1, no padding)
 *   im2col_per_image  col = im2col(x_n), dW[K,CRS] += dy_n[K,PQ] col^T
 *   im2col_batched    b images at a time (the whole batch when it fits):
 *                     col = im2col(x_n..) [CRS,b PQ], DY[K,b PQ] gathered
 *                     from dy, dW += DY col^T: GEMMs of depth b P Q
 * (per group g: rows g K/G.. of dW and dy, rows g C/G R S.. of col). The
 * first GEMM into dW has beta = 0, which overwrites it (never reading what
 * was there before); the rest accumulate with beta = 1.
 *
 * Each thread owns a range of rows of col, that is of columns of dW: it
 * unfolds those rows and multiplies them into its own columns of dW, so
 * only the batched gather, which every thread's GEMMs read, needs
 * barriers. The im2col variants unfold and sum over the columns of col
 * "chunk" at a time (see ob.h).
 *
 * With small-integer data every product and partial sum is an integer
 * below 2^24, exact in float in any order, so all three match ref exactly:
 * tolerance 0. */
#include "ob.h"

/* dW[:, rows row0..row1 of col] = beta dW + dy col[row0:row1, :]^T, group
 * by group: a range of col rows may span groups, and each group's rows
 * multiply its own output channels of dy. depth is the number of columns
 * summed over; dy and col rows are lddy and ldcol floats long. */
static void bwd_filter_gemms(const cb_conv_geom *g, const float *dy, int64_t lddy, const float *col,
                             int64_t ldcol, int64_t depth, int64_t row0, int64_t row1, float beta,
                             float *dw) {
  if (row0 >= row1) return;
  for (int64_t grp = row0 / g->cgrs; grp <= (row1 - 1) / g->cgrs; grp++) {
    int64_t first = grp * g->cgrs;
    int64_t lo = row0 > first ? row0 : first;
    int64_t hi = row1 < first + g->cgrs ? row1 : first + g->cgrs;
    cb_ob_sgemm(false, true, g->kg, hi - lo, depth, 1.0f, dy + grp * g->kg * lddy, lddy,
                col + lo * ldcol, ldcol, beta, dw + grp * g->kg * g->cgrs + (lo - first), g->cgrs);
  }
}

/* The im2col lowerings, images in steps of b: x, dy (NCHW) -> dw through
 * col [CRS, b PQ] and, when b > 1, dymat [K, b PQ]. chunk is the
 * parameter. */
static void bwd_filter_steps(const cb_conv_geom *g, const float *x, const float *dy, float *dw,
                             float *col, float *dymat, int64_t b, int chunk, int threads) {
  const cb_conv *cv = &g->cv;
  int64_t ld = b * g->pq;
#pragma omp parallel num_threads(threads)
  {
    int64_t r0, r1, j0, j1;
    cb_ob_share(g->crs, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &r0, &r1);
    cb_ob_share(ld, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &j0, &j1);
    for (int64_t n0 = 0; n0 < cv->n; n0 += b) {
      int64_t nb = cv->n - n0 < b ? cv->n - n0 : b, cols = nb * g->pq;
      const float *x0 = x + n0 * cv->c * g->hw, *dy0 = dy + n0 * cv->k * g->pq;
      /* One image's [K, PQ] is dy's own layout: the GEMMs read dy. */
      const float *dyk = dy0;
      int64_t lddy = g->pq;
      if (nb > 1) {
        int64_t c0 = j0 < cols ? j0 : cols, c1 = j1 < cols ? j1 : cols;
        cb_planes_to_matrix(dy0, dymat + c0, ld, cv->k, g->pq, c0, c1);
        dyk = dymat, lddy = ld;
#pragma omp barrier
      }
      int64_t step = cb_ob_chunk(chunk, cols);
      for (int64_t jc = 0; jc < cols; jc += step) {
        int64_t je = cols - jc < step ? cols : jc + step;
        cb_im2col(g, x0, r0, r1, jc, je, col + r0 * ld + jc, ld);
        bwd_filter_gemms(g, dyk + jc, lddy, col + jc, ld, je - jc, r0, r1,
                         n0 == 0 && jc == 0 ? 0.0f : 1.0f, dw);
      }
      /* The next step's gather overwrites what other threads still read. */
      if (nb > 1 && n0 + b < cv->n) {
#pragma omp barrier
      }
    }
  }
}

/* ---- gemm_1x1 ------------------------------------------------------------ */

/* x[n,c,h,w] (src0), dy[n,k,h,w] (src1) -> dw[k,c/g,1,1] (dst). A 1x1
 * stride-1 unpadded col matrix is x_n itself (rows = channels). */
static cb_status bwd_filter_1x1_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                    void *plan, const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_bwd_filter/gemm_1x1", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  const cb_conv *cv = &g.cv;
  const float *x = args->src0, *dy = args->src1;
  float *dw = args->dst;
#pragma omp parallel num_threads(threads)
  {
    int64_t r0, r1;
    cb_ob_share(cv->c, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &r0, &r1);
    for (int64_t n = 0; n < cv->n; n++)
      bwd_filter_gemms(&g, dy + n * cv->k * g.pq, g.pq, x + n * cv->c * g.hw, g.hw, g.hw, r0, r1,
                       n == 0 ? 0.0f : 1.0f, dw);
  }
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_bwd_filter_gemm_1x1, bwd_filter_1x1, CB_OP_CONV_BWD_FILTER,
                   "conv_bwd_filter", "gemm_1x1", CB_OB_GEMM_1X1,
                   "1x1 stride 1 unpadded: dW += dy_n x_n^T, sgemm per image and group, no im2col",
                   0, NULL);

/* ---- im2col_per_image ------------------------------------------------------ */

/* x (src0), dy (src1) -> dw (dst); workspace: col [CRS, PQ]. */
static cb_status bwd_filter_per_image_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                          void *plan, const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st =
      cb_ob_conv_begin("conv_bwd_filter/im2col_per_image", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  bwd_filter_steps(&g, args->src0, args->src1, args->dst, workspace, NULL, 1,
                   cb_ob_param(params, 0, cb_ob_bwd_filter_per_image_params), threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_bwd_filter_im2col_per_image, bwd_filter_per_image,
                   CB_OP_CONV_BWD_FILTER, "conv_bwd_filter", "im2col_per_image", CB_OB_PER_IMAGE,
                   "per image: im2col [CRS,PQ], dW += dy_n col^T, sgemm per group", 1,
                   cb_ob_bwd_filter_per_image_params);

/* ---- im2col_batched -------------------------------------------------------- */

/* x (src0), dy (src1) -> dw (dst); workspace: col [CRS, b PQ], then DY
 * [K, b PQ] when b > 1. */
static cb_status bwd_filter_batched_run(cb_ctx *ctx, const cb_problem *prob, const int *params,
                                        void *plan, const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  int threads;
  cb_status st = cb_ob_conv_begin("conv_bwd_filter/im2col_batched", ctx, prob, args, &g, &threads);
  if (st != CB_OK) return st;
  int64_t b = cb_ob_step_images(prob, CB_OB_BATCHED,
                                cb_ob_param(params, 0, cb_ob_bwd_filter_batched_params));
  float *col = workspace, *dymat = b > 1 ? col + g.crs * b * g.pq : NULL;
  bwd_filter_steps(&g, args->src0, args->src1, args->dst, col, dymat, b,
                   cb_ob_param(params, 1, cb_ob_bwd_filter_batched_params), threads);
  return CB_OK;
}

CB_OB_CONV_VARIANT(cb_ob_conv_bwd_filter_im2col_batched, bwd_filter_batched, CB_OP_CONV_BWD_FILTER,
                   "conv_bwd_filter", "im2col_batched", CB_OB_BATCHED,
                   "b images at a time (auto: the whole batch when it fits): im2col [CRS,b PQ], "
                   "gather dy, sgemm of depth b PQ per group",
                   2, cb_ob_bwd_filter_batched_params);
