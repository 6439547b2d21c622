/* ob_im2col.c: the data movement around the GEMMs of the openblas backend:
 * im2col (NCHW images to the col matrix, see ob.h), col2im (its adjoint,
 * for backward-data) and the copies between NCHW planes and the [K, N*PQ]
 * matrices the batched variants multiply into, plus the split of work
 * between threads.
 *
 * Every function works on a block the caller names and runs on the calling
 * thread: the variants give each thread of their team its own block right
 * before the GEMM that reads it, so the block is still in that core's cache
 * and no thread waits for another. */
#include "ob.h"

#include <string.h>

/* floor(a / b) for b > 0 (C's '/' truncates toward zero). */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* A half-open range [lo, hi) of output indices. */
typedef struct ob_range {
  int64_t lo, hi;
} ob_range;

/* The outputs o < out whose input index o * stride - pad + tap * dil lies
 * in [0, in): where filter tap `tap` reads real data rather than padding.
 * Computing the range once keeps the bounds tests out of the copy loops. */
static ob_range tap_range(int64_t tap, int64_t in, int64_t out, int64_t stride, int64_t pad,
                          int64_t dil) {
  int64_t off = tap * dil - pad; /* input index = o * stride + off */
  int64_t lo = -floor_div(off, stride);
  int64_t hi = floor_div(in - 1 - off, stride) + 1;
  ob_range rg = {clamp(lo, 0, out), clamp(hi, 0, out)};
  if (rg.hi < rg.lo) rg.hi = rg.lo;
  return rg;
}

/* d[q0..q1) of one output row: zeros around tap s's left and right
 * padding [cols.lo, cols.hi), input values x_row[q u + off_w] inside. Rows
 * can be short (11 floats in L5), so the loops are plain loops rather than
 * memset / memcpy calls. */
static void im2col_span(float *restrict d, const float *restrict x_row, int64_t q0, int64_t q1,
                        ob_range cols, int64_t stride, int64_t off_w) {
  int64_t lo = clamp(cols.lo, q0, q1), hi = clamp(cols.hi, lo, q1);
  for (int64_t q = q0; q < lo; q++) d[q] = 0.0f;
  if (stride == 1 && lo < hi) {
    /* Unit stride: a plain copy the compiler vectorises. */
    const float *restrict src = x_row + lo + off_w;
    for (int64_t q = lo; q < hi; q++) d[q] = src[q - lo];
  } else if (stride != 1) {
    for (int64_t q = lo; q < hi; q++) d[q] = x_row[q * stride + off_w];
  }
  for (int64_t q = hi; q < q1; q++) d[q] = 0.0f;
}

/* Columns [j0, j1) of col row (c, r, s); dst is the row's column 0. The
 * columns are walked one output row (i, p) at a time: zeros where tap r
 * reads the top or bottom padding, else im2col_span. */
static void im2col_row(const cb_ob_geom *g, const float *x, float *dst, int64_t row, int64_t j0,
                       int64_t j1) {
  const cb_conv *cv = g->cv;
  int64_t c = row / g->rs, r = row % g->rs / cv->s, s = row % cv->s;
  ob_range rows = tap_range(r, cv->h, g->p, cv->stride_h, cv->pad_h, cv->dil_h);
  ob_range cols = tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
  int64_t off_h = r * cv->dil_h - cv->pad_h, off_w = s * cv->dil_w - cv->pad_w;

  /* (i, p, q0): image, output row and column of j; advanced without
   * dividing again. */
  int64_t i = j0 / g->pq, p = j0 % g->pq / g->q, q0 = j0 % g->q;
  for (int64_t j = j0; j < j1;) {
    int64_t q1 = j1 - j < g->q - q0 ? q0 + (j1 - j) : g->q;
    float *d = dst + (j - q0); /* column (i, p, 0) */
    if (p < rows.lo || p >= rows.hi) {
      for (int64_t q = q0; q < q1; q++) d[q] = 0.0f;
    } else {
      const float *x_row = x + (i * cv->c + c) * g->hw + (p * cv->stride_h + off_h) * cv->w;
      im2col_span(d, x_row, q0, q1, cols, cv->stride_w, off_w);
    }
    j += q1 - q0;
    q0 = 0;
    if (++p == g->p) p = 0, i++;
  }
}

