/* gradcheck.c: finite-difference gradient checks on ref and backend
 * comparisons against ref, one layer of a built net at a time (see
 * gradcheck.h for the measures and thresholds). */
#include "gradcheck.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A layer's state while it is checked: its inputs' working values (the
 * ones perturbed), copied into the input tensors before every forward so
 * that an in-place layer, which overwrites its input, starts afresh. */
typedef struct probe {
  cb_layer *l;
  int nin;                      /* distinct input tensors */
  cb_tensor *in[CB_MAX_INPUTS]; /* distinct */
  float *x[CB_MAX_INPUTS];      /* working values */
  float *r;                     /* the output's weights in L */
  double base;                  /* L at the unperturbed point */
} probe;

static void probe_free(probe *p) {
  for (int j = 0; j < p->nin; j++) free(p->x[j]);
  free(p->r);
  memset(p, 0, sizeof *p);
}

static void fill_uniform(float *x, int64_t n, uint64_t seed, const char *stream) {
  uint64_t s = cb_rng_seed(seed, stream);
  for (int64_t i = 0; i < n; i++) x[i] = 2.0f * cb_rng_uniform(&s) - 1.0f;
}

/* Seeded inputs and r for layer i; the inputs are written into the tensors. */
static cb_status probe_init(probe *p, cb_net *net, int i, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->l = &net->layers[i];
  for (int j = 0; j < p->l->nin; j++) {
    bool dup = false;
    for (int k = 0; k < p->nin; k++) dup |= p->in[k] == p->l->in[j];
    if (dup) continue;
    cb_tensor *t = p->l->in[j];
    int64_t n = cb_tensor_count(t);
    p->in[p->nin] = t;
    if (!(p->x[p->nin] = malloc((size_t)n * sizeof(float)))) goto nomem;
    char stream[64];
    snprintf(stream, sizeof stream, "gradcheck-input-%d", p->nin);
    fill_uniform(p->x[p->nin], n, seed, stream);
    p->nin++;
  }
  int64_t n = cb_tensor_count(p->l->out);
  if (!(p->r = malloc((size_t)n * sizeof(float)))) goto nomem;
  fill_uniform(p->r, n, seed, "gradcheck-r");
  return CB_OK;
nomem:
  probe_free(p);
  return cb_error(CB_ERR_NOMEM, "layer %s: out of memory for the gradient check",
                  net->layers[i].name);
}

/* Forward from the working inputs; L = sum(y * r) in double. */
static cb_status probe_loss(probe *p, double *L) {
  for (int j = 0; j < p->nin; j++)
    memcpy(p->in[j]->data, p->x[j], (size_t)cb_tensor_count(p->in[j]) * sizeof(float));
  cb_status st = p->l->ops->forward(p->l);
  if (st != CB_OK) return st;
  double sum = 0;
  int64_t n = cb_tensor_count(p->l->out);
  for (int64_t k = 0; k < n; k++) sum += (double)p->l->out->data[k] * p->r[k];
  *L = sum;
  return CB_OK;
}

/* Forward at the working point, then backward with the output's gradient
 * r into zeroed input and parameter gradients. */
static cb_status probe_backward(probe *p) {
  cb_status st = probe_loss(p, &p->base);
  if (st != CB_OK) return st;
  cb_layer *l = p->l;
  for (int j = 0; j < p->nin; j++)
    if (p->in[j]->grad)
      memset(p->in[j]->grad, 0, (size_t)cb_tensor_count(p->in[j]) * sizeof(float));
  for (int k = 0; k < l->nparams; k++)
    memset(l->params[k].grad, 0, (size_t)cb_tensor_count(&l->params[k]) * sizeof(float));
  /* After the zeroing: an in-place layer's output gradient is its input's. */
  memcpy(l->out->grad, p->r, (size_t)cb_tensor_count(l->out) * sizeof(float));
  return l->ops->backward(l);
}

/* Layers whose output is linear in each input and parameter: the central
 * difference is exact but for rounding, so a larger step costs nothing. */
static bool is_linear(const cb_layer *l) {
  return l->nbind > 0;
}

/* Entries to check of a tensor of n elements with analytic gradient ga:
 * all, or `samples` seeded ones plus the largest. Returns the count. */
static int64_t pick(const float *ga, int64_t n, int samples, uint64_t seed, int64_t *idx) {
  if (n <= samples) {
    for (int64_t k = 0; k < n; k++) idx[k] = k;
    return n;
  }
  uint64_t s = cb_rng_seed(seed ^ (uint64_t)n, "gradcheck-sample");
  int64_t m = 0, best = 0;
  for (int64_t k = 1; k < n; k++)
    if (fabsf(ga[k]) > fabsf(ga[best])) best = k;
  idx[m++] = best;
  for (int k = 0; k < samples; k++) {
    int64_t e = (int64_t)((double)cb_rng_uniform(&s) * (double)n);
    idx[m++] = e < n ? e : n - 1;
  }
  return m;
}

