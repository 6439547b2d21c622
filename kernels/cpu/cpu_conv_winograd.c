/* cpu_conv_winograd.c: Winograd convolution F(2x2,3x3) and F(4x4,3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016) for 3x3 filters, stride 1, no dilation, one group, any
 * padding, all three ops.
 *
 * F(m x m, 3x3) computes an m x m tile of output from an a x a tile of
 * input, a = m + 2:
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
 * with (.) the elementwise product of a x a matrices. Over a batch, tile t
 * of channel c is transformed once, V[xi][c][t] = (B^T d B)[xi], each
 * filter once, U[xi][k][c] = (G g G^T)[xi], and the sum over channels of
 * the products is a GEMM per transform coordinate xi (a^2 = 16 or 36 of
 * them): M[xi] = U[xi] V[xi], [K, C] x [C, T] per group. The output
 * transform A^T M A gives the tiles of y. The GEMMs do (m + 2)^2 / (9 m^2)
 * of the direct method's multiplies, 4/9 for F(2x2) and 1/4 for F(4x4),
 * plus the tiles' overhang where m does not divide P or Q.
 *
 *   conv_fwd         x -> V, w -> U, M = U V, y = A^T M A
 *   conv_bwd_data    the forward algorithm on dy with the filters flipped
 *                    and transposed (w'[c][k][r][s] = w[k][c][2-r][2-s])
 *                    and padding 2 - pad: dx is a 3x3 stride-1
 *                    convolution of dy
 *   conv_bwd_filter  the adjoint of the forward algorithm in g: with
 *                    Z = A dY A^T (an output-gradient tile, zero past P, Q),
 *                    dW[k][c] = G^T (sum over tiles of Z[k] (.) V[c]) G; the
 *                    sums are GEMMs S[xi] = Z[xi] V[xi]^T, [K, T] x [T, C].
 *                    Winograd's formula is an identity, so its adjoint is
 *                    the exact gradient.
 *
 * Layout and threads. V is [xi][channel][tile], M and Z [xi][channel]
 * [tile] and the transformed filters U^T [xi][input channel][output
 * channel] (the GEMM reads it transposed, whose packing is a plain copy).
 * The batch goes in steps of whole images (as many as the "tiles"
 * parameter allows); a step is three phases of one OpenMP team, split by
 * `omp for` with a barrier between them: transform the inputs (one channel
 * per task: its planes are copied into zero-padded buffers, then the
 * step's tiles are gathered into lane buffers and transformed together,
 * lane by lane), the a^2 x groups GEMMs (one per task, single-threaded
 * cb_cpu_sgemm), transform the outputs (one channel per task). The
 * transforms are written once as loops over lanes (tiles of every image
 * of the step, or filters) and compiled per ISA, where the compiler
 * vectorises them across lanes.
 *
 * Precision. F(2x2,3x3)'s transforms hold only 0, +-1 and 1/2: on the
 * small-integer validation data every value is a multiple of 1/4 far
 * below 2^24, so it is exact (tolerance 0; measured 0 on every cross-
 * backend test shape and on L5, AlexNet conv3 and conv4 at batch 16).
 * F(4x4,3x3)'s G holds 1/6, 1/12 and 1/24, which floats round, and its A
 * and B reach 8 and 5. Measured relative error (max |got - ref| /
 * max |ref|, every ISA): on the cross-backend test shapes at most 2.7e-6
 * forward, 2.8e-6 backward-data, 2.8e-7 backward-filter; on L5, conv3 and
 * conv4 at batch 16 (sums over 1728 to 3456 taps) at most 1.2e-5, 1.4e-5
 * and 5.3e-7. Backward-filter loses least: its Z and V are exact on
 * integers and G^T rounds once at the end, where forward and backward-
 * data sum thousands of products of the rounded U. Tolerance 1e-4 leaves
 * a margin of 7 over the largest layers measured (the error grows about
 * as the square root of the sum's length) and of 35 over the test shapes. */
#include "cpu_conv.h"

#include <string.h>

/* Lanes transformed together: tiles of a plane, or filters. 64 fills four
 * zmm registers per element. */
#define LANES CB_CPU_WINO_LANES

/* ---- 1-D transforms over lanes --------------------------------------------- */
/* Each applies a small matrix to nl lanes at once: element e of lane l is
 * in[e is + l] and goes to out[e os + l]. The 2-D transforms apply them
 * along rows, then along columns. The lane loops are `omp simd`: the
 * compiler cannot prove that output rows os floats apart never overlap
 * the input, and would otherwise leave them scalar (measured: the
 * transforms took 40% of L5's forward time that way). */

/* B^T d (input, a -> a). */
CB_CPU_BODY void bt_1d(int m, const float *restrict in, int64_t is, float *restrict out, int64_t os,
                       int nl) {
  if (m == 2) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l], d3 = in[3 * is + l];
      out[l] = d0 - d2;
      out[os + l] = d1 + d2;
      out[2 * os + l] = d2 - d1;
      out[3 * os + l] = d1 - d3;
    }
  } else {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l], d3 = in[3 * is + l];
      float d4 = in[4 * is + l], d5 = in[5 * is + l];
      out[l] = 4.0f * d0 - 5.0f * d2 + d4;
      out[os + l] = -4.0f * d1 - 4.0f * d2 + d3 + d4;
      out[2 * os + l] = 4.0f * d1 - 4.0f * d2 - d3 + d4;
      out[3 * os + l] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
      out[4 * os + l] = 2.0f * d1 - d2 - 2.0f * d3 + d4;
      out[5 * os + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
}

