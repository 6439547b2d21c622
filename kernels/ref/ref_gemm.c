/* ref_gemm.c: the reference GEMM, C[m,n] = alpha op(A) op(B) + beta C with
 * row-major A (m x k, or k x m when trans_a), B (k x n, or n x k when
 * trans_b) and C (m x n).
 *
 * Every C[i,j] sums A(i,l) B(l,j) in a double for l = 0, 1, ..., k-1 in
 * that order, then applies alpha and beta in double and rounds once. The
 * loop nest differs with trans_b only for memory access (a row of B is
 * contiguous without it, a column with it); the sums are the same. Threads
 * split the rows of C. C is not read when beta is 0, so NaN or garbage in
 * an uninitialised C cannot leak into the result (the BLAS convention). */
#include "ref.h"

/* Row i of C. scratch holds k + n doubles: row i of op(A), then the sums. */
static void gemm_row(const void *data, const cb_args *args, int64_t i, double *scratch) {
  const cb_gemm *gm = data;
  const float *a = args->src0, *b = args->src1;
  float *c = args->dst;
  int64_t m = gm->m, n = gm->n, k = gm->k;
  double *a_row = scratch, *acc = scratch + k;
  for (int64_t l = 0; l < k; l++) a_row[l] = gm->trans_a ? a[l * m + i] : a[i * k + l];

  if (!gm->trans_b) {
    /* acc += A(i,l) * row l of B, l ascending: unit-stride, vectorises over j. */
    for (int64_t j = 0; j < n; j++) acc[j] = 0.0;
    for (int64_t l = 0; l < k; l++) {
      const float *b_row = b + l * n;
      double al = a_row[l];
#pragma omp simd
      for (int64_t j = 0; j < n; j++) acc[j] += al * (double)b_row[j];
    }
  } else {
    /* B(l,j) = b[j*k + l]: one dot product per j over contiguous memory. */
    for (int64_t j = 0; j < n; j++) {
      const float *b_col = b + j * k;
      double sum = 0.0;
      for (int64_t l = 0; l < k; l++) sum += a_row[l] * (double)b_col[l];
      acc[j] = sum;
    }
  }

  float *c_row = c + i * n;
  double alpha = gm->alpha, beta = gm->beta;
  if (gm->beta == 0.0f)
    for (int64_t j = 0; j < n; j++) c_row[j] = (float)(alpha * acc[j]);
  else
    for (int64_t j = 0; j < n; j++) c_row[j] = (float)(alpha * acc[j] + beta * (double)c_row[j]);
}

/* A (src0), B (src1) -> C (dst), read only when beta != 0. */
static cb_status gemm_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                          const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_status st = cb_ref_check_args("ref gemm", args);
  if (st != CB_OK) return st;
  const cb_gemm *gm = &prob->gemm;
  int64_t per_thread;
  if (__builtin_add_overflow(gm->k, gm->n, &per_thread))
    return cb_error(CB_ERR_NOMEM, "ref gemm: k + n scratch overflows int64");
  return cb_ref_run_tasks("ref gemm", ctx, args, gm, gm->m, per_thread, gemm_row);
}

const cb_variant cb_ref_gemm_naive = {
    .name = "naive",
    .op = CB_OP_GEMM,
    .desc = "row by row, double accumulation in k order",
    .run = gemm_run,
};
