/* test_layers.c: forward values of every layer kind on small hand-computed
 * cases, shape rules (pool floor / ceil, padding, global), reshape and
 * configure errors with their exact text, the gradient accumulation rule
 * of layer.h, and in-place relu and dropout. Gradients against finite
 * differences are in test_grad.c. */
#include "cb_test.h"
#include "layer_fixture.h"

#include <math.h>
#ifdef _OPENMP
#endif

/* Sets t's data to v[0..count). */
static void set_data(cb_tensor *t, const float *v) {
  memcpy(t->data, v, (size_t)cb_tensor_count(t) * sizeof(float));
}

/* Checks a tensor's data against expected values, element by element. */
static void check_data(const float *got, const float *want, int64_t count, double tol,
                       const char *what) {
  for (int64_t i = 0; i < count; i++)
    CHECK_MSG(fabs((double)got[i] - want[i]) <= tol, "%s[%lld] = %.9g, expected %.9g", what,
              (long long)i, (double)got[i], (double)want[i]);
}

static void check_shape(const cb_tensor *t, int64_t n, int64_t c, int64_t h, int64_t w) {
  CHECK_MSG(t->n == n && t->c == c && t->h == h && t->w == w,
            "%s is %lldx%lldx%lldx%lld, expected %lldx%lldx%lldx%lld", t->name, (long long)t->n,
            (long long)t->c, (long long)t->h, (long long)t->w, (long long)n, (long long)c,
            (long long)h, (long long)w);
}

/* Builds a one-input layer of the given input shape; reports a failed
 * build as a check failure. */
static bool build1(cb_fixture *f, const char *kind, const char *kvs, int64_t n, int64_t c,
                   int64_t h, int64_t w) {
  cb_fx_init(f, kind, "l1", kvs);
  cb_fx_input(f, 0, n, c, h, w);
  cb_status s = cb_fx_build(f);
  CHECK_MSG(s == CB_OK, "build %s %s: %s", kind, kvs, cb_errmsg());
  return s == CB_OK;
}

static const float ramp9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* ---- conv ------------------------------------------------------------------ */

/* Builds conv kvs on a 1x1x3x3 input of ramp9 with an all-ones filter and
 * bias (when it has one), and runs it forward; false when it does not
 * build. */
static bool conv_ones_on_ramp(cb_fixture *f, const char *kvs, float bias) {
  if (!build1(f, "conv", kvs, 1, 1, 3, 3)) return false;
  set_data(&f->in[0], ramp9);
  cb_fx_fill(&f->l.params[0], 1.0f);
  if (f->l.nparams > 1) f->l.params[1].data[0] = bias;
  CHECK(cb_fx_forward(f) == CB_OK);
  return true;
}

static void test_conv_forward(void) {
  cb_fixture f;
  /* 2x2 ones filter over 1..9 plus bias 0.5: window sums 12 16 24 28. */
  if (conv_ones_on_ramp(&f, "out=1 k=2", 0.5f)) {
    check_shape(&f.out, 1, 1, 2, 2);
    check_shape(&f.l.params[0], 1, 1, 2, 2);
    check_shape(&f.l.params[1], 1, 1, 1, 1);
    CHECK_EQ_INT(f.l.nparams, 2);
    const float want[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    check_data(f.out.data, want, 4, 0, "conv k2");
  }
  cb_fx_free(&f);

  /* 3x3 ones filter, pad 1, stride 2: the windows centred on the corners
   * see the same four pixels as above. */
  if (conv_ones_on_ramp(&f, "out=1 k=3 pad=1 stride=2 bias=0", 0)) {
    check_shape(&f.out, 1, 1, 2, 2);
    CHECK_EQ_INT(f.l.nparams, 1);
    const float want[4] = {12, 16, 24, 28};
    check_data(f.out.data, want, 4, 0, "conv k3 pad1 stride2");
  }
  cb_fx_free(&f);

  /* Dilation 2 spreads a 2x2 filter over the four corners: 1+3+7+9. */
  if (conv_ones_on_ramp(&f, "out=1 k=2 dilation=2 bias=0", 0)) {
    check_shape(&f.out, 1, 1, 1, 1);
    CHECK_NEAR(f.out.data[0], 20, 0);
  }
  cb_fx_free(&f);

  /* groups=2: output channel 0 sees only input channel 0, 1 only 1. */
  if (build1(&f, "conv", "out=2 k=1 groups=2 bias=0", 1, 2, 1, 2)) {
    check_shape(&f.l.params[0], 2, 1, 1, 1);
    const float x[4] = {1, 2, 10, 20}, w[2] = {2, 3}, want[4] = {2, 4, 30, 60};
    set_data(&f.in[0], x);
    set_data(&f.l.params[0], w);
    CHECK(cb_fx_forward(&f) == CB_OK);
    check_data(f.out.data, want, 4, 0, "conv groups");
  }
  cb_fx_free(&f);

  /* kh/kw and stride_w: a 1x2 filter stepping 2 columns. */
  if (build1(&f, "conv", "out=1 kh=1 kw=2 stride_w=2 bias=0", 1, 1, 2, 4)) {
    check_shape(&f.out, 1, 1, 2, 2);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, want[4] = {3, 7, 11, 15};
    set_data(&f.in[0], x);
    cb_fx_fill(&f.l.params[0], 1.0f);
    CHECK(cb_fx_forward(&f) == CB_OK);
    check_data(f.out.data, want, 4, 0, "conv kh kw");
  }
  cb_fx_free(&f);
}

/* Weights are He-normal from (seed, layer name); biases are zero. */
static void test_conv_init(void) {
  cb_fixture a, b, c;
  bool ok = build1(&a, "conv", "out=64 k=3", 1, 16, 5, 5);
  ok &= build1(&b, "conv", "out=64 k=3", 1, 16, 5, 5);
  cb_fx_init(&c, "conv", "l1", "out=64 k=3");
  cb_fx_input(&c, 0, 1, 16, 5, 5);
  c.exec.seed = 2;
  ok &= cb_fx_build(&c) == CB_OK;
  if (ok) {
    int64_t count = cb_tensor_count(&a.l.params[0]);
    CHECK_EQ_INT(count, 64 * 16 * 9);
    CHECK(memcmp(a.l.params[0].data, b.l.params[0].data, (size_t)count * sizeof(float)) == 0);
    CHECK(memcmp(a.l.params[0].data, c.l.params[0].data, (size_t)count * sizeof(float)) != 0);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < count; i++) {
      sum += a.l.params[0].data[i];
      sq += (double)a.l.params[0].data[i] * a.l.params[0].data[i];
    }
    double mean = sum / (double)count, sd = sqrt(sq / (double)count - mean * mean);
    /* fan_in = 16*3*3 = 144, sd = sqrt(2/144) = 0.1179; with 9216 samples
     * the sample sd is within 2% of it (its own sd is about 0.7%). */
    CHECK_NEAR(sd, sqrt(2.0 / 144.0), 0.02 * sqrt(2.0 / 144.0));
    CHECK_NEAR(mean, 0, 0.01);
    for (int k = 0; k < 64; k++) CHECK_NEAR(a.l.params[1].data[k], 0, 0);
  }
  cb_fx_free(&a);
  cb_fx_free(&b);
  cb_fx_free(&c);
}

