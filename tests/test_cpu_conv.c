/* test_cpu_conv.c: the pieces of the cpu backend's convolutions that the
 * cross-backend test only sees through whole results:
 *
 *   - the Winograd transforms of F(2x2,3x3) and F(4x4,3x3) against their
 *     matrices as Lavin and Gray give them (written out here, not taken
 *     from the kernels), and whole tiles: the Winograd result of a tile
 *     equals the direct correlation, and the adjoint used by backward-
 *     filter equals the correlation of the input with the output gradient;
 *   - im2col against its definition, col2im as its exact adjoint
 *     (<im2col(x), c> == <x, col2im(c)> on integers), the round trip
 *     col2im(im2col(x)) == x times each pixel's tap count, and blocks of
 *     rows and columns (crossing images) against the whole matrix;
 *   - each variant's supports() rules (shapes, ISA, op).
 *
 * Every ISA this CPU runs is checked, not only the widest. */
#include "cb_test.h"

#ifndef CB_HAVE_CPU
int main(void) {
  CB_TEST_SKIP("the cpu backend is not built");
}
#else

#include "cpu/cpu_conv.h"

#include <stdint.h>

#define LANES CB_CPU_WINO_LANES

/* Small integers in [-3, 3] from a seeded LCG: every sum below is exact. */
static uint64_t rng_state = 12345;
static float small_int(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((int)((rng_state >> 33) % 7) - 3);
}

static void fill(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = small_int();
}

/* The ISAs this machine runs, scalar first. */
static int isas(cb_cpu_isa out[3]) {
  int n = 0;
  const cb_cpu_isa all[3] = {CB_CPU_SCALAR, CB_CPU_AVX2, CB_CPU_AVX512};
  for (int i = 0; i < 3; i++)
    if (cb_cpu_isa_runs(all[i])) out[n++] = all[i];
  return n;
}

/* ---- Winograd: the matrices of Lavin and Gray (2016) -------------------------- */

static const double bt2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

static const double bt4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                 {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};
static const double at4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

/* Element (i, j) of B^T, G or A^T of F(m x m, 3x3). */
static double bt(int m, int i, int j) {
  return m == 2 ? bt2[i][j] : bt4[i][j];
}
static double gm(int m, int i, int j) {
  return m == 2 ? g2[i][j] : g4[i][j];
}
static double at(int m, int i, int j) {
  return m == 2 ? at2[i][j] : at4[i][j];
}

/* out (r x c) = L (r x n) X (n x n') R (n' x c), dense doubles; L and R
 * given by element functions of (m, i, j), transposed on request. */
typedef double (*mat_fn)(int m, int i, int j);
static double elem(mat_fn f, bool trans, int m, int i, int j) {
  return trans ? f(m, j, i) : f(m, i, j);
}
static void sandwich(int m, mat_fn lf, bool lt, int r, int n, const double *x, int n2, mat_fn rf,
                     bool rt, int c, double *out) {
  for (int i = 0; i < r; i++)
    for (int j = 0; j < c; j++) {
      double s = 0;
      for (int u = 0; u < n; u++)
        for (int v = 0; v < n2; v++)
          s += elem(lf, lt, m, i, u) * x[u * n2 + v] * elem(rf, rt, m, v, j);
      out[i * c + j] = s;
    }
}

/* Lane l of a lane buffer as a dense n-element tile. */
static void lane_get(const float *buf, int n, int l, double *tile) {
  for (int e = 0; e < n; e++) tile[e] = buf[e * LANES + l];
}

/* max |got - want| over a tile, relative to max(1, max |want|). */
static double rel_err(const float *buf, int l, const double *want, int n) {
  double err = 0, scale = 1;
  for (int e = 0; e < n; e++) {
    double d = fabs(buf[e * LANES + l] - want[e]);
    if (d > err) err = d;
    if (fabs(want[e]) > scale) scale = fabs(want[e]);
  }
  return err / scale;
}

