/* test_train.c: the training loop on a small subset of Fashion-MNIST
 * (seconds): the loss goes down, the same seed, backend and thread count
 * give exactly the same loss sequence (and another seed does not), the
 * test set is evaluated every epoch with a confusion matrix that adds up,
 * a net whose input does not fit the images is refused before anything
 * runs, and the learning-rate policies follow their formulas. Skips when
 * the Debian package dataset-fashion-mnist is not installed. */
#include "cb_test.h"
#include "train.h"

#include <unistd.h>

/* Small enough to train on ref in a second or two. */
static const char *const tiny = "net name=tiny input=1x28x28 batch=16\n"
                                "solver type=sgd lr=0.05 momentum=0.9 weight_decay=0.0005\n"
                                "conv name=conv1 out=4 k=5 stride=2\n"
                                "relu\n"
                                "pool name=pool1 mode=max k=2 stride=2\n"
                                "fc name=ip1 out=10\n"
                                "softmax name=loss\n";

#define MAX_STEPS 256

typedef struct record {
  int n, epochs;
  double loss[MAX_STEPS];
  cb_train_epoch ep[4];
} record;

static cb_status on_step(void *user, const cb_train_step *s) {
  record *r = user;
  if (r->n < MAX_STEPS) r->loss[r->n++] = s->loss;
  return CB_OK;
}

static cb_status on_epoch(void *user, const cb_train_epoch *e) {
  record *r = user;
  if (r->epochs < 4) r->ep[r->epochs++] = *e;
  return CB_OK;
}

/* Trains tiny (or text) on the subsets for `epochs`; fills r. */
static cb_status train(const char *text, const char *backend, int threads, uint64_t seed,
                       int epochs, const cb_dataset *tr, const cb_dataset *te, record *r) {
  memset(r, 0, sizeof *r);
  cb_netdef *nd;
  cb_status st = cb_netdef_parse("tiny.net", text, &nd);
  if (st != CB_OK) return st;
  cb_net_opts o = {.backend = backend, .threads = threads, .seed = seed};
  cb_net *net = NULL;
  cb_solver *s = NULL;
  cb_solver_cfg cfg;
  if ((st = cb_net_build(nd, &o, &net)) == CB_OK &&
      (st = cb_solver_cfg_read(&nd->solver, &cfg)) == CB_OK &&
      (st = cb_solver_create(net, &cfg, &s)) == CB_OK) {
    double mean, sd;
    cb_dataset_stats(tr, &mean, &sd);
    cb_train_opts to = {.epochs = epochs,
                        .seed = seed,
                        .mean = mean,
                        .sd = sd,
                        .on_step = on_step,
                        .on_epoch = on_epoch,
                        .user = r};
    st = cb_train(net, s, &cfg, tr, te, &to);
  }
  cb_solver_free(s);
  cb_net_free(net);
  cb_netdef_free(nd);
  return st;
}

