/* test_problem.c: problem descriptions (kernels/problem.c). Canonical keys
 * round-trip and reject malformed input with exact messages, validation
 * names the bad field, output sizes follow the floor rule, and FLOP counts
 * match the convnet-benchmarks layer table read from CB_TEST_DATA. */
#include "cb_test.h"
#include "kernels.h"

#include <stdint.h>

#ifndef CB_TEST_DATA
#define CB_TEST_DATA "tests/data"
#endif

/* cb_conv initializers below are positional: n, c, h, w, k, r, s, pad_h,
 * pad_w, stride_h, stride_w, dil_h, dil_w, groups; conv() takes a 0 stride,
 * dilation or groups to mean 1. */
static cb_problem conv(cb_op op, cb_conv c) {
  return cb_problem_conv(op, c);
}

static cb_problem gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta) {
  cb_problem p = cb_problem_gemm(m, n, k, ta, tb);
  p.gemm.alpha = alpha;
  p.gemm.beta = beta;
  return p;
}

/* Field-by-field equality; floats compared bit for bit so that a key that
 * loses a last digit is caught. */
static bool same_problem(const cb_problem *a, const cb_problem *b) {
  if (a->op != b->op || a->dtype != b->dtype || a->layout != b->layout) return false;
  if (a->op == CB_OP_GEMM) {
    const cb_gemm *x = &a->gemm, *y = &b->gemm;
    return x->m == y->m && x->n == y->n && x->k == y->k && x->trans_a == y->trans_a &&
           x->trans_b == y->trans_b && memcmp(&x->alpha, &y->alpha, sizeof(float)) == 0 &&
           memcmp(&x->beta, &y->beta, sizeof(float)) == 0;
  }
  const cb_conv *x = &a->conv, *y = &b->conv;
  return x->n == y->n && x->c == y->c && x->h == y->h && x->w == y->w && x->k == y->k &&
         x->r == y->r && x->s == y->s && x->pad_h == y->pad_h && x->pad_w == y->pad_w &&
         x->stride_h == y->stride_h && x->stride_w == y->stride_w && x->dil_h == y->dil_h &&
         x->dil_w == y->dil_w && x->groups == y->groups;
}

static void test_round_trip(void) {
  const cb_problem probs[] = {
      conv(CB_OP_CONV_FWD, (cb_conv){128, 3, 224, 224, 64, 11, 11, 2, 2, 4, 4, 0, 0, 0}),
      conv(CB_OP_CONV_BWD_DATA, (cb_conv){2, 64, 27, 27, 192, 5, 5, 2, 2, 0, 0, 0, 0, 0}),
      conv(CB_OP_CONV_BWD_FILTER, (cb_conv){3, 8, 9, 11, 4, 3, 3, 2, 2, 0, 0, 2, 2, 2}),
      conv(CB_OP_CONV_FWD, (cb_conv){1, 32, 112, 112, 32, 3, 3, 1, 1, 0, 0, 0, 0, 32}),
      conv(CB_OP_CONV_FWD, (cb_conv){5, 6, 17, 30, 9, 3, 7, 0, 3, 1, 2, 3, 1, 3}),
      conv(CB_OP_CONV_BWD_DATA, (cb_conv){.n = 1, .c = 1, .h = 1, .w = 1, .k = 1, .r = 1, .s = 1}),
      gemm(1024, 1024, 1024, false, true, 1.0f, 0.0f),
      gemm(64, 64, 64, false, false, 0.5f, 1.0f),
      gemm(7, 1, 13, true, false, 0.1f, -2.5f),
      gemm(1, 9, 2, true, true, -2.5f, 0.1f),
      gemm(3, 3, 3, false, false, 1.0f, 1.0f),
      gemm(3, 3, 3, true, true, 0.0f, 0.0f),
      gemm(2, 2, 2, false, true, 3.0e38f, 1.0e-30f),
      gemm(2, 2, 2, true, false, 1.0e-40f, -1.17549435e-38f), /* subnormal, FLT_MIN */
      gemm(2, 2, 2, false, false, 1.00000012f, 0.333333343f),
      gemm(INT32_MAX, 1, 1, false, false, 1.0f, 0.0f),
  };
  for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
    char key[CB_KEY_MAX], again[CB_KEY_MAX];
    int len = cb_problem_key(&probs[i], key, sizeof key);
    CHECK(len > 0 && len < CB_KEY_MAX);
    CHECK_EQ_INT(len, (int)strlen(key));
    CHECK_EQ_INT(cb_problem_check(&probs[i]), CB_OK);
    cb_problem back;
    memset(&back, 0xa5, sizeof back);
    cb_status st = cb_problem_parse(key, &back);
    CHECK_MSG(st == CB_OK, "%s: %s", key, cb_errmsg());
    CHECK_MSG(same_problem(&probs[i], &back), "key %s parsed to a different problem", key);
    cb_problem_key(&back, again, sizeof again);
    CHECK_EQ_STR(again, key);
  }
}