/* F(2x2,3x3)'s matrices hold 0, +-1 and 1/2: on integers every transform
 * is exact. F(4x4,3x3)'s G holds 1/6, 1/12 and 1/24, which float rounds:
 * a transform of values up to ~100 is off by a few roundings (allowed
 * 1e-6 relative), a whole tile by a few more (1e-5). */
static double transform_tol(int m) {
  return m == 2 ? 0 : 1e-6;
}
static double tile_tol(int m) {
  return m == 2 ? 0 : 1e-5;
}

/* Each transform, on 37 lanes of random tiles (a partial lane count, so
 * the vector loops' tails run), against its definition. */
static void check_transforms(cb_cpu_isa isa, int m) {
  int a = m + 2, nl = 37;
  static float in[36 * LANES], out[36 * LANES];
  double tile[36], want[36];
  for (int l = 0; l < 36 * LANES; l++) out[l] = NAN;

  fill(in, 36 * LANES);
  cb_cpu_wino_input(isa, m, in, out, nl);
  for (int l = 0; l < nl; l++) { /* v = B^T d B */
    lane_get(in, a * a, l, tile);
    sandwich(m, bt, false, a, a, tile, a, bt, true, a, want);
    CHECK_MSG(rel_err(out, l, want, a * a) <= transform_tol(m), "isa %s F%d input lane %d",
              cb_cpu_isa_name(isa), m, l);
  }

  cb_cpu_wino_output(isa, m, in, out, nl);
  for (int l = 0; l < nl; l++) { /* y = A^T v A */
    lane_get(in, a * a, l, tile);
    sandwich(m, at, false, m, a, tile, a, at, true, m, want);
    CHECK_MSG(rel_err(out, l, want, m * m) <= transform_tol(m), "isa %s F%d output lane %d",
              cb_cpu_isa_name(isa), m, l);
  }

  cb_cpu_wino_filter(isa, m, in, out, nl);
  for (int l = 0; l < nl; l++) { /* u = G g G^T */
    lane_get(in, 9, l, tile);
    sandwich(m, gm, false, a, 3, tile, 3, gm, true, a, want);
    CHECK_MSG(rel_err(out, l, want, a * a) <= transform_tol(m), "isa %s F%d filter lane %d",
              cb_cpu_isa_name(isa), m, l);
  }

  cb_cpu_wino_grad(isa, m, in, out, nl);
  for (int l = 0; l < nl; l++) { /* z = A e A^T */
    lane_get(in, m * m, l, tile);
    sandwich(m, at, true, a, m, tile, m, at, false, a, want);
    CHECK_MSG(rel_err(out, l, want, a * a) <= transform_tol(m), "isa %s F%d grad lane %d",
              cb_cpu_isa_name(isa), m, l);
  }

  cb_cpu_wino_filter_grad(isa, m, in, out, nl);
  for (int l = 0; l < nl; l++) { /* dg = G^T s G */
    lane_get(in, a * a, l, tile);
    sandwich(m, gm, true, 3, a, tile, a, gm, false, 3, want);
    CHECK_MSG(rel_err(out, l, want, 9) <= transform_tol(m), "isa %s F%d filter grad lane %d",
              cb_cpu_isa_name(isa), m, l);
  }
}

/* Whole tiles through the library's transforms:
 *   forward: A^T [(G g G^T) . (B^T d B)] A == the correlation of d with g;
 *   backward-filter: G^T [(A e A^T) . (B^T d B)] G == the correlation of
 *   d with e (the filter gradient of one tile).
 * Lane 0 is a known tile (d all ones, g all ones: every output is 9). */
