/* cpu_conv_depthwise.c: the depthwise variant of the three conv ops:
 * groups == c and k == c m (channel multiplier m >= 1; m == 1 is
 * MobileNet's), any filter size, stride, padding and dilation.
 *
 * Depthwise convolutions multiply R S times per loaded input value at
 * most, so they are bound by memory, not flops; im2col (the other way our
 * backend computes them) writes and packs R S floats per output pixel
 * and then runs a one-channel GEMM. Here every channel plane is a direct
 * loop vectorised over the output row (the spatial dimension), the
 * filters of a channel are R S scalars broadcast from memory.
 *
 * One layout serves every stride: each input channel plane is copied
 * into a zero-padded buffer split into stride phases (space to depth):
 * block (y % u_h, x % u_w) holds padded rows y and columns x of those
 * residues, at row y / u_h, column x / u_w. So tap (r, s) of output pixel
 * (p, q), padded (p u_h + r d_h, q u_w + s d_w), is element
 * (p + (r d_h) / u_h, q + (s d_w) / u_w) of one block: consecutive output
 * pixels read consecutive floats for every stride and dilation, and rows
 * narrower than FLAT_MAX_Q run as one long row (see flat_ok).
 *
 *   fwd:        y[c m + j, p, q] = sum r, s of w[c m + j, r, s]
 *                 xpad[p u_h + r d_h][phase(s)][q + shift(s)],
 *               16 pixels per vector (AVX-512), four vectors per pass,
 *               a masked vector for the row's tail;
 *   bwd_data:   the adjoint: dy rows scattered into a zeroed buffer of
 *               the same layout (dxpad[...][q + shift(s)] += w dy[q],
 *               s outer so no store is re-read while in flight), then
 *               the buffer's interior copied to dx (contributions to the
 *               padding fall away);
 *   bwd_filter: dw[c m + j, r, s] = sum over images, rows and pixels of
 *               xpad[...] dy[...]: one vector of partial sums per tap,
 *               reduced lane by lane at the end.
 *
 * Threads: forward and backward-data split (image, channel) items, each
 * writing its own planes; backward-filter splits channels only and sums
 * over the batch inside the thread, so no two threads touch the same dw
 * and the result does not depend on the thread count.
 *
 * The "isa" parameter: avx512 runs the hand-written kernels (masked
 * tails); avx2 and scalar run the same loops in portable C, compiled for
 * AVX2 + FMA and for plain x86-64 (CB_CPU_CLONES). With small-integer
 * data every sum is an exact integer in any order: tolerance 0. */
#include "cpu_conv.h"

#include <string.h>

#ifdef __x86_64__
#include <immintrin.h>
#endif

static const cb_param_def dw_params[1] = {CB_CPU_ISA_PARAM};

/* Lanes of the portable filter-gradient partial sums: 16, as AVX-512. */
#define DW_LANES 16

/* The geometry of one depthwise problem. */
typedef struct dwgeom {
  int64_t n, c, m, h, w, p, q, r, s;
  int64_t pad_h, pad_w, u_h, u_w, d_h, d_w;
  int64_t hp;  /* padded rows */
  int64_t wpu; /* floats per phase of a padded row */
  int64_t hpu; /* padded rows per row phase */
  int64_t cps; /* floats between column phases: hpu wpu */
} dwgeom;

static void dwgeom_init(const cb_conv *cv, dwgeom *g) {
  g->n = cv->n, g->c = cv->c, g->m = cv->k / cv->c, g->h = cv->h, g->w = cv->w;
  g->p = cb_conv_out_h(cv), g->q = cb_conv_out_w(cv), g->r = cv->r, g->s = cv->s;
  g->pad_h = cv->pad_h, g->pad_w = cv->pad_w, g->u_h = cv->stride_h, g->u_w = cv->stride_w;
  g->d_h = cv->dil_h, g->d_w = cv->dil_w;
  g->hp = cv->h + 2 * cv->pad_h;
  g->wpu = (cv->w + 2 * cv->pad_w + cv->stride_w - 1) / cv->stride_w;
  g->hpu = (g->hp + cv->stride_h - 1) / cv->stride_h;
  g->cps = g->hpu * g->wpu;
}

/* Floats of one padded, phase-split plane, and the zeroed slack past its
 * end that the flat form's last taps read (see flat_ok). */
static int64_t plane_floats(const dwgeom *g) {
  return g->u_h * g->u_w * g->cps + g->wpu + (g->s - 1) * g->d_w + 16;
}