static void test_exact_keys(void) {
  char key[CB_KEY_MAX];
  cb_problem p = conv(CB_OP_CONV_FWD, (cb_conv){128, 3, 224, 224, 64, 11, 11, 2, 2, 4, 4, 0, 0, 0});
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "conv_fwd:f32:nchw:n128c3h224w224_k64r11s11_p2x2_u4x4_d1x1_g1");

  p = conv(CB_OP_CONV_BWD_FILTER, (cb_conv){2, 8, 9, 10, 4, 3, 5, 1, 0, 2, 3, 2, 1, 4});
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "conv_bwd_filter:f32:nchw:n2c8h9w10_k4r3s5_p1x0_u2x3_d2x1_g4");
  p.op = CB_OP_CONV_BWD_DATA;
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "conv_bwd_data:f32:nchw:n2c8h9w10_k4r3s5_p1x0_u2x3_d2x1_g4");

  p = gemm(1024, 1024, 1024, false, true, 1.0f, 0.0f);
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "gemm:f32:nt:m1024n1024k1024");
  p = gemm(64, 64, 64, false, false, 0.5f, 1.0f);
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "gemm:f32:nn:m64n64k64_a0.5b1");
  p = gemm(5, 6, 7, true, false, 0.1f, -2.5f);
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "gemm:f32:tn:m5n6k7_a0.100000001b-2.5");
  p = gemm(5, 6, 7, true, true, 1.0f, 1.0f); /* beta alone differs: the suffix is needed */
  cb_problem_key(&p, key, sizeof key);
  CHECK_EQ_STR(key, "gemm:f32:tt:m5n6k7_a1b1");

  /* snprintf semantics: the full length back, a truncated NUL-terminated string. */
  char small[10];
  p = gemm(1024, 1024, 1024, false, true, 1.0f, 0.0f);
  CHECK_EQ_INT(cb_problem_key(&p, small, sizeof small), 27);
  CHECK_EQ_STR(small, "gemm:f32:");
  CHECK_EQ_INT(cb_problem_key(&p, NULL, 0), 27);

  /* Shorthand spellings parse to the canonical problem. */
  cb_problem q;
  CHECK_EQ_INT(cb_problem_parse("gemm:f32:nn:m2n3k4_a1b0", &q), CB_OK);
  cb_problem_key(&q, key, sizeof key);
  CHECK_EQ_STR(key, "gemm:f32:nn:m2n3k4");
  CHECK_EQ_INT(cb_problem_parse("gemm:f32:nn:m2n3k4_a0.1b2.5e-1", &q), CB_OK);
  CHECK(q.gemm.alpha == 0.1f && q.gemm.beta == 0.25f);
}

