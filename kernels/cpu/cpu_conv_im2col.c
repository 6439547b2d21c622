/* cpu_conv_im2col.c: the im2col variant of the three conv ops: every
 * convolution ref computes (groups, stride, padding, dilation) as GEMMs
 * on the col matrix (layout in cpu_conv.h), with cb_cpu_sgemm:
 *
 *   conv_fwd         col = im2col(x), y[K, cols] = W[K, C/G R S] col
 *   conv_bwd_data    col = W^T dy, dx = col2im(col)
 *   conv_bwd_filter  col = im2col(x), dW[K, C/G R S] += dy[K, cols] col^T
 * (per group g: rows g K/G.. of W, y and dy, rows g C/G R S.. of col).
 *
 * Nothing is unfolded whole: each thread takes its columns (output
 * positions) a piece at a time, at most "chunk" columns, into a col block
 * of its own, and multiplies it right away while it is still in the
 * core's cache. A piece is part of one image when images are big (its
 * GEMM writes y's planes or reads dy's in place, leading dimension P Q),
 * or several whole images when they are small (L4, L5, AlexNet conv3..5),
 * so that the GEMMs stay wide: then y is written through, or dy read
 * from, a [K, columns] block copied to and from the NCHW planes. chunk 0
 * picks the piece size from the shape (chunk_for).
 *
 * Threads split the work where no two of them write the same output:
 * forward by columns (whole images when there are enough), backward-data
 * by images (or by input channels for a batch smaller than the team,
 * since col2im of two images never meets but col2im of two pieces of one
 * image does), backward-filter by rows of col (columns of dW).
 *
 * With small-integer data every product and partial sum is an integer
 * below 2^24, exact in float in any order, so all three ops match ref
 * exactly: tolerance 0. */
#include "cpu_conv.h"

#include <string.h>

static const int chunk_values[] = {0, 256, 512, 1024, 2048, 4096, 8192};

static const cb_param_def im2col_params[2] = {
    CB_CPU_ISA_PARAM,
    {"chunk", chunk_values, (int)(sizeof chunk_values / sizeof *chunk_values), 0},
};

/* The automatic piece: 2048 columns, fewer when one piece's col block
 * would pass 8 MiB (deep filters: L2's 5184 rows get 404 columns), but
 * never fewer than 256, below which every GEMM packs W again for too
 * little work. */
#define AUTO_COLS      2048
#define AUTO_MIN_COLS  256
#define AUTO_COL_BYTES ((int64_t)8 << 20)

static int64_t chunk_for(const cb_conv_geom *g, const int *params) {
  int chunk = cb_cpu_param(params, 1, im2col_params);
  if (chunk > 0) return chunk;
  int64_t cols = AUTO_COL_BYTES / (4 * g->crs);
  if (cols > AUTO_COLS) cols = AUTO_COLS;
  return cols < AUTO_MIN_COLS ? AUTO_MIN_COLS : cols;
}

/* The end of the piece that starts at column j of a thread's columns
 * [j, hi): whole images (as many as fit in cs columns) when an image
 * starts at j and fits, else the part of j's image up to hi, cut in
 * near-equal pieces of at most cs columns. */
static int64_t next_piece(const cb_conv_geom *g, int64_t j, int64_t hi, int64_t cs) {
  int64_t off = j % g->pq;
  if (off == 0 && g->pq <= cs && hi - j >= g->pq) {
    int64_t b = cs / g->pq, avail = (hi - j) / g->pq;
    return j + (b < avail ? b : avail) * g->pq;
  }
  int64_t end = j - off + g->pq < hi ? j - off + g->pq : hi;
  int64_t pieces = (end - j + cs - 1) / cs;
  return j + (end - j + pieces - 1) / pieces;
}

/* A thread's columns of all N P Q: whole images when every thread gets
 * one, else an even split (in 16-column blocks, the GEMM's vector width). */
static void column_share(const cb_conv_geom *g, int t, int nt, int64_t *lo, int64_t *hi) {
  int64_t n = g->cv.n;
  cb_cpu_share(n * g->pq, n >= nt ? g->pq : 16, t, nt, lo, hi);
}

/* What every run() does before its team starts: p's geometry into g, the
 * GEMM configuration of the ISA params choose into cfg and the team worth
 * starting into *threads (always set, so callers need no defaults); then
 * CB_ERR_INVALID naming who when a tensor pointer of args is NULL. */