static void test_conv_flops_and_timing(void) {
  cb_fixture f;
  /* N=2 K=4 C/G=3/1 R=S=3 P=Q=5: 2*2*4*3*9*25 = 10800. */
  if (build1(&f, "conv", "out=4 k=3 pad=1", 2, 3, 5, 5)) {
    CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_FWD), 10800, 0);
    CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_BWD), 21600, 0);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK(cb_fx_backward(&f) == CB_OK);
    CHECK(f.l.sub_ms[0] >= 0);
    CHECK(f.l.sub_ms[1] >= 0);
    CHECK(f.l.sub_ms[2] < 0);
  }
  cb_fx_free(&f);
  /* Without an input gradient, backward is bwd_filter alone. */
  cb_fx_init(&f, "conv", "l1", "out=4 k=3 pad=1 groups=1");
  cb_fx_input(&f, 0, 2, 3, 5, 5);
  f.no_grad[0] = true;
  if (cb_fx_build(&f) == CB_OK) {
    CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_BWD), 10800, 0);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK(cb_fx_backward(&f) == CB_OK);
    CHECK(f.l.sub_ms[0] < 0);
    CHECK(f.l.sub_ms[1] >= 0);
  } else {
    CHECK_MSG(0, "%s", cb_errmsg());
  }
  cb_fx_free(&f);
}

/* ---- fc -------------------------------------------------------------------- */

static void test_fc(void) {
  cb_fixture f;
  /* The 1x1x3 input is flattened to 3 features. */
  if (build1(&f, "fc", "out=2", 2, 1, 1, 3)) {
    check_shape(&f.out, 2, 2, 1, 1);
    check_shape(&f.l.params[0], 2, 3, 1, 1);
    const float x[6] = {1, 1, 1, 1, 2, 3}, w[6] = {1, 2, 3, -1, 0, 1}, b[2] = {0.5f, -0.5f};
    set_data(&f.in[0], x);
    set_data(&f.l.params[0], w);
    set_data(&f.l.params[1], b);
    CHECK(cb_fx_forward(&f) == CB_OK);
    /* x0 . w0 = 6, x0 . w1 = 0, x1 . w0 = 14, x1 . w1 = 2, plus bias. */
    const float want[4] = {6.5f, -0.5f, 14.5f, 1.5f};
    check_data(f.out.data, want, 4, 0, "fc forward");
    const float dy[4] = {1, 0, 0, 1};
    memcpy(f.out.grad, dy, sizeof dy);
    CHECK(cb_fx_backward(&f) == CB_OK);
    /* dx = dy W picks rows of W; dW = dy^T x stacks the samples; db sums dy. */
    const float dx[6] = {1, 2, 3, -1, 0, 1}, dw[6] = {1, 1, 1, 1, 2, 3}, db[2] = {1, 1};
    check_data(f.in[0].grad, dx, 6, 0, "fc dx");
    check_data(f.l.params[0].grad, dw, 6, 0, "fc dW");
    check_data(f.l.params[1].grad, db, 2, 0, "fc db");
    CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_FWD), 2 * 2 * 3 * 2, 0);
    CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_BWD), 2 * 2 * 2 * 3 * 2, 0);
  }
  cb_fx_free(&f);
}

/* ---- relu ------------------------------------------------------------------ */