/* Each key must be refused with CB_ERR_PARSE and leave *out untouched. */
static void test_bad_keys(void) {
  static const char *const bad[] = {
      "",
      "conv_fwd",
      "conv_fwd:",
      "conv_fwd:f32:nchw:n1c3",
      "conv_fwd:f32:nchw:n1c3h5w5",
      "conv_fwd:f64:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nhwc:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_xyz:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "CONV_FWD:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      " conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n-1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n+1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p-1x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1x",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1 ",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1",
      "conv_fwd:f32:nchw:n1c3h5w5k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n99999999999999999999c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n9223372036854775808c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:nc3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n01c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p00x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n 1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      /* well formed, but not a valid problem */
      "conv_fwd:f32:nchw:n0c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u0x1_d1x1_g1",
      "conv_fwd:f32:nchw:n1c3h5w5_k4r1s1_p0x0_u1x1_d1x1_g2",
      "conv_fwd:f32:nchw:n1c3h2w2_k1r11s11_p2x2_u4x4_d1x1_g1",
      "conv_fwd:f32:nchw:n9223372036854775807c2h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
      "gemm",
      "gemm:f32:nx:m1n1k1",
      "gemm:f32:n:m1n1k1",
      "gemm:f32:nn:m1n1",
      "gemm:f32:nn:m1n1k1_",
      "gemm:f32:nn:m1n1k1_a1",
      "gemm:f32:nn:m1n1k1_a1b",
      "gemm:f32:nn:m1n1k1_a+1b0",
      "gemm:f32:nn:m1n1k1_ainfb0",
      "gemm:f32:nn:m1n1k1_anan0b0",
      "gemm:f32:nn:m1n1k1_a.5b0",
      "gemm:f32:nn:m1n1k1_a1.b0",
      "gemm:f32:nn:m1n1k1_a1eb0",
      "gemm:f32:nn:m1n1k1_a0x1p3b0",
      "gemm:f32:nn:m1n1k1_a1e39b0",
      "gemm:f32:nn:m1n1k1_a1b0x",
      "gemm:f32:nn:m0n1k1",
      "gemm:f32:nn:m1n1k1:",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cb_problem p = gemm(3, 4, 5, false, false, 1.0f, 0.0f), before = p;
    cb_status st = cb_problem_parse(bad[i], &p);
    CHECK_MSG(st == CB_ERR_PARSE, "\"%s\" gave %s, expected parse error", bad[i],
              cb_status_str(st));
    CHECK_MSG(strncmp(cb_errmsg(), "bad problem key \"", 17) == 0, "\"%s\": message \"%s\"", bad[i],
              cb_errmsg());
    CHECK_MSG(same_problem(&p, &before), "\"%s\" changed *out on failure", bad[i]);
  }

  /* The exact words and the 1-based column of a few. */
  static const struct {
    const char *key, *msg;
  } msgs[] = {
      {"conv_fwd:f32:nchw:n1c3",
       "bad problem key \"conv_fwd:f32:nchw:n1c3\": expected 'h' at column 23"},
      {"conv_fwd:f32:nchw:n1c3h5w5",
       "bad problem key \"conv_fwd:f32:nchw:n1c3h5w5\": expected '_k' at column 27"},
      {"conv_fwd:f64:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
       "bad problem key \"conv_fwd:f64:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1\": expected 'f32' "
       "at column 10"},
      {"conv_xyz:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
       "bad problem key \"conv_xyz:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1\": unknown op "
       "\"conv_xyz\" at column 1"},
      {"conv_fwd:f32:nchw:n-1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
       "bad problem key \"conv_fwd:f32:nchw:n-1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1\": expected a "
       "number at column 20"},
      {"conv_fwd:f32:nchw:n9223372036854775808c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1",
       "bad problem key \"conv_fwd:f32:nchw:n9223372036854775808c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1\": "
       "number does not fit int64 at column 20"},
      {"conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1x",
       "bad problem key \"conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g1x\": expected end of "
       "key at column 52"},
      {"conv_fwd:f32:nchw:n1c3h2w2_k1r11s11_p2x2_u4x4_d1x1_g1",
       "bad problem key \"conv_fwd:f32:nchw:n1c3h2w2_k1r11s11_p2x2_u4x4_d1x1_g1\": conv: output "
       "would be 0x0 (h 2, r 11, pad 2, stride 4, dilation 1)"},
      {"conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g01",
       "bad problem key \"conv_fwd:f32:nchw:n1c3h5w5_k1r1s1_p0x0_u1x1_d1x1_g01\": leading zero at "
       "column 51"},
      {"gemm:f32:nx:m1n1k1",
       "bad problem key \"gemm:f32:nx:m1n1k1\": expected 'nn', 'nt', 'tn' or 'tt' at column 10"},
      {"gemm:f32:nn:m1n1k1_a1e39b0",
       "bad problem key \"gemm:f32:nn:m1n1k1_a1e39b0\": number out of float range at column 21"},
      {"gemm:f32:nn:m1n1k1_a1b",
       "bad problem key \"gemm:f32:nn:m1n1k1_a1b\": expected a number at column 23"},
  };
  for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
    cb_problem p;
    CHECK_EQ_INT(cb_problem_parse(msgs[i].key, &p), CB_ERR_PARSE);
    CHECK_EQ_STR(cb_errmsg(), msgs[i].msg);
  }
}

