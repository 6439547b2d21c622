/* test_cpu_gemm.c: the cpu backend's SGEMM (cb_cpu_sgemm) against a
 * double-precision reference, exactly.
 *
 * Small-integer operands and dyadic alpha and beta make every product and
 * sum exact in float, whatever the order, so any difference is a bug, not
 * rounding. Each case runs every micro-kernel shape of every ISA this CPU
 * runs (AVX-512, AVX2 forced, scalar forced) through:
 *   - sizes around the tile and block edges: 1, 2, 3, mr - 1, mr + 1,
 *     nr - 1, nr + 1, 2 kc + 1 (tails of every loop);
 *   - all four transposes, leading dimensions longer than the rows and
 *     pointers one float off alignment;
 *   - alpha and beta, beta 0 with NaN in C (C must not be read), alpha 0;
 *   - forced small mc, kc and nc (every block loop iterates, odd kc), and
 *     the blocks derived from the cache sizes;
 *   - 1, 2 and 3 threads (row split and panel split of the team).
 * The threaded paths are what the TSan step of scripts/test runs.
 * The threaded paths are what the TSan step of scripts/test runs.
 * C is allocated with a guard row and padded rows filled with a sentinel:
 * a write outside the m x n result (a bad mask, a clipped tile written
 * whole) fails as surely as a wrong value. The packing space is allocated
 * at exactly cb_cpu_sgemm_workspace bytes so ASan sees any overrun. */
#include "cb_test.h"
#include "cpu/cpu_gemm.h"

#include <stdint.h>

#define SENTINEL 12345.0f

/* A deterministic small integer in [-3, 3] for element idx of matrix id. */
static float small_int(uint32_t id, uint64_t idx) {
  uint64_t x = (idx + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)id * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 31;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 29;
  return (float)((int)(x % 7) - 3);
}

/* One matrix of rows x cols with ld floats per row (ld >= cols), starting
 * off floats into its allocation; padding holds the sentinel. */
typedef struct mat {
  float *buf, *p;
  int64_t rows, cols, ld;
} mat;

static mat mat_make(int64_t rows, int64_t cols, int64_t pad, int off, uint32_t id) {
  mat x = {0};
  x.rows = rows;
  x.cols = cols;
  x.ld = cols + pad;
  x.buf = malloc(((size_t)(rows * x.ld) + (size_t)off) * sizeof(float));
  if (!x.buf) abort();
  x.p = x.buf + off;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < x.ld; j++)
      x.p[i * x.ld + j] = j < cols ? small_int(id, (uint64_t)(i * cols + j)) : SENTINEL;
  return x;
}

/* Everything one call needs to know. */
typedef struct gcase {
  const cb_cpu_gemm_kernel *kr;
  cb_cpu_gemm_cfg cfg;
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad; /* extra floats per row of A, B and C */
  int off;     /* floats by which every pointer misses 64-byte alignment */
} gcase;

static int failed_cases;

static void describe(const gcase *g, char *buf, size_t len) {
  snprintf(buf, len, "%s %c%c m %lld n %lld k %lld alpha %g beta %g pad %lld off %d", g->kr->name,
           g->ta ? 't' : 'n', g->tb ? 't' : 'n', (long long)g->m, (long long)g->n, (long long)g->k,
           g->alpha, g->beta, (long long)g->pad, g->off);
  size_t used = strlen(buf);
  snprintf(buf + used, len - used, " mc %d kc %d nc %d threads %d", g->cfg.mc, g->cfg.kc, g->cfg.nc,
           g->cfg.threads);
}

/* Runs one case and compares every element of C (and its padding and
 * guard row) with the double-precision reference. */