/* Rows narrower than this run in the flat form: the rows of a phase block
 * laid end to end are one long row (output pixel p wpu + q; the columns
 * q >= Q compute junk that is never copied out), so a 7-pixel row no
 * longer fills a 16-lane vector alone: a 7x7 plane (pad 1) is 63 lanes in
 * 4 vectors instead of 7 masked ones, and so is 14x14 at stride 2. */
#define FLAT_MAX_Q 48

static bool flat_ok(const dwgeom *g) {
  return g->q < FLAT_MAX_Q;
}

/* Padded row y (phase 0) of a plane. */
static inline float *pad_row(const dwgeom *g, float *plane, int64_t y) {
  return plane + (y % g->u_h * g->u_w * g->hpu + y / g->u_h) * g->wpu;
}

/* Where tap s of output pixel 0 sits from its padded row: phase (s d) % u
 * and shift (s d) / u. */
static inline int64_t tap_off(const dwgeom *g, int64_t s) {
  int64_t col = s * g->d_w;
  return col % g->u_w * g->cps + col / g->u_w;
}

/* Copies one input plane (h x w) into the padded, phase-split buffer. */
static void pad_plane(const dwgeom *g, const float *x, float *xp) {
  memset(xp, 0, (size_t)plane_floats(g) * sizeof *xp);
  for (int64_t y = 0; y < g->h; y++) {
    float *row = pad_row(g, xp, y + g->pad_h);
    const float *src = x + y * g->w;
    if (g->u_w == 1) {
      memcpy(row + g->pad_w, src, (size_t)g->w * sizeof *row);
      continue;
    }
    /* Phase by phase, so the loop needs no division per pixel. */
    for (int64_t f = 0; f < g->u_w; f++) {
      float *dst = row + f * g->cps;
      int64_t j = g->pad_w > f ? (g->pad_w - f + g->u_w - 1) / g->u_w : 0;
      for (int64_t xx = j * g->u_w + f - g->pad_w; xx < g->w; xx += g->u_w, j++) dst[j] = src[xx];
    }
  }
}

/* The reverse for backward-data: dx (h x w) = the buffer's interior. */
static void unpad_plane(const dwgeom *g, float *xp, float *dx) {
  for (int64_t y = 0; y < g->h; y++) {
    float *row = pad_row(g, xp, y + g->pad_h);
    float *dst = dx + y * g->w;
    if (g->u_w == 1) {
      memcpy(dst, row + g->pad_w, (size_t)g->w * sizeof *dst);
      continue;
    }
    for (int64_t f = 0; f < g->u_w; f++) {
      const float *src = row + f * g->cps;
      int64_t j = g->pad_w > f ? (g->pad_w - f + g->u_w - 1) / g->u_w : 0;
      for (int64_t xx = j * g->u_w + f - g->pad_w; xx < g->w; xx += g->u_w, j++) dst[xx] = src[j];
    }
  }
}

/* ---- portable row kernels (scalar and AVX2 clones) --------------------------------- */

/* CB_CPU_CLONES without the AVX-512 clone, which the hand-written kernels
 * below replace. */
#define DW_CLONES(name, params, args)                                                              \
  static void name##_scalar params {                                                               \
    name##_body args;                                                                              \
  }                                                                                                \
  CB_CPU_TARGET_AVX2 static void name##_avx2 params {                                              \
    name##_body args;                                                                              \
  }

/* y[0..q) = sum over taps (r, s) of w[r S + s] x_r[off_s + 0..q), x_r the
 * padded row of filter row r: rows[r]. */
CB_CPU_BODY void fwd_row_body(const dwgeom *g, float *const *rows, const float *w, float *y) {
  for (int64_t i = 0; i < g->q; i++) y[i] = 0.0f;
  for (int64_t r = 0; r < g->r; r++)
    for (int64_t s = 0; s < g->s; s++) {
      const float *x = rows[r] + tap_off(g, s);
      float wt = w[r * g->s + s];
      for (int64_t i = 0; i < g->q; i++) y[i] += wt * x[i];
    }
}
DW_CLONES(fwd_row, (const dwgeom *g, float *const *rows, const float *w, float *y), (g, rows, w, y))

