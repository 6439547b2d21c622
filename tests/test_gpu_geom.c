/* test_gpu_geom.c: the GPU kernels' index and tiling arithmetic, checked
 * on the CPU (label unit: no GPU needed).
 *
 * The .cu kernels compute every index with the functions of
 * kernels/cuda/cuda_geom.h and kernels/cufft/cufft_geom.h, and the cuda
 * and cublas backends run the lowering of kernels/cuda/cuda_lower.h. Here
 * the same functions are replayed on the host, thread by thread and
 * block by block, and the results compared with ref on small-integer data
 * (exact):
 *   - the tiled SGEMM's schedule for every compiled tile size, every
 *     transpose and awkward m, n, k: each C element written exactly once,
 *     each tile element loaded once per k step, the product equal to ref's;
 *   - im2col / col2im inside the real lowering code (several batch steps)
 *     for all three conv ops against ref;
 *   - the direct kernels' per-thread loops against ref;
 *   - the FFT backend's geometry (placements, crops, the spectral product's
 *     indices) with the transforms replaced by the circular correlations
 *     they compute, against ref;
 *   - GPU device fingerprints and generations, cuda:N parsing, NVML's
 *     throttle reasons and the tuner's refusal to cache a throttled GPU. */
#include "cb_test.h"
#include "cuda/cuda_lower.h"
#include "cufft/cufft_geom.h"
#include "gpustate.h"
#include "tune.h"
#include "validate.h"

#include <stdint.h>

/* ---- data and ref ---------------------------------------------------------------------- */

static float *ints(int64_t n, uint64_t seed) {
  float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
  uint64_t s = seed * 2862933555777941757ull + 3037000493ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((int)((s >> 33) % 5) - 2);
  }
  return x;
}

static float *nans(int64_t n) {
  float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = NAN;
  return x;
}

static cb_ctx *ref_ctx;

/* ref's answer for p on src0, src1 (dst_init for a GEMM reading C). */
static float *ref_answer(const cb_problem *p, const float *a, const float *b, const float *c0) {
  int64_t n2 = cb_problem_elems(p, 2);
  float *want = c0 ? malloc((size_t)n2 * sizeof *want) : nans(n2);
  if (c0) memcpy(want, c0, (size_t)n2 * sizeof *want);
  cb_args args = {a, b, want};
  CHECK(cb_variant_exec(ref_ctx, cb_backend_find("ref")->variants[p->op][0], p, NULL, &args) ==
        CB_OK);
  return want;
}

/* Exact comparison; prints the first difference. */
static bool same(const float *got, const float *want, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++)
    if (!(got[i] == want[i])) {
      fprintf(stderr, "%s: element %lld: got %g, want %g\n", what, (long long)i, got[i], want[i]);
      return false;
    }
  return true;
}

/* ---- the tiled SGEMM, replayed ---------------------------------------------------------- */

typedef struct replay {
  cb_sgemm_tile t;
  int *written; /* per C element of batch 0, when counting */
  bool loads_ok;
} replay;

/* The kernel of cuda_sgemm.cu for every block and thread, sequentially:
 * loads through cb_sgemm_{a,b}_elem and _index, register blocks through
 * cb_sgemm_thread_block, grids through cb_sgemm_grid_{x,y}. */
