/* cpu_conv_direct.c: the direct variant of the three conv ops, for the
 * shapes where unfolding costs more than it saves.
 *
 * 1x1 unpadded filters are GEMMs on the tensors themselves (per image and
 * group, cb_cpu_sgemm): y_n[K, PQ] = W[K, C] x_n[C, PQ], dx_n = W^T dy_n,
 * dW += dy_n x_n^T. With stride 1 the input plane is the GEMM operand in
 * place; a strided 1x1 gathers the pixels it reads ([C, PQ] per image) or
 * scatters the ones it writes.
 *
 * Other filters run a register-blocked direct kernel (forward, and
 * backward-data at stride 1, which is the forward convolution of dy with
 * the filters flipped and transposed and padding d (R - 1) - pad):
 *
 *   y[k0..k0+KB, p, q0..q0+np] = sum over taps t = (c, r, s) of
 *       W[k0..k0+KB, t] (a vector of KB output channels)
 *     x [(c, p u + r d, (q0 + j) u + s d)] (a broadcast scalar, j < np)
 *
 * np x KB accumulators stay in registers across the whole sum (AVX-512:
 * up to 14 pixels x 32 channels in 28 zmm; AVX2: 6 x 16 in 12 ymm), each
 * tap costs KB / 16 vector loads of the filters (packed once per run as
 * [group][channel block][tap][KB], zero past the last channel), np
 * broadcasts of x and np KB / 16 FMAs. x is read in place from a
 * zero-padded copy of the image (per thread, so the loop needs no bounds
 * tests); a tap's broadcasts sit at constant distances j u from one
 * address, so the kernel is compiled for each np and for strides 1, 2
 * and 4 (any other stride takes a generic version). Nothing is unfolded:
 * where im2col writes and packs C R S floats per output pixel, this reads
 * each input pixel from the cache. A row of Q pixels is cut into tiles of
 * the widest np, the rest in one narrower tile. Threads take (image,
 * group, channel block) items.
 *
 * With small-integer data every product and partial sum is an integer
 * below 2^24, exact in float in any order, so all paths match ref
 * exactly: tolerance 0. */
#include "cpu_conv.h"

#include <string.h>

#ifdef __x86_64__
#include <immintrin.h>
#endif

static const int direct_params_np[] = {0, 4, 6, 8, 10, 12, 14};

static const cb_param_def direct_params[2] = {
    CB_CPU_ISA_PARAM,
    /* Pixels per tile (the widest; 0 picks the best fit for Q). */
    {"np", direct_params_np, (int)(sizeof direct_params_np / sizeof *direct_params_np), 0},
};

/* Output channels per vector block and the most pixels per tile, per ISA
 * (the accumulators must fit in the vector registers). */
#define KB512  32
#define NP512  14
#define KB256  16
#define NP256  6
#define KBSCAL 8
#define NPSCAL 4

static int isa_kb(cb_cpu_isa isa) {
  return isa == CB_CPU_AVX512 ? KB512 : isa == CB_CPU_AVX2 ? KB256 : KBSCAL;
}
static int isa_np(cb_cpu_isa isa) {
  return isa == CB_CPU_AVX512 ? NP512 : isa == CB_CPU_AVX2 ? NP256 : NPSCAL;
}

/* ---- the direct kernel's view of a convolution ------------------------------ */

/* A forward convolution of in (n x cin x hin x win) with filters into out
 * (n x cout x hout x wout): the problem itself for conv_fwd, and for
 * conv_bwd_data the convolution of dy with the flipped, transposed
 * filters (in = dy, out = dx, padding dil (taps - 1) - pad, stride 1). */
typedef struct dgeom {
  bool transposed; /* conv_bwd_data: filters flipped and transposed */
  int64_t n, groups;
  int64_t cin, hin, win, cout, hout, wout;
  int64_t cing, coutg;
  int64_t r, s, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
  int64_t hp, wp;    /* the zero-padded input plane */
  int64_t taps;      /* cing r s: the sum of one output */
  int64_t kblocks;   /* channel blocks of kb per group */
  int kb, np;        /* channels per block, widest tile */
  const cb_conv *cv; /* the problem's own description */
} dgeom;

/* The widest tile np for rows of q pixels: the one that leaves the fewest
 * pixels to a narrower tile, preferring wider (fewer tiles per row). */
