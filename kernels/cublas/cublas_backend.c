/* cublas_backend.c: the cublas backend: cublasSgemm itself, and
 * convolutions as im2col / col2im (the cuda backend's kernels) plus
 * cublasSgemmStridedBatched, on one device.
 *
 * cuBLAS is column-major; a row-major C = op(A) op(B) is the column-major
 * C^T = op(B)^T op(A)^T, so every call swaps the operands (rm_sgemm). The
 * math mode is CUBLAS_DEFAULT_MATH: fp32 all the way, no TF32 tensor ops
 * (those need CUBLAS_TF32_TENSOR_OP_MATH). The convolutions run the same
 * lowering code as the cuda backend's (cuda_lower.h) with cuBLAS GEMMs.
 * With small-integer data everything matches ref exactly (tolerance 0). */
#include "../cuda/cuda_impl.h"
#include "../cuda/cuda_lower.h"

#include <cublas_v2.h>
#include <stdio.h>

static cb_status blas_check(cublasStatus_t s, const char *what) {
  if (s == CUBLAS_STATUS_SUCCESS) return CB_OK;
  cb_status st = s == CUBLAS_STATUS_ALLOC_FAILED      ? CB_ERR_NOMEM
                 : s == CUBLAS_STATUS_NOT_INITIALIZED ? CB_ERR_UNAVAILABLE
                 : s == CUBLAS_STATUS_ARCH_MISMATCH   ? CB_ERR_UNAVAILABLE
                 : s == CUBLAS_STATUS_NOT_SUPPORTED   ? CB_ERR_UNSUPPORTED
                                                      : CB_ERR_INTERNAL;
  return cb_error(st, "%s: %s", what, cublasGetStatusString(s));
}

static void handle_fini(void *h) {
  cublasStatus_t s = cublasDestroy((cublasHandle_t)h);
  if (s != CUBLAS_STATUS_SUCCESS)
    cb_log(CB_LOG_WARN, "cublasDestroy: %s", cublasGetStatusString(s));
}

static cb_status cublas_init(cb_ctx *ctx) {
  cb_status st = cb_cuda_open(ctx);
  if (st != CB_OK) return st;
  cb_cuda_state *s = cb_cuda_of(ctx);
  cublasHandle_t h = NULL;
  if ((st = blas_check(cublasCreate(&h), "cublasCreate")) == CB_OK) {
    s->lib = h;
    s->lib_fini = handle_fini;
    if ((st = blas_check(cublasSetStream(h, s->stream), "cublasSetStream")) == CB_OK)
      st = blas_check(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  }
  if (st != CB_OK) cb_cuda_close(ctx);
  return st;
}

static void cublas_version(char *buf, size_t len) {
  snprintf(buf, len, "cuBLAS %d.%d.%d", CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
}

/* batch row-major GEMMs C_z = alpha op(A_z) op(B_z) + beta C_z (see the
 * header comment); sizes were checked to fit an int by supports(). */
static cb_status rm_sgemm(cb_ctx *ctx, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                          float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                          int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                          int64_t batch) {
  cublasHandle_t h = (cublasHandle_t)cb_cuda_of(ctx)->lib;
  return blas_check(cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                              ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m,
                                              (int)k, &alpha, b, (int)ldb, sb, a, (int)lda, sa,
                                              &beta, c, (int)ldc, sc, (int)batch),
                    "cublasSgemmStridedBatched");
}

/* ---- GEMM -------------------------------------------------------------------------- */

static cb_status sgemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx, (void)params;
  const cb_gemm *g = &p->gemm;
  if (!cb_cuda_fits_int(g->m) || !cb_cuda_fits_int(g->n) || !cb_cuda_fits_int(g->k))
    return cb_error(CB_ERR_UNSUPPORTED, "cublas sgemm: sizes must fit an int");
  return CB_OK;
}

static cb_status sgemm_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *ws) {
  (void)params, (void)plan, (void)ws;
  cb_status st = cb_cuda_check_args("cublas sgemm", args);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  const cb_gemm *g = &p->gemm;
  return rm_sgemm(ctx, g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, args->src0,
                  g->trans_a ? g->m : g->k, 0, args->src1, g->trans_b ? g->k : g->n, 0, g->beta,
                  args->dst, g->n, 0, 1);
}