void cb_ob_im2col(const cb_ob_geom *g, const float *x, float *col, int64_t ld, int64_t row0,
                  int64_t row1, int64_t j0, int64_t j1) {
  for (int64_t row = row0; row < row1; row++) im2col_row(g, x, col + row * ld, row, j0, j1);
}

/* One row dx[i, c, ih, :]: the sum over every tap (r, s) and output
 * (p, q) that read it. Tap r reads input row ih from output row
 * p = (ih + pad - r d) / stride when that divides exactly and p < P. */
static void col2im_row(const cb_ob_geom *g, const float *col, int64_t ld, int64_t i, int64_t c,
                       int64_t ih, float *restrict d) {
  const cb_conv *cv = g->cv;
  memset(d, 0, (size_t)cv->w * sizeof *d);
  for (int64_t r = 0; r < cv->r; r++) {
    int64_t t = ih + cv->pad_h - r * cv->dil_h;
    if (t < 0) break; /* t only falls as r grows */
    if (t % cv->stride_h != 0 || t / cv->stride_h >= g->p) continue;
    int64_t p = t / cv->stride_h;
    for (int64_t s = 0; s < cv->s; s++) {
      const float *restrict src = col + (c * g->rs + r * cv->s + s) * ld + i * g->pq + p * g->q;
      ob_range cols = tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
      int64_t off_w = s * cv->dil_w - cv->pad_w;
      if (cv->stride_w == 1) {
#pragma omp simd
        for (int64_t q = cols.lo; q < cols.hi; q++) d[q + off_w] += src[q];
      } else {
        for (int64_t q = cols.lo; q < cols.hi; q++) d[q * cv->stride_w + off_w] += src[q];
      }
    }
  }
}

void cb_ob_col2im(const cb_ob_geom *g, const float *col, int64_t ld, int64_t row0, int64_t row1,
                  float *dx) {
  const cb_conv *cv = g->cv;
  for (int64_t row = row0; row < row1; row++) {
    int64_t ih = row % cv->h, c = row / cv->h % cv->c, i = row / (cv->h * cv->c);
    col2im_row(g, col, ld, i, c, ih, dx + row * cv->w);
  }
}

/* Columns [j0, j1) between NCHW planes (i, k, 0..pq) and the matrix
 * (nk rows, ld floats apart), src to dst; src_is_matrix says which side is
 * which. */
static void copy_cols(const float *src, float *dst, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                      int64_t j1, bool src_is_matrix) {
  for (int64_t k = 0; k < nk; k++) {
    for (int64_t j = j0; j < j1;) {
      int64_t i = j / pq, off = j % pq;
      int64_t len = j1 - j < pq - off ? j1 - j : pq - off;
      int64_t planes_at = (i * nk + k) * pq + off, matrix_at = k * ld + j;
      if (src_is_matrix)
        memcpy(dst + planes_at, src + matrix_at, (size_t)len * sizeof *dst);
      else
        memcpy(dst + matrix_at, src + planes_at, (size_t)len * sizeof *dst);
      j += len;
    }
  }
}

void cb_ob_gather_cols(const float *t, float *m, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                       int64_t j1) {
  copy_cols(t, m, ld, nk, pq, j0, j1, false);
}

void cb_ob_scatter_cols(const float *m, float *t, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                        int64_t j1) {
  copy_cols(m, t, ld, nk, pq, j0, j1, true);
}

void cb_ob_share(int64_t n, int64_t align, int t, int nt, int64_t *lo, int64_t *hi) {
  int64_t blocks = (n + align - 1) / align;
  int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
  *lo = b0 * align < n ? b0 * align : n;
  *hi = b1 * align < n ? b1 * align : n;
}
