/* cuda_conv.c: the cuda backend's variants: convolutions as im2col / col2im
 * plus the tiled SGEMM, direct convolutions for small filters, and the
 * SGEMM itself. All run on the context's stream and return after queueing
 * (the caller synchronises); every launch is checked.
 *
 * The lowering (cuda_lower.h, shared with cublas and the unit test):
 *   fwd         y_i[kg, PQ] = W_g[kg, crs] col_i[crs, PQ]      (batched over images)
 *   bwd_data    dcol_i[crs, PQ] = W_g^T dy_i[kg, PQ]; dx = col2im(dcol)
 *   bwd_filter  dW_g[kg, crs] = sum_i dy_i[kg, PQ] col_i^T      (beta 1 after the first image)
 * col holds `b` images at a time ([C R S, b P Q], cuda_geom.h), b from the
 * col budget. With small-integer data every sum is exact in fp32, so all
 * match ref exactly (tolerance 0). */
#include "cuda_impl.h"
#include "cuda_lower.h"

#include <stdio.h>

static const int tile_values[] = {32, 64, 128};
static const cb_param_def tile_params[2] = {
    {"tile_m", tile_values, 3, 64},
    {"tile_n", tile_values, 3, 64},
};

static int tile_m(const int *params) {
  return params ? params[0] : tile_params[0].def;
}
static int tile_n(const int *params) {
  return params ? params[1] : tile_params[1].def;
}

/* ---- the im2col lowerings ------------------------------------------------------- */

/* The GEMM shapes a lowering launches fit the kernel's grid. */
static cb_status gemm_conv_supports(const char *who, const cb_problem *p, const int *params) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  int64_t b = cb_cu_step_images(&g, CB_CUDA_COL_BUDGET), pq = g.p * g.q;
  bool ok;
  switch (p->op) {
  case CB_OP_CONV_FWD:
    ok = cb_cu_sgemm_fits(tile_m(params), tile_n(params), g.kg, pq, b);
    break;
  case CB_OP_CONV_BWD_DATA:
    ok = cb_cu_sgemm_fits(tile_m(params), tile_n(params), g.cgrs, pq, b);
    break;
  default:
    ok = cb_cu_sgemm_fits(tile_m(params), tile_n(params), g.kg, g.cgrs, 1);
    break;
  }
  if (!ok)
    return cb_error(CB_ERR_UNSUPPORTED, "%s: tile %dx%d or GEMM grid out of range", who,
                    tile_m(params), tile_n(params));
  return CB_OK;
}

static cb_status gemm_conv_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                     size_t *bytes) {
  (void)ctx, (void)params;
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  *bytes = cb_cuda_lower_bytes(&g);
  return CB_OK;
}

static cb_status fwd_gemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  return gemm_conv_supports("cuda conv_fwd/im2col_gemm", p, params);
}
static cb_status bwd_data_gemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  return gemm_conv_supports("cuda conv_bwd_data/gemm_col2im", p, params);
}
static cb_status bwd_filter_gemm_supports(const cb_ctx *ctx, const cb_problem *p,
                                          const int *params) {
  (void)ctx;
  return gemm_conv_supports("cuda conv_bwd_filter/im2col_gemm", p, params);
}

/* The cuda backend's three lowering operations: its own kernels. */
typedef struct dev_ops {
  cudaStream_t stream;
  int bm, bn;
} dev_ops;

static cb_status dev_im2col(void *user, const cb_conv_geom *g, const float *x, int64_t i0,
                            int64_t nimg, float *col) {
  const dev_ops *d = user;
  return cb_cuda_check(cb_cu_im2col(d->stream, g, x, i0, nimg, col), "im2col launch");
}

static cb_status dev_col2im(void *user, const cb_conv_geom *g, const float *col, int64_t i0,
                            int64_t nimg, float *dx) {
  const dev_ops *d = user;
  return cb_cuda_check(cb_cu_col2im(d->stream, g, col, i0, nimg, dx), "col2im launch");
}

static cb_status dev_sgemm(void *user, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                           float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                           int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                           int64_t batch) {
  const dev_ops *d = user;
  return cb_cuda_check(cb_cu_sgemm(d->stream, d->bm, d->bn, ta, tb, m, n, k, alpha, a, lda, sa, b,
                                   ldb, sb, beta, c, ldc, sc, batch),
                       "sgemm launch");
}

/* fwd: x, w -> y; bwd_data: dy, w -> dx; bwd_filter: x, dy -> dw. */
static cb_status gemm_conv_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                               const cb_args *args, void *ws) {
  (void)plan;
  cb_status st = cb_cuda_check_args("cuda im2col lowering", args);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  dev_ops d = {cb_cuda_of(ctx)->stream, tile_m(params), tile_n(params)};
  cb_cu_lower_ops ops = {dev_im2col, dev_col2im, dev_sgemm, &d};
  return cb_cuda_lower_conv(&ops, p, args, ws);
}

/* ---- direct ------------------------------------------------------------------------ */

/* "Small" filters: the per-thread loops run C/G R S taps, fine up to
 * AlexNet's 11 x 11. */
#define CB_CUDA_DIRECT_MAX_RS 11

