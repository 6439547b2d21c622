/* add.c: the elementwise sum of 2 or more inputs of one shape (residual
 * connections). Backward hands the output gradient to every input. */
#include "layer_util.h"

#include <string.h>

static const char *const add_keys[] = {NULL};

static cb_status add_reshape(cb_layer *l) {
  cb_status s = cb_layer_check_inputs(l, true, "add needs inputs of one shape");
  if (s != CB_OK) return s;
  cb_layer_shape_like(l, l->in[0]);
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
    .reshape = add_reshape,
    .forward = add_forward,
    .backward = add_backward,
    .flops = add_flops,
};
