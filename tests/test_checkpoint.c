/* test_checkpoint.c: checkpoints save and load by layer name: a round trip
 * restores every parameter bit for bit (batch-norm statistics too); a
 * renamed layer is initialised fresh while the others load; a layer of the
 * same name with another shape is an error naming the layer and both
 * shapes, and leaves the net untouched; truncated, corrupt and foreign
 * files are refused naming the file. */
#include "cb_test.h"
#include "checkpoint.h"

#include <unistd.h>

static char dir[256];

static const char *const base_net = "net name=small input=1x8x8 batch=2\n"
                                    "conv name=conv1 out=4 k=3\n"
                                    "bn name=bn1\n"
                                    "relu\n"
                                    "fc name=ip1 out=6\n"
                                    "fc name=ip2 out=3\n"
                                    "softmax name=loss\n";

/* Builds a net from text (ip2's out and name may be changed by the caller
 * through the text itself). */
static cb_net *build(const char *text, uint64_t seed, cb_netdef **nd) {
  CHECK_EQ_INT(cb_netdef_parse("small.net", text, nd), CB_OK);
  cb_net_opts o = {.threads = 1, .seed = seed};
  cb_net *net = NULL;
  CHECK_MSG(cb_net_build(*nd, &o, &net) == CB_OK, "%s", cb_errmsg());
  return net;
}

static void free_net(cb_net *net, cb_netdef *nd) {
  cb_net_free(net);
  cb_netdef_free(nd);
}

static const cb_layer *layer(const cb_net *net, const char *name) {
  for (int i = 0; i < net->nlayers; i++)
    if (strcmp(net->layers[i].name, name) == 0) return &net->layers[i];
  return NULL;
}

/* Whether every parameter of layer `name` is bit-identical in a and b. */
static bool same_layer(const cb_net *a, const cb_net *b, const char *name) {
  const cb_layer *x = layer(a, name), *y = layer(b, name);
  if (!x || !y || x->nparams != y->nparams) return false;
  for (int p = 0; p < x->nparams; p++)
    if (memcmp(x->params[p].data, y->params[p].data,
               (size_t)cb_tensor_count(&x->params[p]) * sizeof(float)) != 0)
      return false;
  return true;
}

static void path_of(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", dir, name);
}

static void test_round_trip(const char *file) {
  cb_netdef *nd1, *nd2;
  cb_net *a = build(base_net, 1, &nd1), *b = build(base_net, 2, &nd2);
  if (!a || !b) return;
  /* Running statistics are saved too: give them values init never has. */
  cb_layer *bn = (cb_layer *)layer(a, "bn1");
  for (int p = 0; p < bn->nparams; p++)
    if (!bn->learnable[p]) bn->params[p].data[1] = 42.5f + (float)p;
  cb_ckpt_meta meta = {.mean = 0.25, .sd = 0.5};
  snprintf(meta.net, sizeof meta.net, "small");
  CHECK_EQ_INT(cb_checkpoint_save(file, a, &meta), CB_OK);
  CHECK(!same_layer(a, b, "conv1")); /* different seeds: different weights */
  cb_ckpt_meta got;
  cb_ckpt_report rep;
  CHECK_MSG(cb_checkpoint_load(file, b, &got, &rep) == CB_OK, "%s", cb_errmsg());
  const char *names[] = {"conv1", "bn1", "ip1", "ip2"};
  for (int i = 0; i < 4; i++) CHECK_MSG(same_layer(a, b, names[i]), "layer %s", names[i]);
  CHECK_EQ_INT(rep.loaded, 4);
  CHECK_EQ_INT(rep.fresh, 0);
  CHECK_EQ_INT(rep.unused, 0);
  CHECK_NEAR(got.mean, 0.25, 0);
  CHECK_NEAR(got.sd, 0.5, 0);
  CHECK_EQ_STR(got.net, "small");
  free_net(a, nd1);
  free_net(b, nd2);
}

/* text: base_net with its line from replaced by to (of the same length). */
static void base_net_with(char *text, size_t size, const char *from, const char *to) {
  snprintf(text, size, "%s", base_net);
  memcpy(strstr(text, from), to, strlen(to));
}

/* ip2 renamed (and re-sized): it keeps its fresh initialisation, the
 * others load, and the checkpoint's ip2 is reported unused. */
