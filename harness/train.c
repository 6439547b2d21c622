/* train.c: the training loop (shuffle, batches, forward, backward, update,
 * learning-rate policy) and evaluation (accuracy, loss, confusion). */
#include "train.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t cb_net_classes(const cb_net *net) {
  if (!net->has_loss) return 0;
  const cb_tensor *x = net->layers[net->nlayers - 1].in[0];
  return x->c * x->h * x->w;
}

cb_status cb_train_check_fit(const cb_net *net, const cb_dataset *d) {
  const cb_tensor *x = net->data;
  if (x->c != 1 || x->h != d->h || x->w != d->w)
    return cb_error(CB_ERR_INVALID,
                    "net %s takes input %lldx%lldx%lld, but the images of %s are 1x%lldx%lld "
                    "(set input=1x%lldx%lld in the netdef)",
                    net->name, (long long)x->c, (long long)x->h, (long long)x->w, d->images_path,
                    (long long)d->h, (long long)d->w, (long long)d->h, (long long)d->w);
  if (!net->has_loss)
    return cb_error(CB_ERR_INVALID,
                    "net %s does not end in a softmax loss layer: there is nothing to train "
                    "against the labels",
                    net->name);
  int64_t classes = cb_net_classes(net);
  if (classes < d->classes)
    return cb_error(CB_ERR_INVALID, "net %s scores %lld classes, but %s has labels up to %d",
                    net->name, (long long)classes, d->labels_path, (int)d->classes - 1);
  return CB_OK;
}

/* The class with the highest score (the first of equal ones). */
static int64_t argmax(const float *z, int64_t n) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; j++)
    if (z[j] > z[best]) best = j;
  return best;
}

/* -log softmax(z)[label], in double. */
static double xent(const float *z, int64_t n, int32_t label) {
  double zmax = z[argmax(z, n)], sum = 0;
  for (int64_t j = 0; j < n; j++) sum += exp((double)z[j] - zmax);
  return log(sum) - ((double)z[label] - zmax);
}

/* The scores of the last forward: the loss layer's input. */
static const float *scores(const cb_net *net) {
  return net->layers[net->nlayers - 1].in[0]->data;
}

cb_status cb_evaluate(cb_net *net, const cb_dataset *d, double mean, double sd,
                      const volatile sig_atomic_t *stop, cb_eval_result *r, int64_t *confusion) {
  return cb_evaluate_progress(net, d, mean, sd, stop, NULL, NULL, r, confusion);
}

cb_status cb_evaluate_progress(cb_net *net, const cb_dataset *d, double mean, double sd,
                               const volatile sig_atomic_t *stop, cb_eval_progress_fn progress,
                               void *user, cb_eval_result *r, int64_t *confusion) {
  memset(r, 0, sizeof *r);
  cb_status st = cb_train_check_fit(net, d);
  if (st != CB_OK) return st;
  int64_t classes = cb_net_classes(net), b = net->batch;
  if (confusion) memset(confusion, 0, (size_t)(classes * classes) * sizeof *confusion);
  int64_t *idx = malloc((size_t)b * sizeof *idx);
  if (!idx) return cb_error(CB_ERR_NOMEM, "out of memory evaluating");
  uint64_t t0 = cb_now_ns();
  bool was_train = net->exec.train;
  net->exec.train = false;
  double loss = 0;
  for (int64_t start = 0; start < d->count && st == CB_OK; start += b) {
    if (stop && *stop) {
      st = cb_error(CB_ERR_INTERRUPTED, "interrupted while evaluating");
      break;
    }
    int64_t n = d->count - start < b ? d->count - start : b;
    /* A short last batch is filled up with its first image; only the n
     * real ones are counted (inference mode makes samples independent). */
    for (int64_t i = 0; i < b; i++) idx[i] = start + (i < n ? i : 0);
    cb_dataset_batch(d, idx, b, mean, sd, net->data->data, net->labels);
    if ((st = cb_net_forward(net)) != CB_OK) break;
    const float *z = scores(net);
    for (int64_t i = 0; i < n; i++) {
      int32_t y = net->labels[i];
      int64_t p = argmax(z + i * classes, classes);
      loss += xent(z + i * classes, classes, y);
      r->correct += p == y;
      if (confusion) confusion[y * classes + p]++;
    }
    r->count += n;
    if (progress) progress(user, r->count, d->count);
  }
  net->exec.train = was_train;
  free(idx);
  r->loss = r->count ? loss / (double)r->count : 0.0;
  r->accuracy = r->count ? (double)r->correct / (double)r->count : 0.0;
  r->seconds = cb_ms(t0, cb_now_ns()) / 1000.0;
  return st;
}

