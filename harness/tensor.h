/* tensor.h: a 4-D fp32 tensor with an optional gradient, the blob that
 * flows between layers.
 *
 * Shapes are n x c x h x w (NCHW); a fully connected output is n x c x 1 x 1.
 * Sizes are int64 and every size computation is overflow-checked, so a huge
 * batch is an error, never a wrapped allocation. */
#ifndef CB_TENSOR_H
#define CB_TENSOR_H

#include "kernels.h"

#define CB_NAME_MAX 96

typedef struct cb_tensor {
  char name[CB_NAME_MAX];
  int64_t n, c, h, w;
  float *data;
  float *grad;     /* NULL when no gradient flows into this tensor */
  bool needs_grad; /* a gradient will flow in: known when the net is built, before
                    * grad is allocated (flop counts and plans read it) */
} cb_tensor;

/* n*c*h*w, or -1 when it overflows int64. */
int64_t cb_tensor_count(const cb_tensor *t);

/* Bytes of data (and of grad, if with_grad) for the tensor's shape; stores
 * them in *bytes. CB_ERR_NOMEM when the size overflows. */
cb_status cb_tensor_bytes(const cb_tensor *t, bool with_grad, int64_t *bytes);

/* Allocates data (zeroed) and, if with_grad, grad (zeroed), 64-byte aligned;
 * sets needs_grad to with_grad. */
cb_status cb_tensor_alloc(cb_tensor *t, bool with_grad);

/* Frees data and grad; the shape and name stay. */
void cb_tensor_free(cb_tensor *t);

/* Writes "CxHxW" (or "C" when h = w = 1) into buf. */
void cb_tensor_shape_str(const cb_tensor *t, char *buf, size_t len);

/* Aligned allocation used for every tensor and workspace (64 bytes, zeroed). */
void *cb_alloc(size_t bytes);
void cb_free(void *p);

/* Overflow-checked a*b for sizes; returns false on overflow. */
bool cb_mul_i64(int64_t a, int64_t b, int64_t *out);

#endif
