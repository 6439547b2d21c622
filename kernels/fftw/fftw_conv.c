/* fftw_conv.c: the three FFT convolution ops of the fftw backend and their
 * variants, fft (whole-image transforms) and fft_tiled (overlap-save tiles
 * of a tunable size). Both share everything but the geometry; see
 * fftw_impl.h for the method and fftw_geom.c for the sizes.
 *
 * Each op loops over weight chunks (the filters' row DFT, or the dw
 * accumulator, stays resident for one) and, inside, over image chunks:
 * transform the batch side, the per-bin work (filter spectra made on the
 * fly and one complex GEMM per frequency bin; threads split the bins and
 * column blocks, so no two write the same output), transform back. */
#include "fftw_impl.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

/* ---- the parts every variant shares --------------------------------------- */

/* The tile parameter: overlap-save tiles of t x t outputs (grown to fill a
 * good transform length). Small tiles waste less on a ragged edge but pay
 * (t + span - 1)^2 / t^2 transform work per output. 32 measured best of
 * the four on L1 and L2 at batch 16 (the layers big enough to tile). */
static const int tile_values[] = {8, 16, 32, 64};
static const cb_param_def tile_param[] = {
    {.name = "tile", .values = tile_values, .nvalues = 4, .def = 32},
};

static cb_status geom_for(const cb_problem *p, const int *params, bool tiled, cb_fftw_geom *g) {
  return cb_fftw_geom_init(p, tiled, tiled ? params[0] : 0, g);
}

static cb_status workspace_for(const cb_problem *p, const int *params, bool tiled, size_t *bytes) {
  cb_fftw_geom g;
  cb_status st = geom_for(p, params, tiled, &g);
  *bytes = st == CB_OK ? g.ws_bytes : 0;
  return st;
}

static cb_status plan_for(cb_ctx *ctx, const cb_problem *p, const int *params, bool tiled,
                          void **plan) {
  cb_fftw_geom g;
  cb_status st = geom_for(p, params, tiled, &g);
  return st != CB_OK ? st : cb_fftw_plan_make(ctx, &g, (cb_fftw_plan **)plan);
}

/* The variants' entry points: fft and fft_tiled differ only in the flag. */
static cb_status supports_fft(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  cb_fftw_geom g;
  return geom_for(p, params, false, &g);
}

static cb_status supports_tiled(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx;
  cb_fftw_geom g;
  return geom_for(p, params, true, &g);
}

static cb_status workspace_fft(const cb_ctx *ctx, const cb_problem *p, const int *params,
                               size_t *bytes) {
  (void)ctx;
  return workspace_for(p, params, false, bytes);
}

static cb_status workspace_tiled(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                 size_t *bytes) {
  (void)ctx;
  return workspace_for(p, params, true, bytes);
}

static cb_status plan_fft(cb_ctx *ctx, const cb_problem *p, const int *params, void **plan) {
  return plan_for(ctx, p, params, false, plan);
}

static cb_status plan_tiled(cb_ctx *ctx, const cb_problem *p, const int *params, void **plan) {
  return plan_for(ctx, p, params, true, plan);
}

static void plan_destroy(void *plan) {
  cb_fftw_plan_free(plan);
}

/* "fft 64x64 r2c, chunk 16 img x 128 k, avx512 4x32": transform size (and
 * tiles), the chunks, and the GEMM kernel in use. */
static void plan_info(const void *plan, char *buf, size_t len) {
  const cb_fftw_plan *pl = plan;
  snprintf(buf, len, "%s", pl ? pl->info : "");
}

/* The buffers of a run, from the aligned workspace. */
typedef struct bufs {
  float *a_re, *a_im, *o_re, *o_im, *t_re, *t_im, *base;
} bufs;

