/* fftw_xform.c: the transforms of the fftw backend (see fftw_impl.h).
 *
 * Activations (x, dy, y, dx) go through FFTW: a thread copies a group of
 * planes, zero-padded, into its own buffer, transforms them with one
 * many-plane r2c call, and scatters the spectra into the frequency-major
 * buffer (bin b of plane j to re/im[b * bin_stride + j]); the inverse
 * gathers, calls c2r and crops. Threads split the planes and every FFTW
 * plan is single-threaded: many small transforms parallelise perfectly
 * across planes, which FFTW's own threads (splitting one transform) do not.
 *
 * Filters: the row half of their DFT (see fftw_impl.h), as GEMMs with
 * the complex table tw: T[r] = tw^T wt[r] per filter row r, wt real; and
 * for dw the inverse, the real part of tw U[r]. */
#include "fftw_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int cb_fftw_thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

/* Bins the scatter and gather prefetch ahead. */
#define CB_FFTW_AHEAD 16

/* Planes of dw made per step of the inverse row DFT. */
#define CB_FFTW_PBLOCK 256

/* ---- plans --------------------------------------------------------------- */

static pthread_mutex_t planner = PTHREAD_MUTEX_INITIALIZER;

void cb_fftw_planner_lock(void) {
  pthread_mutex_lock(&planner);
}

void cb_fftw_planner_unlock(void) {
  pthread_mutex_unlock(&planner);
}

/* cos and sin of 2 pi num / den, with num reduced exactly first so large
 * products keep full accuracy. */
static void twiddle(int64_t num, int64_t den, double *c, double *s) {
  double a = 6.283185307179586476925 * (double)(num % den) / (double)den;
  *c = cos(a);
  *s = sin(a);
}

/* The filter DFT tables (see cb_fftw_plan). */
static cb_status make_tables(cb_fftw_plan *pl) {
  const cb_fftw_geom *g = &pl->g;
  const cb_fftw_axis *ah = &g->ax[0], *aw = &g->ax[1];
  int64_t nh = ah->f * ah->taps, nw = aw->taps * g->bins_w;
  pl->dh_re = malloc(sizeof(float) * (size_t)nh);
  pl->dh_im = malloc(sizeof(float) * (size_t)nh);
  pl->eh_re = malloc(sizeof(float) * (size_t)nh);
  pl->eh_im = malloc(sizeof(float) * (size_t)nh);
  pl->tw_re = malloc(sizeof(float) * (size_t)nw);
  pl->tw_im = malloc(sizeof(float) * (size_t)nw);
  if (!pl->dh_re || !pl->dh_im || !pl->eh_re || !pl->eh_im || !pl->tw_re || !pl->tw_im)
    return cb_error(CB_ERR_NOMEM, "fftw: cannot allocate the filter DFT tables");
  double scale = 1.0 / ((double)ah->f * (double)aw->f);
  bool inverse = g->op == CB_OP_CONV_BWD_FILTER;
  for (int64_t fh = 0; fh < ah->f; fh++)
    for (int64_t r = 0; r < ah->taps; r++) {
      double c, s;
      twiddle(fh * r * ah->dil, ah->f, &c, &s);
      pl->dh_re[fh * ah->taps + r] = (float)(c * scale);
      pl->dh_im[fh * ah->taps + r] = (float)(-s * scale);
      pl->eh_re[r * ah->f + fh] = (float)c;
      pl->eh_im[r * ah->f + fh] = (float)s;
    }
  for (int64_t s = 0; s < aw->taps; s++)
    for (int64_t fw = 0; fw < g->bins_w; fw++) {
      double c, sn;
      twiddle(fw * s * aw->dil, aw->f, &c, &sn);
      double wgt = 1.0, sign = -1.0;
      if (inverse) {
        /* Half spectrum: bins 1 .. (f_w - 1) / 2 stand for themselves and
         * their mirror images; DC and (for even f_w) Nyquist only for
         * themselves. */
        bool self = fw == 0 || 2 * fw == aw->f;
        wgt = (self ? 1.0 : 2.0) * scale;
        sign = 1.0;
      }
      pl->tw_re[s * g->bins_w + fw] = (float)(c * wgt);
      pl->tw_im[s * g->bins_w + fw] = (float)(sign * sn * wgt);
    }
  return CB_OK;
}