/* Checks tensor values x (n elements, perturbed in place and restored)
 * against analytic gradient ga; folds the worst errors into *res. */
static cb_status check_values(probe *p, float *x, const float *ga, int64_t n, int samples,
                              uint64_t seed, double eps, cb_grad_result *res) {
  int64_t *idx = malloc(((size_t)samples + 1) * sizeof *idx);
  if (!idx) return cb_error(CB_ERR_NOMEM, "out of memory for the gradient check");
  int64_t m = pick(ga, n, samples, seed, idx);
  double scale = 0;
  for (int64_t k = 0; k < m; k++) scale = fmax(scale, fabs(ga[idx[k]]));
  cb_status st = CB_OK;
  for (int64_t k = 0; k < m && st == CB_OK; k++) {
    int64_t i = idx[k];
    float v = x[i], hi = (float)(v + eps), lo = (float)(v - eps);
    double lp = 0, lm = 0;
    x[i] = hi;
    st = probe_loss(p, &lp);
    x[i] = lo;
    if (st == CB_OK) st = probe_loss(p, &lm);
    x[i] = v;
    if (st != CB_OK) break;
    double num = (lp - lm) / ((double)hi - (double)lo);
    double floor_ = 0.1 * scale;
    double diff = fabs(num - ga[i]);
    double denom = fmax(fmax(fabs(num), fabs(ga[i])), floor_);
    double rel = denom > 0 ? diff / denom : diff;
    if (rel > CB_GRADCHECK_TOL) {
      /* A kink between the steps: the two one-sided slopes disagree. */
      double up = (lp - p->base) / ((double)hi - v), down = (p->base - lm) / (v - (double)lo);
      double kink = fabs(up - down) / fmax(fmax(fabs(up), fabs(down)), fmax(floor_, 1e-30));
      if (kink > CB_GRADCHECK_TOL) {
        res->skipped++;
        continue;
      }
    }
    res->max_rel = fmax(res->max_rel, rel);
    res->max_abs = fmax(res->max_abs, diff);
    res->checked++;
  }
  free(idx);
  return st;
}

static void result_init(cb_grad_result *r, const cb_layer *l, const char *backend,
                        const char *variant, const char *what, double threshold) {
  memset(r, 0, sizeof *r);
  snprintf(r->layer, sizeof r->layer, "%s", l->name);
  snprintf(r->kind, sizeof r->kind, "%s", l->ops->kind);
  snprintf(r->backend, sizeof r->backend, "%s", backend);
  snprintf(r->variant, sizeof r->variant, "%s", variant);
  snprintf(r->what, sizeof r->what, "%s", what);
  r->threshold = threshold;
}

/* Copies of n floats, or NULL. */
static float *dup_floats(const float *x, int64_t n) {
  float *c = malloc((size_t)(n ? n : 1) * sizeof *c);
  if (c && n) memcpy(c, x, (size_t)n * sizeof *c);
  return c;
}

cb_status cb_gradcheck_fd(cb_net *net, int i, const cb_gradcheck_opts *o, cb_grad_result out[2],
                          int *nout) {
  *nout = 0;
  cb_layer *l = &net->layers[i];
  probe p;
  cb_status st = probe_init(&p, net, i, o->seed);
  if (st != CB_OK) return st;
  if ((st = probe_backward(&p)) != CB_OK) {
    probe_free(&p);
    return st;
  }
  if (o->after_backward) o->after_backward(o->user, l);
  double eps = is_linear(l) ? 1e-2 : 1e-3;
  /* The analytic gradients, kept: every perturbed forward may rewrite the
   * tensors' grad buffers of an in-place layer. */
  float *gin[CB_MAX_INPUTS] = {0}, *gpar[CB_MAX_LAYER_PARAMS] = {0};
  bool any_in = false, any_par = false;
  for (int j = 0; j < p.nin && st == CB_OK; j++)
    if (p.in[j]->grad) {
      any_in = true;
      if (!(gin[j] = dup_floats(p.in[j]->grad, cb_tensor_count(p.in[j]))))
        st = cb_error(CB_ERR_NOMEM, "out of memory for the gradient check");
    }
  for (int k = 0; k < l->nparams && st == CB_OK; k++)
    if (l->learnable[k]) {
      any_par = true;
      if (!(gpar[k] = dup_floats(l->params[k].grad, cb_tensor_count(&l->params[k]))))
        st = cb_error(CB_ERR_NOMEM, "out of memory for the gradient check");
    }
  if (st == CB_OK && any_in) {
    cb_grad_result *r = &out[(*nout)++];
    result_init(r, l, "ref", "", "fd_input", CB_GRADCHECK_TOL);
    for (int j = 0; j < p.nin && st == CB_OK; j++)
      if (gin[j])
        st = check_values(&p, p.x[j], gin[j], cb_tensor_count(p.in[j]), o->samples,
                          o->seed + (uint64_t)j, eps, r);
    r->pass = r->max_rel <= r->threshold;
  }
  if (st == CB_OK && any_par) {
    cb_grad_result *r = &out[(*nout)++];
    result_init(r, l, "ref", "", "fd_weights", CB_GRADCHECK_TOL);
    for (int k = 0; k < l->nparams && st == CB_OK; k++)
      if (gpar[k])
        st = check_values(&p, l->params[k].data, gpar[k], cb_tensor_count(&l->params[k]),
                          o->samples, o->seed + 100 + (uint64_t)k, eps, r);
    r->pass = r->max_rel <= r->threshold;
  }
  for (int j = 0; j < CB_MAX_INPUTS; j++) free(gin[j]);
  for (int k = 0; k < CB_MAX_LAYER_PARAMS; k++) free(gpar[k]);
  probe_free(&p);
  return st;
}

