/* layer_util.c: helpers shared by the layer kinds (see layer_util.h). */
#include "layer_util.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

cb_status cb_layer_read_hw(const cb_stmt *st, const char *key, const char *key_h, const char *key_w,
                           int64_t def, int64_t min, int64_t max, int64_t *h, int64_t *w,
                           bool *given) {
  const cb_kv *kv = cb_stmt_find(st, key);
  const cb_kv *kv_h = cb_stmt_find(st, key_h);
  const cb_kv *kv_w = cb_stmt_find(st, key_w);
  if (given) *given = kv || kv_h || kv_w;
  if (kv && (kv_h || kv_w))
    return cb_stmt_error(CB_ERR_PARSE, st, kv_h ? kv_h : kv_w,
                         "%s= and %s= both given: use %s= alone, or %s= and %s=", key,
                         kv_h ? key_h : key_w, key, key_h, key_w);
  if (def < 0 && !kv && (!kv_h != !kv_w))
    return cb_stmt_error(CB_ERR_PARSE, st, kv_h ? kv_h : kv_w, "%s= needs %s= too",
                         kv_h ? key_h : key_w, kv_h ? key_w : key_h);
  int64_t base;
  cb_status s = CB_OK;
  /* The range check only applies to written values; a negative def is
   * the "required" marker and passes through unread. */
  if (kv) {
    if ((s = cb_stmt_int(st, key, def, min, max, &base)) != CB_OK) return s;
  } else {
    base = def;
  }
  if (kv_h) {
    if ((s = cb_stmt_int(st, key_h, base, min, max, h)) != CB_OK) return s;
  } else {
    *h = base;
  }
  if (kv_w) {
    if ((s = cb_stmt_int(st, key_w, base, min, max, w)) != CB_OK) return s;
  } else {
    *w = base;
  }
  return CB_OK;
}

void cb_layer_hw_str(int64_t h, int64_t w, char *buf, size_t len) {
  if (h == w)
    snprintf(buf, len, "%lld", (long long)h);
  else
    snprintf(buf, len, "%lldx%lld", (long long)h, (long long)w);
}

void cb_layer_param(cb_layer *l, int i, const char *suffix, int64_t n, int64_t c, int64_t h,
                    int64_t w, bool learnable) {
  cb_tensor *t = &l->params[i];
  /* Keep the suffix whole and shorten the layer name if both do not fit. */
  int keep = (int)sizeof t->name - 2 - (int)strlen(suffix);
  snprintf(t->name, sizeof t->name, "%.*s.%s", keep > 0 ? keep : 0, l->name, suffix);
  t->n = n;
  t->c = c;
  t->h = h;
  t->w = w;
  l->learnable[i] = learnable;
  if (l->nparams < i + 1) l->nparams = i + 1;
}

void cb_layer_init_normal(const cb_layer *l, cb_tensor *t, double sd) {
  uint64_t state = cb_rng_seed(l->exec ? l->exec->seed : 0, l->name);
  int64_t count = cb_tensor_count(t);
  for (int64_t i = 0; i < count; i++) t->data[i] = (float)(sd * cb_rng_normal(&state));
}

void cb_layer_fill(cb_tensor *t, float v) {
  int64_t count = cb_tensor_count(t);
  for (int64_t i = 0; i < count; i++) t->data[i] = v;
}

void cb_layer_add_into(float *dst, const float *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

int64_t cb_layer_bytes(int64_t count, int64_t elem_size) {
  int64_t b;
  if (count < 0 || !cb_mul_i64(count, elem_size, &b)) return -1;
  return b;
}

cb_status cb_layer_scratch(const cb_layer *l, int64_t bytes, void **out) {
  *out = NULL;
  if (bytes < 0 || (uint64_t)bytes > SIZE_MAX)
    return cb_error(CB_ERR_NOMEM, "layer %s: scratch size overflows", l->name);
  if (bytes == 0) return CB_OK;
  if (!(*out = cb_alloc((size_t)bytes)))
    return cb_error(CB_ERR_NOMEM, "layer %s: cannot allocate %lld scratch bytes", l->name,
                    (long long)bytes);
  return CB_OK;
}

void cb_layer_shape_like(cb_layer *l, const cb_tensor *t) {
  l->out->n = t->n;
  l->out->c = t->c;
  l->out->h = t->h;
  l->out->w = t->w;
}

cb_status cb_layer_set_scratch(cb_layer *l, int64_t count, int64_t elem_size, const char *what) {
  l->scratch_bytes = cb_layer_bytes(count, elem_size);
  if (l->scratch_bytes < 0)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "%s is too large", what);
  return CB_OK;
}