static int best_np(int64_t q, int most) {
  int best = most;
  int64_t best_tiles = (q + most - 1) / most;
  for (int np = most - 1; np >= most / 2 && np >= 1; np--) {
    int64_t tiles = (q + np - 1) / np;
    if (tiles < best_tiles || (tiles == best_tiles && q % np == 0 && q % best != 0))
      best = np, best_tiles = tiles;
  }
  return best;
}

static void dgeom_init(const cb_problem *p, const int *params, dgeom *dg) {
  const cb_conv *cv = &p->conv;
  cb_cpu_isa isa = cb_cpu_conv_isa(params);
  memset(dg, 0, sizeof *dg);
  dg->cv = cv;
  dg->transposed = p->op == CB_OP_CONV_BWD_DATA;
  dg->n = cv->n, dg->groups = cv->groups;
  dg->r = cv->r, dg->s = cv->s, dg->dil_h = cv->dil_h, dg->dil_w = cv->dil_w;
  if (dg->transposed) {
    dg->cin = cv->k, dg->hin = cb_conv_out_h(cv), dg->win = cb_conv_out_w(cv);
    dg->cout = cv->c, dg->hout = cv->h, dg->wout = cv->w;
    dg->pad_h = cv->dil_h * (cv->r - 1) - cv->pad_h;
    dg->pad_w = cv->dil_w * (cv->s - 1) - cv->pad_w;
    dg->stride_h = dg->stride_w = 1;
  } else {
    dg->cin = cv->c, dg->hin = cv->h, dg->win = cv->w;
    dg->cout = cv->k, dg->hout = cb_conv_out_h(cv), dg->wout = cb_conv_out_w(cv);
    dg->pad_h = cv->pad_h, dg->pad_w = cv->pad_w;
    dg->stride_h = cv->stride_h, dg->stride_w = cv->stride_w;
  }
  dg->cing = dg->cin / dg->groups;
  dg->coutg = dg->cout / dg->groups;
  dg->hp = dg->hin + 2 * dg->pad_h;
  dg->wp = dg->win + 2 * dg->pad_w;
  dg->taps = dg->cing * dg->r * dg->s;
  dg->kb = isa_kb(isa);
  dg->kblocks = (dg->coutg + dg->kb - 1) / dg->kb;
  int np = cb_cpu_param(params, 1, direct_params);
  dg->np = np > 0 && np < isa_np(isa) ? np : best_np(dg->wout, isa_np(isa));
}

/* ---- tile kernels ---------------------------------------------------------------- */
/* One tile: out[j][0..KB) = sum over taps t < taps of w[t][0..KB)
 * x[off[t] + j u], j < NP, for KB output channels (w packed [taps][KB],
 * 64-byte aligned) and NP pixels u apart (x at the tile's first pixel,
 * tap 0). */
typedef void (*tile_fn)(const float *x, const int64_t *off, const float *w, int64_t taps, int64_t u,
                        float *out);

#ifdef __x86_64__
CB_CPU_TARGET_AVX512 static inline __attribute__((always_inline)) void
tile512_body(const int np, const int64_t u, const float *x, const int64_t *off, const float *w,
             int64_t taps, float *out) {
  __m512 acc[NP512][2];
#pragma GCC unroll 14
  for (int j = 0; j < np; j++) acc[j][0] = acc[j][1] = _mm512_setzero_ps();
  for (int64_t t = 0; t < taps; t++) {
    const float *xt = x + off[t];
    __m512 w0 = _mm512_load_ps(w + t * KB512), w1 = _mm512_load_ps(w + t * KB512 + 16);
#pragma GCC unroll 14
    for (int j = 0; j < np; j++) {
      __m512 b = _mm512_set1_ps(xt[j * u]);
      acc[j][0] = _mm512_fmadd_ps(b, w0, acc[j][0]);
      acc[j][1] = _mm512_fmadd_ps(b, w1, acc[j][1]);
    }
  }
#pragma GCC unroll 14
  for (int j = 0; j < np; j++) {
    _mm512_storeu_ps(out + j * KB512, acc[j][0]);
    _mm512_storeu_ps(out + j * KB512 + 16, acc[j][1]);
  }
}

