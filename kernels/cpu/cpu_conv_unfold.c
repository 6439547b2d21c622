/* cpu_conv_unfold.c: the data movement around the cpu backend's conv
 * GEMMs: im2col (NCHW images to the col matrix, see cpu_conv.h), its
 * adjoint col2im, and the copies between NCHW planes and [K, columns]
 * matrices.
 *
 * im2col and col2im are written once in portable C and compiled per ISA
 * (CB_CPU_CLONES): their inner loops run along an output row (q), unit
 * stride in col, so the compiler turns them into full-width vector copies
 * and adds for the ISA. Bounds tests are hoisted out of those loops: each
 * tap's range of outputs that read real data is computed once per row
 * (cb_cpu_tap_range), and the padding around it is filled separately. */
#include "cpu_conv.h"

#include <string.h>

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* d[q0..q1) of one output row: zeros outside tap s's range cols, input
 * values x_row[q u + off_w] inside. Rows can be short (11 floats in L5),
 * so the loops are plain loops rather than memset / memcpy calls. */
CB_CPU_BODY void span_body(float *restrict d, const float *restrict x_row, int64_t q0, int64_t q1,
                           cb_cpu_range cols, int64_t stride, int64_t off_w) {
  int64_t lo = clamp(cols.lo, q0, q1), hi = clamp(cols.hi, lo, q1);
  for (int64_t q = q0; q < lo; q++) d[q] = 0.0f;
  if (stride == 1) {
    const float *restrict src = x_row + off_w;
    for (int64_t q = lo; q < hi; q++) d[q] = src[q];
  } else if (stride == 2) {
    /* AlexNet-like strides get constant-stride loops the compiler can
     * turn into shuffles rather than element-by-element loads. */
    for (int64_t q = lo; q < hi; q++) d[q] = x_row[2 * q + off_w];
  } else if (stride == 4) {
    for (int64_t q = lo; q < hi; q++) d[q] = x_row[4 * q + off_w];
  } else {
    for (int64_t q = lo; q < hi; q++) d[q] = x_row[q * stride + off_w];
  }
  for (int64_t q = hi; q < q1; q++) d[q] = 0.0f;
}

/* One col row (c, r, s), columns [j0, j1), into dst (column j0 first).
 * The columns are walked one output row (i, p) at a time: zeros where tap
 * r reads the top or bottom padding, else span_body. */
CB_CPU_BODY void im2col_row_body(const cb_cpu_geom *g, const float *x, int64_t row, int64_t j0,
                                 int64_t j1, float *dst) {
  const cb_conv *cv = g->cv;
  int64_t c = row / g->rs, r = row % g->rs / cv->s, s = row % cv->s;
  cb_cpu_range rows = cb_cpu_tap_range(r, cv->h, g->p, cv->stride_h, cv->pad_h, cv->dil_h);
  cb_cpu_range cols = cb_cpu_tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
  int64_t off_h = r * cv->dil_h - cv->pad_h, off_w = s * cv->dil_w - cv->pad_w;

  /* (i, p, q0): image, output row and column of j, advanced without
   * dividing again. */
  int64_t i = j0 / g->pq, p = j0 % g->pq / g->q, q0 = j0 % g->q;
  for (int64_t j = j0; j < j1;) {
    int64_t q1 = j1 - j < g->q - q0 ? q0 + (j1 - j) : g->q;
    float *d = dst + (j - j0 - q0); /* column (i, p, 0) */
    if (p < rows.lo || p >= rows.hi) {
      for (int64_t q = q0; q < q1; q++) d[q] = 0.0f;
    } else {
      const float *x_row = x + (i * cv->c + c) * g->hw + (p * cv->stride_h + off_h) * cv->w;
      span_body(d, x_row, q0, q1, cols, cv->stride_w, off_w);
    }
    j += q1 - q0;
    q0 = 0;
    if (++p == g->p) p = 0, i++;
  }
}

CB_CPU_BODY void im2col_body(const cb_cpu_geom *g, const float *x, int64_t row0, int64_t row1,
                             int64_t j0, int64_t j1, float *dst, int64_t ld) {
  for (int64_t row = row0; row < row1; row++)
    im2col_row_body(g, x, row, j0, j1, dst + (row - row0) * ld);
}