void cb_fftw_plan_free(cb_fftw_plan *pl) {
  if (!pl) return;
  cb_fftw_planner_lock();
  if (pl->r2c_group) fftwf_destroy_plan(pl->r2c_group);
  if (pl->r2c_one) fftwf_destroy_plan(pl->r2c_one);
  if (pl->c2r_group) fftwf_destroy_plan(pl->c2r_group);
  if (pl->c2r_one) fftwf_destroy_plan(pl->c2r_one);
  cb_fftw_planner_unlock();
  fftwf_free(pl->rbuf);
  fftwf_free(pl->cbuf);
  free(pl->dh_re);
  free(pl->dh_im);
  free(pl->eh_re);
  free(pl->eh_im);
  free(pl->tw_re);
  free(pl->tw_im);
  free(pl->wbuf);
  free(pl);
}

cb_status cb_fftw_plan_make(cb_ctx *ctx, const cb_fftw_geom *g, cb_fftw_plan **out) {
  *out = NULL;
  cb_fftw_plan *pl = calloc(1, sizeof *pl);
  if (!pl) return cb_error(CB_ERR_NOMEM, "fftw: cannot allocate a plan");
  pl->g = *g;
  pl->threads = ctx->threads > 0 ? ctx->threads : 1;
  size_t planes = (size_t)pl->threads * (size_t)g->scatter_planes;
  pl->rbuf = fftwf_malloc((size_t)pl->threads * (size_t)g->group_planes * (size_t)g->plane_real *
                          sizeof(float));
  pl->cbuf = fftwf_malloc(planes * (size_t)g->plane_cplx * sizeof(fftwf_complex));
  /* wbuf: the filter spectra of fh_block bins, or (bwd_filter) the
   * inverse row DFT of CB_FFTW_PBLOCK planes */
  pl->wbuf_floats = 2 * g->fh_block * g->bank_rows * g->col_block;
  if (pl->wbuf_floats < g->ax[1].taps * CB_FFTW_PBLOCK)
    pl->wbuf_floats = g->ax[1].taps * CB_FFTW_PBLOCK;
  pl->wbuf_floats = (pl->wbuf_floats + 15) / 16 * 16;
  pl->wbuf =
      aligned_alloc(CB_FFTW_ALIGN, (size_t)pl->threads * (size_t)pl->wbuf_floats * sizeof(float));
  if (!pl->rbuf || !pl->cbuf || !pl->wbuf) {
    cb_fftw_plan_free(pl);
    return cb_error(CB_ERR_NOMEM, "fftw: cannot allocate %zu per-thread transform planes", planes);
  }
  cb_status st = make_tables(pl);
  if (st != CB_OK) {
    cb_fftw_plan_free(pl);
    return st;
  }

  /* FFTW_MEASURE: planning times candidate algorithms on pl's own
   * buffers, 0.005 to 0.16 s per size pair here (nothing once the size is
   * in FFTW's process-wide wisdom). Measured against FFTW_ESTIMATE with
   * these group sizes, its r2c and c2r run 2.1x faster at 30x30 and 1.4x
   * at 64x64 and 128x128, and the same at 14x14, 16x16 and 32x32. The
   * execute calls below use rbuf and cbuf at offsets that are multiples of
   * 64 bytes, so they keep the alignment the plans were made with. */
  const unsigned flags = FFTW_MEASURE;
  int n[2] = {(int)g->ax[0].f, (int)g->ax[1].f};
  int gp = g->group_planes;
  int dr = (int)g->plane_real, dc = (int)g->plane_cplx;
  bool inverse = g->op != CB_OP_CONV_BWD_FILTER; /* bwd_filter's output is dw, done by DFT */
  cb_fftw_planner_lock();
  fftwf_plan_with_nthreads(1); /* threads split planes instead (see the file comment) */
  pl->r2c_group =
      fftwf_plan_many_dft_r2c(2, n, gp, pl->rbuf, NULL, 1, dr, pl->cbuf, NULL, 1, dc, flags);
  pl->r2c_one =
      fftwf_plan_many_dft_r2c(2, n, 1, pl->rbuf, NULL, 1, dr, pl->cbuf, NULL, 1, dc, flags);
  if (inverse) {
    pl->c2r_group =
        fftwf_plan_many_dft_c2r(2, n, gp, pl->cbuf, NULL, 1, dc, pl->rbuf, NULL, 1, dr, flags);
    pl->c2r_one =
        fftwf_plan_many_dft_c2r(2, n, 1, pl->cbuf, NULL, 1, dc, pl->rbuf, NULL, 1, dr, flags);
  }
  cb_fftw_planner_unlock();
  if (!pl->r2c_group || !pl->r2c_one || (inverse && (!pl->c2r_group || !pl->c2r_one))) {
    cb_fftw_plan_free(pl);
    return cb_error(CB_ERR_INTERNAL, "fftw: FFTW could not plan a %dx%d transform", n[0], n[1]);
  }

  char chunk[48];
  snprintf(chunk, sizeof chunk, "chunk %lld img x %lld %s", (long long)g->nchunk,
           (long long)g->wchunk, g->op == CB_OP_CONV_BWD_DATA ? "c" : "k");
  if (g->tiled)
    snprintf(pl->info, sizeof pl->info, "tiled %lldx%lld -> %dx%d r2c, %s, %s",
             (long long)g->ax[0].tile, (long long)g->ax[1].tile, n[0], n[1], chunk,
             cb_fftw_cgemm_isa());
  else
    snprintf(pl->info, sizeof pl->info, "fft %dx%d r2c, %s, %s", n[0], n[1], chunk,
             cb_fftw_cgemm_isa());
  *out = pl;
  return CB_OK;
}