/* A^T v (output, a -> m). */
CB_CPU_BODY void at_1d(int m, const float *restrict in, int64_t is, float *restrict out, int64_t os,
                       int nl) {
  if (m == 2) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float v0 = in[l], v1 = in[is + l], v2 = in[2 * is + l], v3 = in[3 * is + l];
      out[l] = v0 + v1 + v2;
      out[os + l] = v1 - v2 - v3;
    }
  } else {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float v0 = in[l], v1 = in[is + l], v2 = in[2 * is + l], v3 = in[3 * is + l];
      float v4 = in[4 * is + l], v5 = in[5 * is + l];
      float p12 = v1 + v2, m12 = v1 - v2, p34 = v3 + v4, m34 = v3 - v4;
      out[l] = v0 + p12 + p34;
      out[os + l] = m12 + 2.0f * m34;
      out[2 * os + l] = p12 + 4.0f * p34;
      out[3 * os + l] = m12 + 8.0f * m34 + v5;
    }
  }
}

/* G g (filter, 3 -> a). */
CB_CPU_BODY void g_1d(int m, const float *restrict in, int64_t is, float *restrict out, int64_t os,
                      int nl) {
  if (m == 2) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = g0;
      out[os + l] = 0.5f * (g0 + g1 + g2);
      out[2 * os + l] = 0.5f * (g0 - g1 + g2);
      out[3 * os + l] = g2;
    }
  } else {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = 0.25f * g0;
      out[os + l] = (g0 + g1 + g2) * (-1.0f / 6.0f);
      out[2 * os + l] = (g0 - g1 + g2) * (-1.0f / 6.0f);
      out[3 * os + l] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
      out[4 * os + l] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
      out[5 * os + l] = g2;
    }
  }
}

/* A e (output gradient, m -> a): the transpose of at_1d. */
CB_CPU_BODY void a_1d(int m, const float *restrict in, int64_t is, float *restrict out, int64_t os,
                      int nl) {
  if (m == 2) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float e0 = in[l], e1 = in[is + l];
      out[l] = e0;
      out[os + l] = e0 + e1;
      out[2 * os + l] = e0 - e1;
      out[3 * os + l] = -e1;
    }
  } else {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float e0 = in[l], e1 = in[is + l], e2 = in[2 * is + l], e3 = in[3 * is + l];
      out[l] = e0;
      out[os + l] = e0 + e1 + e2 + e3;
      out[2 * os + l] = e0 - e1 + e2 - e3;
      out[3 * os + l] = e0 + 2.0f * e1 + 4.0f * e2 + 8.0f * e3;
      out[4 * os + l] = e0 - 2.0f * e1 + 4.0f * e2 - 8.0f * e3;
      out[5 * os + l] = e3;
    }
  }
}

/* G^T s (filter gradient, a -> 3): the transpose of g_1d. */
CB_CPU_BODY void gt_1d(int m, const float *restrict in, int64_t is, float *restrict out, int64_t os,
                       int nl) {
  if (m == 2) {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float s0 = in[l], s1 = in[is + l], s2 = in[2 * is + l], s3 = in[3 * is + l];
      out[l] = s0 + 0.5f * (s1 + s2);
      out[os + l] = 0.5f * (s1 - s2);
      out[2 * os + l] = 0.5f * (s1 + s2) + s3;
    }
  } else {
#pragma omp simd
    for (int l = 0; l < nl; l++) {
      float s0 = in[l], s1 = in[is + l], s2 = in[2 * is + l], s3 = in[3 * is + l];
      float s4 = in[4 * is + l], s5 = in[5 * is + l];
      out[l] = 0.25f * s0 - (s1 + s2) * (1.0f / 6.0f) + (s3 + s4) * (1.0f / 24.0f);
      out[os + l] = (s2 - s1) * (1.0f / 6.0f) + (s3 - s4) * (1.0f / 12.0f);
      out[2 * os + l] = (s3 + s4 - s1 - s2) * (1.0f / 6.0f) + s5;
    }
  }
}

/* ---- 2-D transforms over lanes ------------------------------------------------- */
/* A tile of n x n elements of each lane is held element-major: element
 * (u, v) of lane l at buf[(u n + v) LANES + l]; a destination may instead
 * be a [coordinate][...] array whose coordinates are `os` floats apart. */

/* v = B^T d B: d a x a (lane buffer), v a x a at out + xi os. */
CB_CPU_BODY void input_tf_body(int m, const float *d, float *tmp, float *out, int64_t os, int nl) {
  int a = m + 2;
  for (int v = 0; v < a; v++) bt_1d(m, d + v * LANES, a * LANES, tmp + v * LANES, a * LANES, nl);
  for (int i = 0; i < a; i++) bt_1d(m, tmp + i * a * LANES, LANES, out + i * a * os, os, nl);
}

