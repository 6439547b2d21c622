/* layer_util.h: helpers the layer kinds in harness/layers/ share. Not part
 * of the layer interface (layer.h): reading keys that come as one value or
 * a pair (k, or kh and kw), naming and initialising parameters, and storing
 * gradients by the add-or-overwrite rule of layer.h. */
#ifndef CB_LAYER_UTIL_H
#define CB_LAYER_UTIL_H

#include "layer.h"

/* Largest value accepted for a size key (channels, kernel, stride, pad):
 * anything bigger is a typo, and keeping sizes below 2^31 keeps every
 * product of two of them far from int64 overflow. */
#define CB_LAYER_DIM_MAX 2147483647LL

/* Loops over independent outputs run on OpenMP threads when the work is
 * at least this many elements; below it, starting threads costs more than
 * it saves. Every parallel loop writes disjoint outputs and accumulates
 * each sum in one thread, so results do not depend on the thread count. */
#define CB_LAYER_PAR_MIN 65536

/* Threads a layer's own loops may use: the net's --threads (1 when the
 * layer runs outside a net). */
static inline int cb_layer_threads(const cb_layer *l) {
  return l->exec && l->exec->threads > 0 ? l->exec->threads : 1;
}

/* Reads a key given either once for both axes (key=3) or per axis
 * (key_h=3 key_w=5). Each axis defaults to key's value, and key to def;
 * def < 0 means "no default": then an axis given alone without the other
 * is an error, and when nothing is given *h = *w = def. Values outside
 * [min, max], or key together with key_h / key_w, are CB_ERR_PARSE.
 * *given (may be NULL) says whether any of the three keys was written. */
cb_status cb_layer_read_hw(const cb_stmt *st, const char *key, const char *key_h, const char *key_w,
                           int64_t def, int64_t min, int64_t max, int64_t *h, int64_t *w,
                           bool *given);

/* Writes "3" when h == w, else "3x5": how a kernel, stride or pad pair
 * reads in a message. */
void cb_layer_hw_str(int64_t h, int64_t w, char *buf, size_t len);

/* Sets parameter i of l: its name ("LAYER.suffix"), shape and whether the
 * solver updates it. Raises l->nparams to i + 1. */
void cb_layer_param(cb_layer *l, int i, const char *suffix, int64_t n, int64_t c, int64_t h,
                    int64_t w, bool learnable);

/* Fills t->data with normal values of standard deviation sd from the
 * layer's own stream, cb_rng_seed(exec->seed, l->name): the same seed and
 * layer name always give the same values. */
void cb_layer_init_normal(const cb_layer *l, cb_tensor *t, double sd);

/* Fills t->data with v. */
void cb_layer_fill(cb_tensor *t, float v);

/* Stores a gradient element by layer.h's rule: add when accumulating into
 * a gradient a later layer already wrote, overwrite otherwise. */
static inline void cb_grad_put(float *g, int64_t i, float v, bool add) {
  g[i] = add ? g[i] + v : v;
}

/* dst[i] += src[i] for i < n. */
void cb_layer_add_into(float *dst, const float *src, int64_t n);

/* Allocates a zeroed private buffer of the given bytes into *out (NULL
 * when bytes is 0); CB_ERR_NOMEM naming the layer when it cannot, or when
 * bytes is negative (an overflowed size). */
cb_status cb_layer_scratch(const cb_layer *l, int64_t bytes, void **out);

/* fini's usual body, p->buf = cb_layer_drop_scratch(p->buf): frees a
 * private buffer and returns NULL, so the pointer left behind never
 * dangles (a later setup's cb_layer_renew_scratch frees it again). */
void *cb_layer_drop_scratch(void *buf);

/* bytes of count elements of elem_size each, or -1 on overflow. */
int64_t cb_layer_bytes(int64_t count, int64_t elem_size);

/* The kernel half of a conv or fc backward: binding 1 (bwd_data: dy and
 * the weights) into in[0]->grad when it exists, through dx_scratch when
 * accum[0] asks to add; binding 2 (bwd_filter, sources as given) into
 * params[0].grad. Times each into sub_ms[0] and sub_ms[1] (-1 when not run). */
cb_status cb_layer_backward_bindings(cb_layer *l, float *dx_scratch, const void *filter_src0,
                                     const void *filter_src1);

/* Gives l's output the shape of t (nothing to do in place, out == t). */
void cb_layer_shape_like(cb_layer *l, const cb_tensor *t);

/* Sets l->scratch_bytes to count elements of elem_size each; on overflow
 * CB_ERR_INVALID "<what> is too large" at the layer's statement. */
cb_status cb_layer_set_scratch(cb_layer *l, int64_t count, int64_t elem_size, const char *what);

/* setup's scratch: frees old (what an earlier setup made) and allocates
 * l->scratch_bytes into *out as cb_layer_scratch does. */
cb_status cb_layer_renew_scratch(const cb_layer *l, void *old, void **out);

/* Checks that a layer joining inputs has at least 2 and that each has
 * in[0]'s batch, height and width (and channels when same_c); a mismatch
 * names both inputs and ends with the layer's rule, e.g. "add needs
 * inputs of one shape". */
cb_status cb_layer_check_inputs(const cb_layer *l, bool same_c, const char *rule);

/* ---- conv and fc: the layers whose kernels come from the chooser ---- */

/* reshape's parameters: weight [out, c, h, w], bias [1, out, 1, 1] when
 * asked, and the bwd_data scratch (the input's size) when accum[0] adds. */
cb_status cb_layer_kernel_params(cb_layer *l, int64_t out, int64_t c, int64_t h, int64_t w,
                                 bool bias);

/* setup: He (Kaiming) normal weights for fan_in inputs per output, a zero
 * bias, sub-timings unset, and a fresh *dx_scratch when accum[0] adds into
 * an input gradient (freed and NULL otherwise). */
cb_status cb_layer_kernel_setup(cb_layer *l, double fan_in, bool bias, float **dx_scratch);

/* flops: one pass's count for forward; backward runs bwd_filter, and
 * bwd_data too when the input wants a gradient. */
double cb_layer_kernel_flops(const cb_layer *l, cb_pass pass, double one);

/* The error every layer reports when backward runs without an output
 * gradient (a net bug, never a user error). */
cb_status cb_layer_no_out_grad(const cb_layer *l);

#endif
