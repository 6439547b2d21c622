/* concat.c: joins its inputs along channels. Inputs share n, h and w;
 * the output has the sum of their channels, input 0's first, so per
 * sample the output is [in0's C0 planes, in1's C1 planes, ...]. */
#include "layer_util.h"

#include <string.h>

static const char *const concat_keys[] = {NULL};

static cb_status concat_reshape(cb_layer *l) {
  const cb_tensor *a = l->in[0];
  cb_status s = cb_layer_check_inputs(l, false, "concat needs the same height and width");
  if (s != CB_OK) return s;
  int64_t c = 0;
  for (int i = 0; i < l->nin; i++)
    if (__builtin_add_overflow(c, l->in[i]->c, &c))
      return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "too many channels");
  l->out->n = a->n;
  l->out->c = c;
  l->out->h = a->h;
  l->out->w = a->w;
  l->nparams = 0;
  l->scratch_bytes = 0;
  return CB_OK;
}

static cb_status concat_forward(cb_layer *l) {
  cb_tensor *y = l->out;
  int64_t plane = y->h * y->w;
  for (int64_t n = 0; n < y->n; n++) {
    float *dst = y->data + n * y->c * plane;
    for (int i = 0; i < l->nin; i++) {
      const cb_tensor *x = l->in[i];
      int64_t block = x->c * plane;
      memcpy(dst, x->data + n * block, (size_t)block * sizeof *dst);
      dst += block;
    }
  }
  return CB_OK;
}

static cb_status concat_backward(cb_layer *l) {
  const cb_tensor *y = l->out;
  if (!y->grad) return cb_layer_no_out_grad(l);
  int64_t plane = y->h * y->w;
  for (int64_t n = 0; n < y->n; n++) {
    const float *src = y->grad + n * y->c * plane;
    for (int i = 0; i < l->nin; i++) {
      cb_tensor *x = l->in[i];
      int64_t block = x->c * plane;
      if (x->grad) {
        float *dst = x->grad + n * block;
        if (l->accum[i])
          cb_layer_add_into(dst, src, block);
        else
          memcpy(dst, src, (size_t)block * sizeof *dst);
      }
      src += block;
    }
  }
  return CB_OK;
}

/* Copies only. */
static double concat_flops(const cb_layer *l, cb_pass pass) {
  (void)l;
  (void)pass;
  return 0.0;
}

const cb_layer_ops cb_layer_concat = {
    .kind = "concat",
    .summary = "concatenates 2 or more inputs along channels",
    .keys = concat_keys,
    .min_inputs = 2,
    .max_inputs = 8,
    .reshape = concat_reshape,
    .forward = concat_forward,
    .backward = concat_backward,
    .flops = concat_flops,
};
