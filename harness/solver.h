/* solver.h: parameter updates for a built net: SGD with momentum and
 * weight decay, and Adam, configured from the netdef's `solver` line. */
#ifndef CB_SOLVER_H
#define CB_SOLVER_H

#include "net.h"

typedef enum cb_solver_type { CB_SOLVER_SGD, CB_SOLVER_ADAM } cb_solver_type;

/* Learning-rate schedules (Caffe's names; cosine as in SGDR without
 * restarts). it counts updates from 0, max_it is the run's total:
 *   fixed   lr
 *   step    lr * gamma^floor(it / step)
 *   inv     lr * (1 + gamma * it)^-power
 *   cosine  lr * (1 + cos(pi * it / max_it)) / 2 */
typedef enum cb_lr_policy { CB_LR_FIXED, CB_LR_STEP, CB_LR_INV, CB_LR_COSINE } cb_lr_policy;

typedef struct cb_solver_cfg {
  cb_solver_type type;
  double lr;                /* base learning rate */
  double momentum;          /* SGD */
  double weight_decay;      /* L2, added to the gradient */
  double beta1, beta2, eps; /* Adam */
  cb_lr_policy policy;
  double gamma; /* step: factor per step; inv: rate */
  int64_t step; /* step: updates between drops */
  double power; /* inv */
} cb_solver_cfg;

typedef struct cb_solver cb_solver;

/* Defaults (SGD, lr 0.01, momentum 0.9, weight decay 5e-4, Adam 0.9 / 0.999
 * / 1e-8, policy fixed, gamma 0.1, step 1000, power 0.75), overridden by
 * the solver statement when st is non-NULL. Keys: type lr momentum
 * weight_decay beta1 beta2 eps policy gamma step power. */
cb_status cb_solver_cfg_read(const cb_stmt *st, cb_solver_cfg *cfg);

/* The learning rate of update it (from 0) of max_it (cosine needs the
 * total; max_it < 1 counts as 1). */
double cb_solver_lr(const cb_solver_cfg *cfg, int64_t it, int64_t max_it);

/* "fixed", "step", "inv", "cosine". */
const char *cb_lr_policy_name(cb_lr_policy p);

/* Allocates the solver's history (momentum / moments) for every learnable
 * parameter of net. */
cb_status cb_solver_create(cb_net *net, const cb_solver_cfg *cfg, cb_solver **out);

/* One update from the gradients of the last backward, with learning rate lr. */
cb_status cb_solver_step(cb_solver *s, double lr);

void cb_solver_free(cb_solver *s);

#endif
