/* cufft_geom.h: the geometry of FFT convolution on the device, as plain C
 * functions for host and device (the kernels in cufft_kernels.cu call
 * them; tests/test_gpu_geom.c replays them on the CPU, with the FFT
 * replaced by the circular correlation it computes, against ref).
 *
 * Every tensor plane is embedded in an hf x wf grid (zero elsewhere):
 *   x at offset (pad_h, pad_w); w with its taps dil apart; dy with its
 *   elements stride apart (an upsampled dy).
 * With hf >= h + 2 pad_h and wf likewise, no circular product wraps onto
 * a value that is kept, for any stride and dilation:
 *   fwd         Y[n,k]  = sum_c X[n,c] conj(W[k,c]);  y  = crop(stride apart)
 *   bwd_data    DX[n,c] = sum_k DY[n,k] W[k,c];       dx = crop(at the padding)
 *   bwd_filter  DW[k,c] = sum_n conj(DY[n,k]) X[n,c]; dw = crop(dil apart)
 * The grid is rounded up to a 7-smooth size, which cuFFT transforms fast.
 * Groups are not supported. */
#ifndef CB_CUFFT_GEOM_H
#define CB_CUFFT_GEOM_H

#include "conv_geom.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __CUDACC__
#define CB_FFT_HD __host__ __device__
#else
#define CB_FFT_HD
#endif

/* The smallest n' >= n whose only prime factors are 2, 3, 5 and 7. */
static inline CB_FFT_HD int64_t cb_fft_good_size(int64_t n) {
  for (int64_t m = n > 1 ? n : 1;; m++) {
    int64_t r = m;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    while (r % 7 == 0) r /= 7;
    if (r == 1) return m;
  }
}

/* Placing a [rows, cols] plane in the grid: element (y, x) goes to grid
 * (off_h + y step_h, off_w + x step_w); cropping reads the same places. */
typedef struct cb_fft_place {
  int64_t rows, cols;
  int64_t off_h, off_w;
  int64_t step_h, step_w;
} cb_fft_place;

/* One spectral product: out[a, b, f] = sum_j A[a sa_a + j sa_j, f] op
 * B[b sb_b + j sb_j, f], each side conjugated when asked. */
typedef struct cb_fft_combine {
  int64_t na, nb, nj;
  int64_t sa_a, sa_j, sb_b, sb_j;
  bool conj_a, conj_b;
  bool a_is_in1; /* A is the second input's spectrum (bwd_filter: dy) */
} cb_fft_combine;

/* Everything one op needs: the grid, the two inputs' placements and
 * batches, the output's crop and batch, and the product. */
typedef struct cb_fft_geom {
  int64_t hf, wf, wc; /* grid, and its complex width wf / 2 + 1 */
  int64_t b0, b1, b2; /* planes of input 0, input 1 and the output */
  cb_fft_place in0, in1, out;
  cb_fft_combine mix;
} cb_fft_geom;

/* op: 0 fwd, 1 bwd_data, 2 bwd_filter; cg the convolution's shared
 * geometry (groups 1). */
static inline CB_FFT_HD void cb_fft_geom_init(cb_fft_geom *g, int op, const cb_conv_geom *cg) {
  int64_t n = cg->cv.n, c = cg->cv.c, h = cg->cv.h, w = cg->cv.w, k = cg->cv.k;
  int64_t r = cg->cv.r, s = cg->cv.s, pad_h = cg->cv.pad_h, pad_w = cg->cv.pad_w;
  int64_t u = cg->cv.stride_h, v = cg->cv.stride_w, dil_h = cg->cv.dil_h, dil_w = cg->cv.dil_w;
  int64_t p = cg->p, q = cg->q;
  g->hf = cb_fft_good_size(h + 2 * pad_h);
  g->wf = cb_fft_good_size(w + 2 * pad_w);
  g->wc = g->wf / 2 + 1;
  cb_fft_place px = {h, w, pad_h, pad_w, 1, 1};
  cb_fft_place pw = {r, s, 0, 0, dil_h, dil_w};
  cb_fft_place pdy = {p, q, 0, 0, u, v};
  cb_fft_combine m = {0, 0, 0, 0, 0, 0, 0, false, false, false};
  if (op == 0) { /* x, w -> y */
    g->b0 = n * c, g->b1 = k * c, g->b2 = n * k;
    g->in0 = px, g->in1 = pw, g->out = pdy;
    m.na = n, m.nb = k, m.nj = c;
    m.sa_a = c, m.sa_j = 1, m.sb_b = c, m.sb_j = 1, m.conj_b = true;
  } else if (op == 1) { /* dy, w -> dx */
    g->b0 = n * k, g->b1 = k * c, g->b2 = n * c;
    g->in0 = pdy, g->in1 = pw, g->out = px;
    m.na = n, m.nb = c, m.nj = k;
    m.sa_a = k, m.sa_j = 1, m.sb_b = 1, m.sb_j = c;
  } else { /* x, dy -> dw */
    g->b0 = n * c, g->b1 = n * k, g->b2 = k * c;
    g->in0 = px, g->in1 = pdy, g->out = pw;
    m.na = k, m.nb = c, m.nj = n;
    m.sa_a = 1, m.sa_j = k, m.sb_b = 1, m.sb_j = c, m.conj_a = true, m.a_is_in1 = true;
  }
  g->mix = m;
}

/* Grid element e of plane-batch (e = (b hf + i) wf + j): the offset into
 * the source planes [b, rows, cols] it takes, or -1 for a zero. */
static inline CB_FFT_HD int64_t cb_fft_embed_src(const cb_fft_geom *g, const cb_fft_place *pl,
                                                 int64_t e) {
  int64_t j = e % g->wf, i = (e / g->wf) % g->hf, b = e / (g->wf * g->hf);
  int64_t di = i - pl->off_h, dj = j - pl->off_w;
  if (di < 0 || dj < 0 || di % pl->step_h != 0 || dj % pl->step_w != 0) return -1;
  di /= pl->step_h, dj /= pl->step_w;
  if (di >= pl->rows || dj >= pl->cols) return -1;
  return (b * pl->rows + di) * pl->cols + dj;
}

/* Output element e of [b, rows, cols]: the grid offset it is cropped from. */
static inline CB_FFT_HD int64_t cb_fft_crop_src(const cb_fft_geom *g, const cb_fft_place *pl,
                                                int64_t e) {
  int64_t x = e % pl->cols, y = (e / pl->cols) % pl->rows, b = e / (pl->cols * pl->rows);
  return (b * g->hf + pl->off_h + y * pl->step_h) * g->wf + pl->off_w + x * pl->step_w;
}

/* Output spectrum element e = (a nb + b) F + f (F = hf wc) and term j:
 * the offsets of the A and B spectrum elements it multiplies. */
static inline CB_FFT_HD void cb_fft_combine_src(const cb_fft_geom *g, int64_t e, int64_t j,
                                                int64_t *ia, int64_t *ib) {
  int64_t f_count = g->hf * g->wc;
  int64_t f = e % f_count, ab = e / f_count;
  int64_t b = ab % g->mix.nb, a = ab / g->mix.nb;
  *ia = (a * g->mix.sa_a + j * g->mix.sa_j) * f_count + f;
  *ib = (b * g->mix.sb_b + j * g->mix.sb_j) * f_count + f;
}

#endif /* CB_CUFFT_GEOM_H */
