/* cuda_geom.h: the index and tiling arithmetic of the GPU kernels, as plain
 * C functions that compile both on the host and in device code.
 *
 * The .cu kernels call exactly these functions for every index they
 * compute, so tests/test_gpu_geom.c can run the same arithmetic on the CPU
 * (label unit, no GPU needed): it replays each kernel's schedule thread by
 * thread and compares the result with ref. Everything here is 64-bit
 * (int64_t) so that no product of sizes overflows; the kernels narrow to
 * int only where a size has been checked to fit.
 *
 * Shapes: activations NCHW, filters KCRS (C per group), col matrices
 * [C/G R S, images P Q] per group, GEMMs row-major. */
#ifndef CB_CUDA_GEOM_H
#define CB_CUDA_GEOM_H

#include "conv_geom.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __CUDACC__
#define CB_HD __host__ __device__
#else
#define CB_HD
#endif

/* ---- tiled SGEMM -------------------------------------------------------------
 * A block of 256 threads computes a BM x BN tile of C, stepping through k
 * BK at a time: the block loads the A tile [BM, BK] and the B tile
 * [BK, BN] into shared memory (each thread some elements of each), then
 * every thread accumulates a TM x TN register block of C. The tunable
 * parameters are BM and BN (32, 64 or 128); BK is 8 and TM = BM / 16,
 * TN = BN / 16, so that 16 x 16 threads always cover the tile. */

#define CB_SGEMM_THREADS 256
#define CB_SGEMM_BK      8

typedef struct cb_sgemm_tile {
  int bm, bn, bk; /* tile of C per block, and the k step */
  int tm, tn;     /* register block per thread */
  int threads;    /* per block: (bm / tm) (bn / tn) */
} cb_sgemm_tile;

/* The tile of parameters (bm, bn); false when they are not one of the
 * compiled sizes (32, 64, 128 each). */
static inline CB_HD bool cb_sgemm_tile_of(int bm, int bn, cb_sgemm_tile *t) {
  if ((bm != 32 && bm != 64 && bm != 128) || (bn != 32 && bn != 64 && bn != 128)) return false;
  t->bm = bm, t->bn = bn, t->bk = CB_SGEMM_BK;
  t->tm = bm / 16, t->tn = bn / 16;
  t->threads = (bm / t->tm) * (bn / t->tn);
  return true;
}

/* Blocks along n (grid x) and m (grid y) for C [m, n]. */
static inline CB_HD int64_t cb_sgemm_grid_x(const cb_sgemm_tile *t, int64_t n) {
  return (n + t->bn - 1) / t->bn;
}
static inline CB_HD int64_t cb_sgemm_grid_y(const cb_sgemm_tile *t, int64_t m) {
  return (m + t->bm - 1) / t->bm;
}

/* Thread tid's register block: rows *r0 .. *r0 + tm - 1 and columns
 * *c0 .. *c0 + tn - 1 of its block's tile (tile coordinates). */
static inline CB_HD void cb_sgemm_thread_block(const cb_sgemm_tile *t, int tid, int *r0, int *c0) {
  int cols = t->bn / t->tn;
  *r0 = (tid / cols) * t->tm;
  *c0 = (tid % cols) * t->tn;
}

/* Element e (0 <= e < bm bk) of the A tile, as (row i in 0..bm, column kk
 * in 0..bk); thread tid loads e = tid, tid + threads, ... . */
static inline CB_HD void cb_sgemm_a_elem(const cb_sgemm_tile *t, int e, int *i, int *kk) {
  *i = e / t->bk;
  *kk = e % t->bk;
}

/* Element e (0 <= e < bk bn) of the B tile, as (row kk, column j): rows
 * of B are contiguous in memory when B is not transposed, so consecutive
 * threads take consecutive columns. */
static inline CB_HD void cb_sgemm_b_elem(const cb_sgemm_tile *t, int e, int *kk, int *j) {
  *kk = e / t->bn;
  *j = e % t->bn;
}

/* Offset of op(A)[i, kk] in a row-major A with leading dimension lda
 * (A is m x k, or k x m when transposed). */
static inline CB_HD int64_t cb_sgemm_a_index(bool trans, int64_t lda, int64_t i, int64_t kk) {
  return trans ? kk * lda + i : i * lda + kk;
}