typedef struct check_case {
  cb_problem p;
  const char *msg;
} check_case;

/* cb_problem_check refuses each with CB_ERR_INVALID and exactly this reason. */
static void test_check(void) {
  const cb_conv ok = {2, 64, 27, 27, 192, 5, 5, 2, 2, 1, 1, 1, 1, 1};
  check_case cases[16];
  int n = 0;
  cb_conv c;

  c = ok, c.groups = 3;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: groups 3 does not divide c 64"};
  c = ok, c.c = 6, c.k = 64, c.groups = 3;
  cases[n++] = (check_case){conv(CB_OP_CONV_BWD_DATA, c), "conv: groups 3 does not divide k 64"};
  c = ok, c.n = 0;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: n 0 must be >= 1"};
  c = ok, c.s = -3;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: s -3 must be >= 1"};
  c = ok, c.pad_h = -1;
  cases[n++] = (check_case){conv(CB_OP_CONV_BWD_FILTER, c), "conv: pad_h -1 must be >= 0"};
  c = ok, c.stride_w = -2;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: stride_w -2 must be >= 1"};
  c = ok, c.dil_h = -1;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: dil_h -1 must be >= 1"};
  c = ok, c.h = 2, c.w = 2, c.r = 11, c.s = 11, c.stride_h = c.stride_w = 4;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c),
                            "conv: output would be 0x0 (h 2, r 11, pad 2, stride 4, dilation 1)"};
  c = ok, c.w = 5, c.pad_w = 0, c.s = 3, c.dil_w = 3;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c),
                            "conv: output would be 27x0 (w 5, s 3, pad 0, stride 1, dilation 3)"};
  c = ok, c.n = INT64_C(1) << 40, c.c = INT64_C(1) << 20, c.h = c.w = 64, c.k = 1, c.r = c.s = 1;
  cases[n++] =
      (check_case){conv(CB_OP_CONV_FWD, c), "conv: x[n,c,h,w] element count overflows int64"};
  c = ok, c.pad_h = INT64_MAX / 2 + 1;
  cases[n++] = (check_case){conv(CB_OP_CONV_FWD, c), "conv: output size overflows int64 (pad "
                                                     "4611686018427387904x2, dilation 1x1)"};
  cases[n++] = (check_case){gemm(0, 4, 4, false, false, 1, 0), "gemm: m 0 must be >= 1"};
  cases[n++] = (check_case){gemm(4, 4, -1, false, false, 1, 0), "gemm: k -1 must be >= 1"};
  cases[n++] = (check_case){gemm(4, 4, 4, false, false, NAN, 0), "gemm: alpha nan is not finite"};
  cases[n++] = (check_case){gemm(INT64_C(1) << 32, INT64_C(1) << 32, 1, false, false, 1, 0),
                            "gemm: C element count m*n overflows int64"};
  cases[n] = (check_case){gemm(4, 4, 4, false, false, 1, 0), "problem: unknown op 7"};
  cases[n++].p.op = (cb_op)7;

  for (int i = 0; i < n; i++) {
    CHECK_EQ_INT(cb_problem_check(&cases[i].p), CB_ERR_INVALID);
    CHECK_EQ_STR(cb_errmsg(), cases[i].msg);
  }
  cb_problem good = conv(CB_OP_CONV_FWD, ok);
  CHECK_EQ_INT(cb_problem_check(&good), CB_OK);
}

