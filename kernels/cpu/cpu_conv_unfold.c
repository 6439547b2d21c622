/* cpu_conv_unfold.c: the per-ISA versions of the data movement around the
 * cpu backend's conv GEMMs: im2col (NCHW images to the col matrix; its body
 * is shared with openblas in im2col.h) and its adjoint col2im.
 *
 * im2col and col2im are written once in portable C and compiled per ISA
 * (CB_CPU_CLONES): their inner loops run along an output row (q), unit
 * stride in col, so the compiler turns them into full-width vector copies
 * and adds for the ISA. Bounds tests are hoisted out of those loops: each
 * tap's range of outputs that read real data is computed once per row
 * (cb_tap_range), and the padding around it is filled separately. */
#include "cpu_conv.h"
#include "im2col.h"

/* The shared body (im2col.h), compiled once per ISA. */
#define im2col_body cb_im2col_body
CB_CPU_CLONES(im2col,
              (const cb_conv_geom *g, const float *x, int64_t row0, int64_t row1, int64_t j0,
               int64_t j1, float *dst, int64_t ld),
              (g, x, row0, row1, j0, j1, dst, ld))

void cb_cpu_im2col(cb_cpu_isa isa, const cb_conv_geom *g, const float *x, int64_t row0,
                   int64_t row1, int64_t j0, int64_t j1, float *dst, int64_t ld) {
  cb_cpu_pick(im2col, isa)(g, x, row0, row1, j0, j1, dst, ld);
}

/* ---- col2im ------------------------------------------------------------------ */

/* Channel by channel, tap row by tap row: a channel's plane of dx stays in
 * the core's cache while all R S taps of its col rows are added in. */
CB_CPU_BODY void col2im_body(const cb_conv_geom *g, const float *src, int64_t ld, int64_t c0,
                             int64_t c1, int64_t p0, int64_t p1, float *dx) {
  const cb_conv *cv = &g->cv;
  for (int64_t c = c0; c < c1; c++) {
    float *plane = dx + c * g->hw;
    for (int64_t r = 0; r < cv->r; r++) {
      cb_range rows = cb_tap_range(r, cv->h, g->p, cv->stride_h, cv->pad_h, cv->dil_h);
      int64_t lo = cb_clamp64(rows.lo, p0, p1), hi = cb_clamp64(rows.hi, lo, p1);
      for (int64_t s = 0; s < cv->s; s++) {
        cb_range cols = cb_tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
        const float *row = src + ((c - c0) * g->rs + r * cv->s + s) * ld;
        int64_t off_w = s * cv->dil_w - cv->pad_w;
        for (int64_t p = lo; p < hi; p++) {
          float *d = plane + (p * cv->stride_h - cv->pad_h + r * cv->dil_h) * cv->w;
          cb_col2im_add_span(d, row + (p - p0) * g->q, cols, cv->stride_w, off_w);
        }
      }
    }
  }
}

CB_CPU_CLONES(col2im,
              (const cb_conv_geom *g, const float *src, int64_t ld, int64_t c0, int64_t c1,
               int64_t p0, int64_t p1, float *dx),
              (g, src, ld, c0, c1, p0, p1, dx))

void cb_cpu_col2im_add(cb_cpu_isa isa, const cb_conv_geom *g, const float *src, int64_t ld,
                       int64_t c0, int64_t c1, int64_t p0, int64_t p1, float *dx) {
  cb_cpu_pick(col2im, isa)(g, src, ld, c0, c1, p0, p1, dx);
}