CB_CPU_TARGET_AVX2 static inline __attribute__((always_inline)) void
tile256_body(const int np, const int64_t u, const float *x, const int64_t *off, const float *w,
             int64_t taps, float *out) {
  __m256 acc[NP256][2];
#pragma GCC unroll 6
  for (int j = 0; j < np; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int64_t t = 0; t < taps; t++) {
    const float *xt = x + off[t];
    __m256 w0 = _mm256_load_ps(w + t * KB256), w1 = _mm256_load_ps(w + t * KB256 + 8);
#pragma GCC unroll 6
    for (int j = 0; j < np; j++) {
      __m256 b = _mm256_broadcast_ss(xt + j * u);
      acc[j][0] = _mm256_fmadd_ps(b, w0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(b, w1, acc[j][1]);
    }
  }
#pragma GCC unroll 6
  for (int j = 0; j < np; j++) {
    _mm256_storeu_ps(out + j * KB256, acc[j][0]);
    _mm256_storeu_ps(out + j * KB256 + 8, acc[j][1]);
  }
}

/* Every (np, stride) instance: strides 1, 2 and 4 constant, 0 = any. */
#define TILE512(NP, U, SUF)                                                                        \
  CB_CPU_TARGET_AVX512 static void tile512_##NP##_##SUF(                                           \
      const float *x, const int64_t *off, const float *w, int64_t taps, int64_t u, float *out) {   \
    (void)u;                                                                                       \
    tile512_body(NP, U, x, off, w, taps, out);                                                     \
  }
#define TILE256(NP, U, SUF)                                                                        \
  CB_CPU_TARGET_AVX2 static void tile256_##NP##_##SUF(                                             \
      const float *x, const int64_t *off, const float *w, int64_t taps, int64_t u, float *out) {   \
    (void)u;                                                                                       \
    tile256_body(NP, U, x, off, w, taps, out);                                                     \
  }
#define STRIDES(T, NP) T(NP, 1, 1) T(NP, 2, 2) T(NP, 4, 4) T(NP, u, any)
#define UPTO6(T)       STRIDES(T, 1) STRIDES(T, 2) STRIDES(T, 3) STRIDES(T, 4) STRIDES(T, 5) STRIDES(T, 6)
UPTO6(TILE512)
STRIDES(TILE512, 7)
STRIDES(TILE512, 8)
STRIDES(TILE512, 9)
STRIDES(TILE512, 10)
STRIDES(TILE512, 11)
STRIDES(TILE512, 12)
STRIDES(TILE512, 13)
STRIDES(TILE512, 14)
UPTO6(TILE256)