static void test_relu(void) {
  cb_fixture f;
  const float x[4] = {-1, 0, 2, -3}, y[4] = {0, 0, 2, 0};
  const float dy[4] = {1, 2, 3, 4}, dx[4] = {0, 0, 3, 0};
  if (build1(&f, "relu", "", 1, 4, 1, 1)) {
    set_data(&f.in[0], x);
    CHECK(cb_fx_forward(&f) == CB_OK);
    check_data(f.out.data, y, 4, 0, "relu");
    check_data(f.in[0].data, x, 4, 0, "relu input untouched");
    memcpy(f.out.grad, dy, sizeof dy);
    CHECK(cb_fx_backward(&f) == CB_OK);
    check_data(f.in[0].grad, dx, 4, 0, "relu dx");
  }
  cb_fx_free(&f);

  /* In place: out is in[0]; backward turns the gradient where it lies. */
  cb_fx_init(&f, "relu", "l1", "");
  cb_fx_input(&f, 0, 1, 4, 1, 1);
  f.inplace = true;
  CHECK(cb_fx_build(&f) == CB_OK);
  CHECK(f.l.out == &f.in[0]);
  set_data(&f.in[0], x);
  CHECK(cb_fx_forward(&f) == CB_OK);
  check_data(f.in[0].data, y, 4, 0, "relu in place");
  memcpy(f.in[0].grad, dy, sizeof dy);
  CHECK(cb_fx_backward(&f) == CB_OK);
  check_data(f.in[0].grad, dx, 4, 0, "relu in place dx");
  cb_fx_free(&f);
}

/* ---- pool ------------------------------------------------------------------ */

/* Output h x w of pool kvs on a 1x1xHxW input, or -1 x -1 when it fails. */
static void pool_size(const char *kvs, int64_t h, int64_t w, int64_t *oh, int64_t *ow) {
  cb_fixture f;
  *oh = *ow = -1;
  if (build1(&f, "pool", kvs, 1, 1, h, w)) {
    *oh = f.out.h;
    *ow = f.out.w;
  }
  cb_fx_free(&f);
}

static void test_pool_sizes(void) {
  static const struct {
    const char *kvs;
    int64_t h, w, oh, ow;
  } cases[] = {
      /* 6 wide, k 3, stride 2: floor (6-3)/2+1 = 2, ceil ceil(3/2)+1 = 3. */
      {"mode=max k=3 stride=2", 6, 6, 2, 2},
      {"mode=max k=3 stride=2 round=ceil", 6, 6, 3, 3},
      /* 3 wide, k 2, stride 2, pad 1: ceil((3+2-2)/2)+1 = 3, but the third
       * window would start at 3 = in + pad - 1 + 1, inside the padding, and
       * is dropped (Caffe): 2, the same as floor. */
      {"mode=max k=2 stride=2 pad=1 round=ceil", 3, 3, 2, 2},
      {"mode=max k=2 stride=2 pad=1", 3, 3, 2, 2},
      /* AlexNet's pool1 (floor) and GoogLeNet's pool1 (ceil). */
      {"mode=max k=3 stride=2", 55, 55, 27, 27},
      {"mode=max k=3 stride=2 round=ceil", 112, 112, 56, 56},
      {"mode=max k=3 stride=2", 112, 112, 55, 55},
      /* kh/kw and stride_h/stride_w separately. */
      {"mode=avg kh=2 kw=3 stride_h=2 stride_w=1", 4, 5, 2, 3},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int64_t oh, ow;
    pool_size(cases[i].kvs, cases[i].h, cases[i].w, &oh, &ow);
    CHECK_MSG(oh == cases[i].oh && ow == cases[i].ow,
              "%s on %lldx%lld: %lldx%lld, expected %lldx%lld", cases[i].kvs, (long long)cases[i].h,
              (long long)cases[i].w, (long long)oh, (long long)ow, (long long)cases[i].oh,
              (long long)cases[i].ow);
  }
}