static cb_status run_begin(const char *who, const cb_ctx *ctx, const cb_problem *p,
                           const int *params, const cb_args *args, cb_conv_geom *g,
                           cb_cpu_gemm_cfg *cfg, int *threads) {
  cb_conv_geom_init(g, &p->conv);
  *cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  *threads = cb_cpu_conv_threads(ctx, cb_problem_flops(p));
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "cpu %s: a tensor pointer is NULL", who);
  return CB_OK;
}

/* Each thread's part of the workspace: a col block of rows x cols floats,
 * a [K, cols] block for y or dy, and the packing space of its GEMMs. */
typedef struct thread_parts {
  float *col, *kmat;
  void *gemm;
} thread_parts;

/* Carves (base != NULL) or counts (base NULL) threads slots of parts;
 * *mine gets slot t's. The GEMMs are gm x gn at most, of the depths
 * gk[0..nk). */
static cb_cpu_ws layout(const cb_conv_geom *g, const cb_cpu_gemm_cfg *cfg, int64_t rows,
                        int64_t cols, int64_t gm, int64_t gn, const int64_t *gk, int nk,
                        int threads, void *base, int t, thread_parts *mine) {
  cb_cpu_ws ws = cb_cpu_ws_begin(base);
  for (int slot = 0; slot < threads; slot++) {
    thread_parts parts;
    parts.col = cb_cpu_ws_floats(&ws, rows * cols);
    parts.kmat = cb_cpu_ws_floats(&ws, g->cv.k * cols);
    parts.gemm = cb_cpu_ws_gemm(&ws, cfg, gm, gn, gk, nk);
    if (slot == t && mine) *mine = parts;
  }
  return ws;
}

/* An op's layout: fwd_layout, bwd_data_layout or bwd_filter_layout. */
typedef cb_cpu_ws (*layout_fn)(const cb_ctx *ctx, const cb_problem *p, const int *params,
                               void *base, int t, thread_parts *mine);

/* The workspace bytes lay counts for problem p; who names the variant in
 * errors. */
static cb_status layout_bytes(layout_fn lay, const char *who, const cb_ctx *ctx,
                              const cb_problem *p, const int *params, size_t *bytes) {
  cb_cpu_ws ws = lay(ctx, p, params, NULL, 0, NULL);
  return cb_cpu_ws_total(&ws, who, bytes);
}

/* Whether op runs p: the common checks, then a workspace that can be
 * counted. */
static cb_status layout_supports(layout_fn lay, const char *who, cb_op op, const cb_ctx *ctx,
                                 const cb_problem *p, const int *params) {
  size_t bytes;
  cb_status st = cb_cpu_conv_check(who, p, op, params);
  if (st != CB_OK) return st;
  return layout_bytes(lay, who, ctx, p, params, &bytes);
}

/* ---- forward ------------------------------------------------------------------ */

/* The shape of the forward layout: a col block [C R S, cs], GEMMs
 * K/G x cs x C/G R S. */
static cb_cpu_ws fwd_layout(const cb_ctx *ctx, const cb_problem *p, const int *params, void *base,
                            int t, thread_parts *mine) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  int64_t cs = chunk_for(&g, params);
  return layout(&g, &cfg, g.crs, cs, g.kg, cs, &g.cgrs, 1, ctx->threads, base, t, mine);
}

static cb_status fwd_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return layout_supports(fwd_layout, "conv_fwd/im2col", CB_OP_CONV_FWD, ctx, p, params);
}

static cb_status fwd_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                               size_t *bytes) {
  return layout_bytes(fwd_layout, "conv_fwd/im2col", ctx, p, params, bytes);
}

/* out[:, 0:cols] = W col[:, 0:cols], group by group; col rows are cols
 * floats long, out rows ldout. */
static void fwd_gemms(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *w,
                      const float *col, int64_t cols, float *out, int64_t ldout, void *gws) {
  for (int64_t grp = 0; grp < g->cv.groups; grp++)
    cb_cpu_sgemm(cfg, false, false, g->kg, cols, g->cgrs, 1.0f, w + grp * g->kg * g->cgrs, g->cgrs,
                 col + grp * g->cgrs * cols, cols, 0.0f, out + grp * g->kg * ldout, ldout, gws);
}