static void run_case(const gcase *g) {
  mat a = g->ta ? mat_make(g->k, g->m, g->pad, g->off, 1) : mat_make(g->m, g->k, g->pad, g->off, 1);
  mat b = g->tb ? mat_make(g->n, g->k, g->pad, g->off, 2) : mat_make(g->k, g->n, g->pad, g->off, 2);
  /* One guard row past m; beta 0 gets NaN where C is, which must not leak. */
  mat c = mat_make(g->m + 1, g->n, g->pad, g->off, 3);
  for (int64_t i = 0; i < c.rows; i++)
    for (int64_t j = 0; j < c.cols; j++)
      if (i == g->m)
        c.p[i * c.ld + j] = SENTINEL;
      else if (g->beta == 0.0f)
        c.p[i * c.ld + j] = NAN;
  double *want = malloc((size_t)(g->m * g->n) * sizeof(double));
  if (!want) abort();
  for (int64_t i = 0; i < g->m; i++)
    for (int64_t j = 0; j < g->n; j++) {
      double s = 0;
      for (int64_t l = 0; l < g->k; l++) {
        double x = g->ta ? a.p[l * a.ld + i] : a.p[i * a.ld + l];
        double y = g->tb ? b.p[j * b.ld + l] : b.p[l * b.ld + j];
        s += x * y;
      }
      want[i * g->n + j] = g->alpha * s + (g->beta == 0.0f ? 0.0 : g->beta * c.p[i * c.ld + j]);
    }

  size_t bytes = cb_cpu_sgemm_workspace_with(g->kr, &g->cfg, g->m, g->n, g->k);
  void *ws = malloc(bytes ? bytes : 1);
  if (!ws) abort();
  cb_cpu_sgemm_with(g->kr, &g->cfg, g->ta, g->tb, g->m, g->n, g->k, g->alpha, a.p, a.ld, b.p, b.ld,
                    g->beta, c.p, c.ld, ws);

  int64_t bad = 0, first_i = -1, first_j = -1;
  for (int64_t i = 0; i < c.rows; i++)
    for (int64_t j = 0; j < c.ld; j++) {
      double w = i < g->m && j < g->n ? want[i * g->n + j] : SENTINEL;
      if ((double)c.p[i * c.ld + j] != w && bad++ == 0) {
        first_i = i;
        first_j = j;
      }
    }
  cb_test_checks++;
  if (bad) {
    char what[256];
    describe(g, what, sizeof what);
    cb_test_failures++;
    /* One line per failing case is plenty: stop printing after a few. */
    if (failed_cases++ < 20) {
      double w = first_i < g->m && first_j < g->n ? want[first_i * g->n + first_j] : SENTINEL;
      fprintf(stderr, "FAIL %s: %lld wrong, first C[%lld][%lld] = %.9g, want %.9g\n", what,
              (long long)bad, (long long)first_i, (long long)first_j,
              (double)c.p[first_i * c.ld + first_j], w);
    }
  }
  free(ws);
  free(want);
  free(a.buf);
  free(b.buf);
  free(c.buf);
}

/* The four transposes, two alpha/beta pairs (beta 0 with NaN in C, and a
 * general one) and, for the general pair, padded and unaligned operands. */
static void run_variants(gcase g) {
  static const float ab[][2] = {{1, 0}, {-0.5f, 2}};
  for (int t = 0; t < 4; t++)
    for (int s = 0; s < 2; s++) {
      g.ta = t & 1;
      g.tb = t & 2;
      g.alpha = ab[s][0];
      g.beta = ab[s][1];
      g.pad = s ? 3 : 0;
      g.off = s ? 1 : 0;
      run_case(&g);
    }
}

/* Sizes at the tile edges with blocks forced small (mc two A panels and a
 * bit, kc 17 so slices are odd, nc two B panels), so the ic, pc and jc
 * loops all run several times with ragged last blocks. */
static void check_tails(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st) {
  const int64_t mr = kr->mr, nr = kr->nr;
  const int64_t ms[] = {1, 2, 3, mr - 1, mr + 1, 2 * mr + 3};
  const int64_t ns[] = {1, 3, nr - 1, nr + 1, 2 * nr + 5};
  const int64_t ks[] = {1, 2, 16, 35};
  cb_cpu_gemm_cfg small = {
      .isa = kr->isa, .mc = (int)mr + 1, .kc = 17, .nc = (int)nr + 1, .threads = 1, .state = st};
  for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
    for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
      for (size_t l = 0; l < sizeof ks / sizeof *ks; l++) {
        if (ms[i] < 1 || ns[j] < 1) continue;
        /* Every size with the plain call; the transposes and operands
         * that are padded or off alignment on a spread of them. */
        gcase g = {.kr = kr, .cfg = small, .m = ms[i], .n = ns[j], .k = ks[l], .alpha = 1};
        run_case(&g);
        if ((i + j + l) % 3 == 0) run_variants(g);
      }
}