/* The adjoint of one output row: rows[r][off_s + 0..q) += w[r S + s] dy. */
CB_CPU_BODY void bwd_row_body(const dwgeom *g, float *const *rows, const float *w,
                              const float *dy) {
  for (int64_t r = 0; r < g->r; r++)
    for (int64_t s = 0; s < g->s; s++) {
      float *x = rows[r] + tap_off(g, s);
      float wt = w[r * g->s + s];
      for (int64_t i = 0; i < g->q; i++) x[i] += wt * dy[i];
    }
}
DW_CLONES(bwd_row, (const dwgeom *g, float *const *rows, const float *w, const float *dy),
          (g, rows, w, dy))

/* acc[t][lane] += x_r[off_s + i] dy[i] over the row, i % 16 = lane. */
CB_CPU_BODY void filt_row_body(const dwgeom *g, float *const *rows, const float *dy, float *acc) {
  for (int64_t r = 0; r < g->r; r++)
    for (int64_t s = 0; s < g->s; s++) {
      const float *x = rows[r] + tap_off(g, s);
      float *a = acc + (r * g->s + s) * DW_LANES;
      int64_t i = 0;
      for (; i + DW_LANES <= g->q; i += DW_LANES)
        for (int l = 0; l < DW_LANES; l++) a[l] += x[i + l] * dy[i + l];
      for (int l = 0; i + l < g->q; l++) a[l] += x[i + l] * dy[i + l];
    }
}
DW_CLONES(filt_row, (const dwgeom *g, float *const *rows, const float *dy, float *acc),
          (g, rows, dy, acc))

/* ---- AVX-512 row kernels -------------------------------------------------------------- */

#ifdef __x86_64__
/* The mask of the first n < 16 lanes. */
CB_CPU_TARGET_AVX512 static inline __mmask16 tail_mask(int64_t n) {
  return (__mmask16)((1u << n) - 1u);
}

CB_CPU_TARGET_AVX512 static void fwd_row_avx512(const dwgeom *g, float *const *rows, const float *w,
                                                float *y) {
  int64_t i = 0;
  /* Four vectors per pass: one broadcast of the tap serves 64 pixels. */
  for (; i + 64 <= g->q; i += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t r = 0; r < g->r; r++)
      for (int64_t s = 0; s < g->s; s++) {
        const float *x = rows[r] + tap_off(g, s) + i;
        __m512 wt = _mm512_set1_ps(w[r * g->s + s]);
        a0 = _mm512_fmadd_ps(wt, _mm512_loadu_ps(x), a0);
        a1 = _mm512_fmadd_ps(wt, _mm512_loadu_ps(x + 16), a1);
        a2 = _mm512_fmadd_ps(wt, _mm512_loadu_ps(x + 32), a2);
        a3 = _mm512_fmadd_ps(wt, _mm512_loadu_ps(x + 48), a3);
      }
    _mm512_storeu_ps(y + i, a0);
    _mm512_storeu_ps(y + i + 16, a1);
    _mm512_storeu_ps(y + i + 32, a2);
    _mm512_storeu_ps(y + i + 48, a3);
  }
  for (; i < g->q; i += 16) {
    __mmask16 k = g->q - i >= 16 ? (__mmask16)0xffff : tail_mask(g->q - i);
    __m512 a = _mm512_setzero_ps();
    for (int64_t r = 0; r < g->r; r++)
      for (int64_t s = 0; s < g->s; s++)
        a = _mm512_fmadd_ps(_mm512_set1_ps(w[r * g->s + s]),
                            _mm512_maskz_loadu_ps(k, rows[r] + tap_off(g, s) + i), a);
    _mm512_mask_storeu_ps(y + i, k, a);
  }
}

CB_CPU_TARGET_AVX512 static void bwd_row_avx512(const dwgeom *g, float *const *rows, const float *w,
                                                const float *dy) {
  /* s outer, pixels inner: the vectors of one tap do not overlap, so no
   * load waits on a store still in flight (taps s and s + 1 overlap). */
  for (int64_t r = 0; r < g->r; r++)
    for (int64_t s = 0; s < g->s; s++) {
      float *x = rows[r] + tap_off(g, s);
      __m512 wt = _mm512_set1_ps(w[r * g->s + s]);
      for (int64_t i = 0; i < g->q; i += 16) {
        __mmask16 k = g->q - i >= 16 ? (__mmask16)0xffff : tail_mask(g->q - i);
        __m512 v = _mm512_maskz_loadu_ps(k, dy + i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_fmadd_ps(wt, v, _mm512_maskz_loadu_ps(k, x + i)));
      }
    }
}