/* One thread's columns [lo, hi) of y, piece by piece. */
static void fwd_thread(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *x,
                       const float *w, float *y, int64_t lo, int64_t hi, int64_t cs,
                       const thread_parts *tp) {
  const cb_conv *cv = &g->cv;
  for (int64_t j = lo; j < hi;) {
    int64_t je = next_piece(g, j, hi, cs), cols = je - j, i = j / g->pq;
    cb_cpu_im2col(cfg->isa, g, x, 0, g->crs, j, je, tp->col, cols);
    if ((je - 1) / g->pq == i) {
      /* Part of one image: the GEMMs write y's planes in place. */
      fwd_gemms(cfg, g, w, tp->col, cols, y + i * cv->k * g->pq + (j - i * g->pq), g->pq, tp->gemm);
    } else {
      fwd_gemms(cfg, g, w, tp->col, cols, tp->kmat, cols, tp->gemm);
      cb_matrix_to_planes(tp->kmat, y, cols, cv->k, g->pq, j, je);
    }
    j = je;
  }
}

/* x[n,c,h,w] (src0), w[k,c/g,r,s] (src1) -> y[n,k,p,q] (dst). */
static cb_status fwd_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                         const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  cb_cpu_gemm_cfg cfg;
  int threads;
  cb_status st = run_begin("conv_fwd/im2col", ctx, prob, params, args, &g, &cfg, &threads);
  if (st != CB_OK) return st;
  int64_t cs = chunk_for(&g, params);
#pragma omp parallel num_threads(threads)
  {
    int t = cb_cpu_thread();
    thread_parts tp;
    int64_t lo, hi;
    fwd_layout(ctx, prob, params, workspace, t, &tp);
    column_share(&g, t, cb_cpu_team(), &lo, &hi);
    fwd_thread(&cfg, &g, args->src0, args->src1, args->dst, lo, hi, cs, &tp);
  }
  return CB_OK;
}

/* The three ops' tables differ only in op and description; prefix names
 * the op's supports(), workspace() and run(). Tolerance 0 (left out):
 * integer sums below 2^24 are exact in any order. */
#define IM2COL_VARIANT(op_, desc_, prefix)                                                         \
  {                                                                                                \
    .name = "im2col", .op = op_, .desc = desc_, .nparams = 2, .params = im2col_params,             \
    .supports = prefix##_supports, .workspace = prefix##_workspace, .run = prefix##_run,           \
  }

const cb_variant cb_cpu_conv_fwd_im2col = IM2COL_VARIANT(
    CB_OP_CONV_FWD,
    "im2col a piece of columns at a time (whole images when small), cb_cpu_sgemm per group", fwd);

/* ---- backward-data ------------------------------------------------------------ */

/* Backward-data pieces are whole output rows of one image (rows of at
 * least cs columns when Q > cs), or whole images: col blocks of
 * [C R S, max(cs, Q)], GEMMs C/G R S x max(cs, Q) x K/G. */
static int64_t bwd_data_cols(const cb_conv_geom *g, const int *params) {
  int64_t cs = chunk_for(g, params);
  return cs > g->q ? cs : g->q;
}

static cb_cpu_ws bwd_data_layout(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                 void *base, int t, thread_parts *mine) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  int64_t cols = bwd_data_cols(&g, params);
  return layout(&g, &cfg, g.crs, cols, g.cgrs, cols, &g.kg, 1, ctx->threads, base, t, mine);
}

static cb_status bwd_data_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return layout_supports(bwd_data_layout, "conv_bwd_data/im2col", CB_OP_CONV_BWD_DATA, ctx, p,
                         params);
}

static cb_status bwd_data_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                    size_t *bytes) {
  return layout_bytes(bwd_data_layout, "conv_bwd_data/im2col", ctx, p, params, bytes);
}

/* col[rows of channels c0..c1, 0:cols] = W^T dy[:, 0:cols], one GEMM per
 * group the channels touch; dy's group 0 row 0 at dy, rows lddy apart. */
static void bwd_data_gemms(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *w,
                           const float *dy, int64_t lddy, int64_t c0, int64_t c1, float *col,
                           int64_t cols, void *gws) {
  for (int64_t ca = c0; ca < c1;) {
    int64_t grp = ca / g->cg, cb = (grp + 1) * g->cg < c1 ? (grp + 1) * g->cg : c1;
    cb_cpu_sgemm(cfg, true, false, (cb - ca) * g->rs, cols, g->kg, 1.0f,
                 w + grp * g->kg * g->cgrs + (ca - grp * g->cg) * g->rs, g->cgrs,
                 dy + grp * g->kg * lddy, lddy, 0.0f, col + (ca - c0) * g->rs * cols, cols, gws);
    ca = cb;
  }
}

