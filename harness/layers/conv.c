/* conv.c: the convolution layer. Its three passes run through kernel
 * bindings (fwd, bwd_data, bwd_filter), so the same layer times every
 * backend; only the bias add and the bias gradient are plain C here.
 *
 * Shapes: x[N,C,H,W] -> y[N,K,P,Q]; weights params[0] = w[K,C/G,R,S],
 * bias params[1] = b[1,K,1,1] when bias=1. */
#include "layer_util.h"

#include <stdio.h>

typedef struct conv_priv {
  int64_t out, kh, kw, stride_h, stride_w, pad_h, pad_w, dilation, groups;
  bool bias;
  /* bwd_data writes here when accumulating into in[0]->grad, since the
   * conv kernels overwrite their destination. */
  float *dx_scratch;
} conv_priv;

static const char *const conv_keys[] = {"out",      "k",        "kh",   "kw",    "stride",
                                        "stride_h", "stride_w", "pad",  "pad_h", "pad_w",
                                        "dilation", "groups",   "bias", NULL};

static cb_status conv_configure(cb_layer *l, const cb_stmt *st) {
  conv_priv *p = l->priv;
  cb_status s;
  int64_t bias;
  bool given;
  if (!cb_stmt_find(st, "out"))
    return cb_stmt_error(CB_ERR_PARSE, st, NULL, "missing out= (the number of output channels)");
  if ((s = cb_stmt_int(st, "out", 0, 1, CB_LAYER_DIM_MAX, &p->out)) != CB_OK ||
      (s = cb_layer_read_hw(st, "k", "kh", "kw", -1, 1, CB_LAYER_DIM_MAX, &p->kh, &p->kw,
                            &given)) != CB_OK)
    return s;
  if (!given) return cb_stmt_error(CB_ERR_PARSE, st, NULL, "missing k= (or kh= and kw=)");
  if ((s = cb_layer_read_hw(st, "stride", "stride_h", "stride_w", 1, 1, CB_LAYER_DIM_MAX,
                            &p->stride_h, &p->stride_w, NULL)) != CB_OK ||
      (s = cb_layer_read_hw(st, "pad", "pad_h", "pad_w", 0, 0, CB_LAYER_DIM_MAX, &p->pad_h,
                            &p->pad_w, NULL)) != CB_OK ||
      (s = cb_stmt_int(st, "dilation", 1, 1, CB_LAYER_DIM_MAX, &p->dilation)) != CB_OK ||
      (s = cb_stmt_int(st, "groups", 1, 1, CB_LAYER_DIM_MAX, &p->groups)) != CB_OK ||
      (s = cb_stmt_int(st, "bias", 1, 0, 1, &bias)) != CB_OK)
    return s;
  p->bias = bias != 0;
  return CB_OK;
}

/* The convolution this layer computes at its input's current shape. */
static cb_conv conv_desc(const cb_layer *l) {
  const conv_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  cb_conv c = {
      .n = x->n,
      .c = x->c,
      .h = x->h,
      .w = x->w,
      .k = p->out,
      .r = p->kh,
      .s = p->kw,
      .pad_h = p->pad_h,
      .pad_w = p->pad_w,
      .stride_h = p->stride_h,
      .stride_w = p->stride_w,
      .dil_h = p->dilation,
      .dil_w = p->dilation,
      .groups = p->groups,
  };
  return c;
}

/* Output size along one axis by the floor rule, 0 when the dilated
 * kernel does not fit in the padded input. Computed here rather than
 * with cb_conv_out_h so that a negative numerator never rounds up to a
 * positive size. */
static int64_t conv_out_dim(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  int64_t span = dil * (k - 1) + 1;
  if (in + 2 * pad < span) return 0;
  return (in + 2 * pad - span) / stride + 1;
}

static cb_status conv_reshape(cb_layer *l) {
  conv_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  if (x->c % p->groups)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                         "groups=%lld does not divide the %lld input channels",
                         (long long)p->groups, (long long)x->c);
  if (p->out % p->groups)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "groups=%lld does not divide out=%lld",
                         (long long)p->groups, (long long)p->out);
  int64_t oh = conv_out_dim(x->h, p->kh, p->stride_h, p->pad_h, p->dilation);
  int64_t ow = conv_out_dim(x->w, p->kw, p->stride_w, p->pad_w, p->dilation);
  if (oh < 1 || ow < 1) {
    char in[64], k[48], stride[48], pad[48], dil[48] = "";
    cb_tensor_shape_str(x, in, sizeof in);
    cb_layer_hw_str(p->kh, p->kw, k, sizeof k);
    cb_layer_hw_str(p->stride_h, p->stride_w, stride, sizeof stride);
    cb_layer_hw_str(p->pad_h, p->pad_w, pad, sizeof pad);
    if (p->dilation != 1) snprintf(dil, sizeof dil, ", dilation %lld", (long long)p->dilation);
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                         "output would be %lldx%lld (input %s, k %s, stride %s, pad %s%s)",
                         (long long)oh, (long long)ow, in, k, stride, pad, dil);
  }
  l->out->n = x->n;
  l->out->c = p->out;
  l->out->h = oh;
  l->out->w = ow;
  return cb_layer_kernel_params(l, p->out, x->c / p->groups, p->kh, p->kw, p->bias);
}