static cb_status host_sgemm(void *user, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                            float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                            int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                            int64_t batch) {
  replay *r = user;
  const cb_sgemm_tile *t = &r->t;
  float as[CB_SGEMM_BK][128], bs[CB_SGEMM_BK][128];
  float(*acc)[16][8] = malloc(sizeof(float[16][8]) * (size_t)t->threads);
  int loaded_a[CB_SGEMM_BK][128], loaded_b[CB_SGEMM_BK][128];
  for (int64_t z = 0; z < batch; z++)
    for (int64_t by = 0; by < cb_sgemm_grid_y(t, m); by++)
      for (int64_t bx = 0; bx < cb_sgemm_grid_x(t, n); bx++) {
        int64_t m0 = by * t->bm, n0 = bx * t->bn;
        memset(acc, 0, sizeof(float[16][8]) * (size_t)t->threads);
        for (int64_t k0 = 0; k0 < k; k0 += t->bk) {
          memset(loaded_a, 0, sizeof loaded_a);
          memset(loaded_b, 0, sizeof loaded_b);
          for (int tid = 0; tid < t->threads; tid++) {
            for (int e = tid; e < t->bm * t->bk; e += t->threads) {
              int i, kk;
              cb_sgemm_a_elem(t, e, &i, &kk);
              int64_t gi = m0 + i, gk = k0 + kk;
              as[kk][i] = gi < m && gk < k ? a[z * sa + cb_sgemm_a_index(ta, lda, gi, gk)] : 0;
              loaded_a[kk][i]++;
            }
            for (int e = tid; e < t->bk * t->bn; e += t->threads) {
              int kk, j;
              cb_sgemm_b_elem(t, e, &kk, &j);
              int64_t gk = k0 + kk, gj = n0 + j;
              bs[kk][j] = gk < k && gj < n ? b[z * sb + cb_sgemm_b_index(tb, ldb, gk, gj)] : 0;
              loaded_b[kk][j]++;
            }
          }
          for (int kk = 0; kk < t->bk; kk++) {
            for (int i = 0; i < t->bm; i++) r->loads_ok &= loaded_a[kk][i] == 1;
            for (int j = 0; j < t->bn; j++) r->loads_ok &= loaded_b[kk][j] == 1;
          }
          for (int tid = 0; tid < t->threads; tid++) {
            int r0, c0;
            cb_sgemm_thread_block(t, tid, &r0, &c0);
            for (int kk = 0; kk < t->bk; kk++)
              for (int i = 0; i < t->tm; i++)
                for (int j = 0; j < t->tn; j++)
                  acc[tid][i][j] = fmaf(as[kk][r0 + i], bs[kk][c0 + j], acc[tid][i][j]);
          }
        }
        for (int tid = 0; tid < t->threads; tid++) {
          int r0, c0;
          cb_sgemm_thread_block(t, tid, &r0, &c0);
          for (int i = 0; i < t->tm; i++)
            for (int j = 0; j < t->tn; j++) {
              int64_t gi = m0 + r0 + i, gj = n0 + c0 + j;
              if (gi >= m || gj >= n) continue;
              float v = alpha * acc[tid][i][j];
              float *cp = c + z * sc + gi * ldc + gj;
              if (beta != 0.0f) v += beta * *cp;
              *cp = v;
              if (r->written && z == 0) r->written[gi * n + gj]++;
            }
        }
      }
  free(acc);
  return CB_OK;
}