static cb_status begin(cb_ctx *ctx, const void *plan, const cb_args *args, void *workspace,
                       const char *op, bufs *b, int *threads) {
  if (!plan) return cb_error(CB_ERR_INVALID, "fftw %s: run without a plan", op);
  if (!workspace) return cb_error(CB_ERR_INVALID, "fftw %s: run without a workspace", op);
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "fftw %s: a tensor pointer is NULL", op);
  const cb_fftw_plan *pl = plan;
  const cb_fftw_layout *l = &pl->g.ws;
  float *ws = cb_fftw_ws_base(workspace);
  *b = (bufs){
      .a_re = ws + l->a,
      .a_im = ws + l->a + l->a_n,
      .o_re = ws + l->o,
      .o_im = ws + l->o + l->o_n,
      .t_re = ws + l->t,
      .t_im = ws + l->t + l->t_n,
      .base = ws,
  };
  /* the per-thread buffers exist for the plan's thread count */
  *threads = ctx->threads < pl->threads ? ctx->threads : pl->threads;
  if (*threads < 1) *threads = 1;
  return CB_OK;
}

/* One chunk's per-bin work: which buffers, and how the batch-side matrix A
 * (X for fwd and bwd_filter, DY for bwd_data) is indexed. */
typedef struct chunk {
  const cb_fftw_plan *pl;
  const bufs *b;
  const cb_fftw_block *blocks;
  int64_t nblocks;
  int64_t wc;           /* weight channels in the chunk */
  int64_t rows;         /* (image, tile) rows of the frequency buffers */
  int64_t nas;          /* A's channels (columns) per row */
  int64_t a_first;      /* the batch-side channel of A's column 0 */
  int64_t a_per_group;  /* batch-side channels per group */
  int64_t a_bin, o_bin; /* bin strides of the a and o buffers */
} chunk;

/* Where group grp's part of A starts within bin bin. */
static int64_t a_at(const chunk *ch, int64_t bin, int64_t grp) {
  return bin * ch->a_bin + grp * ch->a_per_group - ch->a_first;
}

/* Sets GEMM gm (reading one bin's A) to prefetch the A of the bin bw on,
 * the next fh and so the next one its thread runs, while it computes. */
static void prefetch_next_bin(const chunk *ch, int64_t bw, cb_fftw_gemm *gm) {
  gm->pf_re = gm->a_re + bw * ch->a_bin;
  gm->pf_im = gm->a_im + bw * ch->a_bin;
  gm->pf_bytes = ch->rows * ch->nas * (int64_t)sizeof(float);
}

/* fwd and bwd_data: for every fw and column block, the filter spectra of
 * fh_block bins at a time, W[fh][row][col] = sum_r D[fh][r] T[r][fw][row, col],
 * into the thread's buffer, then each of those bins' GEMM
 *   O[m][col] = sum_row A[m][row] op(W[fh][row][col]),
 * op = conj for fwd (correlation). Threads split (column block, fw, fh
 * block) triples, so each writes its own bins and columns of O. */
static void per_bin_forward(const chunk *ch, bool conj, int threads) {
  const cb_fftw_plan *pl = ch->pl;
  const cb_fftw_geom *g = &pl->g;
  const int64_t bw = g->bins_w, fh = g->ax[0].f, planes = g->bank_rows * ch->wc;
  /* A task is one fh block of one (fw, column block): they share nothing
   * but T's slice, which consecutive tasks (fh fastest) find in cache. */
  const int64_t nfhb = (fh + g->fh_block - 1) / g->fh_block;
  const int64_t tasks = bw * ch->nblocks * nfhb;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t task = 0; task < tasks; task++) {
    const cb_fftw_block *blk = &ch->blocks[task / (bw * nfhb)];
    const int64_t fw = task / nfhb % bw, fh0 = task % nfhb * g->fh_block;
    const int64_t width = blk->je - blk->js, bcols = g->bank_rows * width;
    float *w_re = pl->wbuf + (int64_t)cb_fftw_thread_id() * pl->wbuf_floats;
    float *w_im = w_re + g->fh_block * bcols;
    const int64_t nb = min64(g->fh_block, fh - fh0);
    cb_fftw_gemm wg = {
        .m = nb,
        .len = g->ax[0].taps,
        .a_re = pl->dh_re + fh0 * g->ax[0].taps,
        .a_im = pl->dh_im + fh0 * g->ax[0].taps,
        .a_rs = g->ax[0].taps,
        .a_cs = 1,
        .b_re = ch->b->t_re + fw * planes + g->bank_rows * blk->js,
        .b_im = ch->b->t_im + fw * planes + g->bank_rows * blk->js,
        .ldb = bw * planes,
        .n = bcols,
        .c_re = w_re,
        .c_im = w_im,
        .ldc = bcols,
    };
    cb_fftw_cgemm(&wg);
    for (int64_t l = 0; l < nb; l++) {
      int64_t bin = (fh0 + l) * bw + fw, at = a_at(ch, bin, blk->grp);
      cb_fftw_gemm gm = {
          .m = ch->rows,
          .n = width,
          .len = g->bank_rows,
          .a_re = ch->b->a_re + at,
          .a_im = ch->b->a_im + at,
          .a_rs = ch->nas,
          .a_cs = 1,
          .b_re = w_re + l * bcols,
          .b_im = w_im + l * bcols,
          .ldb = width,
          .c_re = ch->b->o_re + bin * ch->o_bin + blk->js,
          .c_im = ch->b->o_im + bin * ch->o_bin + blk->js,
          .ldc = ch->wc,
          .conj_b = conj,
      };
      if (fh0 + l + 1 < fh) prefetch_next_bin(ch, bw, &gm);
      cb_fftw_cgemm(&gm);
    }
  }
}