CB_CPU_TARGET_AVX512 static void filt_row_avx512(const dwgeom *g, float *const *rows,
                                                 const float *dy, float *acc) {
  for (int64_t r = 0; r < g->r; r++)
    for (int64_t s = 0; s < g->s; s++) {
      const float *x = rows[r] + tap_off(g, s);
      float *ap = acc + (r * g->s + s) * DW_LANES;
      __m512 a = _mm512_load_ps(ap);
      for (int64_t i = 0; i < g->q; i += 16) {
        __mmask16 k = g->q - i >= 16 ? (__mmask16)0xffff : tail_mask(g->q - i);
        a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, dy + i), a);
      }
      _mm512_store_ps(ap, a);
    }
}
#endif

typedef void (*fwd_row_fn)(const dwgeom *, float *const *, const float *, float *);
typedef void (*bwd_row_fn)(const dwgeom *, float *const *, const float *, const float *);
typedef void (*filt_row_fn)(const dwgeom *, float *const *, const float *, float *);

static fwd_row_fn pick_fwd(cb_cpu_isa isa) {
#ifdef __x86_64__
  if (isa == CB_CPU_AVX512) return fwd_row_avx512;
#endif
  return isa == CB_CPU_AVX2 ? fwd_row_avx2 : fwd_row_scalar;
}
static bwd_row_fn pick_bwd(cb_cpu_isa isa) {
#ifdef __x86_64__
  if (isa == CB_CPU_AVX512) return bwd_row_avx512;
#endif
  return isa == CB_CPU_AVX2 ? bwd_row_avx2 : bwd_row_scalar;
}
static filt_row_fn pick_filt(cb_cpu_isa isa) {
#ifdef __x86_64__
  if (isa == CB_CPU_AVX512) return filt_row_avx512;
#endif
  return isa == CB_CPU_AVX2 ? filt_row_avx2 : filt_row_scalar;
}

/* ---- workspace ----------------------------------------------------------------------------- */

typedef struct dw_parts {
  float *plane; /* the padded, phase-split plane */
  float *acc;   /* bwd_filter: m R S x 16 partial sums */
  float **rows; /* R row pointers */
  float *stage; /* the flat form: y, or dy with zeroed junk columns, P wp */
} dw_parts;

static cb_cpu_ws dw_layout(const cb_ctx *ctx, const cb_problem *p, void *base, int t,
                           dw_parts *mine) {
  dwgeom g;
  dwgeom_init(&p->conv, &g);
  cb_cpu_ws ws = cb_cpu_ws_begin(base);
  for (int slot = 0; slot < ctx->threads; slot++) {
    dw_parts parts;
    parts.plane = cb_cpu_ws_floats(&ws, plane_floats(&g));
    parts.acc =
        p->op == CB_OP_CONV_BWD_FILTER ? cb_cpu_ws_floats(&ws, g.m * g.r * g.s * DW_LANES) : NULL;
    parts.rows = cb_cpu_ws_bytes(&ws, (size_t)g.r * sizeof *parts.rows);
    parts.stage = flat_ok(&g) ? cb_cpu_ws_floats(&ws, g.p * g.wpu) : NULL;
    if (slot == t && mine) *mine = parts;
  }
  return ws;
}

/* ---- the three ops ----------------------------------------------------------------------------
 */

/* Points rows[r] at padded row p u_h + r d_h of plane. */
static void set_rows(const dwgeom *g, float *plane, int64_t p, float **rows) {
  for (int64_t r = 0; r < g->r; r++) rows[r] = pad_row(g, plane, p * g->u_h + r * g->d_h);
}

/* The flat form's geometry: one row of P wp pixels from padded row 0. */
static dwgeom flat_geom(const dwgeom *g, float *plane, float **rows) {
  dwgeom f = *g;
  f.q = g->p * g->wpu;
  set_rows(g, plane, 0, rows);
  return f;
}

/* dy's plane (P x Q) into the stage, junk columns zeroed (they must add
 * nothing to dx or dw). */
static void stage_dy(const dwgeom *g, const float *dy, float *stage) {
  for (int64_t p = 0; p < g->p; p++) {
    memcpy(stage + p * g->wpu, dy + p * g->q, (size_t)g->q * sizeof *stage);
    memset(stage + p * g->wpu + g->q, 0, (size_t)(g->wpu - g->q) * sizeof *stage);
  }
}

