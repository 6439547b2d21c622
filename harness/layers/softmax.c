/* softmax.c: softmax with cross-entropy loss, the net's loss layer.
 *
 * Each sample's C*H*W inputs are its class scores (the input is flattened
 * like fc's); the labels come from exec->labels, one per sample. The
 * output is a 1x1x1x1 tensor holding the loss averaged over the batch:
 *   loss = -1/N sum_n log p[n, label[n]],  p = softmax of the scores.
 * The probabilities are kept for backward:
 *   dx = (p - onehot(label)) / N * dloss,  dloss = out->grad[0]. */
#include "layer_util.h"

#include <math.h>

typedef struct softmax_priv {
  float *prob; /* p, one per input element, from the last forward */
} softmax_priv;

static const char *const softmax_keys[] = {NULL};

/* Classes per sample: the flattened input width. */
static int64_t softmax_classes(const cb_tensor *x) {
  return x->c * x->h * x->w;
}

static cb_status softmax_reshape(cb_layer *l) {
  const cb_tensor *x = l->in[0];
  l->out->n = l->out->c = l->out->h = l->out->w = 1;
  l->nparams = 0;
  if (softmax_classes(x) > INT32_MAX)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "%lld classes is too many for int32 labels",
                         (long long)softmax_classes(x));
  return cb_layer_set_scratch(l, cb_tensor_count(x), sizeof(float), "input");
}

static cb_status softmax_setup(cb_layer *l) {
  softmax_priv *p = l->priv;
  void *buf;
  cb_status s = cb_layer_renew_scratch(l, p->prob, &buf);
  p->prob = buf;
  return s;
}

/* Checks that every sample has a label in [0, classes). */
static cb_status softmax_check_labels(const cb_layer *l, int64_t classes) {
  const int32_t *labels = l->exec ? l->exec->labels : NULL;
  if (!labels)
    return cb_error(CB_ERR_INVALID, "layer %s: softmax loss needs labels, and none were given",
                    l->name);
  for (int64_t n = 0; n < l->in[0]->n; n++)
    if (labels[n] < 0 || labels[n] >= classes)
      return cb_error(
          CB_ERR_INVALID, "layer %s: label %d of sample %lld is outside the %lld classes (0..%lld)",
          l->name, (int)labels[n], (long long)n, (long long)classes, (long long)classes - 1);
  return CB_OK;
}

static cb_status softmax_forward(cb_layer *l) {
  softmax_priv *p = l->priv;
  const cb_tensor *x = l->in[0];
  int64_t classes = softmax_classes(x);
  cb_status s = softmax_check_labels(l, classes);
  if (s != CB_OK) return s;
  double loss = 0;
  for (int64_t n = 0; n < x->n; n++) {
    const float *z = x->data + n * classes;
    float *prob = p->prob + n * classes;
    /* Subtracting the largest score keeps exp() from overflowing. */
    float zmax = z[0];
    for (int64_t j = 1; j < classes; j++)
      if (z[j] > zmax) zmax = z[j];
    double sum = 0;
    for (int64_t j = 0; j < classes; j++) sum += exp((double)z[j] - zmax);
    for (int64_t j = 0; j < classes; j++) prob[j] = (float)(exp((double)z[j] - zmax) / sum);
    /* -log p[label] from the scores, exact even when p underflows. */
    int32_t label = l->exec->labels[n];
    loss += log(sum) - ((double)z[label] - zmax);
  }
  l->out->data[0] = (float)(loss / (double)x->n);
  return CB_OK;
}

static cb_status softmax_backward(cb_layer *l) {
  softmax_priv *p = l->priv;
  cb_tensor *x = l->in[0];
  if (!x->grad) return CB_OK;
  if (!l->exec || !l->exec->labels) return softmax_check_labels(l, softmax_classes(x));
  int64_t classes = softmax_classes(x);
  /* The loss is normally the net's top, seeded with d(loss) = 1; a NULL
   * output gradient means the same. */
  float scale = (l->out->grad ? l->out->grad[0] : 1.0f) / (float)x->n;
  for (int64_t n = 0; n < x->n; n++) {
    int32_t label = l->exec->labels[n];
    for (int64_t j = 0; j < classes; j++) {
      float g = (p->prob[n * classes + j] - (j == label ? 1.0f : 0.0f)) * scale;
      cb_grad_put(x->grad, n * classes + j, g, l->accum[0]);
    }
  }
  return CB_OK;
}

/* Forward: subtract, exp, sum, divide per element; backward: subtract and
 * scale. */
static double softmax_flops(const cb_layer *l, cb_pass pass) {
  double count = (double)cb_tensor_count(l->in[0]);
  return pass == CB_PASS_FWD ? 4.0 * count : 2.0 * count;
}

static void softmax_fini(cb_layer *l) {
  softmax_priv *p = l->priv;
  if (p) p->prob = cb_layer_drop_scratch(p->prob);
}

const cb_layer_ops cb_layer_softmax = {
    .kind = "softmax",
    .summary = "softmax with cross-entropy loss against the labels (output: the mean loss)",
    .keys = softmax_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .priv_size = sizeof(softmax_priv),
    .reshape = softmax_reshape,
    .setup = softmax_setup,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .flops = softmax_flops,
    .fini = softmax_fini,
};
