/* test_ref.c: the ref backend (kernels/ref/), the oracle every other backend
 * is validated against, so it is checked against things that do not depend
 * on it: hand-computed outputs, an independent naive forward convolution and
 * GEMM, the adjoint identities that tie the three conv directions together
 * (exact in double on small-integer data), grouped and dilated convolution
 * rebuilt from plain ones, bitwise thread-count independence, and outputs
 * that are fully overwritten. */
#include "cb_test.h"
#include "kernels.h"

#include <stdint.h>

/* ---- helpers --------------------------------------------------------------- */

static const char *const variant_names[CB_OP_COUNT] = {"direct", "direct", "direct", "naive"};

/* Runs the ref variant of p's op through the registry with threads threads. */
static cb_status run_ref(int threads, const cb_problem *p, const float *src0, const float *src1,
                         float *dst) {
  const cb_backend *b = cb_backend_find("ref");
  if (!b) return CB_ERR_UNAVAILABLE;
  const cb_variant *v = cb_variant_find(b, p->op, variant_names[p->op]);
  if (!v) return CB_ERR_UNAVAILABLE;
  cb_ctx *ctx;
  cb_status st = cb_ctx_open(b, threads, &ctx);
  if (st != CB_OK) return st;
  cb_args args = {src0, src1, dst};
  st = cb_variant_exec(ctx, v, p, NULL, &args);
  cb_ctx_close(ctx);
  return st;
}

/* Like run_ref with one thread, failing the test on an error. */
static void run1(const cb_problem *p, const float *src0, const float *src1, float *dst) {
  cb_status st = run_ref(1, p, src0, src1, dst);
  CHECK_MSG(st == CB_OK, "%s: %s", cb_op_name(p->op), cb_errmsg());
}

static float *alloc_f(int64_t n) {
  float *a = calloc((size_t)n, sizeof *a);
  if (!a) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return a;
}

static uint32_t lcg(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

/* Integers in [-3, 4]: products and sums stay exact in float and double. */
static void fill_int(float *a, int64_t n, uint32_t seed) {
  for (int64_t i = 0; i < n; i++) a[i] = (float)((int)(lcg(&seed) % 8) - 3);
}

/* Non-integers in [-1, 1): sums round, so summation order shows. */
static void fill_real(float *a, int64_t n, uint32_t seed) {
  for (int64_t i = 0; i < n; i++) a[i] = (float)(lcg(&seed) % 2000001) / 1000000.0f - 1.0f;
}

static void fill_nan(float *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] = NAN;
}

