/* fc.c: the fully connected (inner product) layer. It flattens its input
 * to x[N, in] with in = C*H*W and runs three GEMM bindings:
 *   fwd         y[N,out] = x[N,in] W^T     (nt: m=N   n=out k=in)
 *   bwd_data    dx[N,in] = dy[N,out] W     (nn: m=N   n=in  k=out)
 *   bwd_filter  dW[out,in] = dy^T x        (tn: m=out n=in  k=N)
 * Weights params[0] = W[out,in,1,1], bias params[1] = b[1,out,1,1]. The
 * bias add and bias gradient are plain C. */
#include "layer_util.h"

typedef struct fc_priv {
  int64_t out;
  bool bias;
  float *dx_scratch; /* bwd_data's result when accumulating into in[0]->grad */
} fc_priv;

static const char *const fc_keys[] = {"out", "bias", NULL};

static cb_status fc_configure(cb_layer *l, const cb_stmt *st) {
  fc_priv *p = l->priv;
  cb_status s;
  int64_t bias;
  if (!cb_stmt_find(st, "out"))
    return cb_stmt_error(CB_ERR_PARSE, st, NULL, "missing out= (the number of outputs)");
  if ((s = cb_stmt_int(st, "out", 0, 1, CB_LAYER_DIM_MAX, &p->out)) != CB_OK ||
      (s = cb_stmt_int(st, "bias", 1, 0, 1, &bias)) != CB_OK)
    return s;
  p->bias = bias != 0;
  return CB_OK;
}

/* The flattened input width, C*H*W (-1 on overflow). */
static int64_t fc_in(const cb_layer *l) {
  const cb_tensor *x = l->in[0];
  int64_t v;
  if (!cb_mul_i64(x->c, x->h, &v) || !cb_mul_i64(v, x->w, &v)) return -1;
  return v;
}

static cb_status fc_reshape(cb_layer *l) {
  fc_priv *p = l->priv;
  int64_t in = fc_in(l);
  if (p->out < 1)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "out=%lld: must be at least 1",
                         (long long)p->out);
  if (in < 1 || in > CB_LAYER_DIM_MAX) {
    char shape[64];
    cb_tensor_shape_str(l->in[0], shape, sizeof shape);
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "input %s is too large to flatten", shape);
  }
  l->out->n = l->in[0]->n;
  l->out->c = p->out;
  l->out->h = l->out->w = 1;
  return cb_layer_kernel_params(l, p->out, in, 1, 1, p->bias);
}

static int fc_problems(const cb_layer *l, cb_problem out[3]) {
  const fc_priv *p = l->priv;
  int64_t n = l->in[0]->n, in = fc_in(l);
  out[0] = cb_problem_gemm(n, p->out, in, false, true);
  out[1] = cb_problem_gemm(n, in, p->out, false, false);
  out[2] = cb_problem_gemm(p->out, in, n, true, false);
  return 3;
}

static cb_status fc_setup(cb_layer *l) {
  fc_priv *p = l->priv;
  /* He (Kaiming) normal, fan_in = the flattened input width. */
  return cb_layer_kernel_setup(l, (double)fc_in(l), p->bias, &p->dx_scratch);
}

static cb_status fc_forward(cb_layer *l) {
  fc_priv *p = l->priv;
  cb_tensor *y = l->out;
  cb_status s = cb_layer_run_binding(l, 0, l->in[0]->data, l->params[0].data, y->data);
  if (s != CB_OK || !p->bias) return s;
  const float *b = l->params[1].data;
  for (int64_t n = 0; n < y->n; n++)
    for (int64_t o = 0; o < p->out; o++) y->data[n * p->out + o] += b[o];
  return CB_OK;
}

static cb_status fc_backward(cb_layer *l) {
  fc_priv *p = l->priv;
  cb_tensor *x = l->in[0], *y = l->out;
  if (!y->grad) return cb_layer_no_out_grad(l);
  /* bwd_filter: dW[out,in] = dy^T x (gemm tn: A = dy, B = x). */
  cb_status s = cb_layer_backward_bindings(l, p->dx_scratch, y->grad, x->data);
  if (s != CB_OK) return s;
  if (p->bias && l->params[1].grad) {
    float *db = l->params[1].grad;
    for (int64_t o = 0; o < p->out; o++) {
      double sum = 0;
      for (int64_t n = 0; n < y->n; n++) sum += y->grad[n * p->out + o];
      db[o] = (float)sum;
    }
  }
  return CB_OK;
}

/* 2 N in out per GEMM; backward runs bwd_filter, and bwd_data when the
 * input wants a gradient. */
static double fc_flops(const cb_layer *l, cb_pass pass) {
  const fc_priv *p = l->priv;
  double one = 2.0 * (double)l->in[0]->n * (double)fc_in(l) * (double)p->out;
  return cb_layer_kernel_flops(l, pass, one);
}

static void fc_fini(cb_layer *l) {
  fc_priv *p = l->priv;
  if (p) p->dx_scratch = cb_layer_drop_scratch(p->dx_scratch);
}

const cb_layer_ops cb_layer_fc = {
    .kind = "fc",
    .summary = "fully connected layer (GEMMs from the chosen backend), flattens its input",
    .keys = fc_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(fc_priv),
    .configure = fc_configure,
    .reshape = fc_reshape,
    .problems = fc_problems,
    .setup = fc_setup,
    .forward = fc_forward,
    .backward = fc_backward,
    .flops = fc_flops,
    .fini = fc_fini,
};
