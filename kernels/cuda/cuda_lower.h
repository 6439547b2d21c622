/* cuda_lower.h: convolution as im2col / col2im + batched GEMMs, written
 * once against three operations so that the cuda backend (its own
 * kernels), the cublas backend (cuBLAS GEMMs) and the unit test (host
 * replays of the kernels' arithmetic) all run the SAME lowering code.
 * Plain C, no CUDA: header-only so a build without CUDA can test it.
 *
 * Per group grp (rows grp kg.. of W and y, rows grp crs.. of col), over
 * the batch in steps of `step` images whose col is [C R S, step P Q]:
 *   fwd         y_i[kg, PQ] = W_g[kg, crs] col_i[crs, PQ]   one batched GEMM per group
 *   bwd_data    dcol_i[crs, PQ] = W_g^T dy_i[kg, PQ]; dx = col2im(dcol)
 *   bwd_filter  dW_g[kg, crs] = sum_i dy_i col_i^T           beta 1 after the very first image */
#ifndef CB_CUDA_LOWER_H
#define CB_CUDA_LOWER_H

#include "cuda_geom.h"
#include "kernels.h"

typedef struct cb_cu_lower_ops {
  /* col[C R S, nimg P Q] from images i0.. of x. */
  cb_status (*im2col)(void *user, const cb_conv_geom *g, const float *x, int64_t i0, int64_t nimg,
                      float *col);
  /* dx images i0.. overwritten with the col2im of col. */
  cb_status (*col2im)(void *user, const cb_conv_geom *g, const float *col, int64_t i0, int64_t nimg,
                      float *dx);
  /* batch row-major GEMMs C_z = alpha op(A_z) op(B_z) + beta C_z, X_z = X + z sX. */
  cb_status (*sgemm)(void *user, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb,
                     int64_t sb, float beta, float *c, int64_t ldc, int64_t sc, int64_t batch);
  void *user;
} cb_cu_lower_ops;

/* x, w -> y; col holds step images. */
static inline cb_status cb_cu_lower_fwd(const cb_cu_lower_ops *o, const cb_conv_geom *g,
                                        int64_t step, const float *x, const float *w, float *y,
                                        float *col) {
  int64_t pq = g->p * g->q;
  cb_status st = CB_OK;
  for (int64_t i0 = 0; i0 < g->cv.n && st == CB_OK; i0 += step) {
    int64_t nb = g->cv.n - i0 < step ? g->cv.n - i0 : step;
    st = o->im2col(o->user, g, x, i0, nb, col);
    for (int64_t grp = 0; grp < g->cv.groups && st == CB_OK; grp++)
      st = o->sgemm(o->user, false, false, g->kg, pq, g->cgrs, 1.0f, w + grp * g->kg * g->cgrs,
                    g->cgrs, 0, col + grp * g->cgrs * nb * pq, nb * pq, pq, 0.0f,
                    y + (i0 * g->cv.k + grp * g->kg) * pq, pq, g->cv.k * pq, nb);
  }
  return st;
}

/* dy, w -> dx. */
static inline cb_status cb_cu_lower_bwd_data(const cb_cu_lower_ops *o, const cb_conv_geom *g,
                                             int64_t step, const float *dy, const float *w,
                                             float *dx, float *col) {
  int64_t pq = g->p * g->q;
  cb_status st = CB_OK;
  for (int64_t i0 = 0; i0 < g->cv.n && st == CB_OK; i0 += step) {
    int64_t nb = g->cv.n - i0 < step ? g->cv.n - i0 : step;
    for (int64_t grp = 0; grp < g->cv.groups && st == CB_OK; grp++)
      st = o->sgemm(o->user, true, false, g->cgrs, pq, g->kg, 1.0f, w + grp * g->kg * g->cgrs,
                    g->cgrs, 0, dy + (i0 * g->cv.k + grp * g->kg) * pq, pq, g->cv.k * pq, 0.0f,
                    col + grp * g->cgrs * nb * pq, nb * pq, pq, nb);
    if (st == CB_OK) st = o->col2im(o->user, g, col, i0, nb, dx);
  }
  return st;
}

/* x, dy -> dw. */
static inline cb_status cb_cu_lower_bwd_filter(const cb_cu_lower_ops *o, const cb_conv_geom *g,
                                               int64_t step, const float *x, const float *dy,
                                               float *dw, float *col) {
  int64_t pq = g->p * g->q;
  cb_status st = CB_OK;
  for (int64_t i0 = 0; i0 < g->cv.n && st == CB_OK; i0 += step) {
    int64_t nb = g->cv.n - i0 < step ? g->cv.n - i0 : step;
    st = o->im2col(o->user, g, x, i0, nb, col);
    for (int64_t i = 0; i < nb && st == CB_OK; i++)
      for (int64_t grp = 0; grp < g->cv.groups && st == CB_OK; grp++)
        st = o->sgemm(o->user, false, true, g->kg, g->cgrs, pq, 1.0f,
                      dy + ((i0 + i) * g->cv.k + grp * g->kg) * pq, pq, 0,
                      col + grp * g->cgrs * nb * pq + i * pq, nb * pq, 0, i0 + i == 0 ? 0.0f : 1.0f,
                      dw + grp * g->kg * g->cgrs, g->cgrs, 0, 1);
  }
  return st;
}

/* The lowering of p->op (a conv op): src0, src1 -> dst as cb_args has them. */
static inline cb_status cb_cu_lower(const cb_cu_lower_ops *o, cb_op op, const cb_conv_geom *g,
                                    int64_t step, const cb_args *args, float *col) {
  switch (op) {
  case CB_OP_CONV_FWD:
    return cb_cu_lower_fwd(o, g, step, args->src0, args->src1, args->dst, col);
  case CB_OP_CONV_BWD_DATA:
    return cb_cu_lower_bwd_data(o, g, step, args->src0, args->src1, args->dst, col);
  case CB_OP_CONV_BWD_FILTER:
    return cb_cu_lower_bwd_filter(o, g, step, args->src0, args->src1, args->dst, col);
  default:
    return cb_error(CB_ERR_INTERNAL, "im2col lowering of %s", cb_op_name(op));
  }
}

#endif /* CB_CUDA_LOWER_H */