#define ROW(T, NP)                                                                                 \
  { T##_##NP##_1, T##_##NP##_2, T##_##NP##_4, T##_##NP##_any }
static const tile_fn tiles512[NP512 + 1][4] = {
    {NULL},           ROW(tile512, 1),  ROW(tile512, 2),  ROW(tile512, 3),  ROW(tile512, 4),
    ROW(tile512, 5),  ROW(tile512, 6),  ROW(tile512, 7),  ROW(tile512, 8),  ROW(tile512, 9),
    ROW(tile512, 10), ROW(tile512, 11), ROW(tile512, 12), ROW(tile512, 13), ROW(tile512, 14),
};
static const tile_fn tiles256[NP256 + 1][4] = {
    {NULL},          ROW(tile256, 1), ROW(tile256, 2), ROW(tile256, 3),
    ROW(tile256, 4), ROW(tile256, 5), ROW(tile256, 6),
};
#endif

/* The portable kernel: the same loops on plain arrays. */
static void tile_scalar(int np, const float *x, const int64_t *off, const float *w, int64_t taps,
                        int64_t u, float *out) {
  float acc[NPSCAL][KBSCAL] = {{0}};
  for (int64_t t = 0; t < taps; t++) {
    const float *xt = x + off[t], *wt = w + t * KBSCAL;
    for (int j = 0; j < np; j++)
      for (int k = 0; k < KBSCAL; k++) acc[j][k] += xt[j * u] * wt[k];
  }
  for (int j = 0; j < np; j++) memcpy(out + j * KBSCAL, acc[j], sizeof acc[j]);
}

/* Runs the tile kernel of isa for np pixels at stride u. */
static void run_tile(cb_cpu_isa isa, int np, int64_t u, const float *x, const int64_t *off,
                     const float *w, int64_t taps, float *out) {
#ifdef __x86_64__
  int su = u == 1 ? 0 : u == 2 ? 1 : u == 4 ? 2 : 3;
  if (isa == CB_CPU_AVX512) {
    tiles512[np][su](x, off, w, taps, u, out);
    return;
  }
  if (isa == CB_CPU_AVX2) {
    tiles256[np][su](x, off, w, taps, u, out);
    return;
  }
#endif
  tile_scalar(np, x, off, w, taps, u, out);
}

/* ---- packing ------------------------------------------------------------------------ */

/* The filters as [group][channel block][tap][kb], zero past coutg:
 * forward, lane k of block b of group g at tap (c, r, s) is
 * w[g coutg + b kb + k][c][r][s]; transposed (backward-data, whose output
 * channels are the problem's input channels), it is w[g cing + c][b kb +
 * k][R-1-r][S-1-s]. */
static void pack_filters(const dgeom *dg, const float *w, float *wp, int64_t item0, int64_t item1) {
  int64_t rs = dg->r * dg->s;
  for (int64_t item = item0; item < item1; item++) { /* item = g kblocks + b */
    int64_t g = item / dg->kblocks, b = item % dg->kblocks;
    float *dst = wp + item * dg->taps * dg->kb;
    for (int64_t t = 0; t < dg->taps; t++) {
      int64_t c = t / rs, tap = t % rs;
      for (int k = 0; k < dg->kb; k++) {
        int64_t ko = b * dg->kb + k;
        float v = 0.0f;
        if (ko < dg->coutg) {
          if (dg->transposed) /* w is [K = cin][C/G = coutg][r][s] */
            v = w[((g * dg->cing + c) * dg->coutg + ko) * rs + (rs - 1 - tap)];
          else /* w is [K = cout][C/G = cing][r][s] */
            v = w[((g * dg->coutg + ko) * dg->cing + c) * rs + tap];
        }
        dst[t * dg->kb + k] = v;
      }
    }
  }
}

/* Copies image i's channels of group g into the zero-padded planes
 * (hp x wp each). */
static void pad_image(const dgeom *dg, const float *in, int64_t i, int64_t g, float *xp) {
  for (int64_t c = 0; c < dg->cing; c++) {
    const float *src = in + ((i * dg->cin) + g * dg->cing + c) * dg->hin * dg->win;
    float *dst = xp + c * dg->hp * dg->wp;
    memset(dst, 0, (size_t)(dg->pad_h * dg->wp) * sizeof *dst);
    for (int64_t y = 0; y < dg->hin; y++) {
      float *row = dst + (y + dg->pad_h) * dg->wp;
      memset(row, 0, (size_t)dg->pad_w * sizeof *row);
      memcpy(row + dg->pad_w, src + y * dg->win, (size_t)dg->win * sizeof *row);
      memset(row + dg->pad_w + dg->win, 0, (size_t)dg->pad_w * sizeof *row);
    }
    memset(dst + (dg->hin + dg->pad_h) * dg->wp, 0, (size_t)(dg->pad_h * dg->wp) * sizeof *dst);
  }
}

/* The offset of each tap (c, r, s) from tap 0 in the padded planes. */
static void tap_offsets(const dgeom *dg, int64_t *off) {
  for (int64_t c = 0, t = 0; c < dg->cing; c++)
    for (int64_t r = 0; r < dg->r; r++)
      for (int64_t s = 0; s < dg->s; s++, t++)
        off[t] = (c * dg->hp + r * dg->dil_h) * dg->wp + s * dg->dil_w;
}

/* ---- the direct driver ---------------------------------------------------------------- */

typedef struct direct_parts {
  float *wpack;
  int64_t *off;
  float *xpad, *tile; /* this thread's */
} direct_parts;

static cb_cpu_ws direct_layout(const cb_ctx *ctx, const dgeom *dg, void *base, int t,
                               direct_parts *mine) {
  cb_cpu_ws ws = cb_cpu_ws_begin(base);
  direct_parts parts;
  parts.wpack = cb_cpu_ws_floats(&ws, dg->groups * dg->kblocks * dg->taps * dg->kb);
  parts.off = cb_cpu_ws_bytes(&ws, (size_t)dg->taps * sizeof *parts.off);
  for (int slot = 0; slot < ctx->threads; slot++) {
    parts.xpad = cb_cpu_ws_floats(&ws, dg->cing * dg->hp * dg->wp);
    parts.tile = cb_cpu_ws_floats(&ws, NP512 * KB512);
    if (slot == t && mine) *mine = parts;
  }
  return ws;
}

/* One (image, group, channel block) item: every output row of the block's
 * channels, tile by tile (xp holds the image's padded group). */
static void direct_item(const dgeom *dg, cb_cpu_isa isa, const direct_parts *dp, int64_t i,
                        int64_t g, int64_t b, float *out) {
  int kb = dg->kb;
  int64_t kvalid = dg->coutg - b * kb < kb ? dg->coutg - b * kb : kb;
  const float *w = dp->wpack + (g * dg->kblocks + b) * dg->taps * kb;
  float *y = out + ((i * dg->cout) + g * dg->coutg + b * kb) * dg->hout * dg->wout;
  for (int64_t p = 0; p < dg->hout; p++) {
    const float *xrow = dp->xpad + p * dg->stride_h * dg->wp;
    for (int64_t q0 = 0; q0 < dg->wout;) {
      int np = dg->wout - q0 < dg->np ? (int)(dg->wout - q0) : dg->np;
      run_tile(isa, np, dg->stride_w, xrow + q0 * dg->stride_w, dp->off, w, dg->taps, dp->tile);
      /* The tile is [pixel][channel]; y is [channel][pixel]. */
      float *yp = y + p * dg->wout + q0;
      for (int64_t k = 0; k < kvalid; k++)
        for (int j = 0; j < np; j++) yp[k * dg->hout * dg->wout + j] = dp->tile[j * kb + k];
      q0 += np;
    }
  }
}

static void direct_run_all(const cb_ctx *ctx, const dgeom *dg, cb_cpu_isa isa, const float *in,
                           const float *w, float *out, void *workspace, int threads) {
  int64_t wblocks = dg->groups * dg->kblocks, items = dg->n * wblocks;
#pragma omp parallel num_threads(threads)
  {
    int t = cb_cpu_thread(), nt = cb_cpu_team();
    direct_parts dp;
    int64_t lo, hi;
    direct_layout(ctx, dg, workspace, t, &dp);
    cb_cpu_share(wblocks, 1, t, nt, &lo, &hi);
    pack_filters(dg, w, dp.wpack, lo, hi);
    if (t == 0) tap_offsets(dg, dp.off);
#pragma omp barrier
    cb_cpu_share(items, 1, t, nt, &lo, &hi);
    int64_t padded = -1; /* the (image, group) in xpad */
    for (int64_t item = lo; item < hi; item++) {
      int64_t i = item / wblocks, g = item % wblocks / dg->kblocks, b = item % dg->kblocks;
      if (padded != i * dg->groups + g) {
        pad_image(dg, in, i, g, dp.xpad);
        padded = i * dg->groups + g;
      }
      direct_item(dg, isa, &dp, i, g, b, out);
    }
  }
}

/* ---- 1x1 as GEMMs ---------------------------------------------------------------------------- */

/* A 1x1 unpadded filter: any stride, any dilation (a single tap has no
 * spacing). */
static bool is_1x1(const cb_conv *cv) {
  return cv->r == 1 && cv->s == 1 && cv->pad_h == 0 && cv->pad_w == 0;
}
static bool unit_stride(const cb_conv *cv) {
  return cv->stride_h == 1 && cv->stride_w == 1;
}

typedef struct gemm_parts {
  float *pix; /* strided: one image's gathered (or to be scattered) pixels, [C, PQ] */
  void *gemm;
} gemm_parts;

static cb_cpu_ws gemm_layout(const cb_ctx *ctx, const cb_problem *p, const int *params, void *base,
                             int t, gemm_parts *mine) {
  const cb_conv *cv = &p->conv;
  cb_conv_geom g;
  cb_conv_geom_init(&g, cv);
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  int64_t gm = g.kg, gn = g.pq, gk = g.cg; /* forward: K/G x PQ x C/G */
  if (p->op == CB_OP_CONV_BWD_DATA) gm = g.cg, gk = g.kg;
  if (p->op == CB_OP_CONV_BWD_FILTER) gn = g.cg, gk = g.pq;
  cb_cpu_ws ws = cb_cpu_ws_begin(base);
  for (int slot = 0; slot < ctx->threads; slot++) {
    gemm_parts parts;
    parts.pix = unit_stride(cv) ? NULL : cb_cpu_ws_floats(&ws, cv->c * g.pq);
    parts.gemm = cb_cpu_ws_gemm(&ws, &cfg, gm, gn, &gk, 1);
    if (slot == t && mine) *mine = parts;
  }
  return ws;
}

/* The pixels a strided 1x1 reads of channels [c0, c1) of one image (x):
 * pix[c - c0, p Q + q] = x[c, p u, q u]. */
static void gather_pixels(const cb_conv_geom *g, const float *x, int64_t c0, int64_t c1,
                          float *pix) {
  const cb_conv *cv = &g->cv;
  for (int64_t c = c0; c < c1; c++)
    for (int64_t p = 0; p < g->p; p++) {
      const float *src = x + c * g->hw + p * cv->stride_h * cv->w;
      float *dst = pix + (c - c0) * g->pq + p * g->q;
      for (int64_t q = 0; q < g->q; q++) dst[q] = src[q * cv->stride_w];
    }
}

/* The reverse for backward-data: one image's dx (every channel) zeroed,
 * then dx[c, p u, q u] = pix[c, p Q + q]. */
static void scatter_pixels(const cb_conv_geom *g, const float *pix, float *dx) {
  const cb_conv *cv = &g->cv;
  memset(dx, 0, (size_t)(cv->c * g->hw) * sizeof *dx);
  for (int64_t c = 0; c < cv->c; c++)
    for (int64_t p = 0; p < g->p; p++) {
      float *dst = dx + c * g->hw + p * cv->stride_h * cv->w;
      const float *src = pix + c * g->pq + p * g->q;
      for (int64_t q = 0; q < g->q; q++) dst[q * cv->stride_w] = src[q];
    }
}

/* Forward, one image, columns [j0, j1) of y's planes: y[K, j] = W x[C, j]
 * per group; x's rows are ldx floats long. */
static void gemm_fwd(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *w,
                     const float *x, int64_t ldx, float *y, int64_t j0, int64_t j1, void *gws) {
  for (int64_t grp = 0; grp < g->cv.groups; grp++)
    cb_cpu_sgemm(cfg, false, false, g->kg, j1 - j0, g->cg, 1.0f, w + grp * g->kg * g->cg, g->cg,
                 x + grp * g->cg * ldx + j0, ldx, 0.0f, y + grp * g->kg * g->pq + j0, g->pq, gws);
}

/* Backward-data, one image, columns [j0, j1): out[C, j] = W^T dy[K, j]
 * per group; out's rows are pq floats long. */
static void gemm_bwd_data(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *w,
                          const float *dy, float *out, int64_t j0, int64_t j1, void *gws) {
  for (int64_t grp = 0; grp < g->cv.groups; grp++)
    cb_cpu_sgemm(cfg, true, false, g->cg, j1 - j0, g->kg, 1.0f, w + grp * g->kg * g->cg, g->cg,
                 dy + grp * g->kg * g->pq + j0, g->pq, 0.0f, out + grp * g->cg * g->pq + j0, g->pq,
                 gws);
}

/* Backward-filter, one image, input channels [c0, c1): dW[K, c] = beta dW
 * + dy[K, PQ] x[c, PQ]^T per group the channels touch; x's channel c0 row
 * at x, rows ldx floats long. */
static void gemm_bwd_filter(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *dy,
                            const float *x, int64_t ldx, int64_t c0, int64_t c1, float beta,
                            float *dw, void *gws) {
  for (int64_t ca = c0; ca < c1;) {
    int64_t grp = ca / g->cg, cb = (grp + 1) * g->cg < c1 ? (grp + 1) * g->cg : c1;
    cb_cpu_sgemm(cfg, false, true, g->kg, cb - ca, g->pq, 1.0f, dy + grp * g->kg * g->pq, g->pq,
                 x + (ca - c0) * ldx, ldx, beta, dw + grp * g->kg * g->cg + (ca - grp * g->cg),
                 g->cg, gws);
    ca = cb;
  }
}

/* One thread's part of a 1x1 convolution. Forward and backward-data
 * split images, or, for a batch smaller than the team at stride 1, the
 * columns of every image; backward-filter splits the input channels
 * (columns of dW) and sums over every image. */
static void gemm_thread(const cb_problem *prob, const cb_cpu_gemm_cfg *cfg, const cb_args *args,
                        const gemm_parts *gp, int t, int nt) {
  const cb_conv *cv = &prob->conv;
  cb_conv_geom g;
  cb_conv_geom_init(&g, cv);
  bool strided = !unit_stride(cv);
  int64_t i0 = 0, i1 = cv->n, j0 = 0, j1 = g.pq;
  if (prob->op == CB_OP_CONV_BWD_FILTER) {
    const float *x = args->src0, *dy = args->src1;
    int64_t c0, c1;
    cb_cpu_share(cv->c, 16, t, nt, &c0, &c1);
    if (c0 >= c1) return;
    for (int64_t i = 0; i < cv->n; i++) {
      const float *xi = x + (i * cv->c + c0) * g.hw;
      if (strided) gather_pixels(&g, x + i * cv->c * g.hw, c0, c1, gp->pix), xi = gp->pix;
      gemm_bwd_filter(cfg, &g, dy + i * cv->k * g.pq, xi, g.pq, c0, c1, i == 0 ? 0.0f : 1.0f,
                      args->dst, gp->gemm);
    }
    return;
  }
  if (cv->n >= nt || strided)
    cb_cpu_share(cv->n, 1, t, nt, &i0, &i1);
  else
    cb_cpu_share(g.pq, 16, t, nt, &j0, &j1);
  for (int64_t i = i0; i < i1; i++) {
    if (prob->op == CB_OP_CONV_FWD) {
      const float *x = (const float *)args->src0 + i * cv->c * g.hw;
      if (strided) gather_pixels(&g, x, 0, cv->c, gp->pix), x = gp->pix;
      gemm_fwd(cfg, &g, args->src1, x, g.pq, (float *)args->dst + i * cv->k * g.pq, j0, j1,
               gp->gemm);
    } else {
      float *dx = (float *)args->dst + i * cv->c * g.hw;
      gemm_bwd_data(cfg, &g, args->src1, (const float *)args->src0 + i * cv->k * g.pq,
                    strided ? gp->pix : dx, j0, j1, gp->gemm);
      if (strided) scatter_pixels(&g, gp->pix, dx);
    }
  }
}

/* ---- the variants ------------------------------------------------------------------------------
 */

static const char *const names[CB_OP_COUNT] = {
    [CB_OP_CONV_FWD] = "conv_fwd/direct",
    [CB_OP_CONV_BWD_DATA] = "conv_bwd_data/direct",
    [CB_OP_CONV_BWD_FILTER] = "conv_bwd_filter/direct",
};

static cb_cpu_ws any_layout(const cb_ctx *ctx, const cb_problem *p, const int *params, void *base,
                            int t, direct_parts *dp, gemm_parts *gp) {
  if (is_1x1(&p->conv)) return gemm_layout(ctx, p, params, base, t, gp);
  dgeom dg;
  dgeom_init(p, params, &dg);
  return direct_layout(ctx, &dg, base, t, dp);
}

/* Backward-data through the kernel multiplies more than it must in two
 * ways, and im2col (which multiplies only real data) takes the problem
 * when either passes a bound (measured at batch 16, 2 threads):
 *   - its output channels are the problem's input channels, in blocks of
 *     kb (32 on AVX-512): L1's 3 channels fill 3/32 of a block and ran 11x
 *     slower than im2col (1012 ms against 94.5);
 *   - it reads dy padded by d (R - 1) - pad, so H W R S taps are
 *     multiplied where P Q R S hold data: L3 (32x32 from 24x24, 1.8x as
 *     many) and L4 (16x16 from 10x10, 2.6x) ran 1.24x and 1.33x slower than
 *     im2col, L2 (1.3x) level with it, AlexNet conv2 (1.0x) 1.2x faster.
 * Forward has neither problem on the layers measured: it beat im2col on
 * L1..L4 and AlexNet conv1 and conv2, so it is accepted everywhere. */
#define BWD_DATA_MAX_TAP_WASTE 1.35

static cb_status bwd_data_worth_it(const char *who, const cb_problem *p, const int *params) {
  dgeom dg;
  dgeom_init(p, params, &dg);
  if (dg.coutg * 2 <= dg.kblocks * dg.kb)
    return cb_error(CB_ERR_UNSUPPORTED,
                    "cpu %s: %lld input channels per group fill less than half of the kernel's "
                    "blocks of %d",
                    who, (long long)dg.coutg, dg.kb);
  double waste = (double)(dg.hout * dg.wout) / (double)(dg.hin * dg.win);
  if (waste > BWD_DATA_MAX_TAP_WASTE)
    return cb_error(CB_ERR_UNSUPPORTED,
                    "cpu %s: the padded gradient makes %.2fx the useful multiplies (over %.2f)",
                    who, waste, BWD_DATA_MAX_TAP_WASTE);
  return CB_OK;
}

/* What the variant of op computes (the three share everything else). */
static cb_status direct_supports(cb_op op, const cb_ctx *ctx, const cb_problem *p,
                                 const int *params) {
  const char *who = names[op];
  cb_status st = cb_cpu_conv_check(who, p, op, params);
  if (st != CB_OK) return st;
  const cb_conv *cv = &p->conv;
  if (!is_1x1(cv)) {
    if (p->op == CB_OP_CONV_BWD_FILTER)
      return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: only 1x1 unpadded filters", who);
    if (p->op == CB_OP_CONV_BWD_DATA && !unit_stride(cv))
      return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: needs stride 1 (or a 1x1 filter)", who);
    if (p->op == CB_OP_CONV_BWD_DATA &&
        (cv->pad_h > cv->dil_h * (cv->r - 1) || cv->pad_w > cv->dil_w * (cv->s - 1)))
      return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: padding wider than the filter's reach", who);
    if (p->op == CB_OP_CONV_BWD_DATA) {
      st = bwd_data_worth_it(who, p, params);
      if (st != CB_OK) return st;
    }
  }
  size_t bytes;
  cb_cpu_ws ws = any_layout(ctx, p, params, NULL, 0, NULL, NULL);
  return cb_cpu_ws_total(&ws, who, &bytes);
}

static cb_status direct_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                  size_t *bytes) {
  cb_cpu_ws ws = any_layout(ctx, p, params, NULL, 0, NULL, NULL);
  return cb_cpu_ws_total(&ws, names[p->op < CB_OP_GEMM ? p->op : 0], bytes);
}

