/* gradcheck.h: gradient checks of a built net, layer by layer, at the
 * net's real shapes.
 *
 * Finite differences (on a net built on ref). Each layer y = f(x, params)
 * is run alone on seeded inputs uniform in [-1, 1) with a fixed random r
 * of y's shape; L = sum(y * r) is accumulated in double, so dL/dy = r and
 * one backward with y's gradient = r gives the analytic dL/dx and
 * dL/dparams. Each checked element v is moved to the floats v + eps and
 * v - eps (the actual steps are used) and (L+ - L-) / (step+ - step-) is
 * compared with the analytic value:
 *   err = |analytic - numeric| / max(|analytic|, |numeric|, 0.1 * scale)
 * where scale is the largest analytic gradient of that tensor (tiny
 * gradients are held to an absolute error: their relative error is
 * rounding noise). Tensors up to `samples` elements are checked whole,
 * larger ones on `samples` seeded entries plus the one with the largest
 * gradient. Piecewise-linear layers (relu, max pool) have kinks: when
 * the one-sided differences (L+ - L) and (L - L-) disagree as well as the
 * central one, the step crossed a kink and the entry is skipped, not
 * failed (counted in `skipped`). Linear layers (conv, fc) use eps = 1e-2,
 * where the central difference is exact up to rounding; others 1e-3.
 *
 * Backends against ref. The same layer on a net built on another backend
 * gets the same inputs, parameters and output gradient; its output, input
 * gradient and parameter gradients are compared with ref's by
 *   max |got - ref| / max(1, max |ref|)    (as kernel validation does)
 * against the variant's tolerance plus an fp32 allowance for summation
 * order, 4e-6 * sqrt(L), L the op's reduction length. */
#ifndef CB_GRADCHECK_H
#define CB_GRADCHECK_H

#include <signal.h>

#include "net.h"
#include "records.h"

#define CB_GRADCHECK_TOL 1e-2 /* finite differences: see test_grad.c for the derivation */

/* cb_grad_result, one comparison, is a grad_checks row (records.h); its
 * layer name must hold any layer's. */
_Static_assert(CB_RECORD_NAME_MAX == CB_NAME_MAX, "records.h: layer name size");

typedef struct cb_gradcheck_opts {
  int samples;   /* entries checked per tensor when it is larger (>= 1) */
  uint64_t seed; /* inputs, r and the sampled entries */
  /* Called after each analytic backward (finite differences: on the ref
   * net; backends: on the backend's net) with the layer whose gradients
   * are about to be compared: lets a test plant a wrong gradient. NULL
   * in the product. */
  void (*after_backward)(void *user, cb_layer *l);
  void *user;
} cb_gradcheck_opts;

/* Finite differences for layer i of net (built on ref with input_grad,
 * so every input has a gradient). Writes up to 2 results (fd_input when
 * an input has a gradient, fd_weights when the layer has learnable
 * parameters) and their count. */
cb_status cb_gradcheck_fd(cb_net *net, int i, const cb_gradcheck_opts *o, cb_grad_result out[2],
                          int *nout);

/* Layer i of net (a backend) against layer i of ref (the same netdef,
 * batch and seed, on ref). Writes up to 3 results (fwd; bwd_data when
 * the input has a gradient; dweights when there are parameters). Layers
 * without kernel bindings run the same code on every backend and give no
 * results. */
cb_status cb_gradcheck_backend(cb_net *ref, cb_net *net, int i, const cb_gradcheck_opts *o,
                               cb_grad_result out[3], int *nout);

#endif
