/* fftw_geom.c: the geometry of an FFT convolution (see fftw_impl.h):
 * transform sizes, tiles, where each tile's data sits in a transform buffer
 * and which outputs it yields, the chunking of images and weight channels,
 * and the workspace layout.
 *
 * Why the transform may be smaller than the padded image. A circular
 * correlation of length F computes the linear one wherever no read wraps
 * onto data. For the whole image the input sits at positions [pad, pad+h)
 * and reads reach [0, h + 2 pad); those past F wrap onto [0, h + 2 pad - F),
 * which is zero padding as long as F >= h + pad. So F >= max(h + pad, p,
 * span) suffices for all three ops (p and span so that outputs do not
 * alias), one pad less than the obvious h + 2 pad; bwd_data and bwd_filter
 * follow by the same argument with their own placements below. */
#include "fftw_impl.h"

#include <stdint.h>

int64_t cb_fftw_good_size(int64_t n) {
  if (n < 1) n = 1;
  for (int64_t m = n;; m++) {
    int64_t r = m;
    static const int64_t primes[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
      while (r % primes[i] == 0) r /= primes[i];
    if (r == 1) return m;
  }
}

static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}
static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}
static int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
static int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

/* Transform length and tiles of one axis. side is the length the op tiles:
 * y's for fwd and bwd_filter, x's for bwd_data. */
static void axis_init(cb_fftw_axis *ax, int64_t side, bool tiled, int64_t tile) {
  if (!tiled) {
    ax->f = cb_fftw_good_size(max64(ax->in + ax->pad, max64(ax->out, ax->span)));
    ax->tile = side;
    ax->ntiles = 1;
    return;
  }
  /* Overlap-save: a tile of t outputs needs t + span - 1 inputs; the
   * transform is the next good length, and the tile grows to fill it
   * (a bigger tile costs nothing more per transform). */
  int64_t t = min64(tile, side);
  ax->f = cb_fftw_good_size(t + ax->span - 1);
  ax->tile = min64(ax->f - ax->span + 1, side);
  ax->ntiles = ceil_div(side, ax->tile);
}

/* Batch-side channels the weight chunk [w0, w0 + wc) needs: every channel
 * of every group the chunk touches. */
static int64_t chunk_aspan(const cb_fftw_geom *g, int64_t w0, int64_t wc, int64_t a_per_group) {
  int64_t g_lo = w0 / g->wgroup, g_hi = (w0 + wc - 1) / g->wgroup + 1;
  return (g_hi - g_lo) * a_per_group;
}

static int64_t max_aspan(const cb_fftw_geom *g, int64_t wc, int64_t a_per_group) {
  int64_t best = 0;
  for (int64_t w0 = 0; w0 < g->wtotal; w0 += wc)
    best = max64(best, chunk_aspan(g, w0, min64(wc, g->wtotal - w0), a_per_group));
  return best;
}

/* Floats of the workspace for a weight chunk of wc and an image chunk of
 * nc (doubles, so the budget search cannot overflow; +32 per bin bounds
 * cb_fftw_bin_stride's padding). */
static double chunk_floats(const cb_fftw_geom *g, int64_t wc, int64_t nc, int64_t aspan) {
  double bins = (double)g->bins, rows = (double)nc * (double)g->tiles;
  double planes = (double)g->bank_rows * (double)wc;
  double a = bins * (rows * (double)aspan + 32), o = bins * (rows * (double)wc + 32);
  double t = (double)g->ax[0].taps * (double)g->bins_w * planes;
  double wt =
      g->op == CB_OP_CONV_BWD_FILTER ? 0.0 : (double)g->ax[0].taps * (double)g->ax[1].taps * planes;
  return 2.0 * (a + o + t) + wt;
}

/* Picks the weight and image chunks. The weight side (the filters' row
 * DFT, or the dw accumulator, and the transposed filters) gets at most half
 * the budget, halving the weight chunk until it fits; then as many images
 * as fit in the rest (at least one). Shrinking the weight chunk only when
 * the weight side is what is big matters: it makes every image chunk
 * transform the batch side again. */
static void choose_chunks(cb_fftw_geom *g, int64_t a_per_group) {
  const double budget = (double)CB_FFTW_BUDGET / sizeof(float);
  int64_t nw = 1, wc = g->wtotal, aspan = max_aspan(g, wc, a_per_group);
  while (wc > 1 && chunk_floats(g, wc, 0, aspan) > budget / 2) {
    nw *= 2;
    wc = ceil_div(g->wtotal, nw);
    aspan = max_aspan(g, wc, a_per_group);
  }
  nw = ceil_div(g->wtotal, wc);
  wc = ceil_div(g->wtotal, nw); /* even chunks */
  aspan = max_aspan(g, wc, a_per_group);

  double fixed = chunk_floats(g, wc, 0, aspan);
  double per_image = chunk_floats(g, wc, 1, aspan) - fixed;
  int64_t nc = g->conv.cv.n;
  if (fixed + per_image * (double)g->conv.cv.n > budget) {
    double fit = (budget - fixed) / per_image;
    nc = fit < 1.0 ? 1 : (int64_t)fit;
  }
  int64_t nn = ceil_div(g->conv.cv.n, nc);
  g->wchunk = wc;
  g->nchunk = ceil_div(g->conv.cv.n, nn);
  g->aspan = aspan;
}

