/* solver.c: parameter updates for a built net.
 *
 * SGD follows Caffe: the weight decay is added to the gradient and the
 * learning rate goes into the history,
 *   v = momentum v + lr (g + wd w);  w -= v
 * Adam is Kingma and Ba's, with the same L2 term added to the gradient:
 *   g' = g + wd w;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
 *   w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Only learnable parameters move (batch-norm running statistics do not).
 * Updates are computed in double per element and stored as float. */
#include "solver.h"

#include <math.h>
#include <stdlib.h>

/* One learnable parameter and its history (one or two moments). */
typedef struct cb_solver_slot {
  cb_tensor *param;
  float *m; /* SGD: the velocity v; Adam: the first moment */
  float *v; /* Adam: the second moment; NULL for SGD */
} cb_solver_slot;

struct cb_solver {
  cb_solver_cfg cfg;
  int nslots;
  cb_solver_slot *slots;
  int64_t t; /* updates done, for Adam's bias correction */
};

static const char *const solver_types[] = {"sgd", "adam", NULL};
static const char *const lr_policies[] = {"fixed", "step", "inv", "cosine", NULL};

const char *cb_lr_policy_name(cb_lr_policy p) {
  return p >= CB_LR_FIXED && p <= CB_LR_COSINE ? lr_policies[p] : "?";
}

/* Reads key into *out within [min, max], and refuses the bound itself when
 * it is excluded (min_open / max_open): lr = 0 or momentum = 1 are
 * mistakes, not settings. */
static cb_status read_open(const cb_stmt *st, const char *key, double def, double min,
                           bool min_open, double max, bool max_open, double *out) {
  cb_status s = cb_stmt_float(st, key, def, min, max, out);
  if (s != CB_OK) return s;
  if ((min_open && *out <= min) || (max_open && *out >= max))
    return cb_stmt_error(CB_ERR_PARSE, st, cb_stmt_find(st, key), "%s=%g: must be %s %g and %s %g",
                         key, *out, min_open ? "above" : "at least", min,
                         max_open ? "below" : "at most", max);
  return CB_OK;
}

cb_status cb_solver_cfg_read(const cb_stmt *st, cb_solver_cfg *cfg) {
  cb_solver_cfg d = {
      .type = CB_SOLVER_SGD,
      .lr = 0.01,
      .momentum = 0.9,
      .weight_decay = 5e-4,
      .beta1 = 0.9,
      .beta2 = 0.999,
      .eps = 1e-8,
      .policy = CB_LR_FIXED,
      .gamma = 0.1,
      .step = 1000,
      .power = 0.75,
  };
  *cfg = d;
  if (!st) return CB_OK;
  int type, policy;
  cb_status s;
  if ((s = cb_stmt_enum(st, "type", solver_types, CB_SOLVER_SGD, &type)) != CB_OK ||
      (s = cb_stmt_enum(st, "policy", lr_policies, CB_LR_FIXED, &policy)) != CB_OK ||
      (s = read_open(st, "gamma", d.gamma, 0.0, true, 1e6, false, &cfg->gamma)) != CB_OK ||
      (s = cb_stmt_int(st, "step", d.step, 1, INT64_MAX, &cfg->step)) != CB_OK ||
      (s = read_open(st, "power", d.power, 0.0, false, 100.0, false, &cfg->power)) != CB_OK ||
      (s = read_open(st, "lr", d.lr, 0.0, true, 10.0, false, &cfg->lr)) != CB_OK ||
      (s = read_open(st, "momentum", d.momentum, 0.0, false, 1.0, true, &cfg->momentum)) != CB_OK ||
      (s = read_open(st, "weight_decay", d.weight_decay, 0.0, false, 1.0, false,
                     &cfg->weight_decay)) != CB_OK ||
      (s = read_open(st, "beta1", d.beta1, 0.0, false, 1.0, true, &cfg->beta1)) != CB_OK ||
      (s = read_open(st, "beta2", d.beta2, 0.0, false, 1.0, true, &cfg->beta2)) != CB_OK ||
      (s = read_open(st, "eps", d.eps, 0.0, true, 1.0, false, &cfg->eps)) != CB_OK)
    return s;
  cfg->type = (cb_solver_type)type;
  cfg->policy = (cb_lr_policy)policy;
  return CB_OK;
}

