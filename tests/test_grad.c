/* test_grad.c: every layer kind's backward against central finite
 * differences.
 *
 * For a layer y = f(x, params) and a fixed random r of y's shape, the loss
 * L = sum(y * r) (accumulated in double) has dL/dy = r, so running backward
 * with out->grad = r gives the analytic dL/dx and dL/dparams. Each checked
 * element v is perturbed to v + eps and v - eps (the actual float steps are
 * used, not eps itself) and (L+ - L-) / (step+ - step-) is compared with the
 * analytic value. Tensors up to 400 elements are checked whole, larger ones
 * on 300 sampled elements. Inputs are kept away from kinks: ReLU inputs
 * are at least 0.1 from zero, max-pool inputs are distinct values 0.05
 * apart, so +-eps never changes which branch or which maximum is taken.
 *
 * Error measure and tolerance. The forward runs in fp32: each output
 * carries a rounding error of a few 1e-8 relative, and a perturbation
 * that touches m outputs moves L by noise of about 6e-8 * sqrt(m) * |y r|.
 * Divided by 2 eps = 2e-3 that is 3e-5 * sqrt(m) * |y r| absolute in
 * the numeric gradient: about 1e-3 at most for the layers here (measured:
 * 1.4e-3 for the largest conv's weights, whose outputs sum 72 products),
 * while the truncation error of the central difference, eps^2 f''' / 6,
 * is ~1e-7. So we compare
 *   err = |analytic - numeric| / max(|analytic|, |numeric|, 0.1 * scale)
 * where scale is the largest analytic gradient of that tensor (gradients
 * far below the tensor's typical size are held to an absolute error, not a
 * relative one, since their relative error is pure rounding noise), and
 * require err <= 1e-2, ten times the worst measured (1e-3; with a floor
 * of 0.01 * scale the large conv reaches 8.6e-3, too close). A genuinely wrong gradient (a missing
 * term, a wrong factor, an off-by-one window) is off by tens of percent; the planted errors below
 * (5% on the largest element) read as 4.8e-2. */
#include "cb_test.h"
#include "layer_fixture.h"

#include <math.h>

#define GRAD_TOL       1e-2
#define FULL_CHECK_MAX 400
#define SAMPLES        300

enum input_style {
  UNIFORM,  /* uniform in [-1, 1) */
  AWAY,     /* |x| in [0.1, 1), random sign: no ReLU kink within eps */
  DISTINCT, /* a shuffle of distinct values 0.05 apart: no max-pool ties */
};

typedef struct grad_case {
  const char *label;
  const char *kind, *kvs;
  int nin;
  int64_t shape[3][4];
  enum input_style style;
  bool eval;    /* exec->train false (batch norm with running statistics) */
  double eps;   /* perturbation */
  double plant; /* != 0: multiply one analytic gradient element by this */
} grad_case;

/* One case a row. */
/* clang-format off */
static const grad_case cases[] = {
    {"conv stride 2 pad 1", "conv", "out=3 k=3 stride=2 pad=1", 1, {{2, 2, 5, 5}}, UNIFORM, false, 1e-3, 0},
    {"conv dilation 2 groups 2", "conv", "out=4 k=3 dilation=2 groups=2 pad=2", 1, {{2, 4, 6, 6}}, UNIFORM, false, 1e-3, 0},
    {"conv kh kw stride_h pad_w", "conv", "out=2 kh=1 kw=3 stride_h=2 pad_w=1", 1, {{2, 3, 5, 4}}, UNIFORM, false, 1e-3, 0},
    {"conv large (sampled)", "conv", "out=8 k=3 pad=1", 1, {{2, 8, 8, 8}}, UNIFORM, false, 1e-3, 0},
    {"fc", "fc", "out=5", 1, {{3, 2, 2, 2}}, UNIFORM, false, 1e-3, 0},
    {"fc no bias", "fc", "out=4 bias=0", 1, {{2, 6, 1, 1}}, UNIFORM, false, 1e-3, 0},
    {"relu", "relu", "", 1, {{2, 3, 3, 3}}, AWAY, false, 1e-3, 0},
    {"pool max floor", "pool", "mode=max k=2 stride=2", 1, {{2, 2, 4, 4}}, DISTINCT, false, 1e-3, 0},
    {"pool max ceil pad", "pool", "mode=max k=3 stride=2 pad=1 round=ceil", 1, {{2, 2, 6, 6}}, DISTINCT, false, 1e-3, 0},
    {"pool avg ceil pad", "pool", "mode=avg k=3 stride=2 pad=1 round=ceil", 1, {{2, 2, 6, 6}}, UNIFORM, false, 1e-3, 0},
    {"pool avg global", "pool", "mode=avg global=1", 1, {{2, 3, 3, 4}}, UNIFORM, false, 1e-3, 0},
    {"lrn", "lrn", "size=5 alpha=1 beta=0.75 k=1", 1, {{2, 7, 2, 2}}, UNIFORM, false, 1e-3, 0},
    {"lrn size 3", "lrn", "size=3 alpha=0.5 beta=0.6 k=2", 1, {{1, 4, 3, 3}}, UNIFORM, false, 1e-3, 0},
    {"bn train", "bn", "", 1, {{4, 3, 2, 2}}, UNIFORM, false, 1e-3, 0},
    {"bn train no affine", "bn", "affine=0", 1, {{3, 2, 2, 3}}, UNIFORM, false, 1e-3, 0},
    {"bn eval", "bn", "", 1, {{2, 3, 2, 2}}, UNIFORM, true, 1e-3, 0},
    {"concat", "concat", "", 3, {{2, 1, 2, 2}, {2, 2, 2, 2}, {2, 3, 2, 2}}, UNIFORM, false, 1e-3, 0},
    {"add", "add", "", 3, {{2, 3, 2, 2}, {2, 3, 2, 2}, {2, 3, 2, 2}}, UNIFORM, false, 1e-3, 0},
    {"softmax", "softmax", "", 1, {{4, 5, 1, 1}}, UNIFORM, false, 1e-3, 0},
    {"dropout (fixed mask)", "dropout", "ratio=0.4", 1, {{2, 3, 4, 4}}, UNIFORM, false, 1e-3, 0},
    /* The checker itself must be able to fail: one analytic element off
     * by 5%, in a smooth layer and in a conv. */
    {"planted: lrn 5% off", "lrn", "size=5 alpha=1 beta=0.75 k=1", 1, {{2, 7, 2, 2}}, UNIFORM, false, 1e-3, 1.05},
    {"planted: conv 5% off", "conv", "out=3 k=3 stride=2 pad=1", 1, {{2, 2, 5, 5}}, UNIFORM, false, 1e-3, 1.05},
};
/* clang-format on */