static void test_defaults_and_names(void) {
  cb_problem p =
      conv(CB_OP_CONV_FWD, (cb_conv){.n = 1, .c = 1, .h = 3, .w = 3, .k = 1, .r = 3, .s = 3});
  CHECK_EQ_INT(p.conv.stride_h, 1);
  CHECK_EQ_INT(p.conv.stride_w, 1);
  CHECK_EQ_INT(p.conv.dil_h, 1);
  CHECK_EQ_INT(p.conv.dil_w, 1);
  CHECK_EQ_INT(p.conv.groups, 1);
  CHECK_EQ_INT(p.conv.pad_h, 0);
  CHECK_EQ_INT(p.dtype, CB_DTYPE_F32);
  CHECK_EQ_INT(p.layout, CB_LAYOUT_NCHW);
  p = cb_problem_gemm(2, 3, 4, true, false);
  CHECK(p.gemm.alpha == 1.0f && p.gemm.beta == 0.0f && p.gemm.trans_a && !p.gemm.trans_b);

  const char *names[] = {"conv_fwd", "conv_bwd_data", "conv_bwd_filter", "gemm"};
  for (int i = 0; i < CB_OP_COUNT; i++) {
    cb_op op = CB_OP_COUNT;
    CHECK_EQ_STR(cb_op_name((cb_op)i), names[i]);
    CHECK_EQ_INT(cb_op_from_name(names[i], &op), CB_OK);
    CHECK_EQ_INT(op, i);
  }
  cb_op op;
  CHECK_EQ_INT(cb_op_from_name("conv", &op), CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "unknown op \"conv\" (conv_fwd, conv_bwd_data, conv_bwd_filter, gemm)");
  CHECK_EQ_STR(cb_op_name(CB_OP_COUNT), "unknown");
}

static void test_out_size(void) {
  struct {
    int64_t in, pad, taps, stride, dil, out;
  } cases[] = {
      {224, 2, 11, 4, 1, 55}, /* alexnet conv1: floor((224 + 4 - 11) / 4) + 1 */
      {27, 2, 5, 1, 1, 27},    {13, 1, 3, 1, 1, 13},
      {128, 0, 11, 1, 1, 118}, {8, 0, 3, 2, 1, 3}, /* floor, not round: (8 - 3) / 2 = 2.5 */
      {7, 2, 3, 1, 2, 7},                          /* dilation 2: a 3-tap filter spans 5 */
      {9, 0, 3, 1, 4, 1},                          /* span 9 exactly fits */
      {8, 0, 3, 1, 4, 0},                          /* span 9 does not fit: floor(-1/1) + 1 = 0 */
      {2, 2, 11, 4, 1, -1},                        /* floor(-5/4) + 1: truncation would say 0 */
      {1, 0, 1, 5, 1, 1},      {10, 3, 1, 3, 1, 6},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cb_conv c = {.n = 1, .c = 1, .h = cases[i].in, .w = 5, .k = 1, .r = cases[i].taps, .s = 1};
    c.pad_h = cases[i].pad, c.stride_h = cases[i].stride, c.dil_h = cases[i].dil;
    c.stride_w = c.dil_w = c.groups = 1;
    CHECK_EQ_INT(cb_conv_out_h(&c), cases[i].out);
    CHECK_EQ_INT(cb_conv_out_w(&c), 5);
    /* The same rule applies to the width with the fields swapped. */
    cb_conv t = c;
    t.h = c.w, t.w = c.h, t.r = c.s, t.s = c.r, t.pad_h = c.pad_w, t.pad_w = c.pad_h;
    t.stride_h = c.stride_w, t.stride_w = c.stride_h, t.dil_h = c.dil_w, t.dil_w = c.dil_h;
    CHECK_EQ_INT(cb_conv_out_w(&t), cases[i].out);
    CHECK_EQ_INT(cb_conv_out_h(&t), 5);
  }
}