static void test_sgemm_schedule(void) {
  static const int64_t shapes[][3] = {{64, 64, 64},  {37, 29, 53}, {1, 17, 9}, {33, 1, 65},
                                      {129, 130, 7}, {16, 48, 8},  {5, 200, 3}};
  static const int sizes[] = {32, 64, 128};
  int checked = 0;
  for (int bi = 0; bi < 3; bi++)
    for (int bj = 0; bj < 3; bj++) {
      replay r = {.loads_ok = true};
      CHECK(cb_sgemm_tile_of(sizes[bi], sizes[bj], &r.t));
      CHECK_EQ_INT(r.t.threads, CB_SGEMM_THREADS);
      CHECK_EQ_INT((r.t.bm / r.t.tm) * (r.t.bn / r.t.tn), CB_SGEMM_THREADS);
      for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int tr = 0; tr < 4; tr++) {
          int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
          cb_problem p = cb_problem_gemm(m, n, k, tr & 1, tr & 2);
          p.gemm.alpha = tr == 3 ? -1.0f : 1.0f;
          p.gemm.beta = tr == 2 ? 0.5f : 0.0f;
          float *a = ints(m * k, 1 + s), *b = ints(k * n, 2 + s);
          float *c = p.gemm.beta != 0 ? ints(m * n, 3 + s) : nans(m * n);
          float *want = ref_answer(&p, a, b, p.gemm.beta != 0 ? c : NULL);
          r.written = calloc((size_t)(m * n), sizeof *r.written);
          host_sgemm(&r, p.gemm.trans_a, p.gemm.trans_b, m, n, k, p.gemm.alpha, a,
                     p.gemm.trans_a ? m : k, 0, b, p.gemm.trans_b ? k : n, 0, p.gemm.beta, c, n, 0,
                     1);
          int once = 1;
          for (int64_t i = 0; i < m * n; i++) once &= r.written[i] == 1;
          CHECK_MSG(once, "tile %dx%d, gemm %lldx%lldx%lld: a C element not written exactly once",
                    r.t.bm, r.t.bn, (long long)m, (long long)n, (long long)k);
          CHECK_MSG(same(c, want, m * n, "sgemm"), "tile %dx%d, gemm %lldx%lldx%lld trans %d",
                    r.t.bm, r.t.bn, (long long)m, (long long)n, (long long)k, tr);
          free(r.written), free(a), free(b), free(c), free(want);
          checked++;
        }
      CHECK_MSG(r.loads_ok, "tile %dx%d: a tile element loaded other than once", r.t.bm, r.t.bn);
    }
  CHECK(!cb_sgemm_tile_of(16, 64, &(cb_sgemm_tile){0}));
  CHECK(!cb_sgemm_tile_of(64, 256, &(cb_sgemm_tile){0}));
  cb_sgemm_tile t;
  cb_sgemm_tile_of(64, 32, &t);
  CHECK_EQ_INT(cb_sgemm_grid_x(&t, 33), 2);
  CHECK_EQ_INT(cb_sgemm_grid_y(&t, 64), 1);
  CHECK_EQ_INT(cb_sgemm_grid_y(&t, 65), 2);
  printf("sgemm schedule: %d tile/shape/transpose combinations\n", checked);
}

/* ---- im2col / col2im inside the real lowering ---------------------------------------------- */

static cb_status host_im2col(void *user, const cb_conv_geom *g, const float *x, int64_t i0,
                             int64_t nimg, float *col) {
  (void)user;
  int64_t total = g->cv.c * g->cv.r * g->cv.s * nimg * g->p * g->q;
  for (int64_t e = 0; e < total; e++) {
    int64_t src = cb_im2col_src(g, i0, nimg, e);
    col[e] = src >= 0 ? x[src] : 0.0f;
  }
  return CB_OK;
}

static cb_status host_col2im(void *user, const cb_conv_geom *g, const float *col, int64_t i0,
                             int64_t nimg, float *dx) {
  (void)user;
  int64_t total = nimg * g->cv.c * g->cv.h * g->cv.w;
  float *out = dx + i0 * g->cv.c * g->cv.h * g->cv.w;
  for (int64_t e = 0; e < total; e++) {
    float sum = 0.0f;
    for (int64_t rr = 0; rr < g->cv.r; rr++)
      for (int64_t ss = 0; ss < g->cv.s; ss++) {
        int64_t src = cb_col2im_src(g, nimg, e, rr, ss);
        if (src >= 0) sum += col[src];
      }
    out[e] = sum;
  }
  return CB_OK;
}