static void fill_input(float *x, int64_t n, enum input_style style, uint64_t seed) {
  uint64_t s = cb_rng_seed(seed, "grad-input");
  for (int64_t i = 0; i < n; i++) {
    float u = cb_rng_uniform(&s);
    if (style == UNIFORM) x[i] = 2.0f * u - 1.0f;
    if (style == AWAY) x[i] = (0.1f + 0.9f * u) * (cb_rng_uniform(&s) < 0.5f ? -1.0f : 1.0f);
    if (style == DISTINCT) x[i] = 0.05f * (float)(i - n / 2);
  }
  if (style == DISTINCT) /* Fisher-Yates shuffle of the distinct values */
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)(cb_rng_uniform(&s) * (float)(i + 1));
      if (j > i) j = i;
      float t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
}

/* L = sum(y * r) after a forward pass, in double. */
static double loss_of(cb_fixture *f, const float *r) {
  cb_status s = cb_fx_forward(f);
  if (s != CB_OK) {
    CHECK_MSG(0, "forward: %s", cb_errmsg());
    return NAN;
  }
  double L = 0;
  int64_t n = cb_tensor_count(f->l.out);
  for (int64_t i = 0; i < n; i++) L += (double)f->l.out->data[i] * r[i];
  return L;
}

/* The worst error over one tensor's checked elements. */
typedef struct grad_err {
  double rel, abs;
  int checked;
} grad_err;

/* Compares the analytic gradient ga of tensor data x (count n) with
 * central differences of L. */
static grad_err check_tensor(cb_fixture *f, const float *r, float *x, const float *ga, int64_t n,
                             double eps) {
  grad_err e = {0, 0, 0};
  int64_t idx[FULL_CHECK_MAX];
  int m = 0;
  uint64_t s = cb_rng_seed((uint64_t)n, "grad-sample");
  if (n <= FULL_CHECK_MAX)
    for (int64_t i = 0; i < n; i++) idx[m++] = i;
  else
    for (int k = 0; k < SAMPLES; k++) {
      int64_t i = (int64_t)(cb_rng_uniform(&s) * (float)n);
      idx[m++] = i < n ? i : n - 1;
    }
  double scale = 0;
  for (int k = 0; k < m; k++) scale = fmax(scale, fabs(ga[idx[k]]));
  for (int k = 0; k < m; k++) {
    int64_t i = idx[k];
    float v = x[i];
    float hi = (float)(v + eps), lo = (float)(v - eps);
    x[i] = hi;
    double lp = loss_of(f, r);
    x[i] = lo;
    double lm = loss_of(f, r);
    x[i] = v;
    double num = (lp - lm) / ((double)hi - (double)lo);
    double diff = fabs(num - ga[i]);
    double denom = fmax(fmax(fabs(num), fabs(ga[i])), 0.1 * scale);
    double rel = denom > 0 ? diff / denom : diff;
    if (rel > e.rel) e.rel = rel;
    if (diff > e.abs) e.abs = diff;
    e.checked++;
  }
  loss_of(f, r); /* leave the layer's state as of the unperturbed input */
  return e;
}

/* Runs one case; returns its worst relative error (or INFINITY when it
 * could not run). */