static void check_tiles(cb_cpu_isa isa, int m) {
  int a = m + 2, nl = LANES;
  static float d[36 * LANES], g[9 * LANES], e[16 * LANES];
  static float v[36 * LANES], u[36 * LANES], z[36 * LANES], prod[36 * LANES], y[36 * LANES];
  fill(d, 36 * LANES);
  fill(g, 9 * LANES);
  fill(e, 16 * LANES);
  for (int i = 0; i < a * a; i++) d[i * LANES] = 1;
  for (int i = 0; i < 9; i++) g[i * LANES] = 1;

  cb_cpu_wino_input(isa, m, d, v, nl);
  cb_cpu_wino_filter(isa, m, g, u, nl);
  for (int i = 0; i < a * a * LANES; i++) prod[i] = u[i] * v[i];
  cb_cpu_wino_output(isa, m, prod, y, nl);
  for (int l = 0; l < nl; l++) {
    double want[16];
    for (int i = 0; i < m; i++)
      for (int j = 0; j < m; j++) {
        double s = 0;
        for (int r = 0; r < 3; r++)
          for (int c = 0; c < 3; c++)
            s += (double)d[((i + r) * a + j + c) * LANES + l] * g[(r * 3 + c) * LANES + l];
        want[i * m + j] = s;
      }
    CHECK_MSG(rel_err(y, l, want, m * m) <= tile_tol(m), "isa %s F%d tile %d: relative error %g",
              cb_cpu_isa_name(isa), m, l, rel_err(y, l, want, m * m));
    if (l == 0)
      for (int i = 0; i < m * m; i++) CHECK_NEAR(y[i * LANES], 9.0, 9 * tile_tol(m));
  }

  cb_cpu_wino_grad(isa, m, e, z, nl);
  for (int i = 0; i < a * a * LANES; i++) prod[i] = z[i] * v[i];
  cb_cpu_wino_filter_grad(isa, m, prod, y, nl);
  for (int l = 0; l < nl; l++) {
    double want[9];
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++) {
        double s = 0;
        for (int i = 0; i < m; i++)
          for (int j = 0; j < m; j++)
            s += (double)d[((i + r) * a + j + c) * LANES + l] * e[(i * m + j) * LANES + l];
        want[r * 3 + c] = s;
      }
    CHECK_MSG(rel_err(y, l, want, 9) <= tile_tol(m), "isa %s F%d filter-gradient tile %d",
              cb_cpu_isa_name(isa), m, l);
  }
}

/* ---- im2col and col2im ----------------------------------------------------------- */

#define CONV(N, C, H, W, K, R, S, PH, PW, SH, SW, DH, DW, G)                                       \
  (cb_conv) {                                                                                      \
    .n = N, .c = C, .h = H, .w = W, .k = K, .r = R, .s = S, .pad_h = PH, .pad_w = PW,              \
    .stride_h = SH, .stride_w = SW, .dil_h = DH, .dil_w = DW, .groups = G                          \
  }

/* im2col's definition: col[(c R + r) S + s][(i P + p) Q + q] =
 * x[i][c][p u - pad + r d][q u - pad + s d], 0 outside the image. */
static float col_def(const cb_conv_geom *g, const float *x, int64_t row, int64_t j) {
  const cb_conv *cv = &g->cv;
  int64_t c = row / g->rs, r = row % g->rs / cv->s, s = row % cv->s;
  int64_t i = j / g->pq, p = j % g->pq / g->q, q = j % g->q;
  int64_t y = p * cv->stride_h - cv->pad_h + r * cv->dil_h;
  int64_t xx = q * cv->stride_w - cv->pad_w + s * cv->dil_w;
  if (y < 0 || y >= cv->h || xx < 0 || xx >= cv->w) return 0;
  return x[((i * cv->c + c) * cv->h + y) * cv->w + xx];
}

/* dx = col2im(col) over every image: col is [C R S, N P Q]. */
static void col2im_all(cb_cpu_isa isa, const cb_conv_geom *g, const float *col, float *dx) {
  const cb_conv *cv = &g->cv;
  memset(dx, 0, (size_t)(cv->n * cv->c * g->hw) * sizeof *dx);
  for (int64_t i = 0; i < cv->n; i++)
    cb_cpu_col2im_add(isa, g, col + i * g->pq, cv->n * g->pq, 0, cv->c, 0, g->p,
                      dx + i * cv->c * g->hw);
}

