/* ob_gemm.c: GEMM through cblas_sgemm, C[m,n] = alpha op(A) op(B) + beta C,
 * row-major with packed leading dimensions (see cb_gemm in kernels.h), two
 * ways of threading it:
 *
 *   sgemm        one call; OpenBLAS's own thread pool splits it
 *   sgemm_split  our OpenMP team splits C (columns or rows), each thread
 *                making a single-threaded call on its share, as the conv
 *                variants do (see ob.h for why mixing the two thread pools
 *                in one program costs: a net runs GEMM and conv layers in
 *                turn)
 *
 * OpenBLAS, like every BLAS, does not read C when beta is 0, so NaN in an
 * uninitialised C does not leak into the result. */
#include "ob.h"

/* Both variants: f32, and every size within OpenBLAS's int. */
static cb_status gemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  (void)params;
  const cb_gemm *gm = &p->gemm;
  if (p->dtype != CB_DTYPE_F32) return cb_error(CB_ERR_UNSUPPORTED, "openblas gemm: only f32");
  if (!cb_ob_fits_int(gm->m) || !cb_ob_fits_int(gm->n) || !cb_ob_fits_int(gm->k))
    return cb_error(CB_ERR_UNSUPPORTED, "openblas gemm: a dimension exceeds OpenBLAS's "
                                        "32-bit int");
  return CB_OK;
}

/* The block C[i0:i1, j0:j1] of the problem: op(A)'s rows i0.. start i0
 * rows into A (i0 floats when transposed), op(B)'s columns j0.. start j0
 * floats into B (j0 rows when transposed). */
static void gemm_block(const cb_gemm *gm, const float *a, const float *b, float *c, int64_t i0,
                       int64_t i1, int64_t j0, int64_t j1) {
  cb_ob_sgemm(gm->trans_a, gm->trans_b, i1 - i0, j1 - j0, gm->k, gm->alpha,
              gm->trans_a ? a + i0 : a + i0 * gm->k, gm->trans_a ? gm->m : gm->k,
              gm->trans_b ? b + j0 * gm->k : b + j0, gm->trans_b ? gm->k : gm->n, gm->beta,
              c + i0 * gm->n + j0, gm->n);
}

/* A (src0), B (src1) -> C (dst), read only when beta != 0. */
static cb_status gemm_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                          const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_status st = cb_ob_check_args("gemm/sgemm", args);
  if (st != CB_OK) return st;
  const cb_gemm *gm = &prob->gemm;
  /* No data movement to thread here, so OpenBLAS's own pool runs it. Its
   * thread count is global library state: set it on every run so two
   * contexts with different counts each get their own. */
  openblas_set_num_threads(ctx->threads);
  gemm_block(gm, args->src0, args->src1, args->dst, 0, gm->m, 0, gm->n);
  return CB_OK;
}

/* The same, C split between our OpenMP threads: by columns, or by rows
 * when it has more rows than columns (an FC layer's backward-data GEMM). */
static cb_status gemm_split_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                                const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_status st = cb_ob_check_args("gemm/sgemm_split", args);
  if (st != CB_OK) return st;
  const cb_gemm *gm = &prob->gemm;
  const float *a = args->src0, *b = args->src1;
  float *c = args->dst;
  cb_ob_blas_single();
#pragma omp parallel num_threads(cb_ob_threads_for(ctx, cb_problem_flops(prob)))
  {
    int64_t lo, hi;
    if (gm->m > gm->n) {
      cb_ob_share(gm->m, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &lo, &hi);
      gemm_block(gm, a, b, c, lo, hi, 0, gm->n);
    } else {
      cb_ob_share(gm->n, CB_OB_ALIGN, cb_ob_thread(), cb_ob_team(), &lo, &hi);
      gemm_block(gm, a, b, c, 0, gm->m, lo, hi);
    }
  }
  return CB_OK;
}

const cb_variant cb_ob_gemm_sgemm = {
    .name = "sgemm",
    .op = CB_OP_GEMM,
    .desc = "cblas_sgemm, row-major",
    /* Products and sums of small integers are exact, and so is the result
     * when alpha and beta are dyadic (0.5, 2, -0.25). Otherwise OpenBLAS
     * rounds beta C, alpha AB and their sum separately where ref rounds
     * once: measured up to 1.1e-7 relative with alpha 0.1, beta 0.3; 1e-6
     * leaves room for cancellation between the two terms. */
    .tolerance = 1e-6,
    .supports = gemm_supports,
    .plan_info = cb_ob_plan_info,
    .run = gemm_run,
};

const cb_variant cb_ob_gemm_sgemm_split = {
    .name = "sgemm_split",
    .op = CB_OP_GEMM,
    .desc = "cblas_sgemm, row-major, C split between OpenMP threads",
    .tolerance = 1e-6, /* as sgemm: the same calls on column blocks */
    .supports = gemm_supports,
    .plan_info = cb_ob_plan_info,
    .run = gemm_split_run,
};