/* bwd_filter: for every fw and column block, each bin's
 *   DW[fh][c'][col] = sum_m X[m][c'] conj(DY[m][col])
 * into the thread's buffer, fh_block bins at a time, then the inverse
 * column DFT of those bins is added to U[r][fw][c', col] (the first step
 * of the first image chunk overwrites). */
static void per_bin_filter(const chunk *ch, bool first, int threads) {
  const cb_fftw_plan *pl = ch->pl;
  const cb_fftw_geom *g = &pl->g;
  const int64_t bw = g->bins_w, fh = g->ax[0].f, planes = g->bank_rows * ch->wc;
  const int64_t tasks = bw * ch->nblocks;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t task = 0; task < tasks; task++) {
    const cb_fftw_block *blk = &ch->blocks[task / bw];
    const int64_t fw = task % bw, width = blk->je - blk->js, bcols = g->bank_rows * width;
    float *w_re = pl->wbuf + (int64_t)cb_fftw_thread_id() * pl->wbuf_floats;
    float *w_im = w_re + g->fh_block * bcols;
    for (int64_t fh0 = 0; fh0 < fh; fh0 += g->fh_block) {
      const int64_t nb = min64(g->fh_block, fh - fh0);
      for (int64_t l = 0; l < nb; l++) {
        int64_t bin = (fh0 + l) * bw + fw, at = a_at(ch, bin, blk->grp);
        int64_t dy_at = bin * ch->o_bin + blk->js;
        cb_fftw_gemm gm = {
            .m = g->bank_rows,
            .n = width,
            .len = ch->rows,
            .a_re = ch->b->a_re + at,
            .a_im = ch->b->a_im + at,
            .a_rs = 1,
            .a_cs = ch->nas,
            .b_re = ch->b->o_re + dy_at,
            .b_im = ch->b->o_im + dy_at,
            .ldb = ch->wc,
            .c_re = w_re + l * bcols,
            .c_im = w_im + l * bcols,
            .ldc = width,
            .conj_b = true,
        };
        if (fh0 + l + 1 < fh) prefetch_next_bin(ch, bw, &gm);
        cb_fftw_cgemm(&gm);
      }
      cb_fftw_gemm ug = {
          .m = g->ax[0].taps,
          .n = bcols,
          .len = nb,
          .a_re = pl->eh_re + fh0,
          .a_im = pl->eh_im + fh0,
          .a_rs = fh,
          .a_cs = 1,
          .b_re = w_re,
          .b_im = w_im,
          .ldb = bcols,
          .c_re = ch->b->t_re + fw * planes + g->bank_rows * blk->js,
          .c_im = ch->b->t_im + fw * planes + g->bank_rows * blk->js,
          .ldc = bw * planes,
          .accumulate = !(first && fh0 == 0),
      };
      cb_fftw_cgemm(&ug);
    }
  }
}

/* Whether the batch side of chunk (n0, ch_lo) is already in buffer a: with
 * one image chunk and several weight chunks of the same groups, it is. */
typedef struct held {
  int64_t n0, ch_lo, ch_hi;
} held;