static void check_unfold(cb_cpu_isa isa, const cb_conv *cv) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, cv);
  int64_t cols = cv->n * g.pq, nx = cv->n * cv->c * g.hw, ncol = g.crs * cols;
  float *x = malloc((size_t)nx * sizeof *x), *dx = malloc((size_t)nx * sizeof *dx);
  float *col = malloc((size_t)ncol * sizeof *col), *c2 = malloc((size_t)ncol * sizeof *c2);
  float *blk = malloc((size_t)ncol * sizeof *blk);
  const char *isa_name = cb_cpu_isa_name(isa);
  fill(x, nx);
  for (int64_t i = 0; i < ncol; i++) col[i] = NAN;

  /* The whole matrix against the definition. */
  cb_cpu_im2col(isa, &g, x, 0, g.crs, 0, cols, col, cols);
  int64_t bad = 0;
  for (int64_t row = 0; row < g.crs; row++)
    for (int64_t j = 0; j < cols; j++) bad += col[row * cols + j] != col_def(&g, x, row, j);
  CHECK_MSG(bad == 0, "isa %s: %lld col entries differ from the definition", isa_name,
            (long long)bad);

  /* A block of rows and columns that starts inside one image's row and
   * ends inside another image. */
  int64_t r0 = g.crs / 3, r1 = g.crs - g.crs / 4, j0 = g.q / 2 + 1, j1 = cols - g.pq / 2 - 1;
  cb_cpu_im2col(isa, &g, x, r0, r1, j0, j1, blk, j1 - j0);
  bad = 0;
  for (int64_t row = r0; row < r1; row++)
    for (int64_t j = j0; j < j1; j++)
      bad += blk[(row - r0) * (j1 - j0) + j - j0] != col[row * cols + j];
  CHECK_MSG(bad == 0, "isa %s: %lld entries of a block differ from the whole matrix", isa_name,
            (long long)bad);

  /* Adjointness: <im2col(x), c> == <x, col2im(c)>, exact on integers. */
  fill(c2, ncol);
  col2im_all(isa, &g, c2, dx);
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < ncol; i++) lhs += (double)col[i] * c2[i];
  for (int64_t i = 0; i < nx; i++) rhs += (double)x[i] * dx[i];
  CHECK_MSG(lhs == rhs, "isa %s: <im2col(x), c> = %.17g but <x, col2im(c)> = %.17g", isa_name, lhs,
            rhs);

  /* Round trip: col2im(im2col(x)) == x times the number of taps that read
   * each pixel, counted here from the definition. */
  col2im_all(isa, &g, col, dx);
  bad = 0;
  for (int64_t i = 0; i < cv->n; i++)
    for (int64_t c = 0; c < cv->c; c++)
      for (int64_t y = 0; y < cv->h; y++)
        for (int64_t xx = 0; xx < cv->w; xx++) {
          int64_t taps = 0;
          for (int64_t r = 0; r < cv->r; r++)
            for (int64_t s = 0; s < cv->s; s++) {
              int64_t py = y + cv->pad_h - r * cv->dil_h, qx = xx + cv->pad_w - s * cv->dil_w;
              taps += py >= 0 && qx >= 0 && py % cv->stride_h == 0 && qx % cv->stride_w == 0 &&
                      py / cv->stride_h < g.p && qx / cv->stride_w < g.q;
            }
          int64_t at_ = ((i * cv->c + c) * cv->h + y) * cv->w + xx;
          bad += dx[at_] != x[at_] * (float)taps;
        }
  CHECK_MSG(bad == 0, "isa %s: %lld pixels of col2im(im2col(x)) are not x times their taps",
            isa_name, (long long)bad);

  /* col2im in pieces (channels [c0, c1), output rows [p0, p1)) adds up to
   * the whole: what backward-data's threads and row pieces do. */
  float *whole = malloc((size_t)nx * sizeof *whole);
  col2im_all(isa, &g, c2, whole);
  memset(dx, 0, (size_t)nx * sizeof *dx);
  int64_t cm = cv->c / 2, pm = g.p / 2;
  for (int64_t i = 0; i < cv->n; i++)
    for (int half = 0; half < 2; half++) {
      int64_t c0 = half ? cm : 0, c1 = half ? cv->c : cm;
      for (int64_t p0 = 0; p0 < g.p; p0 = p0 < pm ? pm : g.p) {
        int64_t p1 = p0 < pm ? pm : g.p;
        /* The block of rows (c0 R S..) and columns (p0 Q..) of image i,
         * copied out with its own leading dimension. */
        int64_t rows = (c1 - c0) * g.rs, w = (p1 - p0) * g.q;
        for (int64_t rr = 0; rr < rows; rr++)
          memcpy(blk + rr * w, c2 + (c0 * g.rs + rr) * cols + i * g.pq + p0 * g.q,
                 (size_t)w * sizeof *blk);
        cb_cpu_col2im_add(isa, &g, blk, w, c0, c1, p0, p1, dx + i * cv->c * g.hw);
      }
    }
  CHECK_MSG(memcmp(dx, whole, (size_t)nx * sizeof *dx) == 0,
            "isa %s: col2im in pieces differs from col2im whole", isa_name);

  free(whole);
  free(x);
  free(dx);
  free(col);
  free(c2);
  free(blk);
}