CB_CPU_CLONES(im2col,
              (const cb_cpu_geom *g, const float *x, int64_t row0, int64_t row1, int64_t j0,
               int64_t j1, float *dst, int64_t ld),
              (g, x, row0, row1, j0, j1, dst, ld))

void cb_cpu_im2col(cb_cpu_isa isa, const cb_cpu_geom *g, const float *x, int64_t row0, int64_t row1,
                   int64_t j0, int64_t j1, float *dst, int64_t ld) {
  cb_cpu_pick(im2col, isa)(g, x, row0, row1, j0, j1, dst, ld);
}

/* ---- col2im ------------------------------------------------------------------ */

/* d[q u + off_w] += src[q] over the outputs q of range cols. */
CB_CPU_BODY void add_span_body(float *restrict d, const float *restrict src, cb_cpu_range cols,
                               int64_t stride, int64_t off_w) {
  if (stride == 1) {
    float *restrict dd = d + off_w;
    for (int64_t q = cols.lo; q < cols.hi; q++) dd[q] += src[q];
  } else {
    for (int64_t q = cols.lo; q < cols.hi; q++) d[q * stride + off_w] += src[q];
  }
}

/* Channel by channel, tap row by tap row: a channel's plane of dx stays in
 * the core's cache while all R S taps of its col rows are added in. */
CB_CPU_BODY void col2im_body(const cb_cpu_geom *g, const float *src, int64_t ld, int64_t c0,
                             int64_t c1, int64_t p0, int64_t p1, float *dx) {
  const cb_conv *cv = g->cv;
  for (int64_t c = c0; c < c1; c++) {
    float *plane = dx + c * g->hw;
    for (int64_t r = 0; r < cv->r; r++) {
      cb_cpu_range rows = cb_cpu_tap_range(r, cv->h, g->p, cv->stride_h, cv->pad_h, cv->dil_h);
      int64_t lo = clamp(rows.lo, p0, p1), hi = clamp(rows.hi, lo, p1);
      for (int64_t s = 0; s < cv->s; s++) {
        cb_cpu_range cols = cb_cpu_tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
        const float *row = src + ((c - c0) * g->rs + r * cv->s + s) * ld;
        int64_t off_w = s * cv->dil_w - cv->pad_w;
        for (int64_t p = lo; p < hi; p++) {
          float *d = plane + (p * cv->stride_h - cv->pad_h + r * cv->dil_h) * cv->w;
          add_span_body(d, row + (p - p0) * g->q, cols, cv->stride_w, off_w);
        }
      }
    }
  }
}

CB_CPU_CLONES(col2im,
              (const cb_cpu_geom *g, const float *src, int64_t ld, int64_t c0, int64_t c1,
               int64_t p0, int64_t p1, float *dx),
              (g, src, ld, c0, c1, p0, p1, dx))

void cb_cpu_col2im_add(cb_cpu_isa isa, const cb_cpu_geom *g, const float *src, int64_t ld,
                       int64_t c0, int64_t c1, int64_t p0, int64_t p1, float *dx) {
  cb_cpu_pick(col2im, isa)(g, src, ld, c0, c1, p0, p1, dx);
}

/* ---- planes <-> matrix ---------------------------------------------------------- */

/* Columns [j0, j1) between NCHW planes (i, k, 0..pq) and the matrix
 * [k, j - j0] (nk rows, ld floats apart), src to dst; src_is_matrix says
 * which side is which. */
static void copy_cols(const float *src, float *dst, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                      int64_t j1, bool src_is_matrix) {
  for (int64_t k = 0; k < nk; k++) {
    for (int64_t j = j0; j < j1;) {
      int64_t i = j / pq, off = j % pq;
      int64_t len = j1 - j < pq - off ? j1 - j : pq - off;
      int64_t planes_at = (i * nk + k) * pq + off, matrix_at = k * ld + (j - j0);
      if (src_is_matrix)
        memcpy(dst + planes_at, src + matrix_at, (size_t)len * sizeof *dst);
      else
        memcpy(dst + matrix_at, src + planes_at, (size_t)len * sizeof *dst);
      j += len;
    }
  }
}

void cb_cpu_gather_cols(const float *t, float *m, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                        int64_t j1) {
  copy_cols(t, m, ld, nk, pq, j0, j1, false);
}

void cb_cpu_scatter_cols(const float *m, float *t, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                         int64_t j1) {
  copy_cols(m, t, ld, nk, pq, j0, j1, true);
}