/* ---- activations ------------------------------------------------------- */

/* Copies one source plane into an f_h x f_w buffer as placed by (pr, pc),
 * zeros everywhere else. */
static void load_plane(float *restrict buf, int64_t fh, int64_t fw, const float *restrict src,
                       int64_t ld, cb_fftw_place pr, cb_fftw_place pc) {
  int64_t y_lo = pr.lo - pr.off, y_hi = pr.hi - pr.off;
  int64_t x_lo = pc.lo - pc.off, x_hi = pc.hi - pc.off;
  if (y_hi <= y_lo || x_hi <= x_lo) y_lo = y_hi = 0; /* nothing of the source in this tile */
  memset(buf, 0, sizeof(float) * (size_t)(y_lo * fw));
  for (int64_t y = y_lo; y < y_hi; y++) {
    float *row = buf + y * fw;
    const float *s = src + (y + pr.off) * ld + pc.lo;
    for (int64_t x = 0; x < x_lo; x++) row[x] = 0.0f;
    memcpy(row + x_lo, s, sizeof(float) * (size_t)(x_hi - x_lo));
    for (int64_t x = x_hi; x < fw; x++) row[x] = 0.0f;
  }
  memset(buf + y_hi * fw, 0, sizeof(float) * (size_t)((fh - y_hi) * fw));
}

/* dst[j] = src[(b0 + j) mod f] for j < n (a crop that may wrap). */
static void copy_wrapped(float *restrict dst, const float *restrict src, int64_t f, int64_t b0,
                         int64_t n) {
  int64_t first = min64(n, f - b0);
  memcpy(dst, src + b0, sizeof(float) * (size_t)first);
  if (n > first) memcpy(dst + first, src, sizeof(float) * (size_t)(n - first));
}

/* The task-th group of planes of batch b: image, tile and up to
 * scatter_planes channels; first is its first plane's index in the
 * tensor (src or dst), planes plane floats apart; freq is where that
 * plane's bin 0 sits in b's frequency buffers, bins bin_stride apart. */
typedef struct group_at {
  int64_t img, th, tw, ch0, count, row, first, plane, freq, bin_stride;
} group_at;

