/* pool.c: max and average pooling over each channel's plane, with
 * padding, Caffe's floor and ceil output rules, and global pooling.
 *
 * Output size along one axis (in = input size, k, stride, pad):
 *   floor: (in + 2 pad - k) / stride + 1
 *   ceil:  ceil((in + 2 pad - k) / stride) + 1, less one when pad > 0 and
 *          the last window would start inside the right / bottom padding
 *          (Caffe's rule, so every window covers at least one real pixel).
 * Average pooling divides by the window clipped to the padded image (pads
 * count, the part past the padding does not): Caffe's AVE and PyTorch's
 * count_include_pad=True. Max pooling keeps, per output, the index of the
 * winning input in its plane for backward. */
#include "layer_util.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

enum { POOL_MAX, POOL_AVG };
enum { ROUND_FLOOR, ROUND_CEIL };

typedef struct pool_priv {
  int mode, round;
  bool global;
  int64_t kh, kw, stride_h, stride_w, pad_h, pad_w; /* as configured */
  int64_t ekh, ekw; /* the window in use: the whole plane when global */
  int32_t *argmax;  /* per output: index in the input plane (max mode) */
} pool_priv;

static const char *const pool_keys[] = {"mode",     "k",        "kh",  "kw",    "stride",
                                        "stride_h", "stride_w", "pad", "pad_h", "pad_w",
                                        "round",    "global",   NULL};
static const char *const pool_modes[] = {"max", "avg", NULL};
static const char *const pool_rounds[] = {"floor", "ceil", NULL};

static cb_status pool_configure(cb_layer *l, const cb_stmt *st) {
  pool_priv *p = l->priv;
  cb_status s;
  int64_t global;
  bool k_given, stride_given, pad_given;
  if ((s = cb_stmt_enum(st, "mode", pool_modes, POOL_MAX, &p->mode)) != CB_OK ||
      (s = cb_stmt_enum(st, "round", pool_rounds, ROUND_FLOOR, &p->round)) != CB_OK ||
      (s = cb_stmt_int(st, "global", 0, 0, 1, &global)) != CB_OK ||
      (s = cb_layer_read_hw(st, "k", "kh", "kw", -1, 1, CB_LAYER_DIM_MAX, &p->kh, &p->kw,
                            &k_given)) != CB_OK ||
      (s = cb_layer_read_hw(st, "stride", "stride_h", "stride_w", 1, 1, CB_LAYER_DIM_MAX,
                            &p->stride_h, &p->stride_w, &stride_given)) != CB_OK ||
      (s = cb_layer_read_hw(st, "pad", "pad_h", "pad_w", 0, 0, CB_LAYER_DIM_MAX, &p->pad_h,
                            &p->pad_w, &pad_given)) != CB_OK)
    return s;
  p->global = global != 0;
  if (p->global && (k_given || stride_given || pad_given))
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, "global"),
                         "global=1 pools the whole image: drop k=, stride= and pad=");
  if (!p->global && !k_given)
    return cb_stmt_error(CB_ERR_PARSE, st, NULL, "missing k= (or kh= and kw=, or global=1)");
  return CB_OK;
}

/* Output size along one axis by the floor or ceil rule (see the header
 * comment); 0 when the window does not fit in the padded input. */
static int64_t pool_out_dim(int64_t in, int64_t k, int64_t stride, int64_t pad, int round) {
  if (in + 2 * pad < k) return 0;
  int64_t span = in + 2 * pad - k;
  int64_t out = (round == ROUND_CEIL ? (span + stride - 1) / stride : span / stride) + 1;
  if (round == ROUND_CEIL && pad > 0 && (out - 1) * stride >= in + pad) out--;
  return out;
}

static cb_status pool_reshape(cb_layer *l) {
  pool_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  char in[64], k[48], stride[48], pad[48];
  p->ekh = p->global ? x->h : p->kh;
  p->ekw = p->global ? x->w : p->kw;
  cb_tensor_shape_str(x, in, sizeof in);
  cb_layer_hw_str(p->ekh, p->ekw, k, sizeof k);
  cb_layer_hw_str(p->stride_h, p->stride_w, stride, sizeof stride);
  cb_layer_hw_str(p->pad_h, p->pad_w, pad, sizeof pad);
  /* A pad as wide as the window would allow windows made only of padding. */
  if (p->pad_h >= p->ekh || p->pad_w >= p->ekw)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "pad %s must be smaller than k %s", pad, k);
  int64_t oh = pool_out_dim(x->h, p->ekh, p->stride_h, p->pad_h, p->round);
  int64_t ow = pool_out_dim(x->w, p->ekw, p->stride_w, p->pad_w, p->round);
  if (oh < 1 || ow < 1)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                         "output would be %lldx%lld (input %s, k %s, stride %s, pad %s)",
                         (long long)oh, (long long)ow, in, k, stride, pad);
  int64_t plane;
  if (!cb_mul_i64(x->h, x->w, &plane) || plane > INT32_MAX)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "input plane %s is too large", in);
  l->out->n = x->n;
  l->out->c = x->c;
  l->out->h = oh;
  l->out->w = ow;
  l->nparams = 0;
  return cb_layer_set_scratch(l, p->mode == POOL_MAX ? cb_tensor_count(l->out) : 0, sizeof(int32_t),
                              "output");
}