static void test_pool_values(void) {
  cb_fixture f;
  const float x16[16] = {1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 1, 1, 9, 0, 1, 7};
  if (build1(&f, "pool", "mode=max k=2 stride=2", 1, 1, 4, 4)) {
    set_data(&f.in[0], x16);
    CHECK(cb_fx_forward(&f) == CB_OK);
    const float want[4] = {5, 8, 9, 7};
    check_data(f.out.data, want, 4, 0, "max pool");
    /* Backward routes each gradient to its window's maximum. */
    const float dy[4] = {1, 2, 3, 4};
    memcpy(f.out.grad, dy, sizeof dy);
    CHECK(cb_fx_backward(&f) == CB_OK);
    const float dx[16] = {0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4};
    check_data(f.in[0].grad, dx, 16, 0, "max pool dx");
  }
  cb_fx_free(&f);

  /* Ceil mode's extra window covers rows and columns 4..5 of a 6x6 ramp. */
  if (build1(&f, "pool", "mode=max k=3 stride=2 round=ceil", 1, 1, 6, 6)) {
    for (int i = 0; i < 36; i++) f.in[0].data[i] = (float)i;
    CHECK(cb_fx_forward(&f) == CB_OK);
    /* Window (r, c) ends at row min(2r+2, 5), column min(2c+2, 5). */
    const float want[9] = {14, 16, 17, 26, 28, 29, 32, 34, 35};
    check_data(f.out.data, want, 9, 0, "max pool ceil");
  }
  cb_fx_free(&f);

  /* Average with padding counts the pads: a 3x3 window on a 3x3 image of
   * ones, pad 1, sees 4 real pixels at a corner (4/9), 6 at an edge. */
  if (build1(&f, "pool", "mode=avg k=3 stride=1 pad=1", 1, 1, 3, 3)) {
    cb_fx_fill(&f.in[0], 1.0f);
    CHECK(cb_fx_forward(&f) == CB_OK);
    const float want[9] = {4 / 9.f, 6 / 9.f, 4 / 9.f, 6 / 9.f, 1,
                           6 / 9.f, 4 / 9.f, 6 / 9.f, 4 / 9.f};
    check_data(f.out.data, want, 9, 1e-7, "avg pool pad");
  }
  cb_fx_free(&f);

  /* Ceil mode: windows past the padded image are clipped to it before
   * dividing. 4x4 ones, k 3, stride 2, pad 1 gives 3x3 windows starting
   * at -1, 1, 3; the last spans 3..4 (one real row, one pad row; row 5
   * is past the padding): corner (2,2) = 1 / (2*2), (0,2) = 2 / (3*2). */
  if (build1(&f, "pool", "mode=avg k=3 stride=2 pad=1 round=ceil", 1, 1, 4, 4)) {
    check_shape(&f.out, 1, 1, 3, 3);
    cb_fx_fill(&f.in[0], 1.0f);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], 4.0 / 9.0, 1e-7);
    CHECK_NEAR(f.out.data[1], 6.0 / 9.0, 1e-7);
    CHECK_NEAR(f.out.data[2], 2.0 / 6.0, 1e-7);
    CHECK_NEAR(f.out.data[8], 1.0 / 4.0, 1e-7);
    /* Average backward spreads dy / divisor over the real pixels. */
    memset(f.out.grad, 0, 9 * sizeof(float));
    f.out.grad[8] = 1.0f;
    CHECK(cb_fx_backward(&f) == CB_OK);
    CHECK_NEAR(f.in[0].grad[15], 0.25, 0);
    CHECK_NEAR(f.in[0].grad[10], 0, 0);
  }
  cb_fx_free(&f);

  /* Global pooling: one value per channel. */
  const float x12[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, 6};
  if (build1(&f, "pool", "mode=avg global=1", 1, 2, 2, 3)) {
    check_shape(&f.out, 1, 2, 1, 1);
    set_data(&f.in[0], x12);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], 3.5, 1e-7);
    CHECK_NEAR(f.out.data[1], -1.5, 1e-7);
  }
  cb_fx_free(&f);
  if (build1(&f, "pool", "global=1", 1, 2, 2, 3)) { /* mode defaults to max */
    set_data(&f.in[0], x12);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], 6, 0);
    CHECK_NEAR(f.out.data[1], 6, 0);
  }
  cb_fx_free(&f);
}

/* ---- lrn ------------------------------------------------------------------- */

static void test_lrn(void) {
  cb_fixture f;
  /* Against the formula written out directly, in double. */
  if (build1(&f, "lrn", "size=3 alpha=0.1 beta=0.75 k=2", 2, 5, 1, 2)) {
    cb_fx_fill_uniform(f.in[0].data, 20, 7, -2, 2);
    CHECK(cb_fx_forward(&f) == CB_OK);
    const float *x = f.in[0].data;
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 5; c++)
        for (int i = 0; i < 2; i++) {
          double sum = 0;
          for (int c2 = c - 1; c2 <= c + 1; c2++)
            if (c2 >= 0 && c2 < 5) sum += (double)x[(n * 5 + c2) * 2 + i] * x[(n * 5 + c2) * 2 + i];
          double want = x[(n * 5 + c) * 2 + i] * pow(2.0 + 0.1 / 3.0 * sum, -0.75);
          CHECK_NEAR(f.out.data[(n * 5 + c) * 2 + i], want, 1e-6 * fabs(want) + 1e-7);
        }
  }
  cb_fx_free(&f);
  /* Defaults (size 5, alpha 1e-4, beta 0.75, k 1) on a single channel of
   * value 10: 10 * (1 + 1e-4/5 * 100)^-0.75. */
  if (build1(&f, "lrn", "", 1, 1, 1, 1)) {
    f.in[0].data[0] = 10;
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], 10 * pow(1.002, -0.75), 1e-6);
  }
  cb_fx_free(&f);
}

/* ---- bn -------------------------------------------------------------------- */

static void test_bn(void) {
  cb_fixture f;
  /* Eval mode: running statistics, then scale and shift. */
  cb_fx_init(&f, "bn", "l1", "eps=0.01");
  cb_fx_input(&f, 0, 2, 2, 1, 1);
  f.exec.train = false;
  if (cb_fx_build(&f) == CB_OK) {
    CHECK_EQ_INT(f.l.nparams, 4);
    CHECK(f.l.learnable[0] && f.l.learnable[1] && !f.l.learnable[2] && !f.l.learnable[3]);
    CHECK_NEAR(f.l.params[0].data[1], 1, 0); /* scale starts at 1 */
    CHECK_NEAR(f.l.params[3].data[1], 1, 0); /* running var at 1 */
    const float x[4] = {1, 2, 3, 4}, g[2] = {2, 3}, b[2] = {0.5f, -1}, m[2] = {1, 2},
                v[2] = {3.99f, 0.24f};
    set_data(&f.in[0], x);
    set_data(&f.l.params[0], g);
    set_data(&f.l.params[1], b);
    set_data(&f.l.params[2], m);
    set_data(&f.l.params[3], v);
    CHECK(cb_fx_forward(&f) == CB_OK);
    /* channel 0: (x - 1) / sqrt(4) * 2 + 0.5; channel 1: (x - 2) / 0.5 * 3 - 1. */
    const float want[4] = {0.5f, -1, 2.5f, 11};
    check_data(f.out.data, want, 4, 1e-6, "bn eval");
    check_data(f.l.params[2].data, m, 2, 0, "bn eval leaves running mean");
  } else {
    CHECK_MSG(0, "%s", cb_errmsg());
  }
  cb_fx_free(&f);

  /* Train mode: batch statistics, running ones updated with momentum. */
  if (build1(&f, "bn", "eps=1e-12 momentum=0.9 affine=0", 2, 1, 1, 2)) {
    CHECK_EQ_INT(f.l.nparams, 2);
    CHECK(!f.l.learnable[0] && !f.l.learnable[1]);
    const float x[4] = {1, 2, 3, 4};
    set_data(&f.in[0], x);
    CHECK(cb_fx_forward(&f) == CB_OK);
    /* mean 2.5, biased var 1.25, sd 1.1180340 */
    const float want[4] = {-1.5f / 1.118034f, -0.5f / 1.118034f, 0.5f / 1.118034f,
                           1.5f / 1.118034f};
    check_data(f.out.data, want, 4, 1e-6, "bn train");
    /* running mean 0.9*0 + 0.1*2.5; running var 0.9*1 + 0.1*(1.25*4/3). */
    CHECK_NEAR(f.l.params[0].data[0], 0.25, 1e-7);
    CHECK_NEAR(f.l.params[1].data[0], 0.9 + 0.1 * 1.25 * 4.0 / 3.0, 1e-6);
  }
  cb_fx_free(&f);
}