/* Forward, one (image, input channel) item: its m output planes. */
static void fwd_item(const dwgeom *g, fwd_row_fn row, const dw_parts *dp, const float *x,
                     const float *w, float *y, int64_t i, int64_t c) {
  pad_plane(g, x + (i * g->c + c) * g->h * g->w, dp->plane);
  for (int64_t j = 0; j < g->m; j++) {
    int64_t k = c * g->m + j;
    float *yk = y + (i * g->c * g->m + k) * g->p * g->q;
    if (dp->stage) {
      dwgeom f = flat_geom(g, dp->plane, dp->rows);
      row(&f, dp->rows, w + k * g->r * g->s, dp->stage);
      for (int64_t p = 0; p < g->p; p++)
        memcpy(yk + p * g->q, dp->stage + p * g->wpu, (size_t)g->q * sizeof *yk);
      continue;
    }
    for (int64_t p = 0; p < g->p; p++) {
      set_rows(g, dp->plane, p, dp->rows);
      row(g, dp->rows, w + k * g->r * g->s, yk + p * g->q);
    }
  }
}

/* Backward-data, one (image, input channel) item: dx's plane from the m
 * gradient planes of its output channels. */
static void bwd_item(const dwgeom *g, bwd_row_fn row, const dw_parts *dp, const float *dy,
                     const float *w, float *dx, int64_t i, int64_t c) {
  memset(dp->plane, 0, (size_t)plane_floats(g) * sizeof *dp->plane);
  for (int64_t j = 0; j < g->m; j++) {
    int64_t k = c * g->m + j;
    const float *dyk = dy + (i * g->c * g->m + k) * g->p * g->q;
    if (dp->stage) {
      dwgeom f = flat_geom(g, dp->plane, dp->rows);
      stage_dy(g, dyk, dp->stage);
      row(&f, dp->rows, w + k * g->r * g->s, dp->stage);
      continue;
    }
    for (int64_t p = 0; p < g->p; p++) {
      set_rows(g, dp->plane, p, dp->rows);
      row(g, dp->rows, w + k * g->r * g->s, dyk + p * g->q);
    }
  }
  unpad_plane(g, dp->plane, dx + (i * g->c + c) * g->h * g->w);
}

/* Backward-filter, one input channel: its m R S filter taps summed over
 * every image, in this thread alone. */
static void filt_channel(const dwgeom *g, filt_row_fn row, const dw_parts *dp, const float *x,
                         const float *dy, float *dw, int64_t c) {
  int64_t rs = g->r * g->s;
  memset(dp->acc, 0, (size_t)(g->m * rs * DW_LANES) * sizeof *dp->acc);
  for (int64_t i = 0; i < g->n; i++) {
    pad_plane(g, x + (i * g->c + c) * g->h * g->w, dp->plane);
    for (int64_t j = 0; j < g->m; j++) {
      const float *dyk = dy + (i * g->c * g->m + c * g->m + j) * g->p * g->q;
      if (dp->stage) {
        dwgeom f = flat_geom(g, dp->plane, dp->rows);
        stage_dy(g, dyk, dp->stage);
        row(&f, dp->rows, dp->stage, dp->acc + j * rs * DW_LANES);
        continue;
      }
      for (int64_t p = 0; p < g->p; p++) {
        set_rows(g, dp->plane, p, dp->rows);
        row(g, dp->rows, dyk + p * g->q, dp->acc + j * rs * DW_LANES);
      }
    }
  }
  /* Lanes summed in a fixed order: the same result for any thread count. */
  for (int64_t t = 0; t < g->m * rs; t++) {
    float sum = 0.0f;
    for (int l = 0; l < DW_LANES; l++) sum += dp->acc[t * DW_LANES + l];
    dw[c * g->m * rs + t] = sum;
  }
}

/* ---- the variants ---------------------------------------------------------------------------- */

static const char *const names[CB_OP_COUNT] = {
    [CB_OP_CONV_FWD] = "conv_fwd/depthwise",
    [CB_OP_CONV_BWD_DATA] = "conv_bwd_data/depthwise",
    [CB_OP_CONV_BWD_FILTER] = "conv_bwd_filter/depthwise",
};

static const char *who_of(const cb_problem *p) {
  return names[p->op < CB_OP_GEMM ? p->op : 0];
}

