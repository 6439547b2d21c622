/* test_solver.c: SGD with momentum and weight decay, and Adam, on known
 * values against results worked out by hand; the solver's configuration
 * keys and their range checks. The net is assembled by hand: one layer
 * with two learnable parameters and one that is not (like batch norm's
 * running statistics). */
#include "cb_test.h"
#include "solver.h"

#include <math.h>

typedef struct toy {
  cb_net net;
  cb_layer layer;
} toy;

/* One layer: params[0] = w (2 values), params[1] = b (1 value), both
 * learnable, params[2] = s (1 value), not learnable. */
static void toy_init(toy *t, const float w[2], float b, float s) {
  memset(t, 0, sizeof *t);
  cb_layer *l = &t->layer;
  snprintf(l->name, sizeof l->name, "toy");
  l->nparams = 3;
  const int64_t counts[3] = {2, 1, 1};
  for (int i = 0; i < 3; i++) {
    cb_tensor *p = &l->params[i];
    snprintf(p->name, sizeof p->name, "toy.p%d", i);
    p->n = p->h = p->w = 1;
    p->c = counts[i];
    CHECK(cb_tensor_alloc(p, true) == CB_OK);
    l->learnable[i] = i < 2;
  }
  l->params[0].data[0] = w[0];
  l->params[0].data[1] = w[1];
  l->params[1].data[0] = b;
  l->params[2].data[0] = s;
  t->net.nlayers = 1;
  t->net.layers = l;
}

static void toy_grads(toy *t, float g0, float g1, float gb, float gs) {
  t->layer.params[0].grad[0] = g0;
  t->layer.params[0].grad[1] = g1;
  t->layer.params[1].grad[0] = gb;
  t->layer.params[2].grad[0] = gs;
}

static void toy_free(toy *t) {
  for (int i = 0; i < 3; i++) cb_tensor_free(&t->layer.params[i]);
}

static float W(const toy *t, int i) {
  return t->layer.params[0].data[i];
}

static void test_sgd(void) {
  cb_solver_cfg cfg;
  CHECK(cb_solver_cfg_read(NULL, &cfg) == CB_OK);
  cfg.momentum = 0.9;
  cfg.weight_decay = 0.01;
  toy t;
  const float w[2] = {1.0f, -2.0f};
  toy_init(&t, w, 0.5f, 7.0f);
  cb_solver *s;
  CHECK(cb_solver_create(&t.net, &cfg, &s) == CB_OK);

  /* Step 1, lr 0.1: v = 0.1 (g + 0.01 w), w -= v.
   *   w0: g 0.5,  v = 0.1 (0.5 + 0.01)    = 0.051   -> 0.949
   *   w1: g -1,   v = 0.1 (-1 - 0.02)     = -0.102  -> -1.898
   *   b:  g 0.2,  v = 0.1 (0.2 + 0.005)   = 0.0205  -> 0.4795
   *   s:  not learnable, stays 7 whatever its gradient says. */
  toy_grads(&t, 0.5f, -1.0f, 0.2f, 100.0f);
  CHECK(cb_solver_step(s, 0.1) == CB_OK);
  CHECK_NEAR(W(&t, 0), 0.949, 1e-6);
  CHECK_NEAR(W(&t, 1), -1.898, 1e-6);
  CHECK_NEAR(t.layer.params[1].data[0], 0.4795, 1e-6);
  CHECK_NEAR(t.layer.params[2].data[0], 7.0, 0);

  /* Step 2, same gradients, lr 0.1: momentum carries v.
   *   w0: v = 0.9 * 0.051 + 0.1 (0.5 + 0.01 * 0.949) = 0.0459 + 0.050949
   *         = 0.096849 -> 0.949 - 0.096849 = 0.852151
   *   w1: v = 0.9 * -0.102 + 0.1 (-1 + 0.01 * -1.898) = -0.0918 - 0.1018980
   *         = -0.193698 -> -1.898 + 0.193698 = -1.704302 */
  CHECK(cb_solver_step(s, 0.1) == CB_OK);
  CHECK_NEAR(W(&t, 0), 0.852151, 1e-6);
  CHECK_NEAR(W(&t, 1), -1.704302, 1e-6);
  CHECK_NEAR(t.layer.params[2].data[0], 7.0, 0);
  cb_solver_free(s);
  toy_free(&t);

  /* Weight decay alone (no momentum, zero gradient) shrinks w by lr wd:
   * 1 - 0.5 * 0.1 * 1 = 0.95. */
  cfg.momentum = 0;
  cfg.weight_decay = 0.1;
  toy_init(&t, w, 0.5f, 7.0f);
  CHECK(cb_solver_create(&t.net, &cfg, &s) == CB_OK);
  toy_grads(&t, 0, 0, 0, 0);
  CHECK(cb_solver_step(s, 0.5) == CB_OK);
  CHECK_NEAR(W(&t, 0), 0.95, 1e-7);
  CHECK_NEAR(W(&t, 1), -1.9, 1e-7);
  cb_solver_free(s);
  toy_free(&t);
}