cb_status cb_fftw_geom_init(const cb_problem *p, bool tiled, int64_t tile, cb_fftw_geom *g) {
  const cb_conv *cv = &p->conv;
  *g = (cb_fftw_geom){0};
  if (p->op != CB_OP_CONV_FWD && p->op != CB_OP_CONV_BWD_DATA && p->op != CB_OP_CONV_BWD_FILTER)
    return cb_error(CB_ERR_UNSUPPORTED, "fftw: %s is not a convolution", cb_op_name(p->op));
  if (cv->stride_h != 1 || cv->stride_w != 1)
    return cb_error(CB_ERR_UNSUPPORTED,
                    "fftw: stride %lldx%lld: FFT convolution computes every stride-1 output, so "
                    "a strided one would waste most of the transform",
                    (long long)cv->stride_h, (long long)cv->stride_w);
  if (tiled && (tile < 1 || tile > CB_FFTW_TILE_MAX))
    return cb_error(CB_ERR_INVALID, "fftw: tile %lld outside 1..%d", (long long)tile,
                    CB_FFTW_TILE_MAX);
  g->op = p->op;
  g->tiled = tiled;
  cb_conv_geom_init(&g->conv, cv);
  int64_t in[2] = {cv->h, cv->w}, out[2] = {cb_conv_out_h(cv), cb_conv_out_w(cv)};
  int64_t pad[2] = {cv->pad_h, cv->pad_w}, dil[2] = {cv->dil_h, cv->dil_w},
          taps[2] = {cv->r, cv->s};
  for (int a = 0; a < 2; a++) {
    cb_fftw_axis *ax = &g->ax[a];
    ax->in = in[a];
    ax->out = out[a];
    ax->pad = pad[a];
    ax->dil = dil[a];
    ax->taps = taps[a];
    ax->span = dil[a] * (taps[a] - 1) + 1;
    /* Transform lengths beyond this are not worth planning (and keep every
     * product below in range). */
    if (ax->in + 2 * ax->pad > 16384)
      return cb_error(CB_ERR_UNSUPPORTED, "fftw: padded extent %lld is too large to transform",
                      (long long)(ax->in + 2 * ax->pad));
    axis_init(ax, p->op == CB_OP_CONV_BWD_DATA ? ax->in : ax->out, tiled, tile);
  }
  g->tiles = g->ax[0].ntiles * g->ax[1].ntiles;
  if (tiled && g->tiles == 1) {
    bool data = p->op == CB_OP_CONV_BWD_DATA; /* bwd_data tiles dx, the others y */
    return cb_error(
        CB_ERR_UNSUPPORTED, "fftw fft_tiled: the %lldx%lld %s fits one %lldx%lld tile; use fft",
        (long long)(data ? in[0] : out[0]), (long long)(data ? in[1] : out[1]),
        data ? "input gradient" : "output", (long long)g->ax[0].tile, (long long)g->ax[1].tile);
  }
  g->bins_w = g->ax[1].f / 2 + 1;
  g->bins = g->ax[0].f * g->bins_w;

  bool data = p->op == CB_OP_CONV_BWD_DATA;
  g->wtotal = data ? g->conv.cv.c : g->conv.cv.k;
  g->wgroup = data ? g->conv.cg : g->conv.kg;
  g->bank_rows = data ? g->conv.kg : g->conv.cg;
  int64_t fhw = g->ax[0].f * g->ax[1].f;
  /* About 128 KiB of real planes per FFTW call: enough planes to amortise
   * the call, few enough to stay in L2 with their spectra. */
  int64_t gp = 32768 / fhw;
  g->group_planes = (int)(gp < 1 ? 1 : gp > 16 ? 16 : gp);
  g->plane_real = round_up(fhw, CB_FFTW_ALIGN / sizeof(float));
  g->plane_cplx = round_up(g->ax[0].f * g->bins_w, CB_FFTW_ALIGN / sizeof(fftwf_complex));
  /* The scatter into the frequency buffers writes one run of up to
   * scatter_planes floats per bin; 16 fill a cache line. The per-thread
   * spectra of that many planes are kept under about 2 MiB. */
  int64_t sp = min64(16, max64(1, (2 << 20) / (g->plane_cplx * (int64_t)sizeof(fftwf_complex))));
  g->scatter_planes = (int)(ceil_div(sp, g->group_planes) * g->group_planes);

  choose_chunks(g, data ? g->conv.kg : g->conv.cg);

  /* Filter spectra made per step: fh_block x bank_rows x col_block complex
   * in a per-thread buffer of at most CB_FFTW_WBUF, so it stays in L2 while
   * the per-bin GEMMs read it (col_block at least 32, one vector tile).
   * bwd_filter takes more fh per step because its inverse column DFT
   * accumulates into U once per step. */
  g->fh_block = min64(g->ax[0].f, p->op == CB_OP_CONV_BWD_FILTER ? 8 : 4);
  g->col_block = (CB_FFTW_WBUF / (g->fh_block * g->bank_rows)) / 32 * 32;
  if (g->col_block < 32) g->col_block = 32;
  /* bwd_filter's threads split (fw, column block) pairs (each owns its
   * part of U across all fh): narrower blocks when there are too few of
   * them to balance a few threads. */
  while (p->op == CB_OP_CONV_BWD_FILTER && g->col_block > 32 &&
         g->bins_w * ceil_div(g->wchunk, g->col_block) < 32)
    g->col_block = round_up(g->col_block / 2, 32);

  /* The layout; every buffer (and every imaginary half) 64-byte aligned. */
  const int64_t al = CB_FFTW_ALIGN / sizeof(float);
  int64_t rows = g->nchunk * g->tiles, planes = g->bank_rows * g->wchunk;
  double check = chunk_floats(g, g->wchunk, g->nchunk, g->aspan);
  if (check > (double)((int64_t)1 << 38))
    return cb_error(CB_ERR_UNSUPPORTED, "fftw: the transformed tensors need %.3g GiB",
                    check * 4.0 / (1 << 30));
  cb_fftw_layout *l = &g->ws;
  l->a_n = round_up(g->bins * cb_fftw_bin_stride(rows * g->aspan), al);
  l->o_n = round_up(g->bins * cb_fftw_bin_stride(rows * g->wchunk), al);
  l->t_n = round_up(g->ax[0].taps * g->bins_w * planes, al);
  l->a = 0;
  l->o = l->a + 2 * l->a_n;
  l->t = l->o + 2 * l->o_n;
  l->wt = l->t + 2 * l->t_n;
  l->total =
      l->wt +
      (p->op == CB_OP_CONV_BWD_FILTER ? 0 : round_up(g->ax[0].taps * g->ax[1].taps * planes, al));
  g->ws_bytes = (size_t)l->total * sizeof(float) + CB_FFTW_ALIGN;
  return CB_OK;
}

