/* solver.h: parameter updates for a built net: SGD with momentum and
 * weight decay, and Adam, configured from the netdef's `solver` line. */
#ifndef CB_SOLVER_H
#define CB_SOLVER_H

#include "net.h"

typedef enum cb_solver_type { CB_SOLVER_SGD, CB_SOLVER_ADAM } cb_solver_type;

typedef struct cb_solver_cfg {
  cb_solver_type type;
  double lr;                /* base learning rate */
  double momentum;          /* SGD */
  double weight_decay;      /* L2, added to the gradient */
  double beta1, beta2, eps; /* Adam */
} cb_solver_cfg;

typedef struct cb_solver cb_solver;

/* Defaults (SGD, lr 0.01, momentum 0.9, weight decay 5e-4, Adam 0.9 / 0.999
 * / 1e-8), overridden by the solver statement when st is non-NULL. Keys:
 * type lr momentum weight_decay beta1 beta2 eps. */
cb_status cb_solver_cfg_read(const cb_stmt *st, cb_solver_cfg *cfg);

/* Allocates the solver's history (momentum / moments) for every learnable
 * parameter of net. */
cb_status cb_solver_create(cb_net *net, const cb_solver_cfg *cfg, cb_solver **out);

/* One update from the gradients of the last backward, with learning rate lr. */
cb_status cb_solver_step(cb_solver *s, double lr);

void cb_solver_free(cb_solver *s);

#endif