/* conv_fwd: x (src0), w (src1) -> y (dst); conv_bwd_data: dy (src0),
 * w (src1) -> dx (dst); conv_bwd_filter: x (src0), dy (src1) -> dw (dst). */
static cb_status direct_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                            const cb_args *args, void *workspace) {
  (void)plan;
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "cpu %s: a tensor pointer is NULL",
                    names[prob->op < CB_OP_GEMM ? prob->op : 0]);
  cb_cpu_isa isa = cb_cpu_conv_isa(params);
  int threads = cb_cpu_conv_threads(ctx, cb_problem_flops(prob));
  if (!is_1x1(&prob->conv)) {
    dgeom dg;
    dgeom_init(prob, params, &dg);
    direct_run_all(ctx, &dg, isa, args->src0, args->src1, args->dst, workspace, threads);
    return CB_OK;
  }
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, isa);
#pragma omp parallel num_threads(threads)
  {
    gemm_parts gp;
    gemm_layout(ctx, prob, params, workspace, cb_cpu_thread(), &gp);
    gemm_thread(prob, &cfg, args, &gp, cb_cpu_thread(), cb_cpu_team());
  }
  return CB_OK;
}

static cb_status fwd_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return direct_supports(CB_OP_CONV_FWD, ctx, p, params);
}
static cb_status bwd_data_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return direct_supports(CB_OP_CONV_BWD_DATA, ctx, p, params);
}
static cb_status bwd_filter_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return direct_supports(CB_OP_CONV_BWD_FILTER, ctx, p, params);
}

