/* im2col.c: the baseline-ISA im2col and the planes <-> matrix copies (see
 * im2col.h). */
#include "im2col.h"

#include <stdbool.h>
#include <string.h>

void cb_im2col(const cb_conv_geom *g, const float *x, int64_t row0, int64_t row1, int64_t j0,
               int64_t j1, float *dst, int64_t ld) {
  cb_im2col_body(g, x, row0, row1, j0, j1, dst, ld);
}

/* Columns [j0, j1) between the NCHW planes (i, k, 0..pq) and the matrix
 * block [k, j - j0] (nk rows, ld floats apart), src to dst, one contiguous
 * run per (k, image); src_is_matrix gives the direction. */
static void planes_matrix_copy(const float *src, float *dst, int64_t ld, int64_t nk, int64_t pq,
                               int64_t j0, int64_t j1, bool src_is_matrix) {
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

void cb_planes_to_matrix(const float *t, float *m, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                         int64_t j1) {
  planes_matrix_copy(t, m, ld, nk, pq, j0, j1, false);
}

void cb_matrix_to_planes(const float *m, float *t, int64_t ld, int64_t nk, int64_t pq, int64_t j0,
                         int64_t j1) {
  planes_matrix_copy(m, t, ld, nk, pq, j0, j1, true);
}
