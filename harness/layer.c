/* layer.c: the table of layer kinds, running a layer's kernel bindings,
 * and the seeded random numbers layers initialise from. */
#include "layer.h"

#include "choose.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const cb_layer_ops cb_layer_conv, cb_layer_fc, cb_layer_relu, cb_layer_pool, cb_layer_lrn,
    cb_layer_dropout, cb_layer_bn, cb_layer_concat, cb_layer_add, cb_layer_softmax;

static const cb_layer_ops *const kinds[] = {
    &cb_layer_conv, &cb_layer_fc,      &cb_layer_relu, &cb_layer_pool,
    &cb_layer_lrn,  &cb_layer_dropout, &cb_layer_bn,   &cb_layer_concat,
    &cb_layer_add,  &cb_layer_softmax, NULL,
};

const cb_layer_ops *const *cb_layer_kinds(void) {
  return kinds;
}

const cb_layer_ops *cb_layer_kind_find(const char *kind) {
  for (const cb_layer_ops *const *k = kinds; *k; k++)
    if (strcmp((*k)->kind, kind) == 0) return *k;
  return NULL;
}

_Static_assert(sizeof((cb_binding *)0)->source >= sizeof((cb_pick *)0)->source,
               "a binding holds the chooser's whole source string");

/* Copies the chooser's decision into a binding (its problem and plan stay). */
static void take_pick(cb_binding *bd, const cb_pick *k) {
  bd->ctx = k->ctx;
  bd->variant = k->variant;
  memcpy(bd->params, k->params, sizeof bd->params);
  bd->fallback = k->fallback;
  snprintf(bd->source, sizeof bd->source, "%s", k->source);
}

cb_status cb_bind_first(void *user, const cb_problem *p, cb_binding *bd) {
  const cb_bind_first_ctx *b = user;
  cb_pick k;
  cb_status st = cb_choose_fixed(b->ctx, b->ref, p, &k);
  if (st == CB_OK) take_pick(bd, &k);
  return st;
}

cb_status cb_bind_chosen(void *user, const cb_problem *p, cb_binding *bd) {
  cb_pick k;
  cb_status st = cb_choose(user, p, &k);
  if (st == CB_OK) take_pick(bd, &k);
  return st;
}

cb_status cb_layer_plan(cb_layer *l, cb_bind_fn bind, void *user, size_t *workspace) {
  cb_problem probs[3];
  l->nbind = l->ops->problems ? l->ops->problems(l, probs) : 0;
  for (int b = 0; b < l->nbind; b++) {
    cb_binding *bd = &l->bind[b];
    memset(bd, 0, sizeof *bd);
    bd->problem = probs[b];
    cb_status st = cb_problem_check(&bd->problem);
    if (st == CB_OK) st = bind(user, &bd->problem, bd);
    if (st != CB_OK) return cb_error_wrap(st, "layer %s: ", l->name);
    size_t ws = 0;
    if (bd->variant->workspace &&
        (st = bd->variant->workspace(bd->ctx, &bd->problem, bd->params, &ws)) != CB_OK)
      return cb_error_wrap(st, "layer %s: ", l->name);
    /* A device binding's workspace lives on its device (staging). */
    if (bd->ctx->backend->device != CB_DEVICE_HOST)
      bd->dev_ws = ws;
    else if (ws > *workspace)
      *workspace = ws;
    if (bd->variant->plan_create &&
        (st = bd->variant->plan_create(bd->ctx, &bd->problem, bd->params, &bd->plan)) != CB_OK)
      return cb_error_wrap(st, "layer %s: ", l->name);
    if (bd->variant->plan_info) bd->variant->plan_info(bd->plan, bd->impl, sizeof bd->impl);
  }
  return CB_OK;
}

void cb_layer_unplan(cb_layer *l) {
  for (int b = 0; b < l->nbind; b++) {
    cb_binding *bd = &l->bind[b];
    if (bd->plan && bd->variant && bd->variant->plan_destroy) bd->variant->plan_destroy(bd->plan);
    bd->plan = NULL;
    for (int i = 0; i < 4; i++)
      if (bd->dev[i]) bd->ctx->backend->free(bd->ctx, bd->dev[i]);
    memset(bd->dev, 0, sizeof bd->dev);
  }
}

/* Bytes of tensor i (0 src0, 1 src1, 2 dst) of a problem, 3 the workspace. */
static size_t staged_bytes(const cb_binding *bd, int i) {
  return i < 3 ? (size_t)cb_problem_elems(&bd->problem, i) * sizeof(float) : bd->dev_ws;
}

/* Runs a device binding on host tensors: device buffers on first use,
 * inputs uploaded, the run, a sync, dst downloaded. */
static cb_status run_staged(cb_binding *bd, const void *src0, const void *src1, void *dst) {
  cb_ctx *ctx = bd->ctx;
  const cb_backend *be = ctx->backend;
  cb_status st = CB_OK;
  for (int i = 0; i < 4 && st == CB_OK; i++)
    if (!bd->dev[i] && staged_bytes(bd, i) > 0)
      st = be->alloc(ctx, staged_bytes(bd, i), &bd->dev[i]);
  bool reads_dst = bd->problem.op == CB_OP_GEMM && bd->problem.gemm.beta != 0.0f;
  if (st == CB_OK) st = be->upload(ctx, bd->dev[0], src0, staged_bytes(bd, 0));
  if (st == CB_OK) st = be->upload(ctx, bd->dev[1], src1, staged_bytes(bd, 1));
  if (st == CB_OK && reads_dst) st = be->upload(ctx, bd->dev[2], dst, staged_bytes(bd, 2));
  cb_args args = {bd->dev[0], bd->dev[1], bd->dev[2]};
  if (st == CB_OK)
    st = bd->variant->run(ctx, &bd->problem, bd->params, bd->plan, &args, bd->dev[3]);
  if (st == CB_OK && be->sync) st = be->sync(ctx);
  if (st == CB_OK) st = be->download(ctx, dst, bd->dev[2], staged_bytes(bd, 2));
  return st;
}

cb_status cb_layer_run_binding(cb_layer *l, int b, const void *src0, const void *src1, void *dst) {
  cb_binding *bd = &l->bind[b];
  if (b >= l->nbind || !bd->variant)
    return cb_error(CB_ERR_INTERNAL, "layer %s: binding %d was never planned", l->name, b);
  cb_args args = {src0, src1, dst};
  cb_status st = bd->ctx->backend->device != CB_DEVICE_HOST
                     ? run_staged(bd, src0, src1, dst)
                     : bd->variant->run(bd->ctx, &bd->problem, bd->params, bd->plan, &args,
                                        l->exec ? l->exec->workspace : NULL);
  if (st != CB_OK)
    return cb_error_wrap(st, "layer %s: %s/%s: ", l->name, bd->ctx->backend->name,
                         bd->variant->name);
  return CB_OK;
}

/* splitmix64: a tiny, portable generator; the same seed gives the same
 * numbers on every machine, which keeps runs and tests reproducible. */
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t cb_rng_seed(uint64_t seed, const char *stream) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a over the stream name */
  for (const char *p = stream; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  uint64_t s = seed ^ h;
  return splitmix64(&s);
}

float cb_rng_uniform(uint64_t *state) {
  return (float)(splitmix64(state) >> 40) * (1.0f / 16777216.0f);
}

float cb_rng_normal(uint64_t *state) {
  /* Box-Muller; u1 is kept away from 0 so log() is finite. */
  float u1 = (cb_rng_uniform(state) * 16777215.0f + 1.0f) / 16777216.0f;
  float u2 = cb_rng_uniform(state);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}