/* One thread's images [i0, i1) and input channels [c0, c1) of dx. */
static void bwd_data_thread(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *dy,
                            const float *w, float *dx, int64_t i0, int64_t i1, int64_t c0,
                            int64_t c1, int64_t cs, const thread_parts *tp) {
  const cb_conv *cv = &g->cv;
  for (int64_t i = i0; i < i1; i++)
    memset(dx + (i * cv->c + c0) * g->hw, 0, (size_t)((c1 - c0) * g->hw) * sizeof *dx);
  for (int64_t i = i0; i < i1;) {
    int64_t b = g->pq <= cs ? cs / g->pq : 1;
    if (b > i1 - i) b = i1 - i;
    if (b > 1) {
      /* Whole small images: dy's columns gathered into one wide GEMM. */
      int64_t cols = b * g->pq;
      cb_planes_to_matrix(dy, tp->kmat, cols, cv->k, g->pq, i * g->pq, (i + b) * g->pq);
      bwd_data_gemms(cfg, g, w, tp->kmat, cols, c0, c1, tp->col, cols, tp->gemm);
      for (int64_t ii = 0; ii < b; ii++)
        cb_cpu_col2im_add(cfg->isa, g, tp->col + ii * g->pq, cols, c0, c1, 0, g->p,
                          dx + (i + ii) * cv->c * g->hw);
    } else {
      /* A big image: output rows a piece at a time, dy read in place. */
      int64_t rows = cs / g->q > 1 ? cs / g->q : 1;
      for (int64_t p0 = 0; p0 < g->p; p0 += rows) {
        int64_t p1 = p0 + rows < g->p ? p0 + rows : g->p, cols = (p1 - p0) * g->q;
        bwd_data_gemms(cfg, g, w, dy + i * cv->k * g->pq + p0 * g->q, g->pq, c0, c1, tp->col, cols,
                       tp->gemm);
        cb_cpu_col2im_add(cfg->isa, g, tp->col, cols, c0, c1, p0, p1, dx + i * cv->c * g->hw);
      }
    }
    i += b;
  }
}

/* dy[n,k,p,q] (src0), w[k,c/g,r,s] (src1) -> dx[n,c,h,w] (dst). */
static cb_status bwd_data_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                              const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  cb_cpu_gemm_cfg cfg;
  int threads;
  cb_status st = run_begin("conv_bwd_data/im2col", ctx, prob, params, args, &g, &cfg, &threads);
  if (st != CB_OK) return st;
  const cb_conv *cv = &g.cv;
  int64_t cs = bwd_data_cols(&g, params);
#pragma omp parallel num_threads(threads)
  {
    int t = cb_cpu_thread(), nt = cb_cpu_team();
    thread_parts tp;
    int64_t i0 = 0, i1 = cv->n, c0 = 0, c1 = cv->c;
    bwd_data_layout(ctx, prob, params, workspace, t, &tp);
    if (cv->n >= nt)
      cb_cpu_share(cv->n, 1, t, nt, &i0, &i1);
    else
      cb_cpu_share(cv->c, 1, t, nt, &c0, &c1);
    bwd_data_thread(&cfg, &g, args->src0, args->src1, args->dst, i0, i1, c0, c1, cs, &tp);
  }
  return CB_OK;
}

const cb_variant cb_cpu_conv_bwd_data_im2col =
    IM2COL_VARIANT(CB_OP_CONV_BWD_DATA,
                   "cb_cpu_sgemm (W^T dy) per group into a piece of col (whole images when small), "
                   "col2im added into dx",
                   bwd_data);

/* ---- backward-filter ------------------------------------------------------------ */

/* The widths next_piece gives the pieces of all N P Q columns (at most
 * two): whole images B at a time and the rest of the batch, or pieces of
 * one image in near-equal parts. Returns how many it wrote to widths. */
static int piece_widths(const cb_conv_geom *g, int64_t cs, int64_t widths[2]) {
  int64_t n = g->cv.n;
  if (g->pq <= cs) {
    int64_t b = cs / g->pq < n ? cs / g->pq : n;
    widths[0] = b * g->pq;
    widths[1] = n % b * g->pq;
  } else {
    int64_t pieces = (g->pq + cs - 1) / cs;
    widths[0] = (g->pq + pieces - 1) / pieces;
    widths[1] = g->pq / pieces;
  }
  return widths[1] > 0 && widths[1] != widths[0] ? 2 : 1;
}

/* A col block [C R S, cs] (a thread fills only its rows), GEMMs
 * K/G x C/G R S deep as the pieces are wide. */
