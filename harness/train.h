/* train.h: training a net on a labelled image set, and evaluating it.
 *
 * One epoch visits the training set once in an order shuffled from the
 * seed, in whole batches (the last incomplete batch of an epoch is left
 * out, a different one each epoch); every step runs forward, backward and
 * one solver update at the learning rate of the solver's policy. After
 * each epoch the test set is evaluated in inference mode. The same seed,
 * backend and thread count give the same loss sequence: the shuffle and
 * the initialisation come from the seed, and every kernel accumulates in
 * a fixed order for a fixed thread count. */
#ifndef CB_TRAIN_H
#define CB_TRAIN_H

#include <signal.h>

#include "dataset.h"
#include "records.h"
#include "solver.h"

/* cb_train_step, cb_eval_result and cb_train_epoch are rows the database
 * layer writes (records.h). */

/* Callbacks may stop training by returning an error (a failed database
 * write, say), which cb_train returns. */
typedef cb_status (*cb_train_step_fn)(void *user, const cb_train_step *s);
typedef cb_status (*cb_train_epoch_fn)(void *user, const cb_train_epoch *e);

/* Progress of an evaluation: done of count images; from the calling thread. */
typedef void (*cb_eval_progress_fn)(void *user, int64_t done, int64_t count);

typedef struct cb_train_opts {
  int epochs;                        /* >= 1 */
  uint64_t seed;                     /* the shuffle */
  double mean, sd;                   /* input normalisation: (pixel / 255 - mean) / sd */
  const volatile sig_atomic_t *stop; /* non-zero: stop between steps (CB_ERR_INTERRUPTED) */
  cb_train_step_fn on_step;
  cb_train_epoch_fn on_epoch;
  cb_eval_progress_fn on_eval; /* may be NULL: progress of each test-set evaluation */
  void *user;
} cb_train_opts;

/* Refuses, before anything runs, a net that cannot learn from d: its input
 * must be 1 x d->h x d->w, its last layer a softmax loss with at least
 * d->classes classes. CB_ERR_INVALID saying which shape does not fit. */
cb_status cb_train_check_fit(const cb_net *net, const cb_dataset *d);

/* Trains net with solver s (configured by cfg, whose policy sets each
 * step's rate) on train for o->epochs epochs, evaluating test (may be
 * NULL) after each. */
cb_status cb_train(cb_net *net, cb_solver *s, const cb_solver_cfg *cfg, const cb_dataset *train,
                   const cb_dataset *test, const cb_train_opts *o);

/* Evaluates net on d in inference mode (dropout off, batch norm's running
 * statistics), in batches of the net's batch size (the last one padded
 * with repeats that are not counted). confusion, when non-NULL, is
 * classes x classes (row: true label, column: prediction), zeroed first;
 * classes is the net's class count. stop may be NULL. */
cb_status cb_evaluate(cb_net *net, const cb_dataset *d, double mean, double sd,
                      const volatile sig_atomic_t *stop, cb_eval_result *r, int64_t *confusion);

/* cb_evaluate, calling progress (may be NULL) after each batch. */
cb_status cb_evaluate_progress(cb_net *net, const cb_dataset *d, double mean, double sd,
                               const volatile sig_atomic_t *stop, cb_eval_progress_fn progress,
                               void *user, cb_eval_result *r, int64_t *confusion);

/* Classes the net's loss layer scores (its input's C*H*W). */
int64_t cb_net_classes(const cb_net *net);

#endif