/* Offset of op(B)[kk, j] in a row-major B (k x n, or n x k transposed). */
static inline CB_HD int64_t cb_sgemm_b_index(bool trans, int64_t ldb, int64_t kk, int64_t j) {
  return trans ? j * ldb + kk : kk * ldb + j;
}

/* ---- convolution geometry ----------------------------------------------------- */

/* ---- im2col ---------------------------------------------------------------------
 * One thread per element of col for `nimg` images starting at image i0,
 * over ALL groups: col is [C R S, nimg P Q] (group g's rows start at
 * g cg r s). Element e = row (nimg P Q) + column; row = (c r + rr) s + ss;
 * column = (i P + p) Q + q. It reads x[i0 + i, c, p u - pad + rr d,
 * q v - pad + ss d], or 0 in the padding. */

/* Offset into x of col element e, or -1 in the padding. */
static inline CB_HD int64_t cb_im2col_src(const cb_conv_geom *g, int64_t i0, int64_t nimg,
                                          int64_t e) {
  int64_t cols = nimg * g->p * g->q;
  int64_t row = e / cols, col = e % cols;
  int64_t ss = row % g->cv.s, rr = (row / g->cv.s) % g->cv.r, c = row / (g->cv.s * g->cv.r);
  int64_t q = col % g->q, p = (col / g->q) % g->p, i = col / (g->q * g->p);
  int64_t y = p * g->cv.stride_h - g->cv.pad_h + rr * g->cv.dil_h;
  int64_t x = q * g->cv.stride_w - g->cv.pad_w + ss * g->cv.dil_w;
  if (y < 0 || y >= g->cv.h || x < 0 || x >= g->cv.w) return -1;
  return (((i0 + i) * g->cv.c + c) * g->cv.h + y) * g->cv.w + x;
}

/* ---- col2im (gather form) -------------------------------------------------------
 * One thread per element of dx for nimg images from i0: it sums every col
 * element that im2col would have read from it, so no two threads write
 * the same element (no atomics, the same sum order on every run). For
 * input row y and tap rr, the output row is p = (y + pad - rr d) / u when
 * that divides exactly and 0 <= p < P. */

/* Output row (or column) of input coordinate y for tap rr, or -1. */
static inline CB_HD int64_t cb_col2im_out(int64_t y, int64_t rr, int64_t pad, int64_t dil,
                                          int64_t stride, int64_t out) {
  int64_t t = y + pad - rr * dil;
  if (t < 0 || t % stride != 0) return -1;
  t /= stride;
  return t < out ? t : -1;
}

/* Offset into col (of nimg images) of tap (rr, ss) of dx element e
 * (e indexes dx[i0.., c, y, x] from image i0), or -1 when that tap reads
 * nothing there. */
static inline CB_HD int64_t cb_col2im_src(const cb_conv_geom *g, int64_t nimg, int64_t e,
                                          int64_t rr, int64_t ss) {
  int64_t x = e % g->cv.w, y = (e / g->cv.w) % g->cv.h, c = (e / (g->cv.w * g->cv.h)) % g->cv.c;
  int64_t i = e / (g->cv.w * g->cv.h * g->cv.c);
  int64_t p = cb_col2im_out(y, rr, g->cv.pad_h, g->cv.dil_h, g->cv.stride_h, g->p);
  int64_t q = cb_col2im_out(x, ss, g->cv.pad_w, g->cv.dil_w, g->cv.stride_w, g->q);
  if (p < 0 || q < 0) return -1;
  int64_t row = (c * g->cv.r + rr) * g->cv.s + ss;
  return row * (nimg * g->p * g->q) + (i * g->p + p) * g->q + q;
}

/* ---- direct convolution --------------------------------------------------------
 * Forward: one thread per y element, looping over its group's channels
 * and the taps. Backward data: one thread per dx element, gathering
 * through cb_col2im_out. Backward filter: one block per dw element,
 * its threads splitting the n P Q sum (cb_direct_bwf_term), then a
 * shared-memory tree reduction. */

