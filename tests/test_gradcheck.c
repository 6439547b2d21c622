/* test_gradcheck.c: the gradient checks `convbench check` runs. Every
 * layer kind inside one small net (and lenet at its real shapes) passes
 * finite differences on ref, and every available backend agrees with ref;
 * a wrong gradient planted through the test hook (after_backward) fails
 * exactly the check it should, for finite differences and for backends. */
#include "cb_test.h"
#include "gradcheck.h"

static const char *const kinds_net = "net name=kinds input=3x8x8 batch=2\n"
                                     "conv name=conv1 out=4 k=3 pad=1\n"
                                     "bn name=bn1\n"
                                     "relu\n"
                                     "lrn name=norm1 size=3\n"
                                     "pool name=pool1 mode=max k=2 stride=2\n"
                                     "conv name=b1 out=3 k=1\n"
                                     "conv name=b2 out=3 k=3 pad=1 in=pool1\n"
                                     "concat name=cat in=b1,b2\n"
                                     "conv name=c3 out=6 k=1\n"
                                     "add name=sum in=cat,c3\n"
                                     "pool name=gap mode=avg global=1\n"
                                     "dropout name=drop\n"
                                     "fc name=ip out=5\n"
                                     "softmax name=loss\n";

static cb_net *build(const char *path, const char *text, const char *backend, cb_netdef **nd) {
  cb_status st = text ? cb_netdef_parse(path, text, nd) : cb_netdef_load(path, nd);
  CHECK_MSG(st == CB_OK, "%s", cb_errmsg());
  if (st != CB_OK) return NULL;
  cb_net_opts o = {.backend = backend, .threads = 2, .seed = 3, .batch = 2, .input_grad = true};
  cb_net *net = NULL;
  CHECK_MSG(cb_net_build(*nd, &o, &net) == CB_OK, "%s", cb_errmsg());
  return net;
}

/* The test hook: multiplies the largest element of one gradient by 1.05. */
typedef struct plant {
  const char *layer;
  int param; /* >= 0: that parameter's gradient; -1: the input's */
  int hits;
} plant;

static void plant_error(void *user, cb_layer *l) {
  plant *p = user;
  if (strcmp(l->name, p->layer) != 0) return;
  cb_tensor *t = p->param >= 0 ? &l->params[p->param] : l->in[0];
  int64_t n = cb_tensor_count(t), best = 0;
  for (int64_t i = 1; i < n; i++)
    if (fabsf(t->grad[i]) > fabsf(t->grad[best])) best = i;
  t->grad[best] *= 1.05f;
  p->hits++;
}

/* Runs finite differences on every layer; returns the results that
 * failed, and checks that each layer gave the rows it should. */
static int fd_all(cb_net *net, const cb_gradcheck_opts *o, const char **failed_layer,
                  const char **failed_what) {
  int failed = 0;
  for (int i = 0; i < net->nlayers; i++) {
    cb_grad_result r[2];
    int n = -1;
    CHECK_MSG(cb_gradcheck_fd(net, i, o, r, &n) == CB_OK, "%s", cb_errmsg());
    const cb_layer *l = &net->layers[i];
    bool learns = false;
    for (int k = 0; k < l->nparams; k++) learns |= l->learnable[k];
    CHECK_MSG(n == 1 + learns, "layer %s: %d results", l->name, n);
    for (int k = 0; k < n; k++) {
      CHECK(r[k].checked > 0);
      CHECK(r[k].threshold == CB_GRADCHECK_TOL);
      CHECK_EQ_STR(r[k].backend, "ref");
      CHECK_EQ_STR(r[k].layer, l->name);
      if (!r[k].pass) {
        failed++;
        *failed_layer = l->name;
        *failed_what = r[k].what;
        printf("  failed: %s %s rel %.3g abs %.3g\n", l->name, r[k].what, r[k].max_rel,
               r[k].max_abs);
      }
    }
  }
  return failed;
}

static void test_fd(const char *path, const char *text, int samples) {
  cb_netdef *nd;
  cb_net *net = build(path, text, "ref", &nd);
  if (!net) return;
  cb_gradcheck_opts o = {.samples = samples, .seed = 11};
  const char *layer = NULL, *what = NULL;
  CHECK_EQ_INT(fd_all(net, &o, &layer, &what), 0);

  /* Planted: conv1's weight gradient 5% off in one element. */
  plant p = {.layer = "conv1", .param = 0};
  o.after_backward = plant_error;
  o.user = &p;
  CHECK_EQ_INT(fd_all(net, &o, &layer, &what), 1);
  CHECK_EQ_INT(p.hits, 1);
  CHECK_EQ_STR(layer, "conv1");
  CHECK_EQ_STR(what, "fd_weights");
  /* ... and the input gradient of the last fc. */
  p = (plant){.layer = net->layers[net->nlayers - 2].name, .param = -1};
  CHECK_EQ_INT(fd_all(net, &o, &layer, &what), 1);
  CHECK_EQ_STR(what, "fd_input");
  cb_net_free(net);
  cb_netdef_free(nd);
}

static void test_backends(const char *path, const char *text) {
  cb_netdef *nd;
  cb_net *ref = build(path, text, "ref", &nd);
  if (!ref) return;
  for (const cb_backend *const *b = cb_backends(); *b; b++) {
    if (strcmp((*b)->name, "ref") == 0 || (*b)->device != CB_DEVICE_HOST) continue;
    cb_ctx *ctx;
    if (cb_ctx_open(*b, 1, &ctx) != CB_OK) continue;
    cb_ctx_close(ctx);
    cb_netdef *nd2;
    cb_net *net = build(path, text, (*b)->name, &nd2);
    if (!net) continue;
    for (int pass = 0; pass < 2; pass++) {
      plant p = {.layer = net->layers[0].name, .param = -1};
      cb_gradcheck_opts o = {.samples = 8, .seed = 5};
      if (pass == 1) o.after_backward = plant_error, o.user = &p;
      int rows = 0, failed = 0;
      for (int i = 0; i < net->nlayers; i++) {
        cb_grad_result r[3];
        int n = -1;
        CHECK_MSG(cb_gradcheck_backend(ref, net, i, &o, r, &n) == CB_OK, "%s", cb_errmsg());
        CHECK_EQ_INT(n, net->layers[i].nbind ? 3 : 0);
        for (int k = 0; k < n; k++) {
          rows++;
          CHECK_EQ_STR(r[k].backend, (*b)->name);
          CHECK(strncmp(r[k].variant, (*b)->name, strlen((*b)->name)) == 0 ||
                strncmp(r[k].variant, "ref/", 4) == 0);
          if (!r[k].pass) {
            failed++;
            CHECK_EQ_STR(r[k].what, "bwd_data");
            CHECK_EQ_INT(i, 0);
          }
          if (pass == 0 && !r[k].pass)
            printf("  %s %s %s: rel %.3g > %.3g\n", (*b)->name, r[k].layer, r[k].what, r[k].max_rel,
                   r[k].threshold);
        }
      }
      CHECK(rows > 0);
      CHECK_MSG(failed == pass, "%s, %s: %d failed", (*b)->name, pass ? "planted" : "clean",
                failed);
    }
    cb_net_free(net);
    cb_netdef_free(nd2);
  }
  cb_net_free(ref);
  cb_netdef_free(nd);
}

int main(void) {
  test_fd("kinds.net", kinds_net, 400);
  test_fd(CB_SOURCE_DIR "/netdefs/lenet.net", NULL, 8);
  test_backends("kinds.net", kinds_net);
  test_backends(CB_SOURCE_DIR "/netdefs/lenet.net", NULL);
  return cb_test_result();
}