/* ---- backends against ref -------------------------------------------------- */

/* max |got - want| and max |got - want| / max(1, max |want|); NaN is infinite. */
static void compare(const float *got, const float *want, int64_t n, cb_grad_result *r) {
  double worst = 0, top = 1;
  for (int64_t k = 0; k < n; k++) {
    double d = fabs((double)got[k] - (double)want[k]);
    if (!(d == d)) d = INFINITY;
    worst = fmax(worst, d);
    top = fmax(top, fabs((double)want[k]));
  }
  r->max_abs = fmax(r->max_abs, worst);
  r->max_rel = fmax(r->max_rel, worst / top);
  r->checked += (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* The threshold for binding b of l compared on n output elements: the
 * variant's tolerance plus an fp32 allowance for summation order. */
static double threshold(const cb_binding *bd, int64_t n) {
  double len = n > 0 ? cb_problem_flops(&bd->problem) / (2.0 * (double)n) : 1.0;
  return bd->variant->tolerance + 4e-6 * sqrt(fmax(len, 1.0));
}

static void binding_name(const cb_binding *bd, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s%s", bd->ctx->backend->name, bd->variant->name,
           bd->fallback ? " (fallback)" : "");
}

cb_status cb_gradcheck_backend(cb_net *ref, cb_net *net, int i, const cb_gradcheck_opts *o,
                               cb_grad_result out[3], int *nout) {
  *nout = 0;
  cb_layer *a = &ref->layers[i], *b = &net->layers[i];
  if (b->nbind == 0) return CB_OK;
  if (strcmp(a->name, b->name) != 0 || a->nparams != b->nparams)
    return cb_error(CB_ERR_INTERNAL, "layer %d: the two nets differ (%s, %s)", i, a->name, b->name);
  probe pa, pb;
  cb_status st = probe_init(&pa, ref, i, o->seed);
  if (st != CB_OK) return st;
  if ((st = probe_init(&pb, net, i, o->seed)) != CB_OK) {
    probe_free(&pa);
    return st;
  }
  for (int k = 0; k < a->nparams; k++)
    memcpy(b->params[k].data, a->params[k].data,
           (size_t)cb_tensor_count(&a->params[k]) * sizeof(float));
  if ((st = probe_backward(&pa)) == CB_OK) st = probe_backward(&pb);
  if (st == CB_OK && o->after_backward) o->after_backward(o->user, b);
  const char *backend = net->backend ? net->backend->name : "tuned";
  char name[160];
  if (st == CB_OK) {
    cb_grad_result *r = &out[(*nout)++];
    int64_t n = cb_tensor_count(a->out);
    binding_name(&b->bind[0], name, sizeof name);
    result_init(r, b, backend, name, "fwd", threshold(&b->bind[0], n));
    compare(b->out->data, a->out->data, n, r);
    r->pass = r->max_rel <= r->threshold;
  }
  if (st == CB_OK && pa.nin && pa.in[0]->grad && b->nbind > 1) {
    cb_grad_result *r = &out[(*nout)++];
    binding_name(&b->bind[1], name, sizeof name);
    result_init(r, b, backend, name, "bwd_data", 0);
    for (int j = 0; j < pa.nin; j++) {
      int64_t n = cb_tensor_count(pa.in[j]);
      r->threshold = fmax(r->threshold, threshold(&b->bind[1], n));
      compare(pb.in[j]->grad, pa.in[j]->grad, n, r);
    }
    r->pass = r->max_rel <= r->threshold;
  }
  if (st == CB_OK && a->nparams > 0) {
    cb_grad_result *r = &out[(*nout)++];
    const cb_binding *bd = &b->bind[b->nbind > 2 ? 2 : b->nbind - 1];
    binding_name(bd, name, sizeof name);
    /* A bias gradient sums over the same batch and pixels as the weight
     * gradient: the weights' reduction length serves both. */
    result_init(r, b, backend, name, "dweights", threshold(bd, cb_tensor_count(&a->params[0])));
    for (int k = 0; k < a->nparams; k++)
      if (a->learnable[k])
        compare(b->params[k].grad, a->params[k].grad, cb_tensor_count(&a->params[k]), r);
    r->pass = r->max_rel <= r->threshold;
  }
  probe_free(&pa);
  probe_free(&pb);
  return st;
}
