/* ob_im2col.c: the openblas backend's col2im (the adjoint of im2col, for
 * backward-data; im2col itself and the copies between NCHW planes and
 * [K, N*PQ] matrices are shared with the cpu backend in im2col.h), plus the
 * split of work between threads.
 *
 * Every function works on a block the caller names and runs on the calling
 * thread: the variants give each thread of their team its own block right
 * before the GEMM that reads it, so the block is still in that core's cache
 * and no thread waits for another. */
#include "im2col.h"
#include "ob.h"

#include <string.h>

/* One row dx[i, c, ih, :]: the sum over every tap (r, s) and output
 * (p, q) that read it. Tap r reads input row ih from output row
 * p = (ih + pad - r d) / stride when that divides exactly and p < P. */
static void col2im_row(const cb_conv_geom *g, const float *col, int64_t ld, int64_t i, int64_t c,
                       int64_t ih, float *restrict d) {
  const cb_conv *cv = &g->cv;
  memset(d, 0, (size_t)cv->w * sizeof *d);
  for (int64_t r = 0; r < cv->r; r++) {
    int64_t t = ih + cv->pad_h - r * cv->dil_h;
    if (t < 0) break; /* t only falls as r grows */
    if (t % cv->stride_h != 0 || t / cv->stride_h >= g->p) continue;
    int64_t p = t / cv->stride_h;
    for (int64_t s = 0; s < cv->s; s++) {
      const float *restrict src = col + (c * g->rs + r * cv->s + s) * ld + i * g->pq + p * g->q;
      cb_range cols = cb_tap_range(s, cv->w, g->q, cv->stride_w, cv->pad_w, cv->dil_w);
      int64_t off_w = s * cv->dil_w - cv->pad_w;
      cb_col2im_add_span(d, src, cols, cv->stride_w, off_w);
    }
  }
}

void cb_ob_col2im(const cb_conv_geom *g, const float *col, int64_t ld, int64_t row0, int64_t row1,
                  float *dx) {
  const cb_conv *cv = &g->cv;
  for (int64_t row = row0; row < row1; row++) {
    int64_t ih = row % cv->h, c = row / cv->h % cv->c, i = row / (cv->h * cv->c);
    col2im_row(g, col, ld, i, c, ih, dx + row * cv->w);
  }
}

void cb_ob_share(int64_t n, int64_t align, int t, int nt, int64_t *lo, int64_t *hi) {
  int64_t blocks = (n + align - 1) / align;
  int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
  *lo = b0 * align < n ? b0 * align : n;
  *hi = b1 * align < n ? b1 * align : n;
}