double cb_solver_lr(const cb_solver_cfg *cfg, int64_t it, int64_t max_it) {
  if (it < 0) it = 0;
  switch (cfg->policy) {
  case CB_LR_STEP:
    return cfg->lr * pow(cfg->gamma, (double)(it / cfg->step));
  case CB_LR_INV:
    return cfg->lr * pow(1.0 + cfg->gamma * (double)it, -cfg->power);
  case CB_LR_COSINE: {
    double t = max_it > 1 ? (double)(it < max_it ? it : max_it) / (double)max_it : 0.0;
    return cfg->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * t));
  }
  default:
    return cfg->lr;
  }
}

cb_status cb_solver_create(cb_net *net, const cb_solver_cfg *cfg, cb_solver **out) {
  *out = NULL;
  cb_solver *s = calloc(1, sizeof *s);
  if (!s) return cb_error(CB_ERR_NOMEM, "solver: out of memory");
  s->cfg = *cfg;
  int total = 0;
  for (int i = 0; i < net->nlayers; i++)
    for (int j = 0; j < net->layers[i].nparams; j++) total += net->layers[i].learnable[j];
  s->slots = calloc(total ? (size_t)total : 1, sizeof *s->slots);
  if (!s->slots) {
    cb_solver_free(s);
    return cb_error(CB_ERR_NOMEM, "solver: out of memory");
  }
  for (int i = 0; i < net->nlayers; i++)
    for (int j = 0; j < net->layers[i].nparams; j++) {
      if (!net->layers[i].learnable[j]) continue;
      cb_solver_slot *slot = &s->slots[s->nslots++];
      slot->param = &net->layers[i].params[j];
      int64_t bytes;
      cb_status st = cb_tensor_bytes(slot->param, false, &bytes);
      if (st == CB_OK) {
        slot->m = cb_alloc((size_t)bytes);
        slot->v = cfg->type == CB_SOLVER_ADAM ? cb_alloc((size_t)bytes) : NULL;
        if (!slot->m || (cfg->type == CB_SOLVER_ADAM && !slot->v))
          st = cb_error(CB_ERR_NOMEM, "solver: cannot allocate the history of %s (%lld bytes)",
                        slot->param->name, (long long)bytes);
      }
      if (st != CB_OK) {
        cb_solver_free(s);
        return st;
      }
    }
  *out = s;
  return CB_OK;
}

/* v = momentum v + lr (g + wd w);  w -= v. */
static void sgd_update(const cb_solver_cfg *c, cb_solver_slot *slot, double lr) {
  cb_tensor *t = slot->param;
  int64_t count = cb_tensor_count(t);
  for (int64_t i = 0; i < count; i++) {
    double g = (double)t->grad[i] + c->weight_decay * t->data[i];
    double v = c->momentum * slot->m[i] + lr * g;
    slot->m[i] = (float)v;
    t->data[i] = (float)(t->data[i] - v);
  }
}

/* Adam with bias correction; t is this update's number, from 1. */
static void adam_update(const cb_solver_cfg *c, cb_solver_slot *slot, double lr, int64_t t) {
  cb_tensor *p = slot->param;
  int64_t count = cb_tensor_count(p);
  double c1 = 1.0 - pow(c->beta1, (double)t), c2 = 1.0 - pow(c->beta2, (double)t);
  for (int64_t i = 0; i < count; i++) {
    double g = (double)p->grad[i] + c->weight_decay * p->data[i];
    double m = c->beta1 * slot->m[i] + (1.0 - c->beta1) * g;
    double v = c->beta2 * slot->v[i] + (1.0 - c->beta2) * g * g;
    slot->m[i] = (float)m;
    slot->v[i] = (float)v;
    p->data[i] = (float)(p->data[i] - lr * (m / c1) / (sqrt(v / c2) + c->eps));
  }
}

cb_status cb_solver_step(cb_solver *s, double lr) {
  if (!(lr >= 0.0) || !isfinite(lr))
    return cb_error(CB_ERR_INVALID, "solver: learning rate %g is not a finite number >= 0", lr);
  s->t++;
  for (int i = 0; i < s->nslots; i++) {
    cb_solver_slot *slot = &s->slots[i];
    /* A parameter without a gradient buffer took no part in backward. */
    if (!slot->param->grad || !slot->param->data) continue;
    if (s->cfg.type == CB_SOLVER_ADAM)
      adam_update(&s->cfg, slot, lr, s->t);
    else
      sgd_update(&s->cfg, slot, lr);
  }
  return CB_OK;
}

void cb_solver_free(cb_solver *s) {
  if (!s) return;
  for (int i = 0; i < s->nslots; i++) {
    cb_free(s->slots[i].m);
    cb_free(s->slots[i].v);
  }
  free(s->slots);
  free(s);
}
