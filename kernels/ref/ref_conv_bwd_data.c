/* ref_conv_bwd_data.c: the reference backward-data convolution, the exact
 * adjoint of ref_conv_fwd.c with respect to x:
 *
 *   dx[n,c,h,w] = sum over every (k, r, s, p, q) that fwd pairs with x[n,c,h,w] of
 *                 dy[n,k,p,q] * w[k,c',r,s]
 * where c = g c/g + c' and k runs over the output channels of c's group g.
 *
 * Each thread owns whole dx planes (n, c) and scatters into a double copy
 * of its plane in a fixed order (k, r, p, s, q), rounding once at the end,
 * so the result does not depend on the thread count and no two threads
 * write the same element. */
#include "ref.h"

/* acc_row[q * stride + off] += dy_row[q] * wv over the q range of one tap. */
static void tap_scatter(double *restrict acc_row, const float *restrict dy_row, int64_t off,
                        int64_t stride, cb_range qr, double wv) {
  /* Distinct q hit distinct elements (stride >= 1), so the loop may run in
   * vectors. */
#pragma omp simd
  for (int64_t q = qr.lo; q < qr.hi; q++) acc_row[q * stride + off] += (double)dy_row[q] * wv;
}

/* One input-gradient plane dx[n, c, :, :], accumulated in acc (h w doubles). */
static void bwd_data_plane(const void *data, const cb_args *args, int64_t plane, double *acc) {
  const cb_ref_geom *g = data;
  const float *dy = args->src0, *w = args->src1;
  float *dx = args->dst;
  const cb_conv *cv = &g->geom.cv;
  int64_t c = plane % cv->c, n = plane / cv->c;
  int64_t group = c / g->geom.cg, ci = c % g->geom.cg;
  int64_t hw = cv->h * cv->w;
  for (int64_t i = 0; i < hw; i++) acc[i] = 0.0;

  for (int64_t kk = 0; kk < g->geom.kg; kk++) {
    int64_t k = group * g->geom.kg + kk;
    const float *dy_plane = dy + (n * cv->k + k) * g->geom.p * g->geom.q;
    const float *w_cs = w + (k * g->geom.cg + ci) * cv->r * cv->s;
    for (int64_t r = 0; r < cv->r; r++) {
      for (int64_t p = g->rows[r].lo; p < g->rows[r].hi; p++) {
        double *acc_row = acc + (p * cv->stride_h - cv->pad_h + r * cv->dil_h) * cv->w;
        for (int64_t s = 0; s < cv->s; s++)
          tap_scatter(acc_row, dy_plane + p * g->geom.q, s * cv->dil_w - cv->pad_w, cv->stride_w,
                      g->cols[s], (double)w_cs[r * cv->s + s]);
      }
    }
  }

  float *dx_plane = dx + plane * hw;
  for (int64_t i = 0; i < hw; i++) dx_plane[i] = (float)acc[i];
}

/* dy[n,k,p,q] (src0), w[k,c/g,r,s] (src1) -> dx[n,c,h,w] (dst), overwritten. */
static cb_status bwd_data_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                              const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_ref_geom g;
  cb_status st = cb_ref_check_args("ref conv_bwd_data", args);
  if (st != CB_OK || (st = cb_ref_geom_init(&prob->conv, &g)) != CB_OK) return st;
  st = cb_ref_run_tasks("ref conv_bwd_data", ctx, args, &g, prob->conv.n * prob->conv.c,
                        prob->conv.h * prob->conv.w, bwd_data_plane);
  cb_ref_geom_free(&g);
  return st;
}

const cb_variant cb_ref_conv_bwd_data_direct = {
    .name = "direct",
    .op = CB_OP_CONV_BWD_DATA,
    .desc = "direct scatter into a double copy of each dx plane",
    .run = bwd_data_run,
};