static double run_case(const grad_case *c) {
  cb_fixture f;
  cb_fx_init(&f, c->kind, "g", c->kvs);
  for (int i = 0; i < c->nin; i++)
    cb_fx_input(&f, i, c->shape[i][0], c->shape[i][1], c->shape[i][2], c->shape[i][3]);
  f.exec.train = !c->eval;
  f.exec.seed = 5;
  f.exec.step = 3;
  if (cb_fx_build(&f) != CB_OK) {
    CHECK_MSG(0, "%s: %s", c->label, cb_errmsg());
    cb_fx_free(&f);
    return INFINITY;
  }
  int64_t nbatch = c->shape[0][0];
  int32_t labels[16];
  for (int64_t i = 0; i < nbatch; i++) labels[i] = (int32_t)((i * 3 + 1) % c->shape[0][1]);
  cb_fx_labels(&f, labels, (int)nbatch);
  for (int i = 0; i < c->nin; i++)
    fill_input(f.in[i].data, cb_tensor_count(&f.in[i]), c->style, 100 + (uint64_t)i);
  /* Learnable parameters away from their initial values (bn's scale 1 and
   * shift 0 would hide errors in the terms they multiply). */
  for (int p = 0; p < f.l.nparams; p++)
    if (f.l.learnable[p])
      cb_fx_fill_uniform(f.l.params[p].data, cb_tensor_count(&f.l.params[p]), 200 + (uint64_t)p, -1,
                         1);
  if (c->eval && f.l.nparams == 4) { /* bn eval: non-trivial running statistics */
    cb_fx_fill_uniform(f.l.params[2].data, f.l.params[2].c, 300, -0.5f, 0.5f);
    cb_fx_fill_uniform(f.l.params[3].data, f.l.params[3].c, 301, 0.5f, 2.0f);
  }

  int64_t ny = cb_tensor_count(f.l.out);
  float *r = malloc((size_t)ny * sizeof *r);
  cb_fx_fill_uniform(r, ny, 400, -1, 1);

  /* Analytic gradients: backward with dL/dy = r. */
  loss_of(&f, r);
  memcpy(f.l.out->grad, r, (size_t)ny * sizeof *r);
  CHECK(cb_fx_backward(&f) == CB_OK);
  /* The inputs, then the learnable parameters: data and a copy of the
   * analytic gradient. */
  float *ga[CB_MAX_INPUTS + CB_MAX_LAYER_PARAMS] = {0};
  cb_tensor *checked[CB_MAX_INPUTS + CB_MAX_LAYER_PARAMS];
  int64_t count[CB_MAX_INPUTS + CB_MAX_LAYER_PARAMS];
  int nt = 0;
  for (int i = 0; i < c->nin; i++) checked[nt++] = &f.in[i];
  for (int p = 0; p < f.l.nparams; p++)
    if (f.l.learnable[p]) checked[nt++] = &f.l.params[p];
  for (int t = 0; t < nt; t++) {
    count[t] = cb_tensor_count(checked[t]);
    ga[t] = malloc((size_t)count[t] * sizeof(float));
    memcpy(ga[t], checked[t]->grad, (size_t)count[t] * sizeof(float));
  }
  if (c->plant != 0) { /* on the largest input gradient, where it is not noise */
    int64_t at = 0;
    for (int64_t i = 1; i < count[0]; i++)
      if (fabsf(ga[0][i]) > fabsf(ga[0][at])) at = i;
    ga[0][at] *= (float)c->plant;
  }

  double worst = 0;
  for (int t = 0; t < nt; t++) {
    grad_err e = check_tensor(&f, r, checked[t]->data, ga[t], count[t], c->eps);
    printf("  %-28s %-16s checked %4d  max rel %.2e  max abs %.2e\n", c->label, checked[t]->name,
           e.checked, e.rel, e.abs);
    if (e.rel > worst) worst = e.rel;
    free(ga[t]);
  }
  free(r);
  cb_fx_free(&f);
  return worst;
}

int main(void) {
  printf("finite-difference gradient check, tolerance %.0e relative\n", GRAD_TOL);
  bool seen[16] = {false};
  const cb_layer_ops *const *kinds = cb_layer_kinds();
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const grad_case *c = &cases[i];
    double worst = run_case(c);
    printf("%-30s max rel error %.2e%s\n", c->label, worst, c->plant ? " (planted)" : "");
    if (c->plant != 0) {
      CHECK_MSG(worst > GRAD_TOL, "%s: the planted error went unnoticed (%.2e)", c->label, worst);
      continue;
    }
    CHECK_MSG(worst <= GRAD_TOL, "%s: max relative error %.2e > %.0e", c->label, worst, GRAD_TOL);
    for (int k = 0; kinds[k]; k++)
      if (strcmp(kinds[k]->kind, c->kind) == 0) seen[k] = true;
  }
  /* Every kind in the table has a gradient check above. */
  for (int k = 0; kinds[k]; k++) CHECK_MSG(seen[k], "no gradient check for %s", kinds[k]->kind);
  return cb_test_result();
}