cb_fftw_place cb_fftw_place_of(const cb_fftw_geom *g, int axis, cb_fftw_role role, int64_t t) {
  const cb_fftw_axis *ax = &g->ax[axis];
  int64_t len = ax->tile + ax->span - 1; /* inputs one tile of outputs reads */
  cb_fftw_place pl;
  switch (role) {
  case CB_FFTW_X: /* y[o] reads x[o - pad + u] for u < span */
    pl.off = t * ax->tile - ax->pad;
    pl.lo = max64(0, pl.off);
    pl.hi = min64(ax->in, pl.off + len);
    break;
  case CB_FFTW_DY_DATA: /* dx[i] reads dy[i + pad - u] for u < span */
    pl.off = t * ax->tile + ax->pad - ax->span + 1;
    pl.lo = max64(0, pl.off);
    pl.hi = min64(ax->out, pl.off + len);
    break;
  default: /* CB_FFTW_DY_FILTER: the tile's own dy */
    pl.off = t * ax->tile;
    pl.lo = pl.off;
    pl.hi = min64(ax->out, pl.off + ax->tile);
    break;
  }
  if (pl.hi < pl.lo) pl.hi = pl.lo;
  return pl;
}

cb_fftw_crop cb_fftw_crop_of(const cb_fftw_geom *g, int axis, int64_t t) {
  const cb_fftw_axis *ax = &g->ax[axis];
  cb_fftw_crop c;
  c.d0 = t * ax->tile;
  if (g->op == CB_OP_CONV_BWD_DATA) {
    /* the convolution's output i sits span - 1 positions into the buffer */
    c.n = min64(ax->tile, ax->in - c.d0);
    c.b0 = (ax->span - 1) % ax->f;
  } else {
    c.n = min64(ax->tile, ax->out - c.d0);
    c.b0 = 0;
  }
  return c;
}

int64_t cb_fftw_blocks(const cb_fftw_geom *g, int64_t w0, int64_t wc, cb_fftw_block *blocks) {
  int64_t nb = 0;
  for (int64_t js = 0; js < wc;) {
    int64_t grp = (w0 + js) / g->wgroup;
    int64_t je = min64(min64(wc, (grp + 1) * g->wgroup - w0), js + g->col_block);
    blocks[nb++] = (cb_fftw_block){js, je, grp};
    js = je;
  }
  return nb;
}