static double dot(const float *a, const float *b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static bool same_bits(const float *a, const float *b, int64_t n) {
  return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static const char *key_of(const cb_problem *p) {
  static char key[CB_KEY_MAX];
  cb_problem_key(p, key, sizeof key);
  return key;
}

/* The forward convolution written the obvious way, independent of ref's
 * loop order and tap ranges: every tap tests its own bounds. */
static void naive_conv_fwd(const cb_conv *c, const float *x, const float *w, float *y) {
  int64_t P = cb_conv_out_h(c), Q = cb_conv_out_w(c), cg = c->c / c->groups, kg = c->k / c->groups;
  for (int64_t n = 0; n < c->n; n++)
    for (int64_t k = 0; k < c->k; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          double sum = 0.0;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t r = 0; r < c->r; r++)
              for (int64_t s = 0; s < c->s; s++) {
                int64_t ih = p * c->stride_h - c->pad_h + r * c->dil_h;
                int64_t iw = q * c->stride_w - c->pad_w + s * c->dil_w;
                if (ih < 0 || ih >= c->h || iw < 0 || iw >= c->w) continue;
                int64_t ch = (k / kg) * cg + ci;
                sum += (double)x[((n * c->c + ch) * c->h + ih) * c->w + iw] *
                       (double)w[((k * cg + ci) * c->r + r) * c->s + s];
              }
          y[((n * c->k + k) * P + p) * Q + q] = (float)sum;
        }
}

/* ---- the backend table ------------------------------------------------------ */

extern const cb_backend cb_backend_ref; /* kernels/ref/ref_backend.c */

static void test_backend_table(void) {
  const cb_backend *b = cb_backend_find("ref");
  CHECK(b == &cb_backend_ref);
  CHECK(cb_backends()[0] == &cb_backend_ref);
  CHECK_EQ_INT(b->api_version, CB_API_VERSION);
  CHECK_EQ_STR(b->name, "ref");
  CHECK_EQ_STR(b->desc, "plain C reference, the correctness oracle");
  CHECK_EQ_INT(b->device, CB_DEVICE_HOST);
  CHECK(!b->alloc && !b->free && !b->upload && !b->download);
  for (int op = 0; op < CB_OP_COUNT; op++) {
    const cb_variant *v = cb_variant_find(b, (cb_op)op, variant_names[op]);
    CHECK_MSG(v != NULL, "no %s variant for %s", variant_names[op], cb_op_name((cb_op)op));
    if (!v) continue;
    CHECK_EQ_INT(v->op, op);
    CHECK(v->tolerance == 0.0);
    CHECK_EQ_INT(v->nparams, 0);
    CHECK(b->variants[op][0] == v && b->variants[op][1] == NULL);
  }
  cb_ctx *ctx;
  CHECK_EQ_INT(cb_ctx_open(&cb_backend_ref, 2, &ctx), CB_OK);
  CHECK_EQ_INT(ctx->threads, 2);
  cb_ctx_close(ctx);
}

/* ---- (a) hand-computed cases ------------------------------------------------ */

static const float x3x3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float w2x2[4] = {1, 2, 3, 4};

/* x 1x1x3x3 = 1..9, w 1x1x2x2 = 1..4, with and without pad 1 stride 2. */
static void test_hand_small(void) {
  const cb_conv plain = {.n = 1, .c = 1, .h = 3, .w = 3, .k = 1, .r = 2, .s = 2};
  const cb_conv padded = {.n = 1,
                          .c = 1,
                          .h = 3,
                          .w = 3,
                          .k = 1,
                          .r = 2,
                          .s = 2,
                          .pad_h = 1,
                          .pad_w = 1,
                          .stride_h = 2,
                          .stride_w = 2};
  float out[9];

  /* y[p,q] = sum x[p+r, q+s] w[r,s] */
  cb_problem p = cb_problem_conv(CB_OP_CONV_FWD, plain);
  run1(&p, x3x3, w2x2, out);
  const float y_plain[4] = {37, 47, 67, 77};
  CHECK(same_bits(out, y_plain, 4));

  /* p = 0 reads rows -1, 0; p = 1 reads rows 1, 2 (same for columns). */
  p = cb_problem_conv(CB_OP_CONV_FWD, padded);
  CHECK_EQ_INT(cb_conv_out_h(&p.conv), 2);
  run1(&p, x3x3, w2x2, out);
  const float y_padded[4] = {4, 18, 36, 77};
  CHECK(same_bits(out, y_padded, 4));

  /* dx[h,w] = sum over p + r = h, q + s = w of dy[p,q] w[r,s] */
  const float dy[4] = {1, 2, 3, 4};
  p = cb_problem_conv(CB_OP_CONV_BWD_DATA, plain);
  run1(&p, dy, w2x2, out);
  const float dx_plain[9] = {1, 4, 4, 6, 20, 16, 9, 24, 16};
  CHECK(same_bits(out, dx_plain, 9));

  /* With pad 1 stride 2 each input element is read by exactly one tap. */
  p = cb_problem_conv(CB_OP_CONV_BWD_DATA, padded);
  run1(&p, dy, w2x2, out);
  const float dx_padded[9] = {4, 6, 8, 6, 4, 8, 12, 12, 16};
  CHECK(same_bits(out, dx_padded, 9));

  /* dw[r,s] = sum x[p+r, q+s] dy[p,q]; dy = {1,0,0,2} picks two taps. */
  const float dy_sparse[4] = {1, 0, 0, 2};
  p = cb_problem_conv(CB_OP_CONV_BWD_FILTER, plain);
  run1(&p, x3x3, dy_sparse, out);
  const float dw_plain[4] = {11, 14, 20, 23};
  CHECK(same_bits(out, dw_plain, 4));

  p = cb_problem_conv(CB_OP_CONV_BWD_FILTER, padded);
  run1(&p, x3x3, dy, out);
  const float dw_padded[4] = {20, 36, 36, 64};
  CHECK(same_bits(out, dw_padded, 4));
}

/* Channel and group indexing, and dilation, on cases small enough to read. */
static void test_hand_channels(void) {
  const float x[4] = {1, 2, 3, 4}; /* c0 = {1, 2}, c1 = {3, 4}, 1x2 each */
  float out[4];

  /* 1x1 conv, two filters over two channels: y[k] = sum_c w[k,c] x[c]. */
  const float w[4] = {1, 10, 100, 1000};
  cb_problem p = cb_problem_conv(CB_OP_CONV_FWD,
                                 (cb_conv){.n = 1, .c = 2, .h = 1, .w = 2, .k = 2, .r = 1, .s = 1});
  run1(&p, x, w, out);
  const float y[4] = {31, 42, 3100, 4200};
  CHECK(same_bits(out, y, 4));

  /* Two groups: filter 0 sees only channel 0, filter 1 only channel 1. */
  const float wg[2] = {5, 7};
  p.conv.groups = 2;
  run1(&p, x, wg, out);
  const float yg[4] = {5, 10, 21, 28};
  CHECK(same_bits(out, yg, 4));

  /* dx of the grouped conv: dx[c] = w[c] dy[c]. */
  const float dy[4] = {1, -1, 2, 3};
  p.op = CB_OP_CONV_BWD_DATA;
  run1(&p, dy, wg, out);
  const float dxg[4] = {5, -5, 14, 21};
  CHECK(same_bits(out, dxg, 4));

  /* dw of the grouped conv: dw[k] = sum_q x[k,q] dy[k,q]. */
  p.op = CB_OP_CONV_BWD_FILTER;
  run1(&p, x, dy, out);
  const float dwg[2] = {1 - 2, 6 + 12};
  CHECK(same_bits(out, dwg, 2));

  /* Dilation 2 along w: y[q] = x[q] + 10 x[q + 2]. */
  const float x5[5] = {1, 2, 3, 4, 5}, w2[2] = {1, 10};
  p = cb_problem_conv(
      CB_OP_CONV_FWD,
      (cb_conv){.n = 1, .c = 1, .h = 1, .w = 5, .k = 1, .r = 1, .s = 2, .dil_w = 2});
  run1(&p, x5, w2, out);
  const float yd[3] = {31, 42, 53};
  CHECK(same_bits(out, yd, 3));
}

/* ---- (b) adjoint identities and the naive forward ------------------------- */

static const cb_conv shapes[] = {
    {.n = 1, .c = 1, .h = 5, .w = 5, .k = 1, .r = 3, .s = 3},
    {.n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2, .pad_h = 1},
    {.n = 1,
     .c = 2,
     .h = 9,
     .w = 9,
     .k = 3,
     .r = 3,
     .s = 3,
     .pad_h = 1,
     .pad_w = 1,
     .stride_h = 2,
     .stride_w = 2},
    {.n = 2,
     .c = 3,
     .h = 15,
     .w = 13,
     .k = 2,
     .r = 5,
     .s = 5,
     .pad_h = 2,
     .pad_w = 2,
     .stride_h = 4,
     .stride_w = 4},
    {.n = 1, .c = 2, .h = 4, .w = 4, .k = 2, .r = 3, .s = 3, .pad_h = 3, .pad_w = 2},
    {.n = 1,
     .c = 2,
     .h = 9,
     .w = 8,
     .k = 3,
     .r = 3,
     .s = 3,
     .pad_h = 2,
     .pad_w = 2,
     .dil_h = 2,
     .dil_w = 2},
    {.n = 2,
     .c = 2,
     .h = 11,
     .w = 12,
     .k = 2,
     .r = 3,
     .s = 2,
     .pad_h = 1,
     .pad_w = 3,
     .stride_h = 2,
     .stride_w = 1,
     .dil_h = 2,
     .dil_w = 3},
    {.n = 2, .c = 4, .h = 6, .w = 6, .k = 6, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1, .groups = 2},
    {.n = 1, .c = 5, .h = 7, .w = 7, .k = 5, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1, .groups = 5},
    {.n = 2,
     .c = 3,
     .h = 8,
     .w = 5,
     .k = 6,
     .r = 3,
     .s = 3,
     .pad_h = 1,
     .pad_w = 1,
     .stride_h = 2,
     .stride_w = 2,
     .groups = 3},
    {.n = 3, .c = 8, .h = 5, .w = 5, .k = 4, .r = 1, .s = 1},
    {.n = 1, .c = 3, .h = 7, .w = 7, .k = 2, .r = 1, .s = 1, .stride_h = 2, .stride_w = 2},
    {.n = 3,
     .c = 3,
     .h = 11,
     .w = 7,
     .k = 5,
     .r = 5,
     .s = 3,
     .pad_h = 2,
     .pad_w = 1,
     .stride_h = 3,
     .stride_w = 2},
    {.n = 2, .c = 2, .h = 5, .w = 5, .k = 3, .r = 5, .s = 5},
    {.n = 1, .c = 2, .h = 10, .w = 10, .k = 2, .r = 3, .s = 3, .stride_h = 3, .stride_w = 3},
    {.n = 1, .c = 1, .h = 9, .w = 9, .k = 2, .r = 1, .s = 1, .stride_h = 4, .stride_w = 4},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* <fwd(x,w), dy> == <x, bwd_data(dy,w)> == <w, bwd_filter(x,dy)>, exactly,
 * and fwd equals the naive loop nest bit for bit. */
static void test_adjoint(void) {
  for (size_t i = 0; i < NSHAPES; i++) {
    cb_problem fwd = cb_problem_conv(CB_OP_CONV_FWD, shapes[i]);
    cb_problem bwd_data = cb_problem_conv(CB_OP_CONV_BWD_DATA, shapes[i]);
    cb_problem bwd_filter = cb_problem_conv(CB_OP_CONV_BWD_FILTER, shapes[i]);
    CHECK_MSG(cb_problem_check(&fwd) == CB_OK, "shape %zu: %s", i, cb_errmsg());
    int64_t nx = cb_problem_elems(&fwd, 0), nw = cb_problem_elems(&fwd, 1),
            ny = cb_problem_elems(&fwd, 2);
    float *x = alloc_f(nx), *w = alloc_f(nw), *dy = alloc_f(ny);
    float *y = alloc_f(ny), *y_naive = alloc_f(ny), *dx = alloc_f(nx), *dw = alloc_f(nw);
    fill_int(x, nx, 1 + (uint32_t)i);
    fill_int(w, nw, 101 + (uint32_t)i);
    fill_int(dy, ny, 201 + (uint32_t)i);

    run1(&fwd, x, w, y);
    run1(&bwd_data, dy, w, dx);
    run1(&bwd_filter, x, dy, dw);
    naive_conv_fwd(&fwd.conv, x, w, y_naive);
    CHECK_MSG(same_bits(y, y_naive, ny), "%s: fwd differs from the naive loops", key_of(&fwd));

    double ip_y = dot(y, dy, ny), ip_x = dot(x, dx, nx), ip_w = dot(w, dw, nw);
    CHECK_MSG(ip_y == ip_x && ip_x == ip_w, "%s: <y,dy> %.17g, <x,dx> %.17g, <w,dw> %.17g",
              key_of(&fwd), ip_y, ip_x, ip_w);
    /* All-zero results would satisfy the identities; these data never give them. */
    CHECK_MSG(dot(y, y, ny) > 0 && dot(dx, dx, nx) > 0 && dot(dw, dw, nw) > 0,
              "%s: an output is all zero", key_of(&fwd));
    free(x), free(w), free(dy), free(y), free(y_naive), free(dx), free(dw);
  }
}

/* ---- (c) groups ------------------------------------------------------------- */

/* Copies channels [c0, c0 + cs) of a [n, channels, plane] tensor into a
 * packed [n, cs, plane] one. */
static void slice_channels(const float *src, int64_t n, int64_t channels, int64_t plane, int64_t c0,
                           int64_t cs, float *dst) {
  for (int64_t i = 0; i < n; i++)
    memcpy(dst + i * cs * plane, src + (i * channels + c0) * plane,
           (size_t)(cs * plane) * sizeof *dst);
}

/* A grouped conv in every direction equals one plain conv per group on the
 * group's channel slices. Real-valued data: the sums must match bit for
 * bit, since each output adds the same terms in the same order. */
static void test_groups(void) {
  const cb_conv grouped[] = {
      {.n = 2, .c = 6, .h = 7, .w = 6, .k = 4, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1, .groups = 2},
      {.n = 1,
       .c = 6,
       .h = 9,
       .w = 9,
       .k = 9,
       .r = 3,
       .s = 2,
       .pad_h = 1,
       .stride_h = 2,
       .stride_w = 2,
       .groups = 3},
      {.n = 2, .c = 4, .h = 5, .w = 5, .k = 4, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1, .groups = 4},
  };
  for (size_t i = 0; i < sizeof grouped / sizeof grouped[0]; i++) {
    cb_problem fwd = cb_problem_conv(CB_OP_CONV_FWD, grouped[i]);
    const cb_conv *c = &fwd.conv;
    int64_t G = c->groups, cg = c->c / G, kg = c->k / G, hw = c->h * c->w;
    int64_t pq = cb_conv_out_h(c) * cb_conv_out_w(c), wsz = kg * cg * c->r * c->s;
    int64_t nx = cb_problem_elems(&fwd, 0), nw = cb_problem_elems(&fwd, 1),
            ny = cb_problem_elems(&fwd, 2);
    float *x = alloc_f(nx), *w = alloc_f(nw), *dy = alloc_f(ny);
    float *y = alloc_f(ny), *dx = alloc_f(nx), *dw = alloc_f(nw);
    fill_real(x, nx, 7), fill_real(w, nw, 8), fill_real(dy, ny, 9);
    cb_problem p = fwd;
    run1(&p, x, w, y);
    p.op = CB_OP_CONV_BWD_DATA;
    run1(&p, dy, w, dx);
    p.op = CB_OP_CONV_BWD_FILTER;
    run1(&p, x, dy, dw);

    cb_conv one = *c;
    one.c = cg, one.k = kg, one.groups = 1;
    float *xg = alloc_f(c->n * cg * hw), *dyg = alloc_f(c->n * kg * pq);
    float *want = alloc_f(nx > ny ? nx : ny), *got = alloc_f(nx > ny ? nx : ny);
    for (int64_t g = 0; g < G; g++) {
      slice_channels(x, c->n, c->c, hw, g * cg, cg, xg);
      slice_channels(dy, c->n, c->k, pq, g * kg, kg, dyg);
      const float *wg = w + g * wsz;

      cb_problem pg = cb_problem_conv(CB_OP_CONV_FWD, one);
      run1(&pg, xg, wg, got);
      slice_channels(y, c->n, c->k, pq, g * kg, kg, want);
      CHECK_MSG(same_bits(got, want, c->n * kg * pq), "%s: fwd group %lld", key_of(&fwd),
                (long long)g);

      pg.op = CB_OP_CONV_BWD_DATA;
      run1(&pg, dyg, wg, got);
      slice_channels(dx, c->n, c->c, hw, g * cg, cg, want);
      CHECK_MSG(same_bits(got, want, c->n * cg * hw), "%s: bwd_data group %lld", key_of(&fwd),
                (long long)g);

      pg.op = CB_OP_CONV_BWD_FILTER;
      run1(&pg, xg, dyg, got);
      CHECK_MSG(same_bits(got, dw + g * wsz, wsz), "%s: bwd_filter group %lld", key_of(&fwd),
                (long long)g);
    }
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
    free(xg), free(dyg), free(want), free(got);
  }
}

/* ---- (d) dilation ----------------------------------------------------------- */

/* A dilated conv equals a plain conv with the filter spread out and zeros
 * between its taps: fwd and bwd_data outputs match, and bwd_filter of the
 * spread filter holds the dilated one's gradient at the tap positions. */
static void test_dilation(void) {
  const cb_conv dilated[] = {
      {.n = 2,
       .c = 2,
       .h = 9,
       .w = 10,
       .k = 3,
       .r = 3,
       .s = 3,
       .pad_h = 2,
       .pad_w = 1,
       .dil_h = 2,
       .dil_w = 3},
      {.n = 1,
       .c = 3,
       .h = 12,
       .w = 11,
       .k = 2,
       .r = 2,
       .s = 3,
       .pad_h = 1,
       .pad_w = 2,
       .stride_h = 2,
       .stride_w = 3,
       .dil_h = 4,
       .dil_w = 2,
       .groups = 1},
  };
  for (size_t i = 0; i < sizeof dilated / sizeof dilated[0]; i++) {
    cb_problem pd = cb_problem_conv(CB_OP_CONV_FWD, dilated[i]);
    const cb_conv *c = &pd.conv;
    cb_conv big = *c;
    big.r = c->dil_h * (c->r - 1) + 1, big.s = c->dil_w * (c->s - 1) + 1;
    big.dil_h = big.dil_w = 1;
    cb_problem pb = cb_problem_conv(CB_OP_CONV_FWD, big);
    CHECK_EQ_INT(cb_conv_out_h(&big), cb_conv_out_h(c));
    CHECK_EQ_INT(cb_conv_out_w(&big), cb_conv_out_w(c));

    int64_t nx = cb_problem_elems(&pd, 0), nw = cb_problem_elems(&pd, 1),
            ny = cb_problem_elems(&pd, 2), nwb = cb_problem_elems(&pb, 1);
    float *x = alloc_f(nx), *w = alloc_f(nw), *wb = alloc_f(nwb), *dy = alloc_f(ny);
    float *y1 = alloc_f(ny), *y2 = alloc_f(ny), *dx1 = alloc_f(nx), *dx2 = alloc_f(nx);
    float *dw1 = alloc_f(nw), *dw2 = alloc_f(nwb);
    fill_int(x, nx, 11), fill_int(w, nw, 12), fill_int(dy, ny, 13);
    int64_t cg = c->c / c->groups;
    for (int64_t kc = 0; kc < c->k * cg; kc++) /* wb is zero from calloc */
      for (int64_t r = 0; r < c->r; r++)
        for (int64_t s = 0; s < c->s; s++)
          wb[(kc * big.r + r * c->dil_h) * big.s + s * c->dil_w] = w[(kc * c->r + r) * c->s + s];

    run1(&pd, x, w, y1);
    run1(&pb, x, wb, y2);
    CHECK_MSG(same_bits(y1, y2, ny), "%s: fwd", key_of(&pd));
    pd.op = pb.op = CB_OP_CONV_BWD_DATA;
    run1(&pd, dy, w, dx1);
    run1(&pb, dy, wb, dx2);
    CHECK_MSG(same_bits(dx1, dx2, nx), "%s: bwd_data", key_of(&pd));
    pd.op = pb.op = CB_OP_CONV_BWD_FILTER;
    run1(&pd, x, dy, dw1);
    run1(&pb, x, dy, dw2);
    bool same = true;
    for (int64_t kc = 0; kc < c->k * cg; kc++)
      for (int64_t r = 0; r < c->r; r++)
        for (int64_t s = 0; s < c->s; s++)
          same &= dw1[(kc * c->r + r) * c->s + s] ==
                  dw2[(kc * big.r + r * c->dil_h) * big.s + s * c->dil_w];
    CHECK_MSG(same, "%s: bwd_filter", key_of(&pd));
    free(x), free(w), free(wb), free(dy), free(y1), free(y2);
    free(dx1), free(dx2), free(dw1), free(dw2);
  }
}

/* ---- (e) GEMM --------------------------------------------------------------- */

/* C = alpha op(A) op(B) + beta C by the textbook triple loop. */
static void naive_gemm(const cb_gemm *g, const float *a, const float *b, float *c) {
  for (int64_t i = 0; i < g->m; i++)
    for (int64_t j = 0; j < g->n; j++) {
      double sum = 0.0;
      for (int64_t l = 0; l < g->k; l++) {
        double av = g->trans_a ? a[l * g->m + i] : a[i * g->k + l];
        double bv = g->trans_b ? b[j * g->k + l] : b[l * g->n + j];
        sum += av * bv;
      }
      double old = g->beta != 0.0f ? (double)g->beta * c[i * g->n + j] : 0.0;
      c[i * g->n + j] = (float)((double)g->alpha * sum + old);
    }
}

static void test_gemm(void) {
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {13, 17, 11}, {3, 1, 9}, {1, 33, 2}};
  const float scales[][2] = {{1.0f, 0.0f}, {0.1f, -2.5f}, {-2.5f, 0.1f}, {2.0f, 1.0f}};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
    for (int t = 0; t < 4; t++)
      for (size_t ai = 0; ai < sizeof scales / sizeof scales[0]; ai++) {
        cb_problem p = cb_problem_gemm(sizes[si][0], sizes[si][1], sizes[si][2], t & 1, t & 2);
        p.gemm.alpha = scales[ai][0], p.gemm.beta = scales[ai][1];
        int64_t na = cb_problem_elems(&p, 0), nb = cb_problem_elems(&p, 1),
                nc = cb_problem_elems(&p, 2);
        float *a = alloc_f(na), *b = alloc_f(nb), *c = alloc_f(nc), *want = alloc_f(nc);
        fill_real(a, na, 21), fill_real(b, nb, 22);
        if (p.gemm.beta == 0.0f)
          fill_nan(c, nc), fill_nan(want, nc); /* must not be read */
        else
          fill_real(c, nc, 23), memcpy(want, c, (size_t)nc * sizeof *c);
        naive_gemm(&p.gemm, a, b, want);
        cb_status st = run_ref(2, &p, a, b, c);
        CHECK_MSG(st == CB_OK, "%s: %s", key_of(&p), cb_errmsg());
        CHECK_MSG(same_bits(c, want, nc), "%s: differs from the triple loop", key_of(&p));
        bool finite = true;
        for (int64_t i = 0; i < nc; i++) finite &= isfinite(c[i]) != 0;
        CHECK_MSG(finite, "%s: non-finite output", key_of(&p));
        free(a), free(b), free(c), free(want);
      }

  /* One value by hand: [1 2; 3 4] [5; 6] = [17; 39], then 0.5 AB + 2 C. */
  const float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
  float c[2] = {1, -1};
  cb_problem p = cb_problem_gemm(2, 1, 2, false, false);
  p.gemm.alpha = 0.5f, p.gemm.beta = 2.0f;
  CHECK_EQ_INT(run_ref(1, &p, a, b, c), CB_OK);
  CHECK(c[0] == 10.5f && c[1] == 17.5f);
  /* The same with A transposed reads A as [1 3; 2 4]: [23; 34]. */
  p.gemm.trans_a = true, p.gemm.alpha = 1.0f, p.gemm.beta = 0.0f;
  CHECK_EQ_INT(run_ref(1, &p, a, b, c), CB_OK);
  CHECK(c[0] == 23.0f && c[1] == 34.0f);
}

/* ---- (f) thread count, (g) overwriting -------------------------------------- */

/* Problems for the thread and NaN tests: every op, real-valued data. The
 * conv with r = s = 1 and stride 4 leaves dx elements no tap reads, which
 * must come out 0, not whatever was there. */
static cb_problem mixed_problem(size_t i) {
  static const cb_conv convs[] = {
      {.n = 2, .c = 5, .h = 13, .w = 11, .k = 7, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1},
      {.n = 3,
       .c = 4,
       .h = 15,
       .w = 15,
       .k = 6,
       .r = 5,
       .s = 3,
       .pad_h = 2,
       .pad_w = 0,
       .stride_h = 2,
       .stride_w = 3,
       .dil_h = 1,
       .dil_w = 2,
       .groups = 2},
      {.n = 1, .c = 2, .h = 9, .w = 9, .k = 3, .r = 1, .s = 1, .stride_h = 4, .stride_w = 4},
  };
  const size_t nconv = sizeof convs / sizeof convs[0];
  if (i < 3 * nconv) return cb_problem_conv((cb_op)(i % 3), convs[i / 3]);
  cb_problem g = cb_problem_gemm(9, 13, 17, i % 2, i % 3 == 0);
  g.gemm.alpha = 0.3f, g.gemm.beta = i % 2 ? 0.0f : 0.7f;
  return g;
}
#define NMIXED 13

static void test_threads_and_overwrite(void) {
  for (size_t i = 0; i < NMIXED; i++) {
    cb_problem p = mixed_problem(i);
    int64_t n0 = cb_problem_elems(&p, 0), n1 = cb_problem_elems(&p, 1),
            n2 = cb_problem_elems(&p, 2);
    float *s0 = alloc_f(n0), *s1 = alloc_f(n1), *c_init = alloc_f(n2);
    float *out[4] = {alloc_f(n2), alloc_f(n2), alloc_f(n2), alloc_f(n2)};
    fill_real(s0, n0, 31 + (uint32_t)i), fill_real(s1, n1, 41 + (uint32_t)i);
    fill_real(c_init, n2, 51);
    bool reads_dst = p.op == CB_OP_GEMM && p.gemm.beta != 0.0f;

    /* 1, 2 and 3 threads, then 1 thread over NaN (skipped where C is an input). */
    const int threads[4] = {1, 2, 3, 1};
    for (int t = 0; t < 4; t++) {
      if (reads_dst || t < 3)
        memcpy(out[t], c_init, (size_t)n2 * sizeof(float));
      else
        fill_nan(out[t], n2);
      cb_status st = run_ref(threads[t], &p, s0, s1, out[t]);
      CHECK_MSG(st == CB_OK, "%s: %s", key_of(&p), cb_errmsg());
    }
    CHECK_MSG(same_bits(out[0], out[1], n2), "%s: 1 and 2 threads differ", key_of(&p));
    CHECK_MSG(same_bits(out[0], out[2], n2), "%s: 1 and 3 threads differ", key_of(&p));
    CHECK_MSG(same_bits(out[0], out[3], n2), "%s: result depends on dst's old contents",
              key_of(&p));
    bool finite = true;
    for (int64_t e = 0; e < n2; e++) finite &= isfinite(out[3][e]) != 0;
    CHECK_MSG(finite, "%s: NaN left in the output", key_of(&p));
    free(s0), free(s1), free(c_init);
    for (int t = 0; t < 4; t++) free(out[t]);
  }
}

int main(void) {
  test_backend_table();
  test_hand_small();
  test_hand_channels();
  test_adjoint();
  test_groups();
  test_dilation();
  test_gemm();
  test_threads_and_overwrite();
  return cb_test_result();
}