static group_at locate(const cb_fftw_geom *g, const cb_fftw_batch *b, int64_t task) {
  int64_t sp = g->scatter_planes;
  int64_t ngrp = (b->ch_hi - b->ch_lo + sp - 1) / sp;
  group_at at;
  int64_t grp = task % ngrp, rest = task / ngrp;
  int64_t tile = rest % g->tiles;
  at.img = rest / g->tiles;
  at.th = tile / g->ax[1].ntiles;
  at.tw = tile % g->ax[1].ntiles;
  at.ch0 = b->ch_lo + grp * sp;
  at.count = min64(sp, b->ch_hi - at.ch0);
  at.row = at.img * g->tiles + tile;
  at.first = (b->n0 + at.img) * b->chans + at.ch0;
  at.plane = b->rows * b->cols;
  at.freq = at.row * b->ncols + (at.ch0 - b->col0);
  at.bin_stride = cb_fftw_bin_stride(b->nimg * g->tiles * b->ncols);
  return at;
}

static int64_t group_tasks(const cb_fftw_geom *g, const cb_fftw_batch *b) {
  int64_t sp = g->scatter_planes;
  return b->nimg * g->tiles * ((b->ch_hi - b->ch_lo + sp - 1) / sp);
}

/* The r2c (c2r) transform of planes j0 .. j0 + n - 1 of a task, n <=
 * group_planes: real plane j at rb + (j - j0) plane_real (the real buffer
 * holds one FFTW group), spectrum j at cb + j plane_cplx. A full group is
 * one FFTW call, a partial one a call per plane. */
static void r2c_planes(const cb_fftw_plan *pl, float *rb, fftwf_complex *cb, int64_t j0,
                       int64_t n) {
  const cb_fftw_geom *g = &pl->g;
  if (n == g->group_planes)
    fftwf_execute_dft_r2c(pl->r2c_group, rb, cb + j0 * g->plane_cplx);
  else
    for (int64_t j = 0; j < n; j++)
      fftwf_execute_dft_r2c(pl->r2c_one, rb + j * g->plane_real, cb + (j0 + j) * g->plane_cplx);
}

static void c2r_planes(const cb_fftw_plan *pl, fftwf_complex *cb, float *rb, int64_t j0,
                       int64_t n) {
  const cb_fftw_geom *g = &pl->g;
  if (n == g->group_planes)
    fftwf_execute_dft_c2r(pl->c2r_group, cb + j0 * g->plane_cplx, rb);
  else
    for (int64_t j = 0; j < n; j++)
      fftwf_execute_dft_c2r(pl->c2r_one, cb + (j0 + j) * g->plane_cplx, rb + j * g->plane_real);
}

/* One group's forward transform: its planes of b->src placed for b->role,
 * r2c, and their bins scattered into b's frequency buffers. rb and cb are
 * the calling thread's buffers. */
static void forward_group(const cb_fftw_plan *pl, const cb_fftw_batch *b, const group_at *at,
                          float *rb, fftwf_complex *cb) {
  const cb_fftw_geom *g = &pl->g;
  const int64_t fh = g->ax[0].f, fw = g->ax[1].f, bins = g->bins, gp = g->group_planes;
  const int64_t bin_stride = at->bin_stride, plane = at->plane;
  cb_fftw_place pr = cb_fftw_place_of(g, 0, b->role, at->th);
  cb_fftw_place pc = cb_fftw_place_of(g, 1, b->role, at->tw);
  const float *src = b->src + at->first * plane;
  for (int64_t j0 = 0; j0 < at->count; j0 += gp) {
    int64_t n = min64(gp, at->count - j0);
    for (int64_t j = 0; j < n; j++)
      load_plane(rb + j * g->plane_real, fh, fw, src + (j0 + j) * plane, b->cols, pr, pc);
    r2c_planes(pl, rb, cb, j0, n);
  }
  /* Scatter: plane j's bins become column j of consecutive rows, up to
   * scatter_planes floats per bin and cache line. Every bin is another
   * line of the frequency buffer; prefetching lines some bins ahead lets
   * their misses overlap instead of stalling one by one. */
  float *re = b->f_re + at->freq, *im = b->f_im + at->freq;
  for (int64_t bin = 0; bin < bins; bin++) {
    if (bin + CB_FFTW_AHEAD < bins) {
      __builtin_prefetch(re + (bin + CB_FFTW_AHEAD) * bin_stride, 1);
      __builtin_prefetch(im + (bin + CB_FFTW_AHEAD) * bin_stride, 1);
    }
    for (int64_t j = 0; j < at->count; j++) {
      re[bin * bin_stride + j] = cb[j * g->plane_cplx + bin][0];
      im[bin * bin_stride + j] = cb[j * g->plane_cplx + bin][1];
    }
  }
}