/* ---- concat and add -------------------------------------------------------- */

static void test_concat(void) {
  cb_fixture f;
  cb_fx_init(&f, "concat", "l1", "");
  cb_fx_input(&f, 0, 2, 1, 2, 2);
  cb_fx_input(&f, 1, 2, 2, 2, 2);
  CHECK(cb_fx_build(&f) == CB_OK);
  check_shape(&f.out, 2, 3, 2, 2);
  for (int i = 0; i < 8; i++) f.in[0].data[i] = (float)i;
  for (int i = 0; i < 16; i++) f.in[1].data[i] = (float)(100 + i);
  CHECK(cb_fx_forward(&f) == CB_OK);
  /* Per sample: a's one plane, then b's two. */
  const float want[24] = {0, 1, 2, 3, 100, 101, 102, 103, 104, 105, 106, 107,
                          4, 5, 6, 7, 108, 109, 110, 111, 112, 113, 114, 115};
  check_data(f.out.data, want, 24, 0, "concat");
  /* Backward slices the gradient back: dy = the same layout. */
  memcpy(f.out.grad, want, sizeof want);
  CHECK(cb_fx_backward(&f) == CB_OK);
  check_data(f.in[0].grad, f.in[0].data, 8, 0, "concat d(in0)");
  check_data(f.in[1].grad, f.in[1].data, 16, 0, "concat d(in1)");
  cb_fx_free(&f);
}

static void test_add(void) {
  cb_fixture f;
  cb_fx_init(&f, "add", "l1", "");
  for (int i = 0; i < 3; i++) cb_fx_input(&f, i, 1, 2, 1, 1);
  CHECK(cb_fx_build(&f) == CB_OK);
  const float a[2] = {1, 2}, b[2] = {10, 20}, c[2] = {100, 200}, want[2] = {111, 222};
  set_data(&f.in[0], a);
  set_data(&f.in[1], b);
  set_data(&f.in[2], c);
  CHECK(cb_fx_forward(&f) == CB_OK);
  check_data(f.out.data, want, 2, 0, "add");
  const float dy[2] = {0.5f, -1};
  memcpy(f.out.grad, dy, sizeof dy);
  CHECK(cb_fx_backward(&f) == CB_OK);
  for (int i = 0; i < 3; i++) check_data(f.in[i].grad, dy, 2, 0, "add dx");
  CHECK_NEAR(f.ops->flops(&f.l, CB_PASS_FWD), 4, 0);
  cb_fx_free(&f);
}

/* ---- softmax --------------------------------------------------------------- */

static void test_softmax(void) {
  cb_fixture f;
  if (build1(&f, "softmax", "", 2, 3, 1, 1)) {
    check_shape(&f.out, 1, 1, 1, 1);
    /* Sample 0: scores 0, ln 2, ln 3 give p = 1/6, 2/6, 3/6, label 2;
     * sample 1: equal scores, p = 1/3 each, label 0.
     * loss = (-ln 1/2 - ln 1/3) / 2 = ln 6 / 2. */
    const float x[6] = {0, (float)log(2.0), (float)log(3.0), 1, 1, 1};
    const int32_t labels[2] = {2, 0};
    set_data(&f.in[0], x);
    cb_fx_labels(&f, labels, 2);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], log(6.0) / 2, 1e-6);
    /* dx = (p - onehot) / N * dloss, dloss = 2 */
    f.out.grad[0] = 2;
    CHECK(cb_fx_backward(&f) == CB_OK);
    const float dx[6] = {1 / 6.f, 2 / 6.f, 3 / 6.f - 1, 1 / 3.f - 1, 1 / 3.f, 1 / 3.f};
    check_data(f.in[0].grad, dx, 6, 1e-6, "softmax dx");

    /* A label outside the classes, and no labels at all. */
    const int32_t bad[2] = {0, 3};
    cb_fx_labels(&f, bad, 2);
    CHECK(cb_fx_forward(&f) == CB_ERR_INVALID);
    CHECK_EQ_STR(cb_errmsg(), "layer l1: label 3 of sample 1 is outside the 3 classes (0..2)");
    f.exec.labels = NULL;
    CHECK(cb_fx_forward(&f) == CB_ERR_INVALID);
    CHECK_EQ_STR(cb_errmsg(), "layer l1: softmax loss needs labels, and none were given");
  }
  cb_fx_free(&f);

  /* Large scores do not overflow. */
  if (build1(&f, "softmax", "", 1, 2, 1, 1)) {
    const float x[2] = {1000, 0};
    const int32_t labels[1] = {1};
    set_data(&f.in[0], x);
    cb_fx_labels(&f, labels, 1);
    CHECK(cb_fx_forward(&f) == CB_OK);
    CHECK_NEAR(f.out.data[0], 1000, 1e-3);
  }
  cb_fx_free(&f);
}

