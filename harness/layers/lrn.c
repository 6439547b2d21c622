/* lrn.c: local response normalisation across channels, Caffe's
 * ACROSS_CHANNELS formula (AlexNet, GoogLeNet):
 *   s[c] = k + alpha / size * sum of x[c']^2 over c' in W(c)
 *   y[c] = x[c] * s[c]^-beta
 * where W(c) is the window of `size` channels centred on c (size is odd),
 * clipped at the first and last channel. The scale s is kept for
 * backward:
 *   dx[j] = dy[j] s[j]^-beta
 *           - 2 alpha beta / size * x[j] * sum over i with j in W(i) of dy[i] y[i] / s[i]. */
#include "layer_util.h"

#include <float.h>
#include <math.h>

typedef struct lrn_priv {
  int64_t size;
  double alpha, beta, k;
  float *scale; /* s, one per element, from the last forward */
} lrn_priv;

static const char *const lrn_keys[] = {"size", "alpha", "beta", "k", NULL};

static cb_status lrn_configure(cb_layer *l, const cb_stmt *st) {
  lrn_priv *p = l->priv;
  cb_status s;
  if ((s = cb_stmt_int(st, "size", 5, 1, CB_LAYER_DIM_MAX, &p->size)) != CB_OK ||
      (s = cb_stmt_float(st, "alpha", 1e-4, 0.0, DBL_MAX, &p->alpha)) != CB_OK ||
      (s = cb_stmt_float(st, "beta", 0.75, 0.0, DBL_MAX, &p->beta)) != CB_OK ||
      (s = cb_stmt_float(st, "k", 1.0, 0.0, DBL_MAX, &p->k)) != CB_OK)
    return s;
  if (p->size % 2 == 0)
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, "size"),
                         "size=%lld: must be odd (the window is centred on the channel)",
                         (long long)p->size);
  if (p->k <= 0.0)
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, "k"),
                         "k=%g: must be positive (the scale is raised to -beta)", p->k);
  return CB_OK;
}

static cb_status lrn_reshape(cb_layer *l) {
  const cb_tensor *x = l->in[0];
  cb_layer_shape_like(l, x);
  l->nparams = 0;
  return cb_layer_set_scratch(l, cb_tensor_count(x), sizeof(float), "input");
}

static cb_status lrn_setup(cb_layer *l) {
  lrn_priv *p = l->priv;
  void *buf;
  cb_status s = cb_layer_renew_scratch(l, p->scale, &buf);
  p->scale = buf;
  return s;
}

/* Channels [*lo, *hi] of the window centred on c, clipped to [0, nc). */
static void lrn_window(const lrn_priv *p, int64_t c, int64_t nc, int64_t *lo, int64_t *hi) {
  int64_t half = (p->size - 1) / 2;
  *lo = c - half < 0 ? 0 : c - half;
  *hi = c + half >= nc ? nc - 1 : c + half;
}

static cb_status lrn_forward(cb_layer *l) {
  lrn_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  int64_t plane = x->h * x->w;
  float ratio = (float)(p->alpha / (double)p->size), k = (float)p->k, nbeta = (float)-p->beta;
#pragma omp parallel for collapse(2) if (x->n * x->c * plane >= CB_LAYER_PAR_MIN)                  \
    num_threads(cb_layer_threads(l))
  for (int64_t n = 0; n < x->n; n++)
    for (int64_t c = 0; c < x->c; c++) {
      int64_t off = (n * x->c + c) * plane, lo, hi;
      float *s = p->scale + off;
      for (int64_t i = 0; i < plane; i++) s[i] = 0.0f;
      /* Plane by plane so the inner loop runs over contiguous pixels. */
      lrn_window(p, c, x->c, &lo, &hi);
      for (int64_t c2 = lo; c2 <= hi; c2++) {
        const float *xs = x->data + (n * x->c + c2) * plane;
        for (int64_t i = 0; i < plane; i++) s[i] += xs[i] * xs[i];
      }
      const float *xc = x->data + off;
      float *y = l->out->data + off;
      for (int64_t i = 0; i < plane; i++) {
        s[i] = k + ratio * s[i];
        y[i] = xc[i] * powf(s[i], nbeta);
      }
    }
  return CB_OK;
}

static cb_status lrn_backward(cb_layer *l) {
  lrn_priv *p = l->priv;
  const cb_tensor *x = l->in[0], *y = l->out;
  if (!y->grad) return cb_layer_no_out_grad(l);
  if (!x->grad) return CB_OK;
  int64_t plane = x->h * x->w;
  float coef = (float)(2.0 * p->alpha * p->beta / (double)p->size), nbeta = (float)-p->beta;
#pragma omp parallel for collapse(2) if (x->n * x->c * plane >= CB_LAYER_PAR_MIN)                  \
    num_threads(cb_layer_threads(l))
  for (int64_t n = 0; n < x->n; n++)
    for (int64_t j = 0; j < x->c; j++) {
      int64_t off = (n * x->c + j) * plane, lo, hi;
      float *dx = x->grad + off;
      const float *dy = y->grad + off, *s = p->scale + off, *xj = x->data + off;
      for (int64_t i = 0; i < plane; i++)
        cb_grad_put(dx, i, dy[i] * powf(s[i], nbeta), l->accum[0]);
      /* The window is symmetric (size is odd), so the channels whose
       * window holds j are exactly the channels of j's own window. */
      lrn_window(p, j, x->c, &lo, &hi);
      for (int64_t c = lo; c <= hi; c++) {
        int64_t oc = (n * x->c + c) * plane;
        const float *dyc = y->grad + oc, *yc = y->data + oc, *sc = p->scale + oc;
        for (int64_t i = 0; i < plane; i++) dx[i] -= coef * xj[i] * dyc[i] * yc[i] / sc[i];
      }
    }
  return CB_OK;
}

/* Forward per element: a multiply-add per window channel, the scale and
 * the power (counted as a few); backward about twice that. */
static double lrn_flops(const cb_layer *l, cb_pass pass) {
  const lrn_priv *p = l->priv;
  double count = (double)cb_tensor_count(l->out), size = (double)p->size;
  return pass == CB_PASS_FWD ? count * (2.0 * size + 4.0) : count * (4.0 * size + 4.0);
}

static void lrn_fini(cb_layer *l) {
  lrn_priv *p = l->priv;
  if (p) p->scale = cb_layer_drop_scratch(p->scale);
}

const cb_layer_ops cb_layer_lrn = {
    .kind = "lrn",
    .summary = "local response normalisation across channels (Caffe's formula)",
    .keys = lrn_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(lrn_priv),
    .configure = lrn_configure,
    .reshape = lrn_reshape,
    .setup = lrn_setup,
    .forward = lrn_forward,
    .backward = lrn_backward,
    .flops = lrn_flops,
    .fini = lrn_fini,
};