/* cb_planes_to_matrix / cb_matrix_to_planes: NCHW planes to [K, columns] and back. */
static void check_gather_scatter(void) {
  enum { N = 3, K = 5, PQ = 7 };
  float t[N * K * PQ], m[K * N * PQ], back[N * K * PQ];
  fill(t, N * K * PQ);
  int64_t j0 = 4, j1 = 17, ld = j1 - j0;
  cb_planes_to_matrix(t, m, ld, K, PQ, j0, j1);
  int bad = 0;
  for (int k = 0; k < K; k++)
    for (int64_t j = j0; j < j1; j++)
      bad += m[k * ld + j - j0] != t[(j / PQ * K + k) * PQ + j % PQ];
  CHECK_EQ_INT(bad, 0);
  for (int i = 0; i < N * K * PQ; i++) back[i] = NAN;
  cb_matrix_to_planes(m, back, ld, K, PQ, j0, j1);
  bad = 0;
  for (int i = 0; i < N * K * PQ; i++) {
    bool inside = i / (K * PQ) * PQ + i % PQ >= j0 && i / (K * PQ) * PQ + i % PQ < j1;
    bad += inside ? back[i] != t[i] : !isnan(back[i]);
  }
  CHECK_EQ_INT(bad, 0);
}

/* ---- supports() -------------------------------------------------------------------- */

static cb_status supports(cb_ctx *ctx, cb_op op, const char *name, cb_conv cv, int isa) {
  const cb_variant *v = cb_variant_find(ctx->backend, op, name);
  CHECK_MSG(v != NULL, "cpu has no %s variant %s", cb_op_name(op), name);
  if (!v) return CB_ERR_INTERNAL;
  int params[CB_MAX_PARAMS];
  cb_variant_default_params(v, params);
  params[0] = isa;
  cb_problem p = cb_problem_conv(op, cv);
  CHECK(cb_problem_check(&p) == CB_OK);
  return v->supports(ctx, &p, params);
}

