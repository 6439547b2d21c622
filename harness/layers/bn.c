/* bn.c: batch normalisation per channel over n, h, w.
 *
 * Train mode normalises with the batch's mean and biased variance and
 * updates the running statistics:
 *   running = momentum * running + (1 - momentum) * batch
 * (the running variance takes the unbiased batch variance, m / (m - 1)
 * times the biased one, as Caffe and PyTorch do). Eval mode normalises with
 * the running statistics. With affine=1 a learnable scale (gamma, init 1)
 * and shift (beta, init 0) follow the normalisation.
 *
 * Parameters, each [1,C,1,1]: affine=1: scale, shift, running mean,
 * running var; affine=0: running mean, running var. The running ones are
 * not learnable (the solver leaves them alone); their gradients are set to
 * zero. */
#include "layer_util.h"

#include <math.h>
#include <string.h>

typedef struct bn_priv {
  double eps, momentum;
  bool affine;
  int mean_at;    /* index of the running mean in params (var follows) */
  float *mean;    /* per channel, the mean of the last forward */
  float *inv_std; /* per channel, 1 / sqrt(var + eps) of the last forward */
  bool trained;   /* the last forward used batch statistics */
} bn_priv;

static const char *const bn_keys[] = {"eps", "momentum", "affine", NULL};

static cb_status bn_configure(cb_layer *l, const cb_stmt *st) {
  bn_priv *p = l->priv;
  cb_status s;
  int64_t affine;
  if ((s = cb_stmt_float(st, "eps", 1e-5, 0.0, 1.0, &p->eps)) != CB_OK ||
      (s = cb_stmt_float(st, "momentum", 0.9, 0.0, 1.0, &p->momentum)) != CB_OK ||
      (s = cb_stmt_int(st, "affine", 1, 0, 1, &affine)) != CB_OK)
    return s;
  if (p->eps <= 0.0)
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, "eps"),
                         "eps=%g: must be positive (it keeps 1 / sqrt(var + eps) finite)", p->eps);
  p->affine = affine != 0;
  p->mean_at = p->affine ? 2 : 0;
  return CB_OK;
}

static cb_status bn_reshape(cb_layer *l) {
  bn_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  cb_layer_shape_like(l, x);
  l->nparams = 0;
  if (p->affine) {
    cb_layer_param(l, 0, "scale", 1, x->c, 1, 1, true);
    cb_layer_param(l, 1, "shift", 1, x->c, 1, 1, true);
  }
  cb_layer_param(l, p->mean_at, "running_mean", 1, x->c, 1, 1, false);
  cb_layer_param(l, p->mean_at + 1, "running_var", 1, x->c, 1, 1, false);
  l->scratch_bytes = 2 * x->c * (int64_t)sizeof(float);
  return CB_OK;
}

static cb_status bn_setup(cb_layer *l) {
  bn_priv *p = l->priv;
  if (p->affine) {
    cb_layer_fill(&l->params[0], 1.0f);
    cb_layer_fill(&l->params[1], 0.0f);
  }
  cb_layer_fill(&l->params[p->mean_at], 0.0f);
  cb_layer_fill(&l->params[p->mean_at + 1], 1.0f);
  cb_free(p->mean);
  p->mean = p->inv_std = NULL;
  void *buf;
  cb_status s = cb_layer_scratch(l, l->scratch_bytes, &buf);
  if (s != CB_OK) return s;
  p->mean = buf;
  p->inv_std = p->mean + l->in[0]->c;
  return CB_OK;
}

/* Mean and biased variance of channel c over n, h, w, in double and in two
 * passes (the one-pass sum of squares loses digits when mean >> sd). */
static void bn_batch_stats(const cb_tensor *x, int64_t c, double *mean, double *var) {
  int64_t plane = x->h * x->w;
  double m = (double)(x->n * plane), sum = 0, sq = 0;
  for (int64_t n = 0; n < x->n; n++) {
    const float *v = x->data + (n * x->c + c) * plane;
    for (int64_t i = 0; i < plane; i++) sum += v[i];
  }
  *mean = sum / m;
  for (int64_t n = 0; n < x->n; n++) {
    const float *v = x->data + (n * x->c + c) * plane;
    for (int64_t i = 0; i < plane; i++) sq += (v[i] - *mean) * (v[i] - *mean);
  }
  *var = sq / m;
}

