/* add.c: the elementwise sum of 2 or more inputs of one shape (residual
 * connections). Backward hands the output gradient to every input. */
#include "layer_util.h"

#include <string.h>

static const char *const add_keys[] = {NULL};

static cb_status add_configure(cb_layer *l, const cb_stmt *st) {
  (void)l;
  (void)st;
  return CB_OK;
}

static cb_status add_reshape(cb_layer *l) {
  const cb_tensor *a = l->in[0];
  if (l->nin < 2)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "needs at least 2 inputs, has %d", l->nin);
  for (int i = 1; i < l->nin; i++) {
    const cb_tensor *b = l->in[i];
    if (b->n != a->n || b->c != a->c || b->h != a->h || b->w != a->w) {
      char sa[64], sb[64];
      cb_tensor_shape_str(a, sa, sizeof sa);
      cb_tensor_shape_str(b, sb, sizeof sb);
      if (b->n != a->n)
        return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                             "input %s has batch %lld but input %s has batch %lld", b->name,
                             (long long)b->n, a->name, (long long)a->n);
      return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                           "input %s is %s but input %s is %s: add needs inputs of one shape",
                           b->name, sb, a->name, sa);
    }
  }
  l->out->n = a->n;
  l->out->c = a->c;
  l->out->h = a->h;
  l->out->w = a->w;
  l->nparams = 0;
  l->scratch_bytes = 0;
  return CB_OK;
}

static cb_status add_forward(cb_layer *l) {
  float *y = l->out->data;
  int64_t count = cb_tensor_count(l->out);
  /* Inputs are summed in order, so the result does not depend on the
   * machine; the out tensor is never one of the inputs. */
  memcpy(y, l->in[0]->data, (size_t)count * sizeof *y);
  for (int i = 1; i < l->nin; i++) cb_layer_add_into(y, l->in[i]->data, count);
  return CB_OK;
}

static cb_status add_backward(cb_layer *l) {
  const float *dy = l->out->grad;
  if (!dy) return cb_layer_no_out_grad(l);
  int64_t count = cb_tensor_count(l->out);
  for (int i = 0; i < l->nin; i++) {
    float *dx = l->in[i]->grad;
    if (!dx) continue;
    if (l->accum[i])
      cb_layer_add_into(dx, dy, count);
    else
      memcpy(dx, dy, (size_t)count * sizeof *dx);
  }
  return CB_OK;
}

/* One add per element per extra input forward; backward only copies. */
static double add_flops(const cb_layer *l, cb_pass pass) {
  if (pass == CB_PASS_BWD) return 0.0;
  return (double)(l->nin - 1) * (double)cb_tensor_count(l->out);
}

const cb_layer_ops cb_layer_add = {
    .kind = "add",
    .summary = "elementwise sum of 2 or more inputs of one shape",
    .keys = add_keys,
    .min_inputs = 2,
    .max_inputs = 8,
    .inplace = false,
    .priv_size = 0,
    .configure = add_configure,
    .reshape = add_reshape,
    .problems = NULL,
    .setup = NULL,
    .forward = add_forward,
    .backward = add_backward,
    .flops = add_flops,
    .fini = NULL,
};