/* y = A^T v A: v a x a at in + xi is, y m x m (lane buffer). */
CB_CPU_BODY void output_tf_body(int m, const float *in, int64_t is, float *tmp, float *y, int nl) {
  int a = m + 2;
  for (int v = 0; v < a; v++) at_1d(m, in + v * is, a * is, tmp + v * LANES, a * LANES, nl);
  for (int i = 0; i < m; i++) at_1d(m, tmp + i * a * LANES, LANES, y + i * m * LANES, LANES, nl);
}

/* u = G g G^T: g 3 x 3 (lane buffer), u a x a at out + xi os. */
CB_CPU_BODY void filter_tf_body(int m, const float *g, float *tmp, float *out, int64_t os, int nl) {
  int a = m + 2;
  for (int s = 0; s < 3; s++) g_1d(m, g + s * LANES, 3 * LANES, tmp + s * LANES, 3 * LANES, nl);
  for (int i = 0; i < a; i++) g_1d(m, tmp + i * 3 * LANES, LANES, out + i * a * os, os, nl);
}

/* z = A e A^T: e m x m (lane buffer), z a x a at out + xi os. */
CB_CPU_BODY void grad_tf_body(int m, const float *e, float *tmp, float *out, int64_t os, int nl) {
  int a = m + 2;
  for (int v = 0; v < m; v++) a_1d(m, e + v * LANES, m * LANES, tmp + v * LANES, m * LANES, nl);
  for (int i = 0; i < a; i++) a_1d(m, tmp + i * m * LANES, LANES, out + i * a * os, os, nl);
}

/* dg = G^T s G: s a x a at in + xi is, dg 3 x 3 (lane buffer). */
CB_CPU_BODY void filter_grad_tf_body(int m, const float *in, int64_t is, float *tmp, float *dg,
                                     int nl) {
  int a = m + 2;
  for (int v = 0; v < a; v++) gt_1d(m, in + v * is, a * is, tmp + v * LANES, a * LANES, nl);
  for (int r = 0; r < 3; r++) gt_1d(m, tmp + r * a * LANES, LANES, dg + r * 3 * LANES, LANES, nl);
}

CB_CPU_CLONES(input_tf, (int m, const float *d, float *tmp, float *out, int64_t os, int nl),
              (m, d, tmp, out, os, nl))
CB_CPU_CLONES(output_tf, (int m, const float *in, int64_t is, float *tmp, float *y, int nl),
              (m, in, is, tmp, y, nl))
CB_CPU_CLONES(filter_tf, (int m, const float *g, float *tmp, float *out, int64_t os, int nl),
              (m, g, tmp, out, os, nl))
CB_CPU_CLONES(grad_tf, (int m, const float *e, float *tmp, float *out, int64_t os, int nl),
              (m, e, tmp, out, os, nl))
CB_CPU_CLONES(filter_grad_tf, (int m, const float *in, int64_t is, float *tmp, float *dg, int nl),
              (m, in, is, tmp, dg, nl))

/* The lane-level transforms, for tests (cpu_conv.h). */

void cb_cpu_wino_input(cb_cpu_isa isa, int m, const float *d, float *v, int nl) {
  float tmp[36 * LANES];
  cb_cpu_pick(input_tf, isa)(m, d, tmp, v, LANES, nl);
}
void cb_cpu_wino_output(cb_cpu_isa isa, int m, const float *v, float *y, int nl) {
  float tmp[36 * LANES];
  cb_cpu_pick(output_tf, isa)(m, v, LANES, tmp, y, nl);
}
void cb_cpu_wino_filter(cb_cpu_isa isa, int m, const float *g, float *u, int nl) {
  float tmp[36 * LANES];
  cb_cpu_pick(filter_tf, isa)(m, g, tmp, u, LANES, nl);
}
void cb_cpu_wino_grad(cb_cpu_isa isa, int m, const float *e, float *z, int nl) {
  float tmp[36 * LANES];
  cb_cpu_pick(grad_tf, isa)(m, e, tmp, z, LANES, nl);
}
void cb_cpu_wino_filter_grad(cb_cpu_isa isa, int m, const float *s, float *dg, int nl) {
  float tmp[36 * LANES];
  cb_cpu_pick(filter_grad_tf, isa)(m, s, LANES, tmp, dg, nl);
}

/* ---- the problem as the forward algorithm sees it ------------------------------ */

/* A Winograd convolution: in (n x cin x hin x win, padded by pad_h, pad_w,
 * which may be negative) correlated with 3x3 filters into out
 * (n x cout x hout x wout), in tiles_h x tiles_w tiles of m x m per
 * image. Forward and backward-filter: in = x, out = y (or dy); backward-
 * data: in = dy, out = dx, filters flipped and transposed. */
typedef struct wino_geom {
  int m, a, a2; /* output tile, input tile, transform coordinates a^2 */
  cb_op op;
  int64_t n, groups;
  int64_t cin, hin, win, cout, hout, wout;
  int64_t cing, coutg; /* channels per group */
  int64_t pad_h, pad_w;
  int64_t tiles_h, tiles_w, tpi; /* tiles per image: tiles_h tiles_w */
  int64_t hp, wp;                /* the padded plane holding every tile's input */
} wino_geom;