/* Fisher-Yates over 0..n-1 from the running stream *rng. */
static void shuffle(int64_t *order, int64_t n, uint64_t *rng) {
  for (int64_t i = 0; i < n; i++) order[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)((double)cb_rng_uniform(rng) * (double)(i + 1));
    if (j > i) j = i;
    int64_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/* One step on the batch order[0..batch): forward, backward, update. */
static cb_status train_step(cb_net *net, cb_solver *s, const cb_dataset *d, const int64_t *order,
                            const cb_train_opts *o, double lr, double *loss, double *accuracy) {
  cb_dataset_batch(d, order, net->batch, o->mean, o->sd, net->data->data, net->labels);
  cb_status st = cb_net_forward(net);
  if (st != CB_OK) return st;
  *loss = cb_net_loss(net);
  if (!isfinite(*loss))
    return cb_error(CB_ERR_INVALID,
                    "the loss is %g: training diverged (lower the learning rate, --lr)", *loss);
  int64_t classes = cb_net_classes(net), correct = 0;
  const float *z = scores(net);
  for (int64_t i = 0; i < net->batch; i++)
    correct += argmax(z + i * classes, classes) == net->labels[i];
  *accuracy = (double)correct / (double)net->batch;
  if ((st = cb_net_backward(net)) != CB_OK) return st;
  return cb_solver_step(s, lr);
}

cb_status cb_train(cb_net *net, cb_solver *s, const cb_solver_cfg *cfg, const cb_dataset *train,
                   const cb_dataset *test, const cb_train_opts *o) {
  cb_status st = cb_train_check_fit(net, train);
  if (st != CB_OK) return st;
  int64_t steps = train->count / net->batch;
  if (steps < 1)
    return cb_error(CB_ERR_INVALID, "%s holds %lld images, fewer than one batch of %lld",
                    train->images_path, (long long)train->count, (long long)net->batch);
  int64_t *order = malloc((size_t)train->count * sizeof *order);
  if (!order) return cb_error(CB_ERR_NOMEM, "out of memory for the training order");
  uint64_t rng = cb_rng_seed(o->seed, "shuffle");
  uint64_t t0 = cb_now_ns();
  int64_t it = 0, total = steps * o->epochs;
  net->exec.train = true;
  for (int e = 1; e <= o->epochs && st == CB_OK; e++) {
    shuffle(order, train->count, &rng);
    cb_train_epoch ep = {.epoch = e};
    double loss_sum = 0, acc_sum = 0, train_ms = 0;
    for (int64_t k = 0; k < steps && st == CB_OK; k++, it++) {
      if (o->stop && *o->stop) {
        st =
            cb_error(CB_ERR_INTERRUPTED, "interrupted at epoch %d, step %lld", e, (long long)k + 1);
        break;
      }
      cb_train_step ts = {.epoch = e,
                          .step = it + 1,
                          .step_in_epoch = k + 1,
                          .steps_per_epoch = steps,
                          .lr = cb_solver_lr(cfg, it, total)};
      uint64_t a = cb_now_ns();
      st = train_step(net, s, train, order + k * net->batch, o, ts.lr, &ts.loss, &ts.accuracy);
      uint64_t b = cb_now_ns();
      if (st != CB_OK) break;
      double ms = cb_ms(a, b);
      train_ms += ms;
      ts.images_per_s = ms > 0 ? (double)net->batch * 1000.0 / ms : 0.0;
      ts.seconds = cb_ms(t0, b) / 1000.0;
      loss_sum += ts.loss, acc_sum += ts.accuracy;
      ep.steps++, ep.lr = ts.lr;
      if (o->on_step) st = o->on_step(o->user, &ts);
    }
    if (st != CB_OK) break;
    ep.train_loss = loss_sum / (double)ep.steps;
    ep.train_accuracy = acc_sum / (double)ep.steps;
    ep.epoch_seconds = train_ms / 1000.0;
    ep.images_per_s = train_ms > 0 ? (double)(ep.steps * net->batch) * 1000.0 / train_ms : 0.0;
    if (test && (st = cb_evaluate_progress(net, test, o->mean, o->sd, o->stop, o->on_eval, o->user,
                                           &ep.test, NULL)) != CB_OK)
      break;
    ep.seconds = cb_ms(t0, cb_now_ns()) / 1000.0;
    if (o->on_epoch) st = o->on_epoch(o->user, &ep);
  }
  net->exec.train = true;
  free(order);
  return st;
}
