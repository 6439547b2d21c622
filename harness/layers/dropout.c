/* dropout.c: inverted dropout. At train time each element is kept with
 * probability 1 - ratio and scaled by 1 / (1 - ratio), so the expected
 * output equals the input and inference needs no rescaling; at inference
 * (exec->train false) the layer is the identity. May run in place.
 *
 * The mask comes from the layer's own stream, cb_rng_seed(exec->seed,
 * name), moved on by exec->step: masks differ from step to step but the
 * same seed and step always give the same mask, which makes runs
 * reproducible and lets a gradient check redo a forward pass exactly. */
#include "layer_util.h"

#include <string.h>

typedef struct dropout_priv {
  double ratio;
  uint8_t *mask; /* 1 = kept, per element, from the last train forward */
  bool identity; /* the last forward passed everything through */
} dropout_priv;

static const char *const dropout_keys[] = {"ratio", NULL};

static cb_status dropout_configure(cb_layer *l, const cb_stmt *st) {
  dropout_priv *p = l->priv;
  cb_status s = cb_stmt_float(st, "ratio", 0.5, 0.0, 1.0, &p->ratio);
  if (s != CB_OK) return s;
  if (p->ratio >= 1.0)
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, "ratio"),
                         "ratio=%g: must be below 1 (nothing would pass)", p->ratio);
  return CB_OK;
}

static cb_status dropout_reshape(cb_layer *l) {
  cb_layer_shape_like(l, l->in[0]);
  l->nparams = 0;
  return cb_layer_set_scratch(l, cb_tensor_count(l->in[0]), 1, "input");
}

static cb_status dropout_setup(cb_layer *l) {
  dropout_priv *p = l->priv;
  void *buf;
  cb_status s = cb_layer_renew_scratch(l, p->mask, &buf);
  p->mask = buf;
  p->identity = true;
  return s;
}

/* The stream for this layer at this step: the layer's seed, moved on by
 * the step through one more mixing round so neighbouring steps give
 * unrelated masks. */
static uint64_t dropout_stream(const cb_layer *l) {
  uint64_t base = cb_rng_seed(l->exec->seed, l->name);
  return cb_rng_seed(base + l->exec->step, "dropout-step");
}

static cb_status dropout_forward(cb_layer *l) {
  dropout_priv *p = l->priv;
  const float *x = l->in[0]->data;
  float *y = l->out->data;
  int64_t count = cb_tensor_count(l->out);
  p->identity = !l->exec || !l->exec->train || p->ratio == 0.0;
  if (p->identity) {
    if (y != x) memcpy(y, x, (size_t)count * sizeof *y);
    return CB_OK;
  }
  uint64_t state = dropout_stream(l);
  float ratio = (float)p->ratio, scale = (float)(1.0 / (1.0 - p->ratio));
  for (int64_t i = 0; i < count; i++) {
    p->mask[i] = cb_rng_uniform(&state) >= ratio;
    y[i] = p->mask[i] ? x[i] * scale : 0.0f;
  }
  return CB_OK;
}

static cb_status dropout_backward(cb_layer *l) {
  dropout_priv *p = l->priv;
  const float *dy = l->out->grad;
  float *dx = l->in[0]->grad;
  /* Checked first: in place on a tensor without gradient (the net's
   * input), dy is NULL too and there is nothing to do. */
  if (!dx) return CB_OK;
  if (!dy) return cb_layer_no_out_grad(l);
  /* In place, dx and dy are one buffer: transformed where it lies. */
  bool add = l->accum[0] && l->out != l->in[0];
  int64_t count = cb_tensor_count(l->out);
  float scale = p->identity ? 1.0f : (float)(1.0 / (1.0 - p->ratio));
  for (int64_t i = 0; i < count; i++) {
    float keep = p->identity || p->mask[i] ? scale : 0.0f;
    cb_grad_put(dx, i, dy[i] * keep, add);
  }
  return CB_OK;
}

/* One multiply per element each way (and a random draw forward). */
static double dropout_flops(const cb_layer *l, cb_pass pass) {
  (void)pass;
  return (double)cb_tensor_count(l->out);
}

static void dropout_fini(cb_layer *l) {
  dropout_priv *p = l->priv;
  if (p) p->mask = cb_layer_drop_scratch(p->mask);
}

const cb_layer_ops cb_layer_dropout = {
    .kind = "dropout",
    .summary = "inverted dropout (identity at inference); in place after its input",
    .keys = dropout_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .inplace = true,
    .priv_size = sizeof(dropout_priv),
    .configure = dropout_configure,
    .reshape = dropout_reshape,
    .setup = dropout_setup,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .flops = dropout_flops,
    .fini = dropout_fini,
};