static void wino_geom_init(int m, const cb_problem *p, wino_geom *wg) {
  const cb_conv *cv = &p->conv;
  int64_t ph = cb_conv_out_h(cv), pw = cb_conv_out_w(cv);
  memset(wg, 0, sizeof *wg);
  wg->m = m;
  wg->a = m + 2;
  wg->a2 = wg->a * wg->a;
  wg->op = p->op;
  wg->n = cv->n;
  wg->groups = cv->groups;
  if (p->op == CB_OP_CONV_BWD_DATA) {
    wg->cin = cv->k, wg->hin = ph, wg->win = pw;
    wg->cout = cv->c, wg->hout = cv->h, wg->wout = cv->w;
    wg->pad_h = 2 - cv->pad_h, wg->pad_w = 2 - cv->pad_w;
  } else {
    wg->cin = cv->c, wg->hin = cv->h, wg->win = cv->w;
    wg->cout = cv->k, wg->hout = ph, wg->wout = pw;
    wg->pad_h = cv->pad_h, wg->pad_w = cv->pad_w;
  }
  wg->cing = wg->cin / wg->groups;
  wg->coutg = wg->cout / wg->groups;
  wg->tiles_h = (wg->hout + m - 1) / m;
  wg->tiles_w = (wg->wout + m - 1) / m;
  wg->tpi = wg->tiles_h * wg->tiles_w;
  wg->hp = wg->tiles_h * m + 2;
  wg->wp = wg->tiles_w * m + 2;
}

/* ---- parameters, steps and workspace ------------------------------------------- */

static const int tiles_values[] = {0, 128, 256, 512, 1024, 4096};

static const cb_param_def wino_params[2] = {
    CB_CPU_ISA_PARAM,
    {"tiles", tiles_values, (int)(sizeof tiles_values / sizeof *tiles_values), 0},
};

/* The automatic step keeps V and M (or Z) of one step within 48 MiB:
 * the whole batch for L5 and AlexNet's 13x13 layers at batch 16 (16 MiB
 * and 21 MiB), so their GEMMs are as wide as the batch. */
#define AUTO_STEP_BYTES ((int64_t)48 << 20)

/* Images per step: "tiles" tiles at most (at least one image). */
static int64_t step_images(const wino_geom *wg, const int *params) {
  int64_t tiles = cb_cpu_param(params, 1, wino_params);
  if (tiles <= 0) tiles = AUTO_STEP_BYTES / (4 * wg->a2 * (wg->cin + wg->cout));
  int64_t b = tiles / wg->tpi;
  if (b > wg->n) b = wg->n;
  return b < 1 ? 1 : b;
}

/* The parts of the workspace. Shared: the transformed filters (U^T, or S
 * for backward-filter), V[a^2][cin][T], M (or Z)[a^2][cout][T]; per
 * thread: a step's padded planes of one channel, lane buffers and the
 * GEMMs' packing space. */
typedef struct wino_parts {
  float *u, *v, *mz;
  float *plane, *lanes, *tmp, *res; /* this thread's */
  void *gemm;
} wino_parts;

/* The GEMMs of one step: forward and backward-data M[xi] = U[xi] V[xi]
 * (coutg x T x cing); backward-filter S[xi] += Z[xi] V[xi]^T
 * (coutg x cing x T). */
static void gemm_shape(const wino_geom *wg, int64_t t, int64_t *m, int64_t *n, int64_t *k) {
  *m = wg->coutg;
  *n = wg->op == CB_OP_CONV_BWD_FILTER ? wg->cing : t;
  *k = wg->op == CB_OP_CONV_BWD_FILTER ? t : wg->cing;
}

static cb_cpu_ws wino_layout(const cb_ctx *ctx, const wino_geom *wg, const int *params, void *base,
                             int t, wino_parts *mine) {
  cb_cpu_gemm_cfg cfg = cb_cpu_conv_gemm_cfg(ctx, cb_cpu_conv_isa(params));
  int64_t b = step_images(wg, params), tiles = b * wg->tpi, gm, gn, gk[2], lm, ln;
  /* The last step may be shorter, and backward-filter's GEMMs are as deep
   * as a step has tiles: both depths are listed (cb_cpu_ws_gemm). */
  gemm_shape(wg, tiles, &gm, &gn, &gk[0]);
  gemm_shape(wg, wg->n % b * wg->tpi, &lm, &ln, &gk[1]);
  int nk = wg->n % b ? 2 : 1;
  cb_cpu_ws ws = cb_cpu_ws_begin(base);
  wino_parts parts;
  parts.u = cb_cpu_ws_floats(&ws, wg->a2 * wg->cout * wg->cing);
  parts.v = cb_cpu_ws_floats(&ws, wg->a2 * wg->cin * tiles);
  parts.mz = cb_cpu_ws_floats(&ws, wg->a2 * wg->cout * tiles);
  for (int slot = 0; slot < ctx->threads; slot++) {
    parts.plane = cb_cpu_ws_floats(&ws, b * wg->hp * wg->wp);
    parts.lanes = cb_cpu_ws_floats(&ws, 36 * LANES);
    parts.tmp = cb_cpu_ws_floats(&ws, 36 * LANES);
    parts.res = cb_cpu_ws_floats(&ws, 36 * LANES);
    parts.gemm = cb_cpu_ws_gemm(&ws, &cfg, gm, gn, gk, nk);
    if (slot == t && mine) *mine = parts;
  }
  return ws;
}