static double mean_of(const double *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

static void test_learns_and_repeats(const cb_dataset *tr, const cb_dataset *te, const char *backend,
                                    int threads) {
  record a, b, c;
  cb_status st = train(tiny, backend, threads, 7, 2, tr, te, &a);
  CHECK_MSG(st == CB_OK, "%s: %s", backend, cb_errmsg());
  if (st != CB_OK) return;
  CHECK_EQ_INT(a.n, 2 * (tr->count / 16));
  CHECK_EQ_INT(a.epochs, 2);
  double first = mean_of(a.loss, 5), last = mean_of(a.loss + a.n - 5, 5);
  CHECK_MSG(last < 0.6 * first, "%s: loss %.3f over the first 5 steps, %.3f over the last 5",
            backend, first, last);
  CHECK_MSG(a.ep[1].test.accuracy > 0.5, "%s: test accuracy %.3f after 2 epochs", backend,
            a.ep[1].test.accuracy);
  CHECK_EQ_INT(a.ep[1].test.count, te->count);
  CHECK(a.ep[1].images_per_s > 0 && a.ep[1].epoch_seconds > 0);
  CHECK(a.ep[1].seconds >= a.ep[0].seconds);

  /* Same seed, backend, threads: the same losses, bit for bit. */
  CHECK_EQ_INT(train(tiny, backend, threads, 7, 2, tr, te, &b), CB_OK);
  CHECK_EQ_INT(b.n, a.n);
  CHECK_MSG(memcmp(a.loss, b.loss, (size_t)a.n * sizeof(double)) == 0,
            "%s at %d threads: two runs with seed 7 differ", backend, threads);
  CHECK(a.ep[1].test.accuracy == b.ep[1].test.accuracy);
  /* Another seed: other weights and another order. */
  CHECK_EQ_INT(train(tiny, backend, threads, 8, 2, tr, te, &c), CB_OK);
  CHECK(memcmp(a.loss, c.loss, (size_t)a.n * sizeof(double)) != 0);
}

static void test_evaluate(const cb_dataset *tr, const cb_dataset *te) {
  cb_netdef *nd;
  CHECK_EQ_INT(cb_netdef_parse("tiny.net", tiny, &nd), CB_OK);
  cb_net_opts o = {.threads = 1, .seed = 1, .batch = 7}; /* 7 does not divide the set */
  cb_net *net;
  CHECK_EQ_INT(cb_net_build(nd, &o, &net), CB_OK);
  int64_t conf[100];
  cb_eval_result r;
  CHECK_EQ_INT(cb_evaluate(net, te, 0.3, 0.35, NULL, &r, conf), CB_OK);
  int64_t sum = 0, diag = 0;
  for (int i = 0; i < 100; i++) sum += conf[i];
  for (int i = 0; i < 10; i++) diag += conf[i * 11];
  CHECK_EQ_INT(r.count, te->count);
  CHECK_EQ_INT(sum, te->count);
  CHECK_EQ_INT(diag, r.correct);
  CHECK(r.loss > 0 && r.accuracy >= 0 && r.accuracy <= 1);
  /* Evaluation leaves the net in training mode. */
  CHECK(net->exec.train);
  /* The same images in batches of 7 and in one batch: the same answer. */
  cb_net_free(net);
  o.batch = te->count;
  CHECK_EQ_INT(cb_net_build(nd, &o, &net), CB_OK);
  cb_eval_result whole;
  CHECK_EQ_INT(cb_evaluate(net, te, 0.3, 0.35, NULL, &whole, NULL), CB_OK);
  CHECK_EQ_INT(whole.correct, r.correct);
  CHECK_NEAR(whole.loss, r.loss, 1e-6);
  cb_net_free(net);
  cb_netdef_free(nd);
  (void)tr;
}

static void test_refused(const cb_dataset *tr, const cb_dataset *te) {
  record r;
  const char *wrong = "net name=wrong input=3x32x32 batch=4\nfc out=10\nsoftmax\n";
  CHECK_EQ_INT(train(wrong, "ref", 1, 1, 1, tr, te, &r), CB_ERR_INVALID);
  CHECK_MSG(strstr(cb_errmsg(), "takes input 3x32x32") && strstr(cb_errmsg(), "are 1x28x28"), "%s",
            cb_errmsg());
  CHECK_EQ_INT(r.n, 0);
  const char *few = "net name=few input=1x28x28 batch=4\nfc out=5\nsoftmax\n";
  CHECK_EQ_INT(train(few, "ref", 1, 1, 1, tr, te, &r), CB_ERR_INVALID);
  CHECK_MSG(strstr(cb_errmsg(), "scores 5 classes") != NULL, "%s", cb_errmsg());
  const char *noloss = "net name=noloss input=1x28x28 batch=4\nfc out=10\n";
  CHECK_EQ_INT(train(noloss, "ref", 1, 1, 1, tr, te, &r), CB_ERR_INVALID);
  CHECK_MSG(strstr(cb_errmsg(), "softmax") != NULL, "%s", cb_errmsg());
}

static void test_policies(void) {
  cb_solver_cfg c;
  CHECK_EQ_INT(cb_solver_cfg_read(NULL, &c), CB_OK);
  c.lr = 0.1;
  CHECK_NEAR(cb_solver_lr(&c, 12345, 20000), 0.1, 0);
  c.policy = CB_LR_STEP, c.gamma = 0.5, c.step = 100;
  CHECK_NEAR(cb_solver_lr(&c, 99, 1000), 0.1, 1e-15);
  CHECK_NEAR(cb_solver_lr(&c, 100, 1000), 0.05, 1e-15);
  CHECK_NEAR(cb_solver_lr(&c, 250, 1000), 0.025, 1e-15);
  c.policy = CB_LR_INV, c.gamma = 1e-2, c.power = 0.75;
  CHECK_NEAR(cb_solver_lr(&c, 0, 1000), 0.1, 1e-15);
  CHECK_NEAR(cb_solver_lr(&c, 300, 1000), 0.1 * pow(4.0, -0.75), 1e-12);
  c.policy = CB_LR_COSINE;
  CHECK_NEAR(cb_solver_lr(&c, 0, 1000), 0.1, 1e-15);
  CHECK_NEAR(cb_solver_lr(&c, 500, 1000), 0.05, 1e-12);
  CHECK_NEAR(cb_solver_lr(&c, 1000, 1000), 0.0, 1e-12);
  CHECK_NEAR(cb_solver_lr(&c, 250, 1000), 0.05 * (1 + cos(M_PI / 4)), 1e-12);

  /* The solver line reads them, and refuses nonsense naming the key. */
  cb_netdef *nd;
  CHECK_EQ_INT(cb_netdef_parse("p.net",
                               "net input=1x2x2\nsolver lr=0.2 policy=step gamma=0.3 step=7\n"
                               "fc out=2\n",
                               &nd),
               CB_OK);
  CHECK_EQ_INT(cb_solver_cfg_read(&nd->solver, &c), CB_OK);
  CHECK_EQ_INT(c.policy, CB_LR_STEP);
  CHECK_EQ_INT(c.step, 7);
  CHECK_NEAR(cb_solver_lr(&c, 14, 100), 0.2 * 0.09, 1e-12);
  CHECK_EQ_STR(cb_lr_policy_name(c.policy), "step");
  cb_netdef_free(nd);
  CHECK_EQ_INT(cb_netdef_parse("p.net", "net input=1x2x2\nsolver policy=poly\nfc out=2\n", &nd),
               CB_OK);
  CHECK_EQ_INT(cb_solver_cfg_read(&nd->solver, &c), CB_ERR_PARSE);
  CHECK_MSG(strstr(cb_errmsg(), "p.net:2:15") != NULL, "%s", cb_errmsg());
  cb_netdef_free(nd);
  CHECK_EQ_INT(cb_netdef_parse("p.net", "net input=1x2x2\nsolver step=0\nfc out=2\n", &nd), CB_OK);
  CHECK_EQ_INT(cb_solver_cfg_read(&nd->solver, &c), CB_ERR_PARSE);
  cb_netdef_free(nd);
}

int main(void) {
  test_policies();
  if (access(CB_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) {
    printf("SKIP (after the policy checks, %d passed): %s is not installed (Debian package "
           "dataset-fashion-mnist)\n",
           cb_test_checks - cb_test_failures, CB_FASHION_MNIST_DIR);
    return cb_test_failures ? 1 : 77;
  }
  cb_dataset tr, te;
  CHECK_EQ_INT(cb_dataset_load_dir(CB_FASHION_MNIST_DIR, "train", &tr), CB_OK);
  CHECK_EQ_INT(cb_dataset_load_dir(CB_FASHION_MNIST_DIR, "t10k", &te), CB_OK);
  cb_dataset_truncate(&tr, 1024);
  cb_dataset_truncate(&te, 500);
  test_learns_and_repeats(&tr, &te, "ref", 1);
  if (cb_backend_find("openblas")) test_learns_and_repeats(&tr, &te, "openblas", 2);
  if (cb_backend_find("onednn")) test_learns_and_repeats(&tr, &te, "onednn", 2);
  test_evaluate(&tr, &te);
  test_refused(&tr, &te);
  cb_dataset_free(&tr);
  cb_dataset_free(&te);
  return cb_test_result();
}