/* One group's inverse: its bins gathered from b's frequency buffers, c2r,
 * and the cropped outputs written to b->dst. */
static void inverse_group(const cb_fftw_plan *pl, const cb_fftw_batch *b, const group_at *at,
                          float *rb, fftwf_complex *cb) {
  const cb_fftw_geom *g = &pl->g;
  const int64_t fh = g->ax[0].f, fw = g->ax[1].f, bins = g->bins, gp = g->group_planes;
  const int64_t bin_stride = at->bin_stride, plane = at->plane;
  const float *re = b->f_re + at->freq, *im = b->f_im + at->freq;
  for (int64_t bin = 0; bin < bins; bin++) {
    if (bin + CB_FFTW_AHEAD < bins) { /* as in the scatter, for reading */
      __builtin_prefetch(re + (bin + CB_FFTW_AHEAD) * bin_stride);
      __builtin_prefetch(im + (bin + CB_FFTW_AHEAD) * bin_stride);
    }
    for (int64_t j = 0; j < at->count; j++) {
      cb[j * g->plane_cplx + bin][0] = re[bin * bin_stride + j];
      cb[j * g->plane_cplx + bin][1] = im[bin * bin_stride + j];
    }
  }
  cb_fftw_crop cr = cb_fftw_crop_of(g, 0, at->th), cc = cb_fftw_crop_of(g, 1, at->tw);
  float *dst = b->dst + at->first * plane;
  for (int64_t j0 = 0; j0 < at->count; j0 += gp) {
    int64_t n = min64(gp, at->count - j0);
    c2r_planes(pl, cb, rb, j0, n);
    for (int64_t j = 0; j < n; j++)
      for (int64_t y = 0; y < cr.n; y++)
        copy_wrapped(dst + (j0 + j) * plane + (cr.d0 + y) * b->cols + cc.d0,
                     rb + j * g->plane_real + ((cr.b0 + y) % fh) * fw, fw, cc.b0, cc.n);
  }
}

typedef void (*group_fn)(const cb_fftw_plan *pl, const cb_fftw_batch *b, const group_at *at,
                         float *rb, fftwf_complex *cb);

/* Runs fn on every group of planes of b, threads splitting the groups;
 * each thread works in its own slices of the plan's rbuf and cbuf. */
static void each_group(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b, group_fn fn) {
  const cb_fftw_geom *g = &pl->g;
  const int64_t tasks = group_tasks(g, b);
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t task = 0; task < tasks; task++) {
    int64_t tid = cb_fftw_thread_id();
    group_at at = locate(g, b, task);
    fn(pl, b, &at, pl->rbuf + tid * g->group_planes * g->plane_real,
       pl->cbuf + tid * g->scatter_planes * g->plane_cplx);
  }
}

void cb_fftw_forward(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b) {
  each_group(pl, threads, b, forward_group);
}

void cb_fftw_inverse(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b) {
  each_group(pl, threads, b, inverse_group);
}

/* ---- filters -------------------------------------------------------------- */

void cb_fftw_filter_rows(const cb_fftw_plan *pl, int threads, const float *w, int64_t w0,
                         int64_t wc, const cb_fftw_block *blocks, int64_t nblocks, float *ws) {
  const cb_fftw_geom *g = &pl->g;
  const int64_t R = g->ax[0].taps, S = g->ax[1].taps, RS = R * S, bw = g->bins_w;
  const int64_t rows = g->bank_rows, planes = rows * wc;
  float *wt = ws + g->ws.wt;
  float *t_re = ws + g->ws.t, *t_im = t_re + g->ws.t_n;
  const bool data = g->op == CB_OP_CONV_BWD_DATA;

  /* 1. wt[r][s][p]: every filter plane's taps, planes innermost. */
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t item = 0; item < nblocks * rows; item++) {
    const cb_fftw_block *b = &blocks[item / rows];
    int64_t row = item % rows, width = b->je - b->js;
    for (int64_t col = b->js; col < b->je; col++) {
      int64_t widx;
      if (data) /* w[grp kg + row][c - grp cg] */
        widx = (b->grp * g->conv.kg + row) * g->conv.cg + (w0 + col - b->grp * g->conv.cg);
      else /* w[k][row] */
        widx = (w0 + col) * g->conv.cg + row;
      int64_t p = rows * b->js + row * width + (col - b->js);
      const float *src = w + widx * RS;
      for (int64_t rs = 0; rs < RS; rs++) wt[rs * planes + p] = src[rs];
    }
  }

  /* 2. T[r][fw][p] = sum_s tw[s][fw] wt[r][s][p]: per r, a GEMM of bins_w
   * rows, taps_w deep, planes wide, B real; threads split the columns. */