/* ---- the phases, per ISA ------------------------------------------------------------ */

/* Copies one input plane (hin x win) into the zero-padded plane
 * (hp x wp) whose (y, x) is the input's (y - pad_h, x - pad_w). */
CB_CPU_BODY void pad_plane_body(const wino_geom *wg, const float *restrict src,
                                float *restrict dst) {
  /* Columns x with 0 <= x - pad_w < win. */
  int64_t x0 = wg->pad_w > 0 ? wg->pad_w : 0, x1 = wg->pad_w + wg->win;
  if (x1 > wg->wp) x1 = wg->wp;
  if (x0 > x1) x0 = x1;
  for (int64_t y = 0; y < wg->hp; y++) {
    float *row = dst + y * wg->wp;
    int64_t sy = y - wg->pad_h;
    if (sy < 0 || sy >= wg->hin) {
      for (int64_t x = 0; x < wg->wp; x++) row[x] = 0.0f;
      continue;
    }
    const float *s = src + sy * wg->win - wg->pad_w;
    for (int64_t x = 0; x < x0; x++) row[x] = 0.0f;
    for (int64_t x = x0; x < x1; x++) row[x] = s[x];
    for (int64_t x = x1; x < wg->wp; x++) row[x] = 0.0f;
  }
}

/* Input transform of one channel over the nb images of a step: the
 * planes (src, planes_apart floats apart) are padded into planes (nb
 * padded planes), then the step's tiles, LANES at a time, gathered and
 * transformed into v[xi][0..nb tpi) (coordinates os floats apart). Lanes
 * run over every tile of the step, not of one image, so that small images
 * (9 tiles in L5) still fill the vectors. */
CB_CPU_BODY void input_channel_body(const wino_geom *wg, const float *src, int64_t planes_apart,
                                    int64_t nb, float *planes, float *lanes, float *tmp, float *v,
                                    int64_t os) {
  int m = wg->m, a = wg->a;
  int64_t hpwp = wg->hp * wg->wp, tiles = nb * wg->tpi;
  for (int64_t i = 0; i < nb; i++) pad_plane_body(wg, src + i * planes_apart, planes + i * hpwp);
  for (int64_t t0 = 0; t0 < tiles; t0 += LANES) {
    int nl = tiles - t0 < LANES ? (int)(tiles - t0) : LANES;
    for (int l = 0; l < nl; l++) {
      int64_t t = t0 + l, i = t / wg->tpi, th = t % wg->tpi / wg->tiles_w, tw = t % wg->tiles_w;
      const float *patch = planes + i * hpwp + th * m * wg->wp + tw * m;
      for (int u = 0; u < a; u++)
        for (int x = 0; x < a; x++) lanes[(u * a + x) * LANES + l] = patch[u * wg->wp + x];
    }
    input_tf_body(m, lanes, tmp, v + t0, os, nl);
  }
}

/* Output transform of one channel over the nb images of a step: tiles
 * from mv[xi][0..nb tpi) (coordinates is floats apart) into the planes dst
 * (hout x wout, planes_apart floats apart), clipped at the edges. */
CB_CPU_BODY void output_channel_body(const wino_geom *wg, const float *mv, int64_t is, int64_t nb,
                                     float *tmp, float *res, float *dst, int64_t planes_apart) {
  int m = wg->m;
  int64_t tiles = nb * wg->tpi;
  for (int64_t t0 = 0; t0 < tiles; t0 += LANES) {
    int nl = tiles - t0 < LANES ? (int)(tiles - t0) : LANES;
    output_tf_body(m, mv + t0, is, tmp, res, nl);
    for (int l = 0; l < nl; l++) {
      int64_t t = t0 + l, i = t / wg->tpi;
      int64_t y0 = t % wg->tpi / wg->tiles_w * m, x0 = t % wg->tiles_w * m;
      int my = wg->hout - y0 < m ? (int)(wg->hout - y0) : m;
      int mx = wg->wout - x0 < m ? (int)(wg->wout - x0) : m;
      float *out = dst + i * planes_apart + y0 * wg->wout + x0;
      for (int u = 0; u < my; u++)
        for (int x = 0; x < mx; x++) out[u * wg->wout + x] = res[(u * m + x) * LANES + l];
    }
  }
}

/* Output-gradient transform of one dy channel over the nb images of a
 * step (planes hout x wout, planes_apart floats apart): the tiles, zero
 * past the edges, into z[xi][0..nb tpi). */
CB_CPU_BODY void grad_channel_body(const wino_geom *wg, const float *src, int64_t planes_apart,
                                   int64_t nb, float *lanes, float *tmp, float *z, int64_t os) {
  int m = wg->m;
  int64_t tiles = nb * wg->tpi;
  for (int64_t t0 = 0; t0 < tiles; t0 += LANES) {
    int nl = tiles - t0 < LANES ? (int)(tiles - t0) : LANES;
    for (int l = 0; l < nl; l++) {
      int64_t t = t0 + l, i = t / wg->tpi;
      int64_t y0 = t % wg->tpi / wg->tiles_w * m, x0 = t % wg->tiles_w * m;
      const float *plane = src + i * planes_apart;
      for (int u = 0; u < m; u++)
        for (int x = 0; x < m; x++) {
          bool in = y0 + u < wg->hout && x0 + x < wg->wout;
          lanes[(u * m + x) * LANES + l] = in ? plane[(y0 + u) * wg->wout + x0 + x] : 0.0f;
        }
    }
    grad_tf_body(m, lanes, tmp, z + t0, os, nl);
  }
}