static void forward_once(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b, held *h) {
  if (h->n0 == b->n0 && h->ch_lo == b->ch_lo && h->ch_hi == b->ch_hi) return;
  cb_fftw_forward(pl, threads, b);
  *h = (held){b->n0, b->ch_lo, b->ch_hi};
}

/* Column blocks of a weight chunk, for the run's life. */
static cb_status alloc_blocks(const cb_fftw_geom *g, cb_fftw_block **out) {
  *out = malloc(sizeof(cb_fftw_block) * (size_t)g->wchunk);
  return *out ? CB_OK
              : cb_error(CB_ERR_NOMEM, "fftw: cannot allocate %lld column blocks",
                         (long long)g->wchunk);
}

/* One weight chunk: weight channels [w0, w0 + wc) in nblocks column
 * blocks, and the batch-side channels [a_lo, a_lo + nas) of the groups
 * those touch, a_per_group of them per group. */
typedef struct wchunk {
  int64_t w0, wc, nblocks, a_lo, nas, a_per_group;
} wchunk;

/* The chunk at w0 of wch weight channels; fills blocks. */
static wchunk weight_chunk(const cb_fftw_geom *g, int64_t w0, int64_t wch, int64_t a_per_group,
                           cb_fftw_block *blocks) {
  wchunk wk = {.w0 = w0, .wc = min64(g->wchunk, wch - w0), .a_per_group = a_per_group};
  wk.nblocks = cb_fftw_blocks(g, w0, wk.wc, blocks);
  int64_t g_lo = blocks[0].grp, g_hi = blocks[wk.nblocks - 1].grp + 1;
  wk.a_lo = g_lo * a_per_group;
  wk.nas = (g_hi - g_lo) * a_per_group;
  return wk;
}

/* The per-bin work of weight chunk wk on nimg images. */
static chunk chunk_of(const cb_fftw_plan *pl, const bufs *b, const cb_fftw_block *blocks,
                      const wchunk *wk, int64_t nimg) {
  const int64_t rows = nimg * pl->g.tiles;
  return (chunk){
      .pl = pl,
      .b = b,
      .blocks = blocks,
      .nblocks = wk->nblocks,
      .wc = wk->wc,
      .rows = rows,
      .nas = wk->nas,
      .a_first = wk->a_lo,
      .a_per_group = wk->a_per_group,
      .a_bin = cb_fftw_bin_stride(rows * wk->nas),
      .o_bin = cb_fftw_bin_stride(rows * wk->wc),
  };
}

/* A tensor's channels and planes: x and dx have the image's planes, y and
 * dy the output's. */
typedef struct planes {
  int64_t chans, rows, cols;
} planes;

static planes image_planes(const cb_fftw_geom *g, int64_t chans) {
  return (planes){chans, g->ax[0].in, g->ax[1].in};
}

static planes output_planes(const cb_fftw_geom *g, int64_t chans) {
  return (planes){chans, g->ax[0].out, g->ax[1].out};
}

/* Channels [lo, lo + nch) of images [n0, n0 + nimg) of a tensor of shape
 * t, to or from frequency buffer (f_re, f_im); the caller adds the tensor
 * (src or dst) and, for a forward transform, the role. */
static cb_fftw_batch batch_of(planes t, int64_t n0, int64_t nimg, int64_t lo, int64_t nch,
                              float *f_re, float *f_im) {
  return (cb_fftw_batch){
      .chans = t.chans,
      .rows = t.rows,
      .cols = t.cols,
      .n0 = n0,
      .nimg = nimg,
      .ch_lo = lo,
      .ch_hi = lo + nch,
      .col0 = lo,
      .ncols = nch,
      .f_re = f_re,
      .f_im = f_im,
  };
}

/* ---- forward and backward data ---------------------------------------------- */

/* fwd:      x[n,c,h,w] (src0), w[k,c/g,r,s] (src1) -> y[n,k,p,q] (dst)
 * bwd_data: dy[n,k,p,q] (src0), w[k,c/g,r,s] (src1) -> dx[n,c,h,w] (dst)
 * The same loops: the batch side a (x or dy) with every channel of the
 * chunk's groups, the filters' row DFT for the weight chunk, the per-bin
 * work, and the inverse into dst (y or dx). dst is overwritten. */