static void test_elems(void) {
  cb_conv c = {.n = 2, .c = 6, .h = 9, .w = 8, .k = 4, .r = 3, .s = 2, .pad_h = 1, .groups = 2};
  /* p = 9, q = 7 */
  int64_t x = 2 * 6 * 9 * 8, w = 4 * 3 * 3 * 2, y = 2 * 4 * 9 * 7;
  const int64_t want[3][3] = {{x, w, y}, {y, w, x}, {x, y, w}};
  const cb_op ops[3] = {CB_OP_CONV_FWD, CB_OP_CONV_BWD_DATA, CB_OP_CONV_BWD_FILTER};
  for (int o = 0; o < 3; o++) {
    cb_problem p = conv(ops[o], c);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(cb_problem_elems(&p, i), want[o][i]);
    CHECK_EQ_INT(cb_problem_elems(&p, 3), -1);
  }
  cb_problem g = gemm(3, 5, 7, true, false, 1, 0);
  CHECK_EQ_INT(cb_problem_elems(&g, 0), 21);
  CHECK_EQ_INT(cb_problem_elems(&g, 1), 35);
  CHECK_EQ_INT(cb_problem_elems(&g, 2), 15);
  CHECK_EQ_INT(cb_problem_elems(&g, -1), -1);
}

/* FLOPs against the L1..L5 fwd_gflop column of the convnet-benchmarks
 * layer table; the output size columns check cb_conv_out_h/w too. */
static void test_flops(void) {
  const char *path = CB_TEST_DATA "/convnet_benchmarks_layers.csv";
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  if (!f) return;
  char line[1024];
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    char name[16];
    long long v[13];
    double gflop;
    if (sscanf(line, "%15[^,],%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lf",
               name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
               &v[11], &v[12], &gflop) != 15)
      continue; /* the source comment and the header */
    rows++;
    cb_conv c = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[9], v[10], v[7], v[8], 0, 0, 0};
    for (int op = CB_OP_CONV_FWD; op <= CB_OP_CONV_BWD_FILTER; op++) {
      cb_problem p = conv((cb_op)op, c);
      CHECK_EQ_INT(cb_problem_check(&p), CB_OK);
      CHECK_MSG(fabs(cb_problem_flops(&p) / 1e9 - gflop) <= 0.001, "%s %s: %.4f GFLOP, table %.3f",
                name, cb_op_name((cb_op)op), cb_problem_flops(&p) / 1e9, gflop);
    }
    cb_problem fwd = conv(CB_OP_CONV_FWD, c); /* dilation and groups 0 -> 1 */
    CHECK_EQ_INT(cb_conv_out_h(&fwd.conv), v[11]);
    CHECK_EQ_INT(cb_conv_out_w(&fwd.conv), v[12]);
  }
  fclose(f);
  CHECK_EQ_INT(rows, 5);

  /* Groups divide the work: depthwise 3x3 over 32 channels of 112x112. */
  cb_problem dw = conv(CB_OP_CONV_FWD, (cb_conv){1, 32, 112, 112, 32, 3, 3, 1, 1, 0, 0, 0, 0, 32});
  CHECK_NEAR(cb_problem_flops(&dw), 2.0 * 32 * 9 * 112 * 112, 0.0);
  cb_problem g = gemm(1024, 512, 256, false, true, 1, 0);
  CHECK_NEAR(cb_problem_flops(&g), 2.0 * 1024 * 512 * 256, 0.0);
}

int main(void) {
  test_round_trip();
  test_exact_keys();
  test_bad_keys();
  test_check();
  test_defaults_and_names();
  test_out_size();
  test_elems();
  test_flops();
  return cb_test_result();
}