/* Filter transform into U^T: lanes f0..f0+nl of U^T[xi]'s [cing][cout]
 * order (output channels contiguous, which the GEMM packs by plain
 * copies), coordinates os floats apart. Forward, U^T[i][o] transforms
 * w[o][i]; backward-data, w[k][c] flipped, for U^T's (i = k, o = c). */
CB_CPU_BODY void filter_lanes_body(const wino_geom *wg, const float *w, int64_t f0, int nl,
                                   float *lanes, float *tmp, float *u, int64_t os) {
  for (int l = 0; l < nl; l++) {
    int64_t f = f0 + l, il = f / wg->cout, o = f % wg->cout;
    if (wg->op == CB_OP_CONV_BWD_DATA) {
      /* o is input channel c, il output channel k of c's group; w is
       * [K][C/G][3][3]. */
      int64_t grp = o / wg->coutg;
      const float *g = w + ((grp * wg->cing + il) * wg->coutg + o % wg->coutg) * 9;
      for (int e = 0; e < 9; e++) lanes[e * LANES + l] = g[8 - e];
    } else {
      const float *g = w + (o * wg->cing + il) * 9;
      for (int e = 0; e < 9; e++) lanes[e * LANES + l] = g[e];
    }
  }
  filter_tf_body(wg->m, lanes, tmp, u + f0, os, nl);
}

/* Filter-gradient transform of filters [f0, f0 + nl) (dw's [K][C/G]
 * order) from s[xi][f] into dw. */
CB_CPU_BODY void filter_grad_lanes_body(const wino_geom *wg, const float *s, int64_t is, int64_t f0,
                                        int nl, float *tmp, float *res, float *dw) {
  filter_grad_tf_body(wg->m, s + f0, is, tmp, res, nl);
  for (int l = 0; l < nl; l++)
    for (int e = 0; e < 9; e++) dw[(f0 + l) * 9 + e] = res[e * LANES + l];
}

CB_CPU_CLONES(input_channel,
              (const wino_geom *wg, const float *src, int64_t planes_apart, int64_t nb,
               float *planes, float *lanes, float *tmp, float *v, int64_t os),
              (wg, src, planes_apart, nb, planes, lanes, tmp, v, os))
CB_CPU_CLONES(output_channel,
              (const wino_geom *wg, const float *mv, int64_t is, int64_t nb, float *tmp, float *res,
               float *dst, int64_t planes_apart),
              (wg, mv, is, nb, tmp, res, dst, planes_apart))
CB_CPU_CLONES(grad_channel,
              (const wino_geom *wg, const float *src, int64_t planes_apart, int64_t nb,
               float *lanes, float *tmp, float *z, int64_t os),
              (wg, src, planes_apart, nb, lanes, tmp, z, os))
CB_CPU_CLONES(filter_lanes,
              (const wino_geom *wg, const float *w, int64_t f0, int nl, float *lanes, float *tmp,
               float *u, int64_t os),
              (wg, w, f0, nl, lanes, tmp, u, os))
CB_CPU_CLONES(filter_grad_lanes,
              (const wino_geom *wg, const float *s, int64_t is, int64_t f0, int nl, float *tmp,
               float *res, float *dw),
              (wg, s, is, f0, nl, tmp, res, dw))

/* ---- the driver --------------------------------------------------------------------- */

/* Everything a run's team shares. */
typedef struct wino_run {
  const wino_geom *wg;
  cb_cpu_isa isa;
  cb_cpu_gemm_cfg cfg;
  const float *in, *w, *dy; /* dy: backward-filter's output gradient */
  float *out;               /* y, dx or dw */
  int64_t b;                /* images per step */
} wino_run;

/* Transforms the filters into U^T: tasks of LANES filters. */
static void phase_filters(const wino_run *run, const wino_parts *wp) {
  const wino_geom *wg = run->wg;
  int64_t nf = wg->cout * wg->cing, tasks = (nf + LANES - 1) / LANES;
#pragma omp for schedule(static)
  for (int64_t task = 0; task < tasks; task++) {
    int64_t f0 = task * LANES;
    cb_cpu_pick(filter_lanes, run->isa)(wg, run->w, f0, nf - f0 < LANES ? (int)(nf - f0) : LANES,
                                        wp->lanes, wp->tmp, wp->u, nf);
  }
}

/* Transforms images [n0, n0 + nb) of in into V (and, backward-filter, the
 * same images of dy into Z): one channel per task. */