static void test_adam(void) {
  cb_solver_cfg cfg;
  CHECK(cb_solver_cfg_read(NULL, &cfg) == CB_OK);
  cfg.type = CB_SOLVER_ADAM;
  cfg.weight_decay = 0;
  toy t;
  const float w[2] = {1.0f, 1.0f};
  toy_init(&t, w, 0.0f, 7.0f);
  cb_solver *s;
  CHECK(cb_solver_create(&t.net, &cfg, &s) == CB_OK);

  /* Step 1 (b1 0.9, b2 0.999, eps 1e-8, lr 0.01), g0 = 0.5:
   *   m = 0.05, v = 0.00025; m / (1 - 0.9) = 0.5, v / (1 - 0.999) = 0.25
   *   w -= 0.01 * 0.5 / (0.5 + 1e-8)  -> 1 - 0.01 = 0.99 (to 2e-10)
   * The first Adam step moves every weight by lr against its gradient's sign. */
  toy_grads(&t, 0.5f, -4.0f, 0, 0);
  CHECK(cb_solver_step(s, 0.01) == CB_OK);
  CHECK_NEAR(W(&t, 0), 0.99, 1e-7);
  CHECK_NEAR(W(&t, 1), 1.01, 1e-7);

  /* Step 2, g0 = -0.25:
   *   m = 0.9 * 0.05 + 0.1 * -0.25         = 0.02
   *   v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225
   *   mhat = 0.02 / (1 - 0.81)             = 0.1052632
   *   vhat = 0.00031225 / (1 - 0.998001)   = 0.1562031, sqrt = 0.3952254
   *   w = 0.99 - 0.01 * 0.1052632 / 0.3952254 = 0.99 - 0.0026634 = 0.9873366 */
  toy_grads(&t, -0.25f, -4.0f, 0, 0);
  CHECK(cb_solver_step(s, 0.01) == CB_OK);
  CHECK_NEAR(W(&t, 0), 0.9873366, 2e-7);
  /* A steady gradient keeps the step at lr: 1.01 + 0.01. */
  CHECK_NEAR(W(&t, 1), 1.02, 1e-6);
  CHECK_NEAR(t.layer.params[2].data[0], 7.0, 0);
  cb_solver_free(s);
  toy_free(&t);
}

/* A solver statement for cb_solver_cfg_read, built in C. */
static cb_status read_cfg(const char *key, const char *val, cb_solver_cfg *cfg) {
  cb_kv kv = {(char *)key, (char *)val, 2, 8};
  cb_stmt st = {.kind = "solver", .nkv = 1, .kv = &kv, .file = "s.net", .line = 2, .col = 1};
  return cb_solver_cfg_read(&st, cfg);
}

static void test_cfg(void) {
  cb_solver_cfg cfg;
  CHECK(cb_solver_cfg_read(NULL, &cfg) == CB_OK);
  CHECK_EQ_INT(cfg.type, CB_SOLVER_SGD);
  CHECK_NEAR(cfg.lr, 0.01, 0);
  CHECK_NEAR(cfg.momentum, 0.9, 0);
  CHECK_NEAR(cfg.weight_decay, 5e-4, 0);
  CHECK_NEAR(cfg.beta1, 0.9, 0);
  CHECK_NEAR(cfg.beta2, 0.999, 0);
  CHECK_NEAR(cfg.eps, 1e-8, 0);

  CHECK(read_cfg("type", "adam", &cfg) == CB_OK);
  CHECK_EQ_INT(cfg.type, CB_SOLVER_ADAM);
  CHECK(read_cfg("lr", "0.5", &cfg) == CB_OK);
  CHECK_NEAR(cfg.lr, 0.5, 0);
  CHECK_NEAR(cfg.momentum, 0.9, 0);                 /* the others keep their defaults */
  CHECK(read_cfg("policy", "step", &cfg) == CB_OK); /* schedules are read elsewhere */

  /* Values are checked against their ranges, positions point at the value. */
  CHECK(read_cfg("type", "rmsprop", &cfg) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "s.net:2:13: type=rmsprop: expected sgd or adam");
  CHECK(read_cfg("lr", "0", &cfg) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "s.net:2:11: lr=0: must be above 0 and at most 10");
  CHECK(read_cfg("momentum", "1", &cfg) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "s.net:2:17: momentum=1: must be at least 0 and below 1");
  CHECK(read_cfg("weight_decay", "-1", &cfg) == CB_ERR_PARSE);
  CHECK(read_cfg("beta2", "1.5", &cfg) == CB_ERR_PARSE);
  CHECK(read_cfg("eps", "x", &cfg) == CB_ERR_PARSE);
}

int main(void) {
  test_cfg();
  test_sgd();
  test_adam();
  return cb_test_result();
}