static void test_renamed(const char *file) {
  char text[1024];
  base_net_with(text, sizeof text, "fc name=ip2 out=3", "fc name=ip9 out=5");
  cb_netdef *nd1, *nd2, *nd3;
  cb_net *saved = build(base_net, 1, &nd1), *fresh = build(text, 3, &nd2),
         *tuned = build(text, 3, &nd3);
  if (!saved || !fresh || !tuned) return;
  cb_ckpt_report rep;
  CHECK_MSG(cb_checkpoint_load(file, tuned, NULL, &rep) == CB_OK, "%s", cb_errmsg());
  CHECK(same_layer(saved, tuned, "conv1"));
  CHECK(same_layer(saved, tuned, "ip1"));
  CHECK(same_layer(fresh, tuned, "ip9"));
  CHECK_EQ_INT(rep.loaded, 3);
  CHECK_EQ_INT(rep.fresh, 1);
  CHECK_EQ_INT(rep.unused, 1);
  CHECK_EQ_STR(rep.fresh_names, "ip9");
  free_net(saved, nd1);
  free_net(fresh, nd2);
  free_net(tuned, nd3);
}

/* ip1 keeps its name but not its shape: an error naming the layer, the
 * parameter and both shapes; no layer of the net changes. */
static void test_mismatch(const char *file) {
  char text[1024];
  base_net_with(text, sizeof text, "fc name=ip1 out=6", "fc name=ip1 out=7");
  cb_netdef *nd1, *nd2;
  cb_net *net = build(text, 4, &nd1), *copy = build(text, 4, &nd2);
  if (!net || !copy) return;
  CHECK_EQ_INT(cb_checkpoint_load(file, net, NULL, NULL), CB_ERR_INVALID);
  const char *m = cb_errmsg();
  CHECK_MSG(strstr(m, file) && strstr(m, "layer ip1") && strstr(m, "ip1.weight") &&
                strstr(m, "6x144x1x1 in the checkpoint") && strstr(m, "7x144x1x1 in the net"),
            "message: %s", m);
  CHECK(same_layer(net, copy, "conv1")); /* nothing was copied */
  free_net(net, nd1);
  free_net(copy, nd2);
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(b, 1, n, f) == n);
  fclose(f);
}

static void expect_refused(const char *path, cb_status want, const char *text) {
  cb_netdef *nd;
  cb_net *net = build(base_net, 1, &nd);
  if (!net) return;
  CHECK_EQ_INT(cb_checkpoint_load(path, net, NULL, NULL), want);
  CHECK_MSG(strstr(cb_errmsg(), path) && strstr(cb_errmsg(), text), "message '%s' lacks '%s'",
            cb_errmsg(), text);
  free_net(net, nd);
}

static void test_bad_files(const char *file) {
  FILE *f = fopen(file, "rb");
  CHECK(f != NULL);
  if (!f) return;
  static uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  CHECK(n > 100 && n < sizeof buf);
  char path[512];
  /* Truncated in the header, in the data, and just before the CRC. */
  size_t cuts[] = {6, 40, n / 2, n - 2};
  for (int i = 0; i < 4; i++) {
    path_of(path, sizeof path, "cut.ckpt");
    write_bytes(path, buf, cuts[i]);
    expect_refused(path, CB_ERR_PARSE, i == 0 ? "not a convbench checkpoint" : "truncated");
  }
  path_of(path, sizeof path, "flip.ckpt");
  buf[n / 2] ^= 0x10;
  write_bytes(path, buf, n);
  expect_refused(path, CB_ERR_PARSE, "corrupt checkpoint (CRC-32");
  buf[n / 2] ^= 0x10;
  buf[8] = 9; /* version */
  write_bytes(path, buf, n);
  expect_refused(path, CB_ERR_PARSE, "checkpoint version 9");
  path_of(path, sizeof path, "text.ckpt");
  write_bytes(path, "hello\n", 6);
  expect_refused(path, CB_ERR_PARSE, "not a convbench checkpoint");
  path_of(path, sizeof path, "absent.ckpt");
  expect_refused(path, CB_ERR_IO, "cannot open");
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/cb_test_ckpt_XXXXXX");
  if (!mkdtemp(dir)) CB_TEST_SKIP("cannot create a temporary directory");
  char file[512];
  path_of(file, sizeof file, "small.ckpt");
  test_round_trip(file);
  test_renamed(file);
  test_mismatch(file);
  test_bad_files(file);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
  return cb_test_result();
}