static void phase_inputs(const wino_run *run, const wino_parts *wp, int64_t n0, int64_t nb) {
  const wino_geom *wg = run->wg;
  int64_t tiles = nb * wg->tpi, vs = wg->cin * tiles, zs = wg->cout * tiles;
  int64_t in_plane = wg->hin * wg->win, out_plane = wg->hout * wg->wout;
  int64_t tasks = wg->cin + (wg->op == CB_OP_CONV_BWD_FILTER ? wg->cout : 0);
#pragma omp for schedule(static)
  for (int64_t task = 0; task < tasks; task++) {
    if (task < wg->cin) {
      int64_t c = task;
      cb_cpu_pick(input_channel, run->isa)(wg, run->in + (n0 * wg->cin + c) * in_plane,
                                           wg->cin * in_plane, nb, wp->plane, wp->lanes, wp->tmp,
                                           wp->v + c * tiles, vs);
    } else {
      int64_t k = task - wg->cin;
      cb_cpu_pick(grad_channel, run->isa)(wg, run->dy + (n0 * wg->cout + k) * out_plane,
                                          wg->cout * out_plane, nb, wp->lanes, wp->tmp,
                                          wp->mz + k * tiles, zs);
    }
  }
}

/* The a^2 x groups GEMMs of a step of `tiles` tiles: one per task.
 * Forward and backward-data M = U V (U^T stored); backward-filter S (in
 * u) += Z V^T, overwritten at the first step. */
static void phase_gemms(const wino_run *run, const wino_parts *wp, int64_t tiles, bool first) {
  const wino_geom *wg = run->wg;
  int64_t tasks = wg->a2 * wg->groups;
  int64_t us = wg->cout * wg->cing, vs = wg->cin * tiles, ms = wg->cout * tiles;
#pragma omp for schedule(static)
  for (int64_t task = 0; task < tasks; task++) {
    int64_t xi = task / wg->groups, grp = task % wg->groups;
    const float *v = wp->v + xi * vs + grp * wg->cing * tiles;
    float *mz = wp->mz + xi * ms + grp * wg->coutg * tiles;
    if (wg->op == CB_OP_CONV_BWD_FILTER)
      cb_cpu_sgemm(&run->cfg, false, true, wg->coutg, wg->cing, tiles, 1.0f, mz, tiles, v, tiles,
                   first ? 0.0f : 1.0f, wp->u + xi * us + grp * wg->coutg * wg->cing, wg->cing,
                   wp->gemm);
    else
      cb_cpu_sgemm(&run->cfg, true, false, wg->coutg, tiles, wg->cing, 1.0f,
                   wp->u + xi * us + grp * wg->coutg, wg->cout, v, tiles, 0.0f, mz, tiles,
                   wp->gemm);
  }
}

/* Transforms M back into images [n0, n0 + nb) of out: one channel per
 * task. */
static void phase_outputs(const wino_run *run, const wino_parts *wp, int64_t n0, int64_t nb) {
  const wino_geom *wg = run->wg;
  int64_t tiles = nb * wg->tpi, ms = wg->cout * tiles, out_plane = wg->hout * wg->wout;
#pragma omp for schedule(static)
  for (int64_t k = 0; k < wg->cout; k++)
    cb_cpu_pick(output_channel, run->isa)(wg, wp->mz + k * tiles, ms, nb, wp->tmp, wp->res,
                                          run->out + (n0 * wg->cout + k) * out_plane,
                                          wg->cout * out_plane);
}

/* Transforms S into dw: tasks of LANES filters. */
static void phase_filter_grads(const wino_run *run, const wino_parts *wp) {
  const wino_geom *wg = run->wg;
  int64_t nf = wg->cout * wg->cing, tasks = (nf + LANES - 1) / LANES;
#pragma omp for schedule(static)
  for (int64_t task = 0; task < tasks; task++) {
    int64_t f0 = task * LANES;
    cb_cpu_pick(filter_grad_lanes, run->isa)(
        wg, wp->u, nf, f0, nf - f0 < LANES ? (int)(nf - f0) : LANES, wp->tmp, wp->res, run->out);
  }
}

/* One thread of the team: every phase of every step. */
static void wino_thread(const cb_ctx *ctx, const wino_run *run, const int *params,
                        void *workspace) {
  const wino_geom *wg = run->wg;
  wino_parts wp;
  wino_layout(ctx, wg, params, workspace, cb_cpu_thread(), &wp);
  bool bwd_filter = wg->op == CB_OP_CONV_BWD_FILTER;
  if (!bwd_filter) phase_filters(run, &wp);
  for (int64_t n0 = 0; n0 < wg->n; n0 += run->b) {
    int64_t nb = wg->n - n0 < run->b ? wg->n - n0 : run->b;
    phase_inputs(run, &wp, n0, nb);
    phase_gemms(run, &wp, nb * wg->tpi, n0 == 0);
    if (!bwd_filter) phase_outputs(run, &wp, n0, nb);
  }
  if (bwd_filter) phase_filter_grads(run, &wp);
}

/* ---- the variants ----------------------------------------------------------------------- */