/* Shapes whose index math differs: padding, strides, dilation, groups. */
static const conv_case cases[] = {
    {"3x3 pad 1", {3, 4, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"1x1 stride 2", {2, 6, 9, 9, 4, 1, 1, 0, 0, 2, 2, 1, 1, 1}},
    {"stride 2 pad 1", {2, 3, 11, 11, 5, 3, 3, 1, 1, 2, 2, 1, 1, 1}},
    {"asymmetric", {2, 4, 9, 11, 6, 3, 5, 1, 2, 1, 2, 1, 1, 1}},
    {"dilation 2", {2, 3, 12, 12, 4, 3, 3, 2, 2, 1, 1, 2, 2, 1}},
    {"groups 2", {3, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2}},
    {"depthwise", {2, 4, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4}},
    {"odd sizes, stride 3", {3, 5, 13, 7, 7, 5, 3, 2, 0, 3, 2, 1, 1, 1}},
    {"11x11 stride 4", {1, 3, 35, 35, 4, 11, 11, 2, 2, 4, 4, 1, 1, 1}},
};
#define NCASES (sizeof cases / sizeof *cases)

static cb_conv_geom geom_of(const cb_conv *c) {
  cb_conv_geom g;
  cb_conv_geom_init(&g, c);
  return g;
}

static void test_lowering(void) {
  int checked = 0;
  for (size_t ci = 0; ci < NCASES; ci++)
    for (int op = CB_OP_CONV_FWD; op <= CB_OP_CONV_BWD_FILTER; op++) {
      cb_problem p = cb_problem_conv((cb_op)op, cases[ci].c);
      cb_conv_geom g = geom_of(&p.conv);
      CHECK_EQ_INT(g.p, cb_conv_out_h(&p.conv));
      CHECK_EQ_INT(g.q, cb_conv_out_w(&p.conv));
      int64_t n0 = cb_problem_elems(&p, 0), n1 = cb_problem_elems(&p, 1);
      int64_t n2 = cb_problem_elems(&p, 2);
      float *a = ints(n0, 7 + ci), *b = ints(n1, 8 + ci), *want = ref_answer(&p, a, b, NULL);
      /* One image per step, two, and the whole batch: i0 offsets and
       * partial last steps. */
      int64_t steps[3] = {1, 2, g.cv.n};
      for (int si = 0; si < 3; si++) {
        int64_t step = steps[si];
        if (step > g.cv.n || (si == 2 && step <= 2)) continue;
        replay r = {.loads_ok = true};
        cb_sgemm_tile_of(32, 64, &r.t);
        cb_cu_lower_ops ops = {host_im2col, host_col2im, host_sgemm, &r};
        float *got = nans(n2), *col = nans(g.cv.c * g.cv.r * g.cv.s * step * g.p * g.q);
        cb_args args = {a, b, got};
        CHECK(cb_cu_lower(&ops, (cb_op)op, &g, step, &args, col) == CB_OK);
        CHECK_MSG(same(got, want, n2, cb_op_name((cb_op)op)), "%s, %s, step %lld", cases[ci].why,
                  cb_op_name((cb_op)op), (long long)step);
        free(got), free(col);
        checked++;
      }
      free(a), free(b), free(want);
    }
  printf("im2col lowering: %d case/op/step combinations\n", checked);

  /* Steps: the whole batch when it fits, else as many images as fit. */
  cb_conv_geom g = geom_of(&cases[0].c);
  int64_t per = g.cv.c * g.cv.r * g.cv.s * g.p * g.q * 4;
  CHECK_EQ_INT(cb_cu_step_images(&g, 1 << 30), g.cv.n);
  CHECK_EQ_INT(cb_cu_step_images(&g, 2 * per), 2);
  CHECK_EQ_INT(cb_cu_step_images(&g, per / 2), 1);
}

/* ---- the direct kernels' loops -------------------------------------------------------------- */

static void direct_fwd(const cb_conv_geom *g, const float *x, const float *w, float *y) {
  for (int64_t e = 0; e < g->cv.n * g->cv.k * g->p * g->q; e++) {
    int64_t i, k, p, q;
    cb_direct_out_coords(g, e, &i, &k, &p, &q);
    float sum = 0.0f;
    for (int64_t cc = 0; cc < g->cg; cc++)
      for (int64_t rr = 0; rr < g->cv.r; rr++)
        for (int64_t ss = 0; ss < g->cv.s; ss++) {
          int64_t src = cb_direct_fwd_src(g, i, k, p, q, cc, rr, ss);
          if (src >= 0) sum = fmaf(x[src], w[cb_direct_w_index(g, k, cc, rr, ss)], sum);
        }
    y[e] = sum;
  }
}

static void direct_bwd_data(const cb_conv_geom *g, const float *dy, const float *w, float *dx) {
  for (int64_t e = 0; e < g->cv.n * g->cv.c * g->cv.h * g->cv.w; e++) {
    int64_t x = e % g->cv.w, y = (e / g->cv.w) % g->cv.h, c = (e / (g->cv.w * g->cv.h)) % g->cv.c;
    int64_t i = e / (g->cv.w * g->cv.h * g->cv.c), grp = c / g->cg, cc = c % g->cg;
    float sum = 0.0f;
    for (int64_t rr = 0; rr < g->cv.r; rr++) {
      int64_t p = cb_col2im_out(y, rr, g->cv.pad_h, g->cv.dil_h, g->cv.stride_h, g->p);
      if (p < 0) continue;
      for (int64_t ss = 0; ss < g->cv.s; ss++) {
        int64_t q = cb_col2im_out(x, ss, g->cv.pad_w, g->cv.dil_w, g->cv.stride_w, g->q);
        if (q < 0) continue;
        for (int64_t k = grp * g->kg; k < (grp + 1) * g->kg; k++)
          sum = fmaf(dy[((i * g->cv.k + k) * g->p + p) * g->q + q],
                     w[cb_direct_w_index(g, k, cc, rr, ss)], sum);
      }
    }
    dx[e] = sum;
  }
}

/* One block per dw element: threads take terms tid, tid + 256, ...; the
 * tree reduction of cuda_direct.cu's block_sum. */
static void direct_bwd_filter(const cb_conv_geom *g, const float *x, const float *dy, float *dw) {
  int64_t terms = g->cv.n * g->p * g->q;
  float part[CB_CU_BLOCK];
  CHECK_EQ_INT(1 << cb_reduce_steps(CB_CU_BLOCK), CB_CU_BLOCK);
  for (int64_t e = 0; e < g->cv.k * g->cg * g->cv.r * g->cv.s; e++) {
    for (int tid = 0; tid < CB_CU_BLOCK; tid++) {
      float sum = 0.0f;
      for (int64_t t = tid; t < terms; t += CB_CU_BLOCK) {
        int64_t xo, dyo;
        if (cb_direct_bwf_term(g, e, t, &xo, &dyo)) sum = fmaf(x[xo], dy[dyo], sum);
      }
      part[tid] = sum;
    }
    for (int half = CB_CU_BLOCK / 2; half > 0; half /= 2)
      for (int tid = 0; tid < half; tid++) part[tid] += part[tid + half];
    dw[e] = part[0];
  }
}

static void test_direct(void) {
  for (size_t ci = 0; ci < NCASES; ci++)
    for (int op = CB_OP_CONV_FWD; op <= CB_OP_CONV_BWD_FILTER; op++) {
      cb_problem p = cb_problem_conv((cb_op)op, cases[ci].c);
      cb_conv_geom g = geom_of(&p.conv);
      int64_t n2 = cb_problem_elems(&p, 2);
      float *a = ints(cb_problem_elems(&p, 0), 17 + ci), *b = ints(cb_problem_elems(&p, 1), 3);
      float *want = ref_answer(&p, a, b, NULL), *got = nans(n2);
      if (op == CB_OP_CONV_FWD) direct_fwd(&g, a, b, got);
      if (op == CB_OP_CONV_BWD_DATA) direct_bwd_data(&g, a, b, got);
      if (op == CB_OP_CONV_BWD_FILTER) direct_bwd_filter(&g, a, b, got);
      CHECK_MSG(same(got, want, n2, "direct"), "direct %s, %s", cb_op_name((cb_op)op),
                cases[ci].why);
      free(a), free(b), free(want), free(got);
    }
  CHECK_EQ_INT(cb_cu_blocks(1, 256, 65535), 1);
  CHECK_EQ_INT(cb_cu_blocks(257, 256, 65535), 2);
  CHECK_EQ_INT(cb_cu_blocks((int64_t)1 << 40, 256, 65535), 65535);
}

/* ---- FFT geometry ----------------------------------------------------------------------------
 * In place of r2c / product / c2r: the circular correlation or
 * convolution the product stands for, on the same grids. */

static float *embed(const cb_fft_geom *g, const cb_fft_place *pl, int64_t planes,
                    const float *src) {
  int64_t total = planes * g->hf * g->wf;
  float *grid = malloc((size_t)total * sizeof *grid);
  for (int64_t e = 0; e < total; e++) {
    int64_t s = cb_fft_embed_src(g, pl, e);
    grid[e] = s >= 0 ? src[s] : 0.0f;
  }
  return grid;
}

/* The spatial product of planes A and B: A conj(B) is a correlation
 * sum_u a[t + u] b[u], conj(A) B the mirror one, A B a convolution. */
static double circular(const cb_fft_geom *g, const float *a, const float *b, int64_t ty,
                       int64_t tx) {
  int64_t hf = g->hf, wf = g->wf;
  double sum = 0;
  for (int64_t uy = 0; uy < hf; uy++)
    for (int64_t ux = 0; ux < wf; ux++) {
      float av, bv;
      if (g->mix.conj_b) {
        av = a[((ty + uy) % hf) * wf + (tx + ux) % wf], bv = b[uy * wf + ux];
      } else if (g->mix.conj_a) {
        av = a[uy * wf + ux], bv = b[((ty + uy) % hf) * wf + (tx + ux) % wf];
      } else {
        av = a[uy * wf + ux], bv = b[((ty - uy + hf) % hf) * wf + (tx - ux + wf) % wf];
      }
      sum += (double)av * bv;
    }
  return sum;
}

static void test_fft_geometry(void) {
  CHECK_EQ_INT(cb_fft_good_size(1), 1);
  CHECK_EQ_INT(cb_fft_good_size(11), 12);
  CHECK_EQ_INT(cb_fft_good_size(13), 14);
  CHECK_EQ_INT(cb_fft_good_size(17), 18);
  CHECK_EQ_INT(cb_fft_good_size(121), 125);
  int checked = 0;
  for (size_t ci = 0; ci < NCASES; ci++) {
    if (cases[ci].c.groups != 1 || cases[ci].c.r > 5) continue; /* groups: not offered */
    for (int op = 0; op < 3; op++) {
      cb_problem p = cb_problem_conv((cb_op)(CB_OP_CONV_FWD + op), cases[ci].c);
      const cb_conv *c = &p.conv;
      cb_conv_geom cg;
      cb_conv_geom_init(&cg, c);
      cb_fft_geom g;
      cb_fft_geom_init(&g, op, &cg);
      CHECK(g.hf >= c->h + 2 * c->pad_h && g.wf >= c->w + 2 * c->pad_w);
      CHECK_EQ_INT(g.b0 * g.in0.rows * g.in0.cols, cb_problem_elems(&p, 0));
      CHECK_EQ_INT(g.b1 * g.in1.rows * g.in1.cols, cb_problem_elems(&p, 1));
      CHECK_EQ_INT(g.b2 * g.out.rows * g.out.cols, cb_problem_elems(&p, 2));
      CHECK_EQ_INT(g.mix.na * g.mix.nb, g.b2);
      int64_t n2 = cb_problem_elems(&p, 2);
      float *a = ints(cb_problem_elems(&p, 0), 5 + ci), *b = ints(cb_problem_elems(&p, 1), 9);
      float *want = ref_answer(&p, a, b, NULL);
      float *ga = embed(&g, &g.in0, g.b0, a), *gb = embed(&g, &g.in1, g.b1, b);
      const float *sa = g.mix.a_is_in1 ? gb : ga, *sb = g.mix.a_is_in1 ? ga : gb;
      /* Plane offsets from the spectral indices, on a grid whose
       * "spectrum" is as wide as the real grid. */
      cb_fft_geom sp = g;
      sp.wc = g.wf;
      int64_t plane = g.hf * g.wf;
      float *out = malloc((size_t)(g.b2 * plane) * sizeof *out);
      for (int64_t ab = 0; ab < g.b2; ab++)
        for (int64_t t = 0; t < plane; t++) {
          double sum = 0;
          for (int64_t j = 0; j < g.mix.nj; j++) {
            int64_t ia, ib;
            cb_fft_combine_src(&sp, ab * plane + t, j, &ia, &ib);
            CHECK(ia % plane == t && ib % plane == t);
            sum += circular(&g, sa + (ia - t), sb + (ib - t), t / g.wf, t % g.wf);
          }
          out[ab * plane + t] = (float)sum;
        }
      float *got = nans(n2);
      for (int64_t e = 0; e < n2; e++) got[e] = out[cb_fft_crop_src(&g, &g.out, e)];
      CHECK_MSG(same(got, want, n2, "fft geometry"), "fft %s, %s", cb_op_name(p.op), cases[ci].why);
      free(a), free(b), free(want), free(ga), free(gb), free(out), free(got);
      checked++;
    }
  }
  printf("fft geometry: %d case/op combinations\n", checked);
}

/* ---- device names, fingerprints, NVML readings ------------------------------------------ */

static void test_names(void) {
  cb_gpu_info g = {.cc_major = 9, .cc_minor = 0, .sms = 132};
  snprintf(g.name, sizeof g.name, "NVIDIA H100 80GB HBM3");
  char fp[192], gen[192];
  cb_gpu_fingerprint(&g, fp, sizeof fp);
  CHECK_EQ_STR(fp, "gpu:NVIDIA H100 80GB HBM3:sm_90:132sm");
  cb_device_generation(fp, gen, sizeof gen);
  CHECK_EQ_STR(gen, "gpu:NVIDIA H100 80GB HBM3:sm_90");
  snprintf(g.name, sizeof g.name, "Odd:Name");
  cb_gpu_fingerprint(&g, fp, sizeof fp);
  CHECK_EQ_STR(fp, "gpu:Odd Name:sm_90:132sm"); /* ':' separates fields */

  int d = 7;
  CHECK(cb_gpu_parse_device("cuda:0", &d) == CB_OK && d == 0);
  CHECK(cb_gpu_parse_device("cuda:12", &d) == CB_OK && d == 12);
  CHECK(cb_gpu_parse_device("cpu", &d) == CB_OK && d == -1);
  CHECK(cb_gpu_parse_device("cuda:", &d) == CB_ERR_INVALID);
  CHECK(cb_gpu_parse_device("cuda:1x", &d) == CB_ERR_INVALID);
  CHECK(cb_gpu_parse_device("gpu0", &d) == CB_ERR_INVALID);

  char t[128];
  cb_gpustate_reasons(0, t, sizeof t);
  CHECK_EQ_STR(t, "none");
  cb_gpustate_reasons(0x1, t, sizeof t);
  CHECK_EQ_STR(t, "idle");
  CHECK(!cb_gpustate_throttled(t));
  cb_gpustate_reasons(0x4 | 0x40, t, sizeof t);
  CHECK_EQ_STR(t, "sw_power_cap,hw_thermal");
  CHECK(cb_gpustate_throttled(t));
  cb_gpustate_reasons(1ull << 40, t, sizeof t);
  CHECK_EQ_STR(t, "other");

  /* The tuner refuses to cache a winner measured on a throttled GPU. */
  cb_tune_rules r;
  cb_tune_rules_default(&r);
  cb_timing tm = {.median = 1, .mad = 0.001, .samples = 10};
  cb_devstate before = {.has_gpu = true, .gpu = {.sm_mhz = 1980}}, after = before;
  char why[160];
  CHECK(cb_tune_cacheable(&r, &tm, &before, &after, why, sizeof why));
  after.gpu.sm_mhz = 1500;
  CHECK(!cb_tune_cacheable(&r, &tm, &before, &after, why, sizeof why));
  CHECK(strstr(why, "GPU throttled") != NULL);
  after.gpu.sm_mhz = 1980;
  snprintf(after.gpu.throttle, sizeof after.gpu.throttle, "hw_slowdown");
  CHECK(!cb_tune_cacheable(&r, &tm, &before, &after, why, sizeof why));
}

int main(void) {
  if (cb_ctx_open(cb_backend_find("ref"), 1, &ref_ctx) != CB_OK) {
    fprintf(stderr, "cannot open ref: %s\n", cb_errmsg());
    return 1;
  }
  test_sgemm_schedule();
  test_lowering();
  test_direct();
  test_fft_geometry();
  test_names();
  cb_ctx_close(ref_ctx);
  return cb_test_result();
}