/* Decomposes a y (or dy) offset into (i, k, p, q). */
static inline CB_HD void cb_direct_out_coords(const cb_conv_geom *g, int64_t e, int64_t *i,
                                              int64_t *k, int64_t *p, int64_t *q) {
  *q = e % g->q;
  *p = (e / g->q) % g->p;
  *k = (e / (g->q * g->p)) % g->cv.k;
  *i = e / (g->q * g->p * g->cv.k);
}

/* Offset into x read by output (i, k, p, q) for channel cc of its group
 * and tap (rr, ss), or -1 in the padding. */
static inline CB_HD int64_t cb_direct_fwd_src(const cb_conv_geom *g, int64_t i, int64_t k,
                                              int64_t p, int64_t q, int64_t cc, int64_t rr,
                                              int64_t ss) {
  int64_t c = (k / g->kg) * g->cg + cc;
  int64_t y = p * g->cv.stride_h - g->cv.pad_h + rr * g->cv.dil_h;
  int64_t x = q * g->cv.stride_w - g->cv.pad_w + ss * g->cv.dil_w;
  if (y < 0 || y >= g->cv.h || x < 0 || x >= g->cv.w) return -1;
  return ((i * g->cv.c + c) * g->cv.h + y) * g->cv.w + x;
}

/* Offset of filter tap w[k, cc, rr, ss]. */
static inline CB_HD int64_t cb_direct_w_index(const cb_conv_geom *g, int64_t k, int64_t cc,
                                              int64_t rr, int64_t ss) {
  return ((k * g->cg + cc) * g->cv.r + rr) * g->cv.s + ss;
}

/* Term t (0 <= t < n P Q) of dw element e = ((k cg + cc) r + rr) s + ss:
 * sets *x_off and *dy_off to the x and dy offsets it multiplies, or
 * returns false when the tap falls in the padding there. */
static inline CB_HD bool cb_direct_bwf_term(const cb_conv_geom *g, int64_t e, int64_t t,
                                            int64_t *x_off, int64_t *dy_off) {
  int64_t ss = e % g->cv.s, rr = (e / g->cv.s) % g->cv.r, cc = (e / (g->cv.s * g->cv.r)) % g->cg;
  int64_t k = e / (g->cv.s * g->cv.r * g->cg);
  int64_t q = t % g->q, p = (t / g->q) % g->p, i = t / (g->q * g->p);
  int64_t x = cb_direct_fwd_src(g, i, k, p, q, cc, rr, ss);
  if (x < 0) return false;
  *x_off = x;
  *dy_off = ((i * g->cv.k + k) * g->p + p) * g->q + q;
  return true;
}

/* ---- launches ------------------------------------------------------------------ */

/* Threads per block of the element-wise kernels. */
#define CB_CU_BLOCK 256

/* Blocks for n elements at `block` threads each, one element per thread,
 * capped at `cap` blocks (the kernels loop grid-stride beyond it). */
static inline CB_HD int64_t cb_cu_blocks(int64_t n, int64_t block, int64_t cap) {
  int64_t b = (n + block - 1) / block;
  return b < 1 ? 1 : b > cap ? cap : b;
}

/* Grid-stride cap: 65535 blocks of 256 is 16 M threads, enough to fill
 * any GPU, and a grid's x dimension accepts it on every architecture. */
#define CB_CU_MAX_BLOCKS 65535

/* Steps of a shared-memory tree reduction over `threads` (a power of two)
 * values: after step j every thread below threads >> (j + 1) holds the sum
 * of itself and the thread (threads >> (j + 1)) above it. */
static inline CB_HD int cb_reduce_steps(int threads) {
  int s = 0;
  while ((1 << s) < threads) s++;
  return s;
}

/* Images per im2col step: the whole batch when its col matrix fits in
 * `budget` bytes, else as many as fit, at least one. */
static inline CB_HD int64_t cb_cu_step_images(const cb_conv_geom *g, int64_t budget) {
  int64_t per = g->cv.c * g->cv.r * g->cv.s * g->p * g->q * (int64_t)sizeof(float);
  int64_t b = per > 0 ? budget / per : g->cv.n;
  return b < 1 ? 1 : b > g->cv.n ? g->cv.n : b;
}

#endif /* CB_CUDA_GEOM_H */