static cb_status pool_setup(cb_layer *l) {
  pool_priv *p = l->priv;
  void *buf;
  cb_status s = cb_layer_renew_scratch(l, p->argmax, &buf);
  p->argmax = buf;
  return s;
}

/* One output's window: [h0, h1) x [w0, w1) clipped to the image, and the
 * divisor of average pooling (the window clipped to the padded image). */
typedef struct pool_window {
  int64_t h0, h1, w0, w1, divisor;
} pool_window;

static pool_window pool_window_at(const pool_priv *p, const cb_tensor *x, int64_t oh, int64_t ow) {
  pool_window win;
  int64_t h0 = oh * p->stride_h - p->pad_h, w0 = ow * p->stride_w - p->pad_w;
  int64_t h1 = h0 + p->ekh, w1 = w0 + p->ekw;
  if (h1 > x->h + p->pad_h) h1 = x->h + p->pad_h;
  if (w1 > x->w + p->pad_w) w1 = x->w + p->pad_w;
  win.divisor = (h1 - h0) * (w1 - w0);
  win.h0 = h0 < 0 ? 0 : h0;
  win.w0 = w0 < 0 ? 0 : w0;
  win.h1 = h1 > x->h ? x->h : h1;
  win.w1 = w1 > x->w ? x->w : w1;
  return win;
}

static cb_status pool_forward(cb_layer *l) {
  pool_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  cb_tensor *y = l->out;
  int64_t planes = x->n * x->c, in_plane = x->h * x->w, out_plane = y->h * y->w;
#pragma omp parallel for if (planes * in_plane >= CB_LAYER_PAR_MIN) num_threads(cb_layer_threads(l))
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = x->data + pl * in_plane;
    float *dst = y->data + pl * out_plane;
    int32_t *arg = p->argmax ? p->argmax + pl * out_plane : NULL;
    for (int64_t oh = 0; oh < y->h; oh++)
      for (int64_t ow = 0; ow < y->w; ow++) {
        pool_window win = pool_window_at(p, x, oh, ow);
        int64_t o = oh * y->w + ow;
        if (p->mode == POOL_MAX) {
          float best = -FLT_MAX;
          int64_t at = -1;
          for (int64_t h = win.h0; h < win.h1; h++)
            for (int64_t w = win.w0; w < win.w1; w++)
              if (at < 0 || src[h * x->w + w] > best) {
                best = src[h * x->w + w];
                at = h * x->w + w;
              }
          dst[o] = at < 0 ? 0.0f : best;
          arg[o] = (int32_t)at;
        } else {
          double sum = 0;
          for (int64_t h = win.h0; h < win.h1; h++)
            for (int64_t w = win.w0; w < win.w1; w++) sum += src[h * x->w + w];
          dst[o] = (float)(sum / (double)win.divisor);
        }
      }
  }
  return CB_OK;
}

static cb_status pool_backward(cb_layer *l) {
  pool_priv *p = l->priv;
  const cb_tensor *x = l->in[0], *y = l->out;
  if (!y->grad) return cb_layer_no_out_grad(l);
  if (!x->grad) return CB_OK;
  /* Windows overlap, so gradients are scattered with +=: start from zero
   * unless accumulating onto what a later layer wrote. */
  if (!l->accum[0]) memset(x->grad, 0, (size_t)cb_tensor_count(x) * sizeof(float));
  int64_t planes = x->n * x->c, in_plane = x->h * x->w, out_plane = y->h * y->w;
#pragma omp parallel for if (planes * in_plane >= CB_LAYER_PAR_MIN) num_threads(cb_layer_threads(l))
  for (int64_t pl = 0; pl < planes; pl++) {
    float *dx = x->grad + pl * in_plane;
    const float *dy = y->grad + pl * out_plane;
    if (p->mode == POOL_MAX) {
      const int32_t *arg = p->argmax + pl * out_plane;
      for (int64_t o = 0; o < out_plane; o++)
        if (arg[o] >= 0) dx[arg[o]] += dy[o];
      continue;
    }
    for (int64_t oh = 0; oh < y->h; oh++)
      for (int64_t ow = 0; ow < y->w; ow++) {
        pool_window win = pool_window_at(p, x, oh, ow);
        float g = dy[oh * y->w + ow] / (float)win.divisor;
        for (int64_t h = win.h0; h < win.h1; h++)
          for (int64_t w = win.w0; w < win.w1; w++) dx[h * x->w + w] += g;
      }
  }
  return CB_OK;
}

/* A compare or add per window tap forward; backward, one add per output
 * for max (the scatter), one per tap for average. */
static double pool_flops(const cb_layer *l, cb_pass pass) {
  const pool_priv *p = l->priv;
  double outs = (double)cb_tensor_count(l->out), taps = (double)p->ekh * (double)p->ekw;
  if (pass == CB_PASS_BWD && p->mode == POOL_MAX) return outs;
  return outs * taps;
}

static void pool_fini(cb_layer *l) {
  pool_priv *p = l->priv;
  if (p) p->argmax = cb_layer_drop_scratch(p->argmax);
}

const cb_layer_ops cb_layer_pool = {
    .kind = "pool",
    .summary = "max or average pooling, floor or ceil output size, global",
    .keys = pool_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(pool_priv),
    .configure = pool_configure,
    .reshape = pool_reshape,
    .setup = pool_setup,
    .forward = pool_forward,
    .backward = pool_backward,
    .flops = pool_flops,
    .fini = pool_fini,
};