static cb_status data_side_run(cb_ctx *ctx, const void *plan, const cb_args *args, void *workspace,
                               const char *op) {
  bufs b;
  int threads;
  cb_status st = begin(ctx, plan, args, workspace, op, &b, &threads);
  if (st != CB_OK) return st;
  const cb_fftw_plan *pl = plan;
  const cb_fftw_geom *g = &pl->g;
  const bool fwd = g->op == CB_OP_CONV_FWD;
  /* batch-side input (x or dy) and output (y or dx) */
  const planes in = fwd ? image_planes(g, g->conv.cv.c) : output_planes(g, g->conv.cv.k);
  const planes out = fwd ? output_planes(g, g->conv.cv.k) : image_planes(g, g->conv.cv.c);
  cb_fftw_block *blocks;
  if ((st = alloc_blocks(g, &blocks)) != CB_OK) return st;
  held h = {-1, -1, -1};
  for (int64_t w0 = 0; w0 < out.chans; w0 += g->wchunk) {
    wchunk wk = weight_chunk(g, w0, out.chans, fwd ? g->conv.cg : g->conv.kg, blocks);
    cb_fftw_filter_rows(pl, threads, args->src1, w0, wk.wc, blocks, wk.nblocks, b.base);
    for (int64_t n0 = 0; n0 < g->conv.cv.n; n0 += g->nchunk) {
      int64_t nimg = min64(g->nchunk, g->conv.cv.n - n0);
      cb_fftw_batch a = batch_of(in, n0, nimg, wk.a_lo, wk.nas, b.a_re, b.a_im);
      a.src = args->src0;
      a.role = fwd ? CB_FFTW_X : CB_FFTW_DY_DATA;
      forward_once(pl, threads, &a, &h);
      chunk ch = chunk_of(pl, &b, blocks, &wk, nimg);
      per_bin_forward(&ch, fwd, threads);
      cb_fftw_batch o = batch_of(out, n0, nimg, w0, wk.wc, b.o_re, b.o_im);
      o.dst = args->dst;
      cb_fftw_inverse(pl, threads, &o);
    }
  }
  free(blocks);
  return CB_OK;
}

/* x[n,c,h,w] (src0), w[k,c/g,r,s] (src1) -> y[n,k,p,q] (dst), overwritten. */
static cb_status fwd_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                         const cb_args *args, void *workspace) {
  (void)prob, (void)params;
  return data_side_run(ctx, plan, args, workspace, "conv_fwd");
}

/* dy[n,k,p,q] (src0), w[k,c/g,r,s] (src1) -> dx[n,c,h,w] (dst), overwritten. */
static cb_status bwd_data_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                              const cb_args *args, void *workspace) {
  (void)prob, (void)params;
  return data_side_run(ctx, plan, args, workspace, "conv_bwd_data");
}

/* ---- backward filter -------------------------------------------------------- */

/* x[n,c,h,w] (src0), dy[n,k,p,q] (src1) -> dw[k,c/g,r,s] (dst), overwritten. */
static cb_status bwd_filter_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                                const cb_args *args, void *workspace) {
  (void)prob, (void)params;
  bufs b;
  int threads;
  cb_status st = begin(ctx, plan, args, workspace, "conv_bwd_filter", &b, &threads);
  if (st != CB_OK) return st;
  const cb_fftw_plan *pl = plan;
  const cb_fftw_geom *g = &pl->g;
  cb_fftw_block *blocks;
  if ((st = alloc_blocks(g, &blocks)) != CB_OK) return st;
  held h = {-1, -1, -1};
  for (int64_t w0 = 0; w0 < g->conv.cv.k; w0 += g->wchunk) {
    wchunk wk = weight_chunk(g, w0, g->conv.cv.k, g->conv.cg, blocks);
    for (int64_t n0 = 0; n0 < g->conv.cv.n; n0 += g->nchunk) {
      int64_t nimg = min64(g->nchunk, g->conv.cv.n - n0);
      cb_fftw_batch xb =
          batch_of(image_planes(g, g->conv.cv.c), n0, nimg, wk.a_lo, wk.nas, b.a_re, b.a_im);
      xb.src = args->src0;
      xb.role = CB_FFTW_X;
      forward_once(pl, threads, &xb, &h);
      cb_fftw_batch dyb =
          batch_of(output_planes(g, g->conv.cv.k), n0, nimg, w0, wk.wc, b.o_re, b.o_im);
      dyb.src = args->src1;
      dyb.role = CB_FFTW_DY_FILTER;
      cb_fftw_forward(pl, threads, &dyb);
      chunk ch = chunk_of(pl, &b, blocks, &wk, nimg);
      per_bin_filter(&ch, n0 == 0, threads);
    }
    cb_fftw_filter_rows_inverse(pl, threads, args->dst, w0, wk.wc, blocks, wk.nblocks, b.base);
  }
  free(blocks);
  return CB_OK;
}

