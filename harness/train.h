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
#include "solver.h"

/* One finished training step. */
typedef struct cb_train_step {
  int epoch;             /* from 1 */
  int64_t step;          /* from 1, counted over the whole run */
  int64_t step_in_epoch; /* from 1 */
  int64_t steps_per_epoch;
  double loss;         /* the batch's mean loss */
  double accuracy;     /* fraction of the batch classified right (before the update) */
  double lr;           /* the rate this step's update used */
  double images_per_s; /* this step alone: batch / (forward + backward + update) */
  double seconds;      /* since training started */
} cb_train_step;

/* Accuracy and loss over a whole set, and optionally the confusion matrix. */
typedef struct cb_eval_result {
  int64_t count, correct;
  double loss;     /* mean cross-entropy */
  double accuracy; /* correct / count */
  double seconds;
} cb_eval_result;

/* One finished epoch: the training averages and the test evaluation. */
typedef struct cb_train_epoch {
  int epoch;
  int64_t steps;
  double train_loss, train_accuracy; /* means over the epoch's steps */
  cb_eval_result test;               /* test.count == 0 when there is no test set */
  double lr;                         /* the last step's */
  double images_per_s;               /* training images / training time of this epoch */
  double epoch_seconds;              /* training time of this epoch (evaluation excluded) */
  double seconds;                    /* since training started, evaluation included */
} cb_train_epoch;

/* Callbacks may stop training by returning an error (a failed database
 * write, say), which cb_train returns. */
typedef cb_status (*cb_train_step_fn)(void *user, const cb_train_step *s);
typedef cb_status (*cb_train_epoch_fn)(void *user, const cb_train_epoch *e);

typedef struct cb_train_opts {
  int epochs;                        /* >= 1 */
  uint64_t seed;                     /* the shuffle */
  double mean, sd;                   /* input normalisation: (pixel / 255 - mean) / sd */
  const volatile sig_atomic_t *stop; /* non-zero: stop between steps (CB_ERR_INTERRUPTED) */
  cb_train_step_fn on_step;
  cb_train_epoch_fn on_epoch;
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

/* Classes the net's loss layer scores (its input's C*H*W). */
int64_t cb_net_classes(const cb_net *net);

#endif