static cb_status bn_forward(cb_layer *l) {
  bn_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  float *rmean = l->params[p->mean_at].data, *rvar = l->params[p->mean_at + 1].data;
  int64_t plane = x->h * x->w, m = x->n * plane;
  p->trained = l->exec && l->exec->train;
#pragma omp parallel for if (m * x->c >= CB_LAYER_PAR_MIN) num_threads(cb_layer_threads(l))
  for (int64_t c = 0; c < x->c; c++) {
    double mean, var;
    if (p->trained) {
      bn_batch_stats(x, c, &mean, &var);
      double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
      rmean[c] = (float)(p->momentum * rmean[c] + (1.0 - p->momentum) * mean);
      rvar[c] = (float)(p->momentum * rvar[c] + (1.0 - p->momentum) * unbiased);
    } else {
      mean = rmean[c];
      var = rvar[c];
    }
    p->mean[c] = (float)mean;
    p->inv_std[c] = (float)(1.0 / sqrt(var + p->eps));
    float gamma = p->affine ? l->params[0].data[c] : 1.0f;
    float beta = p->affine ? l->params[1].data[c] : 0.0f;
    float mul = gamma * p->inv_std[c], mu = p->mean[c];
    for (int64_t n = 0; n < x->n; n++) {
      const float *v = x->data + (n * x->c + c) * plane;
      float *y = l->out->data + (n * x->c + c) * plane;
      for (int64_t i = 0; i < plane; i++) y[i] = (v[i] - mu) * mul + beta;
    }
  }
  return CB_OK;
}

/* Per channel: sum of dy and sum of dy * xhat, in double. */
static void bn_grad_sums(const bn_priv *p, const cb_tensor *x, const float *dy, int64_t c,
                         double *sum_dy, double *sum_dy_xhat) {
  int64_t plane = x->h * x->w;
  double s = 0, sx = 0;
  for (int64_t n = 0; n < x->n; n++) {
    int64_t off = (n * x->c + c) * plane;
    for (int64_t i = 0; i < plane; i++) {
      double xhat = ((double)x->data[off + i] - p->mean[c]) * p->inv_std[c];
      s += dy[off + i];
      sx += dy[off + i] * xhat;
    }
  }
  *sum_dy = s;
  *sum_dy_xhat = sx;
}

static cb_status bn_backward(cb_layer *l) {
  bn_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  const float *dy = l->out->grad;
  if (!dy) return cb_layer_no_out_grad(l);
  int64_t plane = x->h * x->w;
  double m = (double)(x->n * plane);
#pragma omp parallel for if (m * x->c >= CB_LAYER_PAR_MIN) num_threads(cb_layer_threads(l))
  for (int64_t c = 0; c < x->c; c++) {
    double sum_dy, sum_dy_xhat;
    bn_grad_sums(p, x, dy, c, &sum_dy, &sum_dy_xhat);
    if (p->affine && l->params[0].grad) l->params[0].grad[c] = (float)sum_dy_xhat;
    if (p->affine && l->params[1].grad) l->params[1].grad[c] = (float)sum_dy;
    if (!x->grad) continue;
    double gamma = p->affine ? l->params[0].data[c] : 1.0, inv_std = p->inv_std[c];
    for (int64_t n = 0; n < x->n; n++) {
      int64_t off = (n * x->c + c) * plane;
      for (int64_t i = 0; i < plane; i++) {
        double g;
        if (p->trained) {
          /* The batch statistics depend on every x of the channel:
           * dx = gamma inv_std / m (m dy - sum dy - xhat sum(dy xhat)). */
          double xhat = ((double)x->data[off + i] - p->mean[c]) * inv_std;
          g = gamma * inv_std / m * (m * dy[off + i] - sum_dy - xhat * sum_dy_xhat);
        } else {
          g = gamma * inv_std * dy[off + i];
        }
        cb_grad_put(x->grad, off + i, (float)g, l->accum[0]);
      }
    }
  }
  for (int i = p->mean_at; i < p->mean_at + 2; i++)
    if (l->params[i].grad) memset(l->params[i].grad, 0, (size_t)x->c * sizeof(float));
  return CB_OK;
}

/* Forward (train): sum, squared deviation, normalise, scale and shift,
 * about 6 per element; backward: two sums and the dx formula, about 8. */
static double bn_flops(const cb_layer *l, cb_pass pass) {
  double count = (double)cb_tensor_count(l->out);
  return pass == CB_PASS_FWD ? 6.0 * count : 8.0 * count;
}

static void bn_fini(cb_layer *l) {
  bn_priv *p = l->priv;
  if (p) p->mean = p->inv_std = cb_layer_drop_scratch(p->mean);
}

const cb_layer_ops cb_layer_bn = {
    .kind = "bn",
    .summary = "batch normalisation per channel, running statistics, optional scale and shift",
    .keys = bn_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(bn_priv),
    .configure = bn_configure,
    .reshape = bn_reshape,
    .setup = bn_setup,
    .forward = bn_forward,
    .backward = bn_backward,
    .flops = bn_flops,
    .fini = bn_fini,
};
