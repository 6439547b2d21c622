/* ref_conv_fwd.c: the reference forward convolution, computed directly.
 *
 *   y[n,k,p,q] = sum over c' < c/g, r, s of
 *                x[n, g c/g + c', p u - pad + r d, q u - pad + s d] * w[k,c',r,s]
 * with g = k / (k/groups) the group of output channel k, taps in the padding
 * contributing nothing.
 *
 * Products of two floats are exact in double, and each output sums them in
 * a double in one fixed order (c', r, s) before rounding once to float, so
 * the result does not depend on the thread count. Threads split the output
 * rows (n, k, p); within a row the q loop is innermost so it vectorises. */
#include "ref.h"

/* acc[q] += x_row[q * stride + off] * wv over the q range of one tap. */
static void tap_axpy(double *restrict acc, const float *restrict x_row, int64_t off, int64_t stride,
                     cb_range qr, double wv) {
  if (stride == 1) {
    /* The common case gets a loop with unit-stride loads. */
#pragma omp simd
    for (int64_t q = qr.lo; q < qr.hi; q++) acc[q] += (double)x_row[q + off] * wv;
  } else {
#pragma omp simd
    for (int64_t q = qr.lo; q < qr.hi; q++) acc[q] += (double)x_row[q * stride + off] * wv;
  }
}

/* One output row y[n, k, p, :], accumulated in acc (q doubles). */
static void fwd_row(const void *data, const cb_args *args, int64_t row, double *acc) {
  const cb_ref_geom *g = data;
  const float *x = args->src0, *w = args->src1;
  float *y = args->dst;
  const cb_conv *cv = &g->geom.cv;
  int64_t p = row % g->geom.p, k = (row / g->geom.p) % cv->k, n = row / (g->geom.p * cv->k);
  int64_t group = k / g->geom.kg;
  for (int64_t q = 0; q < g->geom.q; q++) acc[q] = 0.0;

  for (int64_t ci = 0; ci < g->geom.cg; ci++) {
    const float *x_plane = x + (n * cv->c + group * g->geom.cg + ci) * cv->h * cv->w;
    const float *w_cs = w + (k * g->geom.cg + ci) * cv->r * cv->s;
    for (int64_t r = 0; r < cv->r; r++) {
      if (p < g->rows[r].lo || p >= g->rows[r].hi) continue; /* tap r is in the padding */
      const float *x_row = x_plane + (p * cv->stride_h - cv->pad_h + r * cv->dil_h) * cv->w;
      for (int64_t s = 0; s < cv->s; s++)
        tap_axpy(acc, x_row, s * cv->dil_w - cv->pad_w, cv->stride_w, g->cols[s],
                 (double)w_cs[r * cv->s + s]);
    }
  }

  float *y_row = y + row * g->geom.q;
  for (int64_t q = 0; q < g->geom.q; q++) y_row[q] = (float)acc[q];
}

/* x[n,c,h,w] (src0), w[k,c/g,r,s] (src1) -> y[n,k,p,q] (dst), overwritten. */
static cb_status fwd_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                         const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_ref_geom g;
  cb_status st = cb_ref_check_args("ref conv_fwd", args);
  if (st != CB_OK || (st = cb_ref_geom_init(&prob->conv, &g)) != CB_OK) return st;
  st = cb_ref_run_tasks("ref conv_fwd", ctx, args, &g, prob->conv.n * prob->conv.k * g.geom.p,
                        g.geom.q, fwd_row);
  cb_ref_geom_free(&g);
  return st;
}

const cb_variant cb_ref_conv_fwd_direct = {
    .name = "direct",
    .op = CB_OP_CONV_FWD,
    .desc = "direct loops, double accumulation, one output row per task",
    .run = fwd_run,
};