/* ---- dropout --------------------------------------------------------------- */

/* Builds dropout over 10000 ones at the given seed and step, runs it
 * forward; copies the output to y. */
static void dropout_run(const char *kvs, bool train, uint64_t seed, uint64_t step, float *y) {
  cb_fixture f;
  cb_fx_init(&f, "dropout", "drop", kvs);
  cb_fx_input(&f, 0, 1, 1, 100, 100);
  f.exec.train = train;
  f.exec.seed = seed;
  f.exec.step = step;
  CHECK(cb_fx_build(&f) == CB_OK);
  cb_fx_fill(&f.in[0], 1.0f);
  CHECK(cb_fx_forward(&f) == CB_OK);
  memcpy(y, f.out.data, 10000 * sizeof *y);
  cb_fx_free(&f);
}

static void test_dropout(void) {
  static float a[10000], b[10000];
  dropout_run("ratio=0.3", true, 1, 0, a);
  int zeros = 0, kept_ok = 0;
  for (int i = 0; i < 10000; i++) {
    zeros += a[i] == 0.0f;
    kept_ok += a[i] == 0.0f || a[i] == (float)(1.0 / 0.7);
  }
  /* 10000 draws at p = 0.3: sd of the rate is 0.0046, so 0.3 +- 0.02. */
  CHECK_NEAR(zeros / 10000.0, 0.3, 0.02);
  CHECK_EQ_INT(kept_ok, 10000); /* kept values are scaled by 1 / (1 - ratio) */

  dropout_run("ratio=0.3", true, 1, 0, b);
  CHECK(memcmp(a, b, sizeof a) == 0); /* same seed and step: same mask */
  dropout_run("ratio=0.3", true, 1, 1, b);
  CHECK(memcmp(a, b, sizeof a) != 0); /* next step: another mask */
  dropout_run("ratio=0.3", true, 2, 0, b);
  CHECK(memcmp(a, b, sizeof a) != 0); /* other seed: another mask */

  dropout_run("ratio=0.3", false, 1, 0, b); /* inference: identity */
  int ones = 0;
  for (int i = 0; i < 10000; i++) ones += b[i] == 1.0f;
  CHECK_EQ_INT(ones, 10000);
  dropout_run("ratio=0", true, 1, 0, b); /* ratio 0: identity */
  ones = 0;
  for (int i = 0; i < 10000; i++) ones += b[i] == 1.0f;
  CHECK_EQ_INT(ones, 10000);

  /* In place: the mask applies to the data and then to the gradient where
   * they lie. */
  cb_fixture f;
  cb_fx_init(&f, "dropout", "drop", "ratio=0.5");
  cb_fx_input(&f, 0, 1, 1, 10, 10);
  f.inplace = true;
  CHECK(cb_fx_build(&f) == CB_OK);
  for (int i = 0; i < 100; i++) f.in[0].data[i] = (float)(i + 1);
  CHECK(cb_fx_forward(&f) == CB_OK);
  int dropped = 0, bad = 0;
  for (int i = 0; i < 100; i++) {
    float y = f.in[0].data[i];
    dropped += y == 0;
    bad += y != 0 && y != 2.0f * (float)(i + 1);
    f.in[0].grad[i] = 1.0f;
  }
  CHECK(dropped > 20 && dropped < 80);
  CHECK_EQ_INT(bad, 0);
  CHECK(cb_fx_backward(&f) == CB_OK);
  int agree = 0;
  for (int i = 0; i < 100; i++) agree += f.in[0].grad[i] == (f.in[0].data[i] == 0 ? 0.0f : 2.0f);
  CHECK_EQ_INT(agree, 100);
  cb_fx_free(&f);
}

/* ---- errors ---------------------------------------------------------------- */

/* Builds kind kvs on one input of shape c x h x w (batch 1) and checks the
 * build fails with status want and exactly message msg. */
static void check_error(const char *kind, const char *kvs, int64_t c, int64_t h, int64_t w,
                        cb_status want, const char *msg) {
  cb_fixture f;
  cb_fx_init(&f, kind, "c1", kvs);
  cb_fx_input(&f, 0, 1, c, h, w);
  cb_error_clear();
  cb_status s = cb_fx_build(&f);
  CHECK_MSG(s == want, "%s %s: status %d, expected %d (%s)", kind, kvs, (int)s, (int)want,
            cb_errmsg());
  CHECK_EQ_STR(cb_errmsg(), msg);
  cb_fx_free(&f);
}