/* ---- the variants --------------------------------------------------------- */

/* Tolerance, the same for every variant and op. With small-integer data
 * the only error is rounding: the transforms' (about log2(f_h f_w)
 * roundings relative to the largest spectrum value), the filter DFT
 * tables' (each entry rounded once from double) and the channel sums of
 * the per-bin GEMMs. Measured max |got - ref| / max(1, max |ref|) on
 * integers in [-2, 2]: 3.2e-7 on tests/test_xbackend.c's shapes, and at
 * most 6.7e-7 on L1..L5 and AlexNet conv2..5 at batch 2, L3 and L5 at batch
 * 16, a 224x224x64 3x3 layer and a 14x14x512 3x3 layer, over both variants,
 * every tile size and all three ops. 1e-5 leaves a factor of 15 for deeper
 * channel sums and larger transforms. */
#define CB_FFTW_TOL 1e-5

#define CB_FFTW_VARIANT(var, op_, run_, sup, wsf, planf, nm, dsc, np, prm)                         \
  const cb_variant var = {                                                                         \
      .name = nm,                                                                                  \
      .op = op_,                                                                                   \
      .desc = dsc,                                                                                 \
      .tolerance = CB_FFTW_TOL,                                                                    \
      .nparams = np,                                                                               \
      .params = prm,                                                                               \
      .supports = sup,                                                                             \
      .workspace = wsf,                                                                            \
      .plan_create = planf,                                                                        \
      .plan_destroy = plan_destroy,                                                                \
      .plan_info = plan_info,                                                                      \
      .run = run_,                                                                                 \
  }

#define CB_FFT_DESC   "whole-image r2c transforms, per-bin complex GEMM over channels"
#define CB_TILED_DESC "overlap-save tiles of tile x tile outputs, per-bin complex GEMM"

CB_FFTW_VARIANT(cb_fftw_conv_fwd_fft, CB_OP_CONV_FWD, fwd_run, supports_fft, workspace_fft,
                plan_fft, "fft", CB_FFT_DESC, 0, NULL);
CB_FFTW_VARIANT(cb_fftw_conv_fwd_tiled, CB_OP_CONV_FWD, fwd_run, supports_tiled, workspace_tiled,
                plan_tiled, "fft_tiled", CB_TILED_DESC, 1, tile_param);
CB_FFTW_VARIANT(cb_fftw_conv_bwd_data_fft, CB_OP_CONV_BWD_DATA, bwd_data_run, supports_fft,
                workspace_fft, plan_fft, "fft", CB_FFT_DESC, 0, NULL);
CB_FFTW_VARIANT(cb_fftw_conv_bwd_data_tiled, CB_OP_CONV_BWD_DATA, bwd_data_run, supports_tiled,
                workspace_tiled, plan_tiled, "fft_tiled", CB_TILED_DESC, 1, tile_param);
CB_FFTW_VARIANT(cb_fftw_conv_bwd_filter_fft, CB_OP_CONV_BWD_FILTER, bwd_filter_run, supports_fft,
                workspace_fft, plan_fft, "fft", CB_FFT_DESC, 0, NULL);
CB_FFTW_VARIANT(cb_fftw_conv_bwd_filter_tiled, CB_OP_CONV_BWD_FILTER, bwd_filter_run,
                supports_tiled, workspace_tiled, plan_tiled, "fft_tiled", CB_TILED_DESC, 1,
                tile_param);