/* The three ops' tables differ only in op, description and supports().
 * Tolerance 0 (left out): integer sums below 2^24 are exact in any order. */
#define DIRECT_VARIANT(op_, desc_, supports_)                                                      \
  {                                                                                                \
    .name = "direct", .op = op_, .desc = desc_, .nparams = 2, .params = direct_params,             \
    .supports = supports_, .workspace = direct_workspace, .run = direct_run,                       \
  }

const cb_variant cb_cpu_conv_fwd_direct = DIRECT_VARIANT(
    CB_OP_CONV_FWD,
    "1x1: cb_cpu_sgemm on the tensors; else a register-blocked direct kernel (np pixels x 32 "
    "channels), x read in place from a padded copy",
    fwd_supports);

const cb_variant cb_cpu_conv_bwd_data_direct = DIRECT_VARIANT(
    CB_OP_CONV_BWD_DATA,
    "1x1: cb_cpu_sgemm (W^T dy) on the tensors; stride 1: the direct kernel on dy with the "
    "flipped, transposed filters",
    bwd_data_supports);

const cb_variant cb_cpu_conv_bwd_filter_direct = DIRECT_VARIANT(
    CB_OP_CONV_BWD_FILTER, "1x1 only: dW += dy_n x_n^T, cb_cpu_sgemm per image on the tensors",
    bwd_filter_supports);
