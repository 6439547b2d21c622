/* onednn_gemm.c: GEMM through dnnl_sgemm, oneDNN's BLAS-like entry point
 * (row-major, like our matrices, so the arguments pass straight through).
 * No plan: dnnl_sgemm chooses its kernel per call. */
#include "onednn.h"

#include <stdio.h>

/* f32 only; oneDNN takes any positive sizes. */
static cb_status sgemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  (void)params;
  if (p->dtype != CB_DTYPE_F32)
    return cb_error(CB_ERR_UNSUPPORTED, "onednn sgemm: only f32 is supported");
  return CB_OK;
}

static void sgemm_info(const void *plan, char *buf, size_t len) {
  (void)plan;
  snprintf(buf, len, "dnnl_sgemm");
}

/* C[m,n] = alpha op(A) op(B) + beta C with A = src0, B = src1, C = dst,
 * all dense row-major, so each leading dimension is its row length. */
static cb_status sgemm_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  const cb_gemm *g = &p->gemm;
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "onednn sgemm: a matrix pointer is NULL");
  dnnl_dim_t lda = g->trans_a ? g->m : g->k;
  dnnl_dim_t ldb = g->trans_b ? g->k : g->n;
  int saved = cb_dnnl_threads_enter(ctx->threads);
  dnnl_status_t s =
      dnnl_sgemm(g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->m, g->n, g->k, g->alpha,
                 args->src0, lda, args->src1, ldb, g->beta, args->dst, g->n);
  cb_dnnl_threads_leave(saved);
  return cb_dnnl_check(s, CB_ERR_INTERNAL, "onednn sgemm", "dnnl_sgemm");
}

const cb_variant cb_dnnl_gemm_sgemm = {
    .name = "sgemm",
    .op = CB_OP_GEMM,
    .desc = "dnnl_sgemm (oneDNN's JIT SGEMM)",
    /* 0 = exact: with small-integer data every partial sum is an integer
     * below 2^24, so any summation order (and FMA) gives the exact result;
     * alpha and beta in the tests are powers of two or small integers. */
    .tolerance = 0,
    .supports = sgemm_supports,
    .plan_info = sgemm_info,
    .run = sgemm_run,
};