static cb_status dw_supports_op(cb_op op, const cb_ctx *ctx, const cb_problem *p,
                                const int *params) {
  const char *who = names[op];
  cb_status st = cb_cpu_conv_check(who, p, op, params);
  if (st != CB_OK) return st;
  const cb_conv *cv = &p->conv;
  if (cv->groups != cv->c || cv->k % cv->c != 0)
    return cb_error(CB_ERR_UNSUPPORTED,
                    "cpu %s: only depthwise convolutions (groups == c, k a multiple of c)", who);
  size_t bytes;
  cb_cpu_ws ws = dw_layout(ctx, p, NULL, 0, NULL);
  return cb_cpu_ws_total(&ws, who, &bytes);
}

static cb_status dw_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                              size_t *bytes) {
  (void)params;
  cb_cpu_ws ws = dw_layout(ctx, p, NULL, 0, NULL);
  return cb_cpu_ws_total(&ws, who_of(p), bytes);
}

/* conv_fwd: x (src0), w (src1) -> y (dst); conv_bwd_data: dy (src0),
 * w (src1) -> dx (dst); conv_bwd_filter: x (src0), dy (src1) -> dw (dst). */
static cb_status dw_run(cb_ctx *ctx, const cb_problem *prob, const int *params, void *plan,
                        const cb_args *args, void *workspace) {
  (void)plan;
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "cpu %s: a tensor pointer is NULL", who_of(prob));
  cb_cpu_isa isa = cb_cpu_conv_isa(params);
  dwgeom g;
  dwgeom_init(&prob->conv, &g);
  int threads = cb_cpu_conv_threads(ctx, cb_problem_flops(prob));
  const float *a = args->src0, *b = args->src1;
  float *out = args->dst;
#pragma omp parallel num_threads(threads)
  {
    int t = cb_cpu_thread(), nt = cb_cpu_team();
    dw_parts dp;
    int64_t lo, hi;
    dw_layout(ctx, prob, workspace, t, &dp);
    if (prob->op == CB_OP_CONV_BWD_FILTER) {
      filt_row_fn row = pick_filt(isa);
      cb_cpu_share(g.c, 1, t, nt, &lo, &hi);
      for (int64_t c = lo; c < hi; c++) filt_channel(&g, row, &dp, a, b, out, c);
    } else {
      cb_cpu_share(g.n * g.c, 1, t, nt, &lo, &hi);
      if (prob->op == CB_OP_CONV_FWD) {
        fwd_row_fn row = pick_fwd(isa);
        for (int64_t it = lo; it < hi; it++) fwd_item(&g, row, &dp, a, b, out, it / g.c, it % g.c);
      } else {
        bwd_row_fn row = pick_bwd(isa);
        for (int64_t it = lo; it < hi; it++) bwd_item(&g, row, &dp, a, b, out, it / g.c, it % g.c);
      }
    }
  }
  return CB_OK;
}

static cb_status fwd_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return dw_supports_op(CB_OP_CONV_FWD, ctx, p, params);
}
static cb_status bwd_data_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return dw_supports_op(CB_OP_CONV_BWD_DATA, ctx, p, params);
}
static cb_status bwd_filter_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  return dw_supports_op(CB_OP_CONV_BWD_FILTER, ctx, p, params);
}

/* Tolerance 0 (left out): integer sums below 2^24 are exact in any order. */
#define DW_VARIANT(op_, desc_, supports_)                                                          \
  {                                                                                                \
    .name = "depthwise", .op = op_, .desc = desc_, .nparams = 1, .params = dw_params,              \
    .supports = supports_, .workspace = dw_workspace, .run = dw_run,                               \
  }

const cb_variant cb_cpu_conv_fwd_depthwise =
    DW_VARIANT(CB_OP_CONV_FWD,
               "depthwise (groups == c, k = c m): direct, vectorised over the output row from a "
               "padded, stride-phase-split copy of each channel plane",
               fwd_supports);

const cb_variant cb_cpu_conv_bwd_data_depthwise =
    DW_VARIANT(CB_OP_CONV_BWD_DATA,
               "depthwise: dy rows scattered (vectorised over the row) into a padded, "
               "stride-phase-split plane, its interior copied to dx",
               bwd_data_supports);

const cb_variant cb_cpu_conv_bwd_filter_depthwise =
    DW_VARIANT(CB_OP_CONV_BWD_FILTER,
               "depthwise: per-tap vector partial sums over the batch (threads split channels)",
               bwd_filter_supports);
