/* tensor.c: allocation and size arithmetic for cb_tensor. */
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cb_mul_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

int64_t cb_tensor_count(const cb_tensor *t) {
  int64_t x;
  if (!cb_mul_i64(t->n, t->c, &x) || !cb_mul_i64(x, t->h, &x) || !cb_mul_i64(x, t->w, &x))
    return -1;
  return x;
}

cb_status cb_tensor_bytes(const cb_tensor *t, bool with_grad, int64_t *bytes) {
  int64_t count = cb_tensor_count(t), b = 0;
  if (count < 0 || !cb_mul_i64(count, (int64_t)sizeof(float) * (with_grad ? 2 : 1), &b))
    return cb_error(CB_ERR_NOMEM, "tensor %s of %lldx%lldx%lldx%lld elements is too large", t->name,
                    (long long)t->n, (long long)t->c, (long long)t->h, (long long)t->w);
  *bytes = b;
  return CB_OK;
}

void *cb_alloc(size_t bytes) {
  size_t rounded = (bytes + 63) & ~(size_t)63;
  if (rounded < bytes) return NULL;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (p) memset(p, 0, rounded ? rounded : 64);
  return p;
}

void cb_free(void *p) {
  free(p);
}

cb_status cb_tensor_alloc(cb_tensor *t, bool with_grad) {
  int64_t bytes = 0;
  cb_status st = cb_tensor_bytes(t, false, &bytes);
  if (st != CB_OK) return st;
  t->needs_grad = with_grad;
  t->data = cb_alloc((size_t)bytes);
  t->grad = with_grad ? cb_alloc((size_t)bytes) : NULL;
  if (!t->data || (with_grad && !t->grad)) {
    cb_tensor_free(t);
    return cb_error(CB_ERR_NOMEM, "tensor %s: cannot allocate %lld bytes", t->name,
                    (long long)bytes);
  }
  return CB_OK;
}

void cb_tensor_free(cb_tensor *t) {
  cb_free(t->data);
  cb_free(t->grad);
  t->data = t->grad = NULL;
}

void cb_tensor_shape_str(const cb_tensor *t, char *buf, size_t len) {
  if (t->h == 1 && t->w == 1)
    snprintf(buf, len, "%lld", (long long)t->c);
  else
    snprintf(buf, len, "%lldx%lldx%lld", (long long)t->c, (long long)t->h, (long long)t->w);
}
