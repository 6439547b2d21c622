/* im2col.h: the data movement around convolution-as-GEMM that the cpu and
 * openblas backends share: im2col (NCHW images to the col matrix) and the
 * copies between NCHW planes and [K, columns] matrices.
 *
 * The col matrix: row (c, r, s) = (c R + r) S + s, column j = i P Q + p Q
 * + q (image, output row, output column); entry x[i, c, p u - pad_h + r
 * dil_h, q v - pad_w + s dil_w], or 0 in the padding.
 *
 * The bodies are always-inline so that the cpu backend can compile them
 * once per ISA (CB_CPU_CLONES) and have them vectorised for each; the
 * functions in im2col.c are the same bodies compiled for the baseline. */
#ifndef CB_IM2COL_H
#define CB_IM2COL_H

#include "conv_geom.h"

#include <stdint.h>

#define CB_IM2COL_BODY static inline __attribute__((always_inline))

/* d[q0..q1) of one output row: zeros outside tap s's range cols, input
 * values x_row[q u + off_w] inside. Rows can be short (11 floats in L5),
 * so the loops are plain loops rather than memset / memcpy calls. */
CB_IM2COL_BODY void cb_im2col_span(float *restrict d, const float *restrict x_row, int64_t q0,
                                   int64_t q1, cb_range cols, int64_t stride, int64_t off_w) {
  int64_t lo = cb_clamp64(cols.lo, q0, q1), hi = cb_clamp64(cols.hi, lo, q1);
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

/* Columns [j0, j1) of col row `row` into dst (column j0 first). The
 * columns are walked one output row (i, p) at a time: zeros where tap r
 * reads the top or bottom padding, else cb_im2col_span. */
CB_IM2COL_BODY void cb_im2col_row(const cb_conv_geom *g, const float *x, int64_t row, int64_t j0,
                                  int64_t j1, float *dst) {
  const cb_conv *cv = &g->cv;
  int64_t c = row / g->rs, r = row % g->rs / cv->s, s = row % cv->s;
  cb_range rows = cb_tap_range(r, cv->h, g->p, cv->stride_h, cv->pad_h, cv->dil_h);
  cb_range cols = cb_tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
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
      cb_im2col_span(d, x_row, q0, q1, cols, cv->stride_w, off_w);
    }
    j += q1 - q0;
    q0 = 0;
    if (++p == g->p) p = 0, i++;
  }
}

/* The block rows [row0, row1) x columns [j0, j1) of the col matrix of
 * images x[0..] (NCHW) into dst: dst is the block's first element
 * (row0, j0), its rows ld floats apart. */
CB_IM2COL_BODY void cb_im2col_body(const cb_conv_geom *g, const float *x, int64_t row0,
                                   int64_t row1, int64_t j0, int64_t j1, float *dst, int64_t ld) {
  for (int64_t row = row0; row < row1; row++)
    cb_im2col_row(g, x, row, j0, j1, dst + (row - row0) * ld);
}

/* d[q u + off_w] += src[q] over the outputs q of range cols: one output
 * row of one tap's col row added back into an input row (col2im). */
CB_IM2COL_BODY void cb_col2im_add_span(float *restrict d, const float *restrict src, cb_range cols,
                                       int64_t stride, int64_t off_w) {
  if (stride == 1) {
    float *restrict dd = d + off_w;
#pragma omp simd
    for (int64_t q = cols.lo; q < cols.hi; q++) dd[q] += src[q];
  } else {
    for (int64_t q = cols.lo; q < cols.hi; q++) d[q * stride + off_w] += src[q];
  }
}

/* cb_im2col_body compiled for the baseline ISA (the openblas backend). */
void cb_im2col(const cb_conv_geom *g, const float *x, int64_t row0, int64_t row1, int64_t j0,
               int64_t j1, float *dst, int64_t ld);

/* Columns [j0, j1) (j = i pq + j') of the NCHW planes t[i, k, 0..pq),
 * k < nk, copied into the matrix block m: m[k, j - j0] (rows ld floats
 * apart). A caller whose matrix holds all columns passes m + j0. */
void cb_planes_to_matrix(const float *t, float *m, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                         int64_t j1);

/* The reverse: t[i, k, j'] = m[k, j - j0] for the columns [j0, j1). */
void cb_matrix_to_planes(const float *m, float *t, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                         int64_t j1);

#endif /* CB_IM2COL_H */