/* The blocks derived from the cache sizes: k past two full slices
 * (2 kc + 1 at the derived kc), and the general alpha/beta paths. */
static void check_default_blocks(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st) {
  cb_cpu_gemm_cfg cfg = {.isa = kr->isa, .threads = 1, .state = st};
  /* 512 is the largest derived kc (KC_MAX in cpu_sgemm.c). */
  gcase g = {.kr = kr, .cfg = cfg, .m = kr->mr + 1, .n = kr->nr + 1, .k = 2 * 512 + 1, .alpha = 1};
  run_variants(g);
  g.m = 2 * kr->mr - 1;
  g.n = 3 * kr->nr - 1;
  g.k = 100;
  run_variants(g);
}

/* The depth that makes an m x n product big enough for cb_cpu_sgemm to
 * wake 3 threads (it keeps products under about a megaflop per thread on
 * one), so small tiles (the scalar 4 x 8) get threaded runs too. */
static int64_t deep_enough(int64_t m, int64_t n, int64_t k) {
  int64_t need = (int64_t)(3.5e6 / (2.0 * (double)m * (double)n)) + 1;
  return k > need ? k : need;
}

/* Threaded calls: products big enough to wake 2 or 3 threads, split by
 * rows (many rows) and by B panels (one row panel, many columns), with
 * small blocks so the threads meet at many barriers, and a last slice
 * shallower than the others (panels of the next slice move). */
static void check_threads(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st) {
  /* One thread runs these paths in check_tails already. */
  for (int threads = 2; threads <= 3; threads++) {
    cb_cpu_gemm_cfg cfg = {.isa = kr->isa,
                           .mc = 2 * kr->mr,
                           .kc = 48,
                           .nc = 3 * kr->nr,
                           .threads = threads,
                           .state = st};
    gcase rows = {.kr = kr, .cfg = cfg, .m = 7 * kr->mr + 3, .n = 4 * kr->nr + 1};
    gcase panels = {.kr = kr, .cfg = cfg, .m = kr->mr - 1, .n = 20 * kr->nr + 7};
    rows.k = deep_enough(rows.m, rows.n, 150) / 48 * 48 + 12;
    panels.k = deep_enough(panels.m, panels.n, 300) / 48 * 48 + 12;
    run_variants(rows);
    run_variants(panels);
    /* The derived blocks on more than one thread. */
    rows.cfg.mc = rows.cfg.kc = rows.cfg.nc = 0;
    run_variants(rows);
  }
}

/* k 0 and alpha 0 scale C by beta without reading A or B (NaN there must
 * not leak); m 0 or n 0 touch nothing. */