/* ---- convolutions ------------------------------------------------------------------- */

static cb_status conv_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx, (void)params;
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  int64_t b = cb_cu_step_images(&g, CB_CUDA_COL_BUDGET);
  if (!cb_cuda_fits_int(g.cgrs) || !cb_cuda_fits_int(g.kg) || !cb_cuda_fits_int(b * g.p * g.q) ||
      !cb_cuda_fits_int(g.cv.k))
    return cb_error(CB_ERR_UNSUPPORTED, "cublas %s: GEMM sizes must fit an int", cb_op_name(p->op));
  return CB_OK;
}

static cb_status conv_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                size_t *bytes) {
  (void)ctx, (void)params;
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  *bytes = cb_cuda_lower_bytes(&g);
  return CB_OK;
}

/* The lowering's operations on cuBLAS: the cuda backend's im2col /
 * col2im kernels and cublasSgemmStridedBatched. */
static cb_status blas_im2col(void *user, const cb_conv_geom *g, const float *x, int64_t i0,
                             int64_t nimg, float *col) {
  cb_ctx *ctx = user;
  return cb_cuda_check(cb_cu_im2col(cb_cuda_of(ctx)->stream, g, x, i0, nimg, col), "im2col launch");
}

static cb_status blas_col2im(void *user, const cb_conv_geom *g, const float *col, int64_t i0,
                             int64_t nimg, float *dx) {
  cb_ctx *ctx = user;
  return cb_cuda_check(cb_cu_col2im(cb_cuda_of(ctx)->stream, g, col, i0, nimg, dx),
                       "col2im launch");
}

static cb_status blas_sgemm(void *user, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                            float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                            int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                            int64_t batch) {
  return rm_sgemm(user, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

static cb_status conv_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                          const cb_args *args, void *ws) {
  (void)params, (void)plan;
  cb_status st = cb_cuda_check_args("cublas conv", args);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  cb_cu_lower_ops ops = {blas_im2col, blas_col2im, blas_sgemm, ctx};
  return cb_cuda_lower_conv(&ops, p, args, ws);
}

/* ---- the table ------------------------------------------------------------------------- */

#define CB_CUBLAS_CONV(var, op_, nm, dsc)                                                          \
  static const cb_variant var = {.name = nm,                                                       \
                                 .op = op_,                                                        \
                                 .desc = dsc,                                                      \
                                 .supports = conv_supports,                                        \
                                 .workspace = conv_workspace,                                      \
                                 .run = conv_run}

CB_CUBLAS_CONV(conv_fwd_im2col, CB_OP_CONV_FWD, "im2col_sgemm",
               "im2col of a batch step, then cublasSgemmStridedBatched over its images");
CB_CUBLAS_CONV(conv_bwd_data_col2im, CB_OP_CONV_BWD_DATA, "sgemm_col2im",
               "cublasSgemmStridedBatched W^T dy into col, then col2im");
CB_CUBLAS_CONV(conv_bwd_filter_im2col, CB_OP_CONV_BWD_FILTER, "im2col_sgemm",
               "im2col of a batch step, then dW += dy col^T per image (cublasSgemm)");

static const cb_variant gemm_sgemm = {.name = "sgemm",
                                      .op = CB_OP_GEMM,
                                      .desc = "cublasSgemm, CUBLAS_DEFAULT_MATH (fp32, no TF32)",
                                      .supports = sgemm_supports,
                                      .run = sgemm_run};

static const cb_variant *const conv_fwd_variants[] = {&conv_fwd_im2col, NULL};
static const cb_variant *const conv_bwd_data_variants[] = {&conv_bwd_data_col2im, NULL};
static const cb_variant *const conv_bwd_filter_variants[] = {&conv_bwd_filter_im2col, NULL};
static const cb_variant *const gemm_variants[] = {&gemm_sgemm, NULL};

const cb_backend cb_backend_cublas =
    CB_CUDA_BACKEND("cublas", "im2col / col2im + cublasSgemmStridedBatched, and cublasSgemm itself",
                    cublas_init, cublas_version, conv_fwd_variants, conv_bwd_data_variants,
                    conv_bwd_filter_variants, gemm_variants);