#define ACCEPTS(op, name, cv)                                                                      \
  CHECK_MSG(supports(ctx, op, name, cv, CB_CPU_ISA_AUTO) == CB_OK, "%s/%s refuses %s: %s",         \
            cb_op_name(op), name, #cv, cb_errmsg())
#define REFUSES(op, name, cv)                                                                      \
  CHECK_MSG(supports(ctx, op, name, cv, CB_CPU_ISA_AUTO) == CB_ERR_UNSUPPORTED,                    \
            "%s/%s accepts %s", cb_op_name(op), name, #cv)

static void check_supports(cb_ctx *ctx) {
  const cb_op ops[3] = {CB_OP_CONV_FWD, CB_OP_CONV_BWD_DATA, CB_OP_CONV_BWD_FILTER};
  const char *const names[4] = {"im2col", "direct", "winograd_f2x3", "winograd_f4x3"};
  /* The ISA and op rules, on a shape each variant takes (direct: a 1x1;
   * the others: L5). */
  const cb_conv l5 = CONV(16, 384, 13, 13, 384, 3, 3, 0, 0, 1, 1, 1, 1, 1);
  const cb_conv pw = CONV(2, 64, 14, 14, 128, 1, 1, 0, 0, 1, 1, 1, 1, 1);
  for (int o = 0; o < 3; o++)
    for (int n = 0; n < 4; n++) {
      cb_conv cv = n == 1 ? pw : l5;
      /* Every ISA value: accepted exactly when this CPU runs it; an
       * unknown value is refused. */
      const int isa_vals[4] = {CB_CPU_ISA_AUTO, CB_CPU_SCALAR, CB_CPU_AVX2, CB_CPU_AVX512};
      for (int i = 0; i < 4; i++) {
        cb_status want = cb_cpu_isa_runs((cb_cpu_isa)isa_vals[i]) ? CB_OK : CB_ERR_UNSUPPORTED;
        CHECK_MSG(supports(ctx, ops[o], names[n], cv, isa_vals[i]) == want, "%s/%s isa %d: %s",
                  cb_op_name(ops[o]), names[n], isa_vals[i], cb_errmsg());
      }
      CHECK(supports(ctx, ops[o], names[n], cv, 3) == CB_ERR_UNSUPPORTED);
      /* A problem of another op is refused. */
      const cb_variant *v = cb_variant_find(ctx->backend, ops[o], names[n]);
      cb_problem other = cb_problem_conv(ops[(o + 1) % 3], cv);
      CHECK(v && v->supports(ctx, &other, NULL) == CB_ERR_UNSUPPORTED);
    }

  /* im2col computes everything ref does. */
  const cb_conv odd[] = {
      CONV(1, 3, 224, 224, 64, 11, 11, 2, 2, 4, 4, 1, 1, 1),
      CONV(2, 8, 12, 12, 8, 3, 3, 2, 2, 1, 1, 2, 2, 1),
      CONV(2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8),
      CONV(3, 5, 13, 7, 7, 3, 5, 0, 1, 2, 1, 1, 1, 1),
  };
  for (int o = 0; o < 3; o++)
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) ACCEPTS(ops[o], "im2col", odd[i]);

  /* Winograd: 3x3, stride 1, no dilation, one group; any padding. */
  for (int o = 0; o < 3; o++)
    for (int n = 2; n < 4; n++) {
      ACCEPTS(ops[o], names[n], l5);
      ACCEPTS(ops[o], names[n], CONV(2, 16, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1));
      ACCEPTS(ops[o], names[n], CONV(2, 16, 14, 14, 24, 3, 3, 2, 0, 1, 1, 1, 1, 1));
      REFUSES(ops[o], names[n], CONV(2, 16, 14, 14, 24, 5, 5, 2, 2, 1, 1, 1, 1, 1));
      REFUSES(ops[o], names[n], CONV(2, 16, 14, 14, 24, 3, 3, 1, 1, 2, 2, 1, 1, 1));
      REFUSES(ops[o], names[n], CONV(2, 16, 14, 14, 24, 3, 3, 2, 2, 1, 1, 2, 2, 1));
      REFUSES(ops[o], names[n], CONV(2, 16, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 2));
    }

  /* direct: every 1x1 unpadded filter (strided too), all ops. */
  for (int o = 0; o < 3; o++) {
    ACCEPTS(ops[o], "direct", pw);
    ACCEPTS(ops[o], "direct", CONV(2, 64, 14, 14, 128, 1, 1, 0, 0, 2, 2, 1, 1, 1));
  }
  /* Its register-blocked kernel: forward everywhere (it beat im2col on
   * every layer measured), backward-data where it wastes little (stride 1,
   * input channels that fill its blocks, dy not padded much), never
   * backward-filter. */
  const cb_conv l1 = CONV(16, 3, 128, 128, 96, 11, 11, 0, 0, 1, 1, 1, 1, 1);
  const cb_conv l2 = CONV(16, 64, 64, 64, 128, 9, 9, 0, 0, 1, 1, 1, 1, 1);
  const cb_conv l4 = CONV(16, 128, 16, 16, 128, 7, 7, 0, 0, 1, 1, 1, 1, 1);
  const cb_conv conv1 = CONV(16, 3, 224, 224, 64, 11, 11, 2, 2, 4, 4, 1, 1, 1);
  const cb_conv conv2 = CONV(16, 64, 27, 27, 192, 5, 5, 2, 2, 1, 1, 1, 1, 1);
  const cb_conv conv5 = CONV(16, 256, 13, 13, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  const cb_conv all[] = {l1, l2, l4, conv1, conv2, conv5};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    ACCEPTS(CB_OP_CONV_FWD, "direct", all[i]);
    REFUSES(CB_OP_CONV_BWD_FILTER, "direct", all[i]);
  }
  ACCEPTS(CB_OP_CONV_BWD_DATA, "direct", l2);    /* H W / P Q = 1.31 */
  ACCEPTS(CB_OP_CONV_BWD_DATA, "direct", conv2); /* 1.0 */
  ACCEPTS(CB_OP_CONV_BWD_DATA, "direct", conv5);
  REFUSES(CB_OP_CONV_BWD_DATA, "direct", l1);    /* 3 channels in blocks of 8..32 */
  REFUSES(CB_OP_CONV_BWD_DATA, "direct", l4);    /* 2.56 */
  REFUSES(CB_OP_CONV_BWD_DATA, "direct", conv1); /* stride 4 */
  REFUSES(CB_OP_CONV_BWD_DATA, "direct", CONV(16, 128, 32, 32, 128, 9, 9, 0, 0, 1, 1, 1, 1, 1));
}

int main(void) {
  cb_cpu_isa list[3];
  int n = isas(list);
  for (int i = 0; i < n; i++) {
    for (int m = 2; m <= 4; m += 2) {
      check_transforms(list[i], m);
      check_tiles(list[i], m);
    }
    const cb_conv shapes[] = {
        CONV(2, 3, 11, 11, 4, 3, 3, 0, 0, 1, 1, 1, 1, 1),   /* plain */
        CONV(2, 4, 12, 9, 4, 3, 5, 1, 2, 1, 1, 1, 1, 1),    /* padding, asymmetric */
        CONV(3, 3, 23, 23, 4, 11, 11, 2, 2, 4, 4, 1, 1, 1), /* AlexNet conv1-like */
        CONV(2, 4, 15, 14, 4, 3, 3, 1, 0, 2, 3, 1, 1, 1),   /* two strides */
        CONV(2, 4, 12, 12, 4, 3, 3, 2, 2, 1, 1, 2, 2, 1),   /* dilation */
        CONV(2, 4, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2),     /* groups */
        CONV(2, 2, 6, 6, 4, 5, 5, 4, 4, 1, 1, 1, 1, 1),     /* padding wider than the image */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_unfold(list[i], &shapes[s]);
  }
  check_gather_scatter();

  cb_ctx *ctx;
  if (cb_ctx_open(cb_backend_find("cpu"), 1, &ctx) != CB_OK) {
    fprintf(stderr, "cannot open the cpu backend: %s\n", cb_errmsg());
    return 1;
  }
  check_supports(ctx);
  cb_ctx_close(ctx);
  return cb_test_result();
}

#endif /* CB_HAVE_CPU */