static void check_degenerate(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st) {
  cb_cpu_gemm_cfg cfg = {.isa = kr->isa, .threads = 2, .state = st};
  float a[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, b[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
  float c[6] = {1, 2, 3, 4, 5, 6}, ws[64];
  cb_cpu_sgemm_with(kr, &cfg, false, false, 2, 3, 0, 1.0f, a, 0, b, 3, 2.0f, c, 3, ws);
  CHECK(c[0] == 2 && c[5] == 12);
  cb_cpu_sgemm_with(kr, &cfg, false, false, 2, 3, 2, 0.0f, a, 2, b, 3, 0.5f, c, 3, ws);
  CHECK(c[0] == 1 && c[5] == 6);
  c[0] = NAN;
  cb_cpu_sgemm_with(kr, &cfg, false, false, 2, 3, 0, 1.0f, a, 0, b, 3, 0.0f, c, 3, ws);
  CHECK(c[0] == 0 && c[5] == 0);
  c[0] = 7;
  cb_cpu_sgemm_with(kr, &cfg, false, false, 0, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3, ws);
  cb_cpu_sgemm_with(kr, &cfg, false, false, 2, 0, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3, ws);
  CHECK(c[0] == 7);
}

/* The packing space of a problem serves every smaller one (callers size
 * one workspace for calls of varying depth), for derived and given
 * blocks and any thread count up to the one it was sized for. */
static void check_workspace_monotone(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st) {
  const int blocks[][3] = {{0, 0, 0}, {40, 100, 64}, {1, 1, 1}};
  int bad = 0;
  for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++)
    for (int64_t m = 1; m <= 700; m += 97)
      for (int64_t n = 1; n <= 700; n += 89)
        for (int64_t k = 1; k <= 1600; k += 83) {
          cb_cpu_gemm_cfg big = {kr->isa, blocks[b][0], blocks[b][1], blocks[b][2], 2, st};
          cb_cpu_gemm_cfg one = big;
          one.threads = 1;
          size_t w = cb_cpu_sgemm_workspace_with(kr, &big, m, n, k);
          bad += cb_cpu_sgemm_workspace_with(kr, &big, m - 1 + (m == 1), n, k) > w;
          bad += cb_cpu_sgemm_workspace_with(kr, &big, m, n - 1 + (n == 1), k) > w;
          bad += cb_cpu_sgemm_workspace_with(kr, &big, m, n, k - 1 + (k == 1)) > w;
          bad += cb_cpu_sgemm_workspace_with(kr, &one, m, n, k) > w;
        }
  CHECK_MSG(bad == 0, "%s: %d smaller problems need more packing space", kr->name, bad);
}

static void check_kernel(const cb_cpu_gemm_kernel *kr, const cb_cpu_state *st, bool full) {
  int before = cb_test_failures;
  check_tails(kr, st);
  check_degenerate(kr, st);
  check_workspace_monotone(kr, st);
  if (full) {
    check_default_blocks(kr, st);
    check_threads(kr, st);
  }
  printf("%-16s %s\n", kr->name, cb_test_failures == before ? "ok" : "FAILED");
}

/* The public entry point picks each ISA's default kernel and refuses
 * nothing: an ISA this CPU lacks falls back to one it runs. */
static void check_dispatch(const cb_cpu_state *st) {
  float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4];
  const float want[4] = {19, 22, 43, 50};
  for (int isa = CB_CPU_ISA_AUTO; isa <= CB_CPU_AVX512; isa++) {
    cb_cpu_gemm_cfg cfg = {.isa = (cb_cpu_isa)isa, .threads = 1, .state = st};
    void *ws = malloc(cb_cpu_sgemm_workspace(&cfg, 2, 2, 2));
    if (!ws) abort();
    for (int i = 0; i < 4; i++) c[i] = NAN;
    cb_cpu_sgemm(&cfg, false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2, ws);
    CHECK_MSG(memcmp(c, want, sizeof c) == 0, "isa %s: 2 x 2 product wrong",
              cb_cpu_isa_name((cb_cpu_isa)isa));
    free(ws);
  }
}

int main(void) {
  cb_ctx *ctx;
  if (cb_ctx_open(cb_backend_find("cpu"), 3, &ctx) != CB_OK) {
    fprintf(stderr, "cannot open the cpu backend: %s\n", cb_errmsg());
    return 1;
  }
  const cb_cpu_state *st = ctx->state;
  /* The backend's view of the machine, which the derived blocks use. */
  CHECK(st->l1d > 0 && st->l2 > 0 && st->cores >= 1);
  char version[256];
  ctx->backend->version(version, sizeof version);
  CHECK_MSG(strncmp(version, "cpu kernels, ", 13) == 0 && strstr(version, "L1d "), "version: %s",
            version);
  check_dispatch(st);

  const cb_cpu_gemm_kernel *const *lists[] = {cb_cpu_gemm_scalar_kernels, cb_cpu_gemm_avx2_kernels,
                                              cb_cpu_gemm_avx512_kernels};
  int isas = 0;
  for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
    for (const cb_cpu_gemm_kernel *const *kr = lists[i]; *kr; kr++) {
      if (!cb_cpu_isa_runs((*kr)->isa)) {
        printf("%-16s skipped: this CPU does not run %s\n", (*kr)->name,
               cb_cpu_isa_name((*kr)->isa));
        continue;
      }
      /* The default shape of each ISA gets everything; the other shapes
       * (candidates kept for measurement) the tails. */
      check_kernel(*kr, st, kr == lists[i]);
      isas += kr == lists[i];
    }
  }
  printf("%d ISA paths run here\n", isas);
  CHECK(isas >= 1);
  cb_ctx_close(ctx);
  return cb_test_result();
}