static cb_status wino_supports(int m, const char *who, const cb_ctx *ctx, const cb_problem *p,
                               cb_op op, const int *params) {
  cb_status st = cb_cpu_conv_check(who, p, op, params);
  if (st != CB_OK) return st;
  const cb_conv *cv = &p->conv;
  if (cv->r != 3 || cv->s != 3)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: needs a 3x3 filter, not %lldx%lld", who,
                    (long long)cv->r, (long long)cv->s);
  if (cv->stride_h != 1 || cv->stride_w != 1)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: needs stride 1, not %lldx%lld", who,
                    (long long)cv->stride_h, (long long)cv->stride_w);
  if (cv->dil_h != 1 || cv->dil_w != 1)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: needs no dilation, not %lldx%lld", who,
                    (long long)cv->dil_h, (long long)cv->dil_w);
  /* Grouped (and depthwise) convolutions would run a^2 GEMMs per group of
   * a few channels each, where the transforms cost more than they save:
   * im2col (or direct) takes them. */
  if (cv->groups != 1)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: needs one group, not %lld", who,
                    (long long)cv->groups);
  wino_geom wg;
  wino_geom_init(m, p, &wg);
  size_t bytes;
  cb_cpu_ws ws = wino_layout(ctx, &wg, params, NULL, 0, NULL);
  return cb_cpu_ws_total(&ws, who, &bytes);
}

static cb_status wino_workspace(int m, const char *who, const cb_ctx *ctx, const cb_problem *p,
                                const int *params, size_t *bytes) {
  wino_geom wg;
  wino_geom_init(m, p, &wg);
  cb_cpu_ws ws = wino_layout(ctx, &wg, params, NULL, 0, NULL);
  return cb_cpu_ws_total(&ws, who, bytes);
}

static cb_status wino_exec(int m, const char *who, cb_ctx *ctx, const cb_problem *p,
                           const int *params, const cb_args *args, void *workspace) {
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "cpu %s: a tensor pointer is NULL", who);
  wino_geom wg;
  wino_geom_init(m, p, &wg);
  wino_run run = {.wg = &wg, .isa = cb_cpu_conv_isa(params), .out = args->dst};
  run.cfg = cb_cpu_conv_gemm_cfg(ctx, run.isa);
  run.b = step_images(&wg, params);
  run.in = args->src0;
  if (p->op == CB_OP_CONV_BWD_FILTER)
    run.dy = args->src1;
  else
    run.w = args->src1;
#pragma omp parallel num_threads(cb_cpu_conv_threads(ctx, cb_problem_flops(p)))
  wino_thread(ctx, &run, params, workspace);
  return CB_OK;
}

/* The six variants: F(2x2,3x3) and F(4x4,3x3) for each op. */
#define WINO_VARIANT(OPNAME, OP, M, TOL, DESC)                                                     \
  static cb_status OPNAME##_f##M##_supports(const cb_ctx *ctx, const cb_problem *p,                \
                                            const int *params) {                                   \
    return wino_supports(M, #OPNAME "/winograd_f" #M "x3", ctx, p, OP, params);                    \
  }                                                                                                \
  static cb_status OPNAME##_f##M##_workspace(const cb_ctx *ctx, const cb_problem *p,               \
                                             const int *params, size_t *bytes) {                   \
    return wino_workspace(M, #OPNAME "/winograd_f" #M "x3", ctx, p, params, bytes);                \
  }                                                                                                \
  static cb_status OPNAME##_f##M##_run(cb_ctx *ctx, const cb_problem *p, const int *params,        \
                                       void *plan, const cb_args *args, void *ws) {                \
    (void)plan;                                                                                    \
    return wino_exec(M, #OPNAME "/winograd_f" #M "x3", ctx, p, params, args, ws);                  \
  }                                                                                                \
  const cb_variant cb_cpu_##OPNAME##_winograd_f##M##x3 = {                                         \
      .name = "winograd_f" #M "x3",                                                                \
      .op = OP,                                                                                    \
      .desc = DESC,                                                                                \
      .tolerance = TOL,                                                                            \
      .nparams = 2,                                                                                \
      .params = wino_params,                                                                       \
      .supports = OPNAME##_f##M##_supports,                                                        \
      .workspace = OPNAME##_f##M##_workspace,                                                      \
      .run = OPNAME##_f##M##_run,                                                                  \
  };

/* Tolerances: see the header comment (F(2x2) exact on small integers,
 * F(4x4) measured within 1.4e-5 relative, allowed 1e-4). */
WINO_VARIANT(conv_fwd, CB_OP_CONV_FWD, 2, 0.0,
             "Winograd F(2x2,3x3): 16 GEMMs per group over the batch's tiles")
WINO_VARIANT(conv_fwd, CB_OP_CONV_FWD, 4, 1e-4,
             "Winograd F(4x4,3x3): 36 GEMMs per group over the batch's tiles")
WINO_VARIANT(conv_bwd_data, CB_OP_CONV_BWD_DATA, 2, 0.0,
             "Winograd F(2x2,3x3) on dy with the flipped, transposed filters")
WINO_VARIANT(conv_bwd_data, CB_OP_CONV_BWD_DATA, 4, 1e-4,
             "Winograd F(4x4,3x3) on dy with the flipped, transposed filters")
WINO_VARIANT(conv_bwd_filter, CB_OP_CONV_BWD_FILTER, 2, 0.0,
             "adjoint of Winograd F(2x2,3x3): dW = G^T (sum of (A dy A^T) . (B^T x B)) G")
WINO_VARIANT(conv_bwd_filter, CB_OP_CONV_BWD_FILTER, 4, 1e-4,
             "adjoint of Winograd F(4x4,3x3): dW = G^T (sum of (A dy A^T) . (B^T x B)) G")