static void test_errors(void) {
  check_error("conv", "out=8 k=11 stride=4 pad=2", 3, 2, 2, CB_ERR_INVALID,
              "test.net:1:1: layer c1: output would be 0x0 (input 3x2x2, k 11, stride 4, pad 2)");
  check_error("conv", "out=8 kh=3 kw=1 dilation=2", 3, 4, 4, CB_ERR_INVALID,
              "test.net:1:1: layer c1: output would be 0x4 (input 3x4x4, k 3x1, stride 1, pad "
              "0, dilation 2)");
  check_error("conv", "out=8 k=3 groups=2", 3, 8, 8, CB_ERR_INVALID,
              "test.net:1:1: layer c1: groups=2 does not divide the 3 input channels");
  check_error("conv", "out=9 k=3 groups=2", 4, 8, 8, CB_ERR_INVALID,
              "test.net:1:1: layer c1: groups=2 does not divide out=9");
  check_error("conv", "k=3", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:1: layer c1: missing out= (the number of output channels)");
  check_error("conv", "out=4", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:1: layer c1: missing k= (or kh= and kw=)");
  /* "conv name=c1 out=4 k=3 kh=3": kh's value is at column 27. */
  check_error("conv", "out=4 k=3 kh=3", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:27: layer c1: k= and kh= both given: use k= alone, or kh= and kw=");
  check_error("conv", "out=4 kh=3", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:23: layer c1: kh= needs kw= too");
  check_error("conv", "out=4 k=3 stride=0", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:31: layer c1: stride=0: must be between 1 and 2147483647");
  check_error("conv", "out=4 k=3 bias=yes", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:29: layer c1: bias=yes: expected an integer");
  check_error("fc", "out=0", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:16: layer c1: out=0: must be between 1 and 2147483647");
  check_error("pool", "mode=max k=2 pad=2", 3, 8, 8, CB_ERR_INVALID,
              "test.net:1:1: layer c1: pad 2 must be smaller than k 2");
  check_error("pool", "mode=max k=3", 3, 2, 2, CB_ERR_INVALID,
              "test.net:1:1: layer c1: output would be 0x0 (input 3x2x2, k 3, stride 1, pad 0)");
  check_error("pool", "mode=min k=3", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:19: layer c1: mode=min: expected max or avg");
  check_error("pool", "global=1 k=3", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:21: layer c1: global=1 pools the whole image: drop k=, stride= and pad=");
  check_error("pool", "mode=avg", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:1: layer c1: missing k= (or kh= and kw=, or global=1)");
  check_error(
      "lrn", "size=4", 3, 8, 8, CB_ERR_PARSE,
      "test.net:1:18: layer c1: size=4: must be odd (the window is centred on the channel)");
  check_error("bn", "eps=0", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:16: layer c1: eps=0: must be positive (it keeps 1 / sqrt(var + eps) "
              "finite)");
  check_error("dropout", "ratio=1", 3, 8, 8, CB_ERR_PARSE,
              "test.net:1:23: layer c1: ratio=1: must be below 1 (nothing would pass)");

  /* Inputs that do not fit together. */
  cb_fixture f;
  cb_fx_init(&f, "concat", "c1", "");
  cb_fx_input(&f, 0, 1, 3, 8, 8);
  cb_fx_input(&f, 1, 1, 2, 4, 4);
  CHECK(cb_fx_build(&f) == CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "test.net:1:1: layer c1: input in1 is 2x4x4 but input in0 is 3x8x8: "
                            "concat needs the same height and width");
  cb_fx_free(&f);
  cb_fx_init(&f, "add", "c1", "");
  cb_fx_input(&f, 0, 1, 3, 8, 8);
  cb_fx_input(&f, 1, 1, 2, 8, 8);
  CHECK(cb_fx_build(&f) == CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "test.net:1:1: layer c1: input in1 is 2x8x8 but input in0 is 3x8x8: "
                            "add needs inputs of one shape");
  cb_fx_free(&f);
}

/* ---- accumulation ---------------------------------------------------------- */

typedef struct accum_case {
  const char *kind, *kvs;
  int nin;
  int64_t c, h, w;
} accum_case;

/* Builds the case with accum[] all set or all clear; fills inputs and the
 * output gradient from fixed streams. */
static bool accum_build(cb_fixture *f, const accum_case *k, bool accum) {
  cb_fx_init(f, k->kind, "acc", k->kvs);
  for (int i = 0; i < k->nin; i++) {
    cb_fx_input(f, i, 2, k->c, k->h, k->w);
    f->l.accum[i] = accum;
  }
  if (cb_fx_build(f) != CB_OK) {
    CHECK_MSG(0, "%s: %s", k->kind, cb_errmsg());
    return false;
  }
  const int32_t labels[2] = {1, 2};
  cb_fx_labels(f, labels, 2);
  for (int i = 0; i < k->nin; i++)
    cb_fx_fill_uniform(f->in[i].data, cb_tensor_count(&f->in[i]), 10 + (uint64_t)i, -1, 1);
  return true;
}

/* Two fixtures of case k, a without accum and b with accum_b; false, both
 * freed, when either does not build. */
static bool accum_build_pair(cb_fixture *a, cb_fixture *b, const accum_case *k, bool accum_b) {
  if (accum_build(a, k, false) && accum_build(b, k, accum_b)) return true;
  cb_fx_free(a);
  cb_fx_free(b);
  return false;
}

/* Backward with accum set adds onto a pre-filled gradient; with accum
 * clear it overwrites whatever was there. */
static void test_accum(void) {
  static const accum_case cases[] = {
      {"conv", "out=3 k=3 pad=1", 1, 2, 4, 4},
      {"fc", "out=3", 1, 2, 2, 2},
      {"relu", "", 1, 3, 2, 2},
      {"pool", "mode=max k=2 stride=1", 1, 2, 3, 3},
      {"pool", "mode=avg k=3 stride=2 pad=1 round=ceil", 1, 2, 4, 4},
      {"lrn", "size=3", 1, 4, 2, 2},
      {"dropout", "", 1, 2, 3, 3},
      {"bn", "", 1, 3, 2, 2},
      {"concat", "", 3, 2, 2, 2},
      {"add", "", 2, 2, 2, 2},
      {"softmax", "", 1, 4, 1, 1},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    cb_fixture a, b;
    if (!accum_build_pair(&a, &b, &cases[k], true)) continue;
    CHECK(cb_fx_forward(&a) == CB_OK && cb_fx_forward(&b) == CB_OK);
    int64_t ny = cb_tensor_count(&a.out);
    cb_fx_fill_uniform(a.out.grad, ny, 99, -1, 1);
    memcpy(b.out.grad, a.out.grad, (size_t)ny * sizeof(float));
    for (int i = 0; i < cases[k].nin; i++) {
      int64_t n = cb_tensor_count(&a.in[i]);
      for (int64_t j = 0; j < n; j++) {
        a.in[i].grad[j] = 1e6f; /* garbage: must be overwritten */
        b.in[i].grad[j] = 100.0f + (float)j;
      }
    }
    CHECK(cb_fx_backward(&a) == CB_OK && cb_fx_backward(&b) == CB_OK);
    int bad = 0, zero = 0, total = 0;
    for (int i = 0; i < cases[k].nin; i++) {
      int64_t n = cb_tensor_count(&a.in[i]);
      for (int64_t j = 0; j < n; j++, total++) {
        float want = 100.0f + (float)j + a.in[i].grad[j];
        bad += fabsf(b.in[i].grad[j] - want) > 1e-4f || fabsf(a.in[i].grad[j]) > 1e3f;
        zero += a.in[i].grad[j] == 0.0f;
      }
    }
    CHECK_MSG(bad == 0, "%s %s: %d of %d gradient elements break the accum rule", cases[k].kind,
              cases[k].kvs, bad, total);
    /* The case must exercise something: not every gradient is zero. */
    CHECK_MSG(zero < total, "%s: every gradient is zero", cases[k].kind);
    cb_fx_free(&a);
    cb_fx_free(&b);
  }
}

/* Forward and backward on tensors large enough to run threaded give the
 * same bits on 1 thread and on 4. */
static void test_threads(void) {
#ifdef _OPENMP
  static const accum_case cases[] = {
      {"relu", "", 1, 16, 64, 64},
      {"pool", "mode=max k=3 stride=2", 1, 16, 64, 64},
      {"pool", "mode=avg k=3 stride=2 pad=1", 1, 16, 64, 64},
      {"lrn", "", 1, 16, 64, 64},
      {"bn", "", 1, 16, 64, 64},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    cb_fixture a, b;
    if (!accum_build_pair(&a, &b, &cases[k], false)) continue;
    int64_t ny = cb_tensor_count(&a.out), nx = cb_tensor_count(&a.in[0]);
    CHECK(nx >= 65536); /* at least CB_LAYER_PAR_MIN: it does run threaded */
    a.exec.threads = 1;
    CHECK(cb_fx_forward(&a) == CB_OK);
    cb_fx_fill_uniform(a.out.grad, ny, 5, -1, 1);
    CHECK(cb_fx_backward(&a) == CB_OK);
    b.exec.threads = 4;
    CHECK(cb_fx_forward(&b) == CB_OK);
    cb_fx_fill_uniform(b.out.grad, ny, 5, -1, 1);
    CHECK(cb_fx_backward(&b) == CB_OK);
    CHECK_MSG(memcmp(a.out.data, b.out.data, (size_t)ny * sizeof(float)) == 0, "%s %s forward",
              cases[k].kind, cases[k].kvs);
    CHECK_MSG(memcmp(a.in[0].grad, b.in[0].grad, (size_t)nx * sizeof(float)) == 0, "%s %s backward",
              cases[k].kind, cases[k].kvs);
    cb_fx_free(&a);
    cb_fx_free(&b);
  }
#endif
}

/* Every kind is in the table with the keys docs/netdef.md lists. */
static void test_kind_table(void) {
  const char *const names[] = {"conv",    "fc", "relu",   "pool", "lrn",
                               "dropout", "bn", "concat", "add",  "softmax"};
  int n = 0;
  for (const cb_layer_ops *const *k = cb_layer_kinds(); *k; k++) n++;
  CHECK_EQ_INT(n, 10);
  for (int i = 0; i < 10; i++) CHECK(cb_layer_kind_find(names[i]) != NULL);
  const cb_layer_ops *pool = cb_layer_kind_find("pool");
  const char *pool_keys = "mode k kh kw stride stride_h stride_w pad pad_h pad_w round global";
  char joined[256] = "";
  for (const char *const *k = pool->keys; *k; k++)
    snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", joined[0] ? " " : "",
             *k);
  CHECK_EQ_STR(joined, pool_keys);
  CHECK(cb_layer_kind_find("relu")->inplace && cb_layer_kind_find("dropout")->inplace);
  CHECK(!cb_layer_kind_find("conv")->inplace);
  CHECK_EQ_INT(cb_layer_kind_find("concat")->min_inputs, 2);
  CHECK_EQ_INT(cb_layer_kind_find("add")->max_inputs, 8);
  CHECK_EQ_INT(cb_layer_kind_find("softmax")->max_inputs, 1);
}

int main(void) {
  test_kind_table();
  test_conv_forward();
  test_conv_init();
  test_conv_flops_and_timing();
  test_fc();
  test_relu();
  test_pool_sizes();
  test_pool_values();
  test_lrn();
  test_bn();
  test_concat();
  test_add();
  test_softmax();
  test_dropout();
  test_errors();
  test_accum();
  test_threads();
  return cb_test_result();
}