#pragma omp parallel num_threads(threads)
  {
    int nth = 1, tid = 0;
#ifdef _OPENMP
    nth = omp_get_num_threads();
    tid = omp_get_thread_num();
#endif
    int64_t block = ((planes + nth - 1) / nth + 31) / 32 * 32, j0 = tid * block;
    for (int64_t r = 0; r < R && j0 < planes; r++) {
      cb_fftw_gemm gm = {
          .m = bw,
          .n = min64(block, planes - j0),
          .len = S,
          .a_re = pl->tw_re,
          .a_im = pl->tw_im,
          .a_rs = 1,
          .a_cs = bw,
          .b_re = wt + r * S * planes + j0,
          .ldb = planes,
          .c_re = t_re + r * bw * planes + j0,
          .c_im = t_im + r * bw * planes + j0,
          .ldc = planes,
      };
      cb_fftw_cgemm(&gm);
    }
  }
}

void cb_fftw_filter_rows_inverse(const cb_fftw_plan *pl, int threads, float *dw, int64_t w0,
                                 int64_t wc, const cb_fftw_block *blocks, int64_t nblocks,
                                 float *ws) {
  const cb_fftw_geom *g = &pl->g;
  const int64_t R = g->ax[0].taps, S = g->ax[1].taps, RS = R * S, bw = g->bins_w;
  const int64_t rows = g->bank_rows, planes = rows * wc;
  const float *u_re = ws + g->ws.t, *u_im = u_re + g->ws.t_n;
  const int64_t npb = (planes + CB_FFTW_PBLOCK - 1) / CB_FFTW_PBLOCK;

  /* dw[r][s][p] = Re sum_fw tw[s][fw] U[r][fw][p]: per (r, block of
   * planes) a GEMM into the thread's buffer, then scattered to dw. */
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t item = 0; item < R * npb; item++) {
    int64_t r = item / npb, p0 = (item % npb) * CB_FFTW_PBLOCK;
    int64_t np = min64(CB_FFTW_PBLOCK, planes - p0);
    float *out =
        pl->wbuf + (int64_t)cb_fftw_thread_id() * pl->wbuf_floats; /* [S][CB_FFTW_PBLOCK] */
    cb_fftw_gemm gm = {
        .m = S,
        .n = np,
        .len = bw,
        .a_re = pl->tw_re,
        .a_im = pl->tw_im,
        .a_rs = bw,
        .a_cs = 1,
        .b_re = u_re + r * bw * planes + p0,
        .b_im = u_im + r * bw * planes + p0,
        .ldb = planes,
        .c_re = out,
        .ldc = CB_FFTW_PBLOCK,
    };
    cb_fftw_cgemm(&gm);
    /* plane p of block b is (row c', col k - w0) */
    int64_t bi = 0;
    for (int64_t p = p0; p < p0 + np; p++) {
      while (bi + 1 < nblocks && rows * blocks[bi].je <= p) bi++;
      const cb_fftw_block *b = &blocks[bi];
      int64_t width = b->je - b->js, q = p - rows * b->js;
      int64_t row = q / width, col = b->js + q % width;
      float *dst = dw + ((w0 + col) * g->conv.cg + row) * RS + r * S;
      for (int64_t s = 0; s < S; s++) dst[s] = out[s * CB_FFTW_PBLOCK + (p - p0)];
    }
  }
}