cb_status cb_layer_renew_scratch(const cb_layer *l, void *old, void **out) {
  cb_free(old);
  return cb_layer_scratch(l, l->scratch_bytes, out);
}

void *cb_layer_drop_scratch(void *buf) {
  cb_free(buf);
  return NULL;
}

cb_status cb_layer_check_inputs(const cb_layer *l, bool same_c, const char *rule) {
  const cb_tensor *a = l->in[0];
  if (l->nin < 2)
    return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "needs at least 2 inputs, has %d", l->nin);
  for (int i = 1; i < l->nin; i++) {
    const cb_tensor *b = l->in[i];
    if (b->n != a->n || (same_c && b->c != a->c) || b->h != a->h || b->w != a->w) {
      char sa[64], sb[64];
      cb_tensor_shape_str(a, sa, sizeof sa);
      cb_tensor_shape_str(b, sb, sizeof sb);
      if (b->n != a->n)
        return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL,
                             "input %s has batch %lld but input %s has batch %lld", b->name,
                             (long long)b->n, a->name, (long long)a->n);
      return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "input %s is %s but input %s is %s: %s",
                           b->name, sb, a->name, sa, rule);
    }
  }
  return CB_OK;
}

cb_status cb_layer_kernel_params(cb_layer *l, int64_t out, int64_t c, int64_t h, int64_t w,
                                 bool bias) {
  l->nparams = 0;
  cb_layer_param(l, 0, "weight", out, c, h, w, true);
  if (bias) cb_layer_param(l, 1, "bias", 1, out, 1, 1, true);
  return cb_layer_set_scratch(l, l->accum[0] ? cb_tensor_count(l->in[0]) : 0, sizeof(float),
                              "input");
}

cb_status cb_layer_kernel_setup(cb_layer *l, double fan_in, bool bias, float **dx_scratch) {
  cb_layer_init_normal(l, &l->params[0], sqrt(2.0 / fan_in));
  if (bias) cb_layer_fill(&l->params[1], 0.0f);
  for (int i = 0; i < 3; i++) l->sub_ms[i] = -1;
  *dx_scratch = cb_layer_drop_scratch(*dx_scratch);
  if (l->accum[0] && l->in[0]->grad) {
    void *buf;
    cb_status s = cb_layer_scratch(l, l->scratch_bytes, &buf);
    if (s != CB_OK) return s;
    *dx_scratch = buf;
  }
  return CB_OK;
}

double cb_layer_kernel_flops(const cb_layer *l, cb_pass pass, double one) {
  if (pass == CB_PASS_FWD) return one;
  return one * (l->in[0]->needs_grad ? 2.0 : 1.0);
}

cb_status cb_layer_no_out_grad(const cb_layer *l) {
  return cb_error(CB_ERR_INTERNAL, "layer %s: backward called without an output gradient", l->name);
}

cb_status cb_layer_backward_bindings(cb_layer *l, float *dx_scratch, const void *filter_src0,
                                     const void *filter_src1) {
  cb_tensor *x = l->in[0];
  cb_status s;
  l->sub_ms[0] = l->sub_ms[1] = l->sub_ms[2] = -1;
  if (x->grad) {
    float *dst = l->accum[0] ? dx_scratch : x->grad;
    if (!dst)
      return cb_error(CB_ERR_INTERNAL, "layer %s: accumulating without scratch (setup skipped?)",
                      l->name);
    uint64_t t0 = cb_now_ns();
    if ((s = cb_layer_run_binding(l, 1, l->out->grad, l->params[0].data, dst)) != CB_OK) return s;
    if (l->accum[0]) cb_layer_add_into(x->grad, dst, cb_tensor_count(x));
    l->sub_ms[0] = cb_ms(t0, cb_now_ns());
  }
  if (l->params[0].grad) {
    uint64_t t0 = cb_now_ns();
    if ((s = cb_layer_run_binding(l, 2, filter_src0, filter_src1, l->params[0].grad)) != CB_OK)
      return s;
    l->sub_ms[1] = cb_ms(t0, cb_now_ns());
  }
  return CB_OK;
}