static int conv_problems(const cb_layer *l, cb_problem out[3]) {
  cb_conv c = conv_desc(l);
  out[0] = cb_problem_conv(CB_OP_CONV_FWD, c);
  out[1] = cb_problem_conv(CB_OP_CONV_BWD_DATA, c);
  out[2] = cb_problem_conv(CB_OP_CONV_BWD_FILTER, c);
  return 3;
}

static cb_status conv_setup(cb_layer *l) {
  conv_priv *p = l->priv;
  /* He (Kaiming) normal: keeps activations' variance steady through a
   * ReLU net, the usual choice for conv layers. */
  double fan_in = (double)(l->in[0]->c / p->groups) * (double)p->kh * (double)p->kw;
  return cb_layer_kernel_setup(l, fan_in, p->bias, &p->dx_scratch);
}

static cb_status conv_forward(cb_layer *l) {
  conv_priv *p = l->priv;
  cb_tensor *y = l->out;
  cb_status s = cb_layer_run_binding(l, 0, l->in[0]->data, l->params[0].data, y->data);
  if (s != CB_OK || !p->bias) return s;
  const float *b = l->params[1].data;
  int64_t plane = y->h * y->w, planes = y->n * y->c;
  /* Each (image, channel) plane is independent: threads split them. */
#pragma omp parallel for if (planes * plane >= CB_LAYER_PAR_MIN) num_threads(cb_layer_threads(l))
  for (int64_t nk = 0; nk < planes; nk++) {
    float *row = y->data + nk * plane, bk = b[nk % y->c];
    for (int64_t i = 0; i < plane; i++) row[i] += bk;
  }
  return CB_OK;
}

/* db[k] = sum of dy over n, p, q. Threads split the channels, so each
 * sum is one thread's and the result does not depend on the thread count;
 * each plane is summed in float with `omp simd` (vector lanes, a fixed
 * order for a given build), the planes in double. */
static void conv_bias_grad(const cb_layer *l, const cb_tensor *y, float *db) {
  int64_t plane = y->h * y->w;
#pragma omp parallel for if (y->n * y->c * plane >= CB_LAYER_PAR_MIN)                              \
    num_threads(cb_layer_threads(l))
  for (int64_t k = 0; k < y->c; k++) {
    double sum = 0;
    for (int64_t n = 0; n < y->n; n++) {
      const float *row = y->grad + (n * y->c + k) * plane;
      float part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t i = 0; i < plane; i++) part += row[i];
      sum += part;
    }
    db[k] = (float)sum;
  }
}

static cb_status conv_backward(cb_layer *l) {
  conv_priv *p = l->priv;
  cb_tensor *x = l->in[0], *y = l->out;
  if (!y->grad) return cb_layer_no_out_grad(l);
  /* bwd_filter: dw = correlate(x, dy). */
  cb_status s = cb_layer_backward_bindings(l, p->dx_scratch, x->data, y->grad);
  if (s != CB_OK) return s;
  if (p->bias && l->params[1].grad) conv_bias_grad(l, y, l->params[1].grad);
  return CB_OK;
}

/* 2 N K (C/G) R S P Q per pass: padded taps count as work, as in
 * cb_problem_flops; backward runs bwd_filter, and bwd_data when the
 * input wants a gradient. */
static double conv_flops(const cb_layer *l, cb_pass pass) {
  const conv_priv *p = l->priv;
  const cb_tensor *x = l->in[0], *y = l->out;
  double one = 2.0 * (double)x->n * (double)p->out * (double)(x->c / p->groups) * (double)p->kh *
               (double)p->kw * (double)y->h * (double)y->w;
  return cb_layer_kernel_flops(l, pass, one);
}

static void conv_fini(cb_layer *l) {
  conv_priv *p = l->priv;
  if (p) p->dx_scratch = cb_layer_drop_scratch(p->dx_scratch);
}

const cb_layer_ops cb_layer_conv = {
    .kind = "conv",
    .summary = "2-D convolution (kernels from the chosen backend), optional bias",
    .keys = conv_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(conv_priv),
    .configure = conv_configure,
    .reshape = conv_reshape,
    .problems = conv_problems,
    .setup = conv_setup,
    .forward = conv_forward,
    .backward = conv_backward,
    .flops = conv_flops,
    .fini = conv_fini,
};