static cb_cpu_ws bwd_filter_layout(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                   void *base, int t, thread_parts *mine) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, &p->conv);
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  int64_t cs = chunk_for(&g, params), widths[2];
  int nw = piece_widths(&g, cs, widths);
  return layout(&g, &cfg, g.crs, cs, g.kg, g.cgrs, widths, nw, ctx->threads, base, t, mine);
}

static cb_status bwd_filter_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return layout_supports(bwd_filter_layout, "conv_bwd_filter/im2col", CB_OP_CONV_BWD_FILTER, ctx, p,
                         params);
}

static cb_status bwd_filter_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                      size_t *bytes) {
  return layout_bytes(bwd_filter_layout, "conv_bwd_filter/im2col", ctx, p, params, bytes);
}

/* dW[:, col rows row0..row1] = beta dW + dy[:, 0:cols] col^T, one GEMM
 * per group the rows touch (each group's rows multiply its own output
 * channels of dy); col's row row0 at col, rows cols floats long. */
static void bwd_filter_gemms(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *dy,
                             int64_t lddy, const float *col, int64_t cols, int64_t row0,
                             int64_t row1, float beta, float *dw, void *gws) {
  for (int64_t lo = row0; lo < row1;) {
    int64_t grp = lo / g->cgrs, first = grp * g->cgrs;
    int64_t hi = first + g->cgrs < row1 ? first + g->cgrs : row1;
    cb_cpu_sgemm(cfg, false, true, g->kg, hi - lo, cols, 1.0f, dy + grp * g->kg * lddy, lddy,
                 col + (lo - row0) * cols, cols, beta, dw + grp * g->kg * g->cgrs + (lo - first),
                 g->cgrs, gws);
    lo = hi;
  }
}

/* One thread's rows [row0, row1) of col (columns of dW), summed over every
 * column of every image, piece by piece. */
static void bwd_filter_thread(const cb_cpu_gemm_cfg *cfg, const cb_conv_geom *g, const float *x,
                              const float *dy, float *dw, int64_t row0, int64_t row1, int64_t cs,
                              const thread_parts *tp) {
  const cb_conv *cv = &g->cv;
  int64_t total = cv->n * g->pq;
  if (row0 >= row1) return;
  for (int64_t j = 0; j < total;) {
    int64_t je = next_piece(g, j, total, cs), cols = je - j, i = j / g->pq;
    const float *dyk = tp->kmat;
    int64_t lddy = cols;
    if ((je - 1) / g->pq == i) {
      /* Part of one image: dy's planes are read in place. */
      dyk = dy + i * cv->k * g->pq + (j - i * g->pq);
      lddy = g->pq;
    } else {
      cb_planes_to_matrix(dy, tp->kmat, cols, cv->k, g->pq, j, je);
    }
    cb_cpu_im2col(cfg->isa, g, x, row0, row1, j, je, tp->col, cols);
    bwd_filter_gemms(cfg, g, dyk, lddy, tp->col, cols, row0, row1, j == 0 ? 0.0f : 1.0f, dw,
                     tp->gemm);
    j = je;
  }
}

/* x[n,c,h,w] (src0), dy[n,k,p,q] (src1) -> dw[k,c/g,r,s] (dst). */
static cb_status bwd_filter_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                                const cb_args *args, void *workspace) {
  (void)plan;
  cb_conv_geom g;
  cb_cpu_gemm_cfg cfg;
  int threads;
  cb_status st = run_begin("conv_bwd_filter/im2col", ctx, prob, params, args, &g, &cfg, &threads);
  if (st != CB_OK) return st;
  int64_t cs = chunk_for(&g, params);
#pragma omp parallel num_threads(threads)
  {
    int t = cb_cpu_thread();
    thread_parts tp;
    int64_t r0, r1;
    bwd_filter_layout(ctx, prob, params, workspace, t, &tp);
    cb_cpu_share(g.crs, 16, t, cb_cpu_team(), &r0, &r1);
    bwd_filter_thread(&cfg, &g, args->src0, args->src1, args->dst, r0, r1, cs, &tp);
  }
  return CB_OK;
}

const cb_variant cb_cpu_conv_bwd_filter_im2col = IM2COL_VARIANT(
    CB_OP_CONV_BWD_FILTER,
    "im2col of each thread's rows a piece of columns at a time (whole images when small), "
    "dW += dy col^T with cb_cpu_sgemm per group",
    bwd_filter);