static cb_status direct_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx, (void)params;
  if (p->conv.r > CB_CUDA_DIRECT_MAX_RS || p->conv.s > CB_CUDA_DIRECT_MAX_RS)
    return cb_error(CB_ERR_UNSUPPORTED, "cuda direct: filters up to %dx%d, not %lldx%lld",
                    CB_CUDA_DIRECT_MAX_RS, CB_CUDA_DIRECT_MAX_RS, (long long)p->conv.r,
                    (long long)p->conv.s);
  return CB_OK;
}

static cb_status direct_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                            const cb_args *args, void *ws) {
  (void)params, (void)plan, (void)ws;
  cb_status st = cb_cuda_check_args("cuda direct", args);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  cudaStream_t stream = cb_cuda_of(ctx)->stream;
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  cudaError_t e;
  switch (p->op) {
  case CB_OP_CONV_FWD:
    e = cb_cu_direct_fwd(stream, &g, args->src0, args->src1, args->dst);
    break;
  case CB_OP_CONV_BWD_DATA:
    e = cb_cu_direct_bwd_data(stream, &g, args->src0, args->src1, args->dst);
    break;
  case CB_OP_CONV_BWD_FILTER:
    e = cb_cu_direct_bwd_filter(stream, &g, args->src0, args->src1, args->dst);
    break;
  default:
    return cb_error(CB_ERR_INTERNAL, "cuda direct: op %s", cb_op_name(p->op));
  }
  return cb_cuda_check(e, "direct convolution launch");
}

/* ---- GEMM ---------------------------------------------------------------------------- */

static cb_status sgemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  if (!cb_cu_sgemm_fits(tile_m(params), tile_n(params), p->gemm.m, p->gemm.n, 1))
    return cb_error(CB_ERR_UNSUPPORTED, "cuda sgemm_tiled: tile %dx%d or grid out of range",
                    tile_m(params), tile_n(params));
  return CB_OK;
}

/* A (src0), B (src1), C (dst), row-major, packed. */
static cb_status sgemm_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *ws) {
  (void)plan, (void)ws;
  cb_status st = cb_cuda_check_args("cuda sgemm_tiled", args);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  const cb_gemm *g = &p->gemm;
  cudaError_t e =
      cb_cu_sgemm(cb_cuda_of(ctx)->stream, tile_m(params), tile_n(params), g->trans_a, g->trans_b,
                  g->m, g->n, g->k, g->alpha, args->src0, g->trans_a ? g->m : g->k, 0, args->src1,
                  g->trans_b ? g->k : g->n, 0, g->beta, args->dst, g->n, 0, 1);
  return cb_cuda_check(e, "sgemm launch");
}

/* ---- the variants ----------------------------------------------------------------------- */

#define CB_CUDA_GEMM_DESC "shared-memory tiles of tile_m x tile_n, 8 deep, register blocks"

const cb_variant cb_cuda_conv_fwd_im2col_gemm = {
    .name = "im2col_gemm",
    .op = CB_OP_CONV_FWD,
    .desc = "im2col of a batch step, then the tiled SGEMM per image (" CB_CUDA_GEMM_DESC ")",
    .nparams = 2,
    .params = tile_params,
    .supports = fwd_gemm_supports,
    .workspace = gemm_conv_workspace,
    .run = gemm_conv_run,
};
const cb_variant cb_cuda_conv_bwd_data_gemm_col2im = {
    .name = "gemm_col2im",
    .op = CB_OP_CONV_BWD_DATA,
    .desc = "tiled SGEMM W^T dy per image into col, then col2im (gather, no atomics)",
    .nparams = 2,
    .params = tile_params,
    .supports = bwd_data_gemm_supports,
    .workspace = gemm_conv_workspace,
    .run = gemm_conv_run,
};
const cb_variant cb_cuda_conv_bwd_filter_im2col_gemm = {
    .name = "im2col_gemm",
    .op = CB_OP_CONV_BWD_FILTER,
    .desc = "im2col of a batch step, then dW += dy col^T per image (tiled SGEMM)",
    .nparams = 2,
    .params = tile_params,
    .supports = bwd_filter_gemm_supports,
    .workspace = gemm_conv_workspace,
    .run = gemm_conv_run,
};
const cb_variant cb_cuda_conv_fwd_direct = {
    .name = "direct",
    .op = CB_OP_CONV_FWD,
    .desc = "one thread per output, filters up to 11x11",
    .supports = direct_supports,
    .run = direct_run,
};
const cb_variant cb_cuda_conv_bwd_data_direct = {
    .name = "direct",
    .op = CB_OP_CONV_BWD_DATA,
    .desc = "one thread per input-gradient element (gather), filters up to 11x11",
    .supports = direct_supports,
    .run = direct_run,
};
const cb_variant cb_cuda_conv_bwd_filter_direct = {
    .name = "direct",
    .op = CB_OP_CONV_BWD_FILTER,
    .desc = "one block per filter-gradient element, tree reduction, filters up to 11x11",
    .supports = direct_supports,
    .run = direct_run,
};
const cb_variant cb_cuda_gemm_sgemm_tiled = {
    .name = "sgemm_tiled",
    .op = CB_OP_GEMM,
    .desc = CB_CUDA_GEMM_DESC,
    .nparams = 2,
    .params = tile_params,
    .supports = sgemm_supports,
    .run = sgemm_run,
};
