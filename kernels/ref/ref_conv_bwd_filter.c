/* ref_conv_bwd_filter.c: the reference backward-filter convolution, the
 * exact adjoint of ref_conv_fwd.c with respect to w:
 *
 *   dw[k,c',r,s] = sum over n, p, q of
 *                  x[n, g c/g + c', p u - pad + r d, q u - pad + s d] * dy[n,k,p,q]
 * with taps in the padding contributing nothing.
 *
 * Threads split the filter planes (k, c'). Summing over q innermost would be
 * a reduction the compiler may not vectorise without reassociating, so each
 * tap (r, s) keeps one double partial sum per output column q: partial[q]
 * gathers n and p in order, then the q partials are added in order and
 * rounded once. The order is fixed, so the result does not depend on the
 * thread count, and the q loop runs in vectors. */
#include "ref.h"

/* part[q] += x_row[q * stride + off] * dy_row[q] over the q range of one tap. */
static void tap_dot(double *restrict part, const float *restrict x_row,
                    const float *restrict dy_row, int64_t off, int64_t stride, cb_range qr) {
  if (stride == 1) {
    /* The common case gets a loop with unit-stride loads. */
#pragma omp simd
    for (int64_t q = qr.lo; q < qr.hi; q++) part[q] += (double)x_row[q + off] * (double)dy_row[q];
  } else {
#pragma omp simd
    for (int64_t q = qr.lo; q < qr.hi; q++)
      part[q] += (double)x_row[q * stride + off] * (double)dy_row[q];
  }
}

/* One filter plane dw[k, c', :, :]; part holds r s q doubles. */
static void bwd_filter_plane(const void *data, const cb_args *args, int64_t plane, double *part) {
  const cb_ref_geom *g = data;
  const float *x = args->src0, *dy = args->src1;
  float *dw = args->dst;
  const cb_conv *cv = &g->geom.cv;
  int64_t ci = plane % g->geom.cg, k = plane / g->geom.cg;
  int64_t c = (k / g->geom.kg) * g->geom.cg + ci;
  int64_t taps = cv->r * cv->s;
  for (int64_t i = 0; i < taps * g->geom.q; i++) part[i] = 0.0;

  for (int64_t n = 0; n < cv->n; n++) {
    const float *x_plane = x + (n * cv->c + c) * cv->h * cv->w;
    const float *dy_plane = dy + (n * cv->k + k) * g->geom.p * g->geom.q;
    for (int64_t r = 0; r < cv->r; r++) {
      for (int64_t p = g->rows[r].lo; p < g->rows[r].hi; p++) {
        const float *x_row = x_plane + (p * cv->stride_h - cv->pad_h + r * cv->dil_h) * cv->w;
        for (int64_t s = 0; s < cv->s; s++)
          tap_dot(part + (r * cv->s + s) * g->geom.q, x_row, dy_plane + p * g->geom.q,
                  s * cv->dil_w - cv->pad_w, cv->stride_w, g->cols[s]);
      }
    }
  }

  float *dw_plane = dw + plane * taps;
  for (int64_t t = 0; t < taps; t++) {
    double sum = 0.0;
    for (int64_t q = 0; q < g->geom.q; q++) sum += part[t * g->geom.q + q];
    dw_plane[t] = (float)sum;
  }
}

/* x[n,c,h,w] (src0), dy[n,k,p,q] (src1) -> dw[k,c/g,r,s] (dst), overwritten. */
static cb_status bwd_filter_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                                const cb_args *args, void *workspace) {
  (void)params, (void)plan, (void)workspace;
  cb_ref_geom g;
  cb_status st = cb_ref_check_args("ref conv_bwd_filter", args);
  if (st != CB_OK || (st = cb_ref_geom_init(&prob->conv, &g)) != CB_OK) return st;
  int64_t per_thread;
  if (__builtin_mul_overflow(prob->conv.r * prob->conv.s, g.geom.q, &per_thread))
    st = cb_error(CB_ERR_NOMEM, "ref conv_bwd_filter: r s q scratch overflows int64");
  else
    st = cb_ref_run_tasks("ref conv_bwd_filter", ctx, args, &g, prob->conv.k * g.geom.cg,
                          per_thread, bwd_filter_plane);
  cb_ref_geom_free(&g);
  return st;
}

const cb_variant cb_ref_conv_bwd_filter_direct = {
    .name = "direct",
    .op = CB_OP_CONV_BWD_FILTER,
    .desc = "direct loops, double partial sums per output column",
    .run = bwd_filter_run,
};
