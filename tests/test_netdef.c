/* test_netdef.c: the netdef parser (harness/netdef.c) and the netdefs/ files.
 *
 * Parses every file in netdefs/ and checks them against the reference
 * tables in tests/data (layer names row by row, branch inputs, kernel
 * sizes), then the language itself on inline texts (blocks, repeats,
 * scopes, auto names, in-place rules), a table of broken inputs with
 * their exact messages, and the typed value accessors of stmt.c. */
#include "cb_test.h"
#include "netdef.h"

#include <dirent.h>
#include <unistd.h>

#define NETDEFS CB_SOURCE_DIR "/netdefs"

/* ---- helpers ---------------------------------------------------------------- */

static cb_netdef *load(const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", NETDEFS, file);
  cb_netdef *nd = NULL;
  cb_status st = cb_netdef_load(path, &nd);
  CHECK_MSG(st == CB_OK, "%s: %s", file, cb_errmsg());
  return nd;
}

static cb_netdef *parse(const char *text) {
  cb_netdef *nd = NULL;
  cb_status st = cb_netdef_parse("t.net", text, &nd);
  CHECK_MSG(st == CB_OK, "%s\n--- text:\n%s", cb_errmsg(), text);
  return nd;
}

static const cb_stmt *find(const cb_netdef *nd, const char *name) {
  for (int i = 0; nd && i < nd->n; i++)
    if (strcmp(nd->stmts[i].name, name) == 0) return &nd->stmts[i];
  fprintf(stderr, "no statement named '%s'\n", name);
  return NULL;
}

static const char *val(const cb_stmt *st, const char *key) {
  const cb_kv *kv = st ? cb_stmt_find(st, key) : NULL;
  return kv ? kv->val : "(absent)";
}

static int64_t ival(const cb_stmt *st, const char *key, int64_t def) {
  int64_t v = -999;
  if (st && cb_stmt_int(st, key, def, 0, 1 << 30, &v) != CB_OK)
    fprintf(stderr, "%s\n", cb_errmsg());
  return v;
}

/* "a,b,c" for a statement's inputs, "-" for "the previous layer". */
static const char *inputs(const cb_stmt *st) {
  static char buf[1024];
  if (!st) return "(no statement)";
  if (st->nin == 0) return "-";
  buf[0] = '\0';
  for (int i = 0; i < st->nin; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", st->in[i]);
  }
  return buf;
}

/* The layer whose values statement i reads first: its first in=, or the
 * statement before it, looking through in-place relus to the layer they
 * modify (the reference tables omit the relus). */
static const char *source(const cb_netdef *nd, int i) {
  if (nd->stmts[i].nin > 0) return nd->stmts[i].in[0];
  if (i == 0) return "data";
  int j = i - 1;
  while (j > 0 && strcmp(nd->stmts[j].kind, "relu") == 0 && nd->stmts[j].nin == 0) j--;
  if (strcmp(nd->stmts[j].kind, "relu") == 0 && nd->stmts[j].nin > 0) return nd->stmts[j].in[0];
  return nd->stmts[j].name;
}

/* Splits one CSV line (no quoted commas in the rows we read) in place. */
static int csv_fields(char *line, char **f, int max) {
  int n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  for (char *p = line; n < max;) {
    f[n++] = p;
    p = strchr(p, ',');
    if (!p) break;
    *p++ = '\0';
  }
  return n;
}

/* ---- the netdefs/ files ------------------------------------------------------- */

static void test_all_files_parse(void) {
  DIR *d = opendir(NETDEFS);
  CHECK_MSG(d != NULL, "cannot open %s", NETDEFS);
  if (!d) return;
  int files = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    bool net = len > 4 && strcmp(e->d_name + len - 4, ".net") == 0;
    bool shapes = len > 7 && strcmp(e->d_name + len - 7, ".shapes") == 0;
    if (!net && !shapes) continue;
    cb_netdef *nd = load(e->d_name);
    if (nd) {
      CHECK_EQ_INT(nd->is_shapes, shapes);
      if (net) { /* each net is named as its file */
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(len - 4), e->d_name);
        CHECK_EQ_STR(val(&nd->header, "name"), base);
      }
      CHECK_MSG(nd->n > 0, "%s has no layers", e->d_name);
    }
    cb_netdef_free(nd);
    files++;
  }
  closedir(d);
  CHECK_MSG(files >= 7, "only %d netdef files", files);
}

/* Each benchmark net: statement count, header, and every conv / pool / fc /
 * concat matched row by row with convnet_benchmarks_nets.csv: name, output
 * channels, kernel, stride, pad, pool mode, and (where the table names the
 * layers consistently) the layer it reads. */
static void check_benchmark_net(const char *file, const char *csv_net, int nstmts,
                                const char *input, int batch, bool check_bottom) {
  cb_netdef *nd = load(file);
  if (!nd) return;
  CHECK_EQ_INT(nd->n, nstmts);
  CHECK_EQ_STR(val(&nd->header, "input"), input);
  CHECK_EQ_INT(ival(&nd->header, "batch", 1), batch);
  FILE *f = fopen(CB_TEST_DATA "/convnet_benchmarks_nets.csv", "r");
  CHECK(f != NULL);
  char line[4096];
  int i = 0, rows = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *c[20];
    if (csv_fields(line, c, 20) < 17 || strcmp(c[0], csv_net) != 0) continue;
    rows++;
    while (i < nd->n && (strcmp(nd->stmts[i].kind, "relu") == 0)) i++;
    if (i == nd->n) {
      CHECK_MSG(false, "%s: no statement for row %s", file, c[2]);
      break;
    }
    const cb_stmt *st = &nd->stmts[i];
    CHECK_EQ_STR(st->name, c[2]);
    const char *kind = strcmp(c[3], "CONVOLUTION") == 0     ? "conv"
                       : strcmp(c[3], "POOLING") == 0       ? "pool"
                       : strcmp(c[3], "INNER_PRODUCT") == 0 ? "fc"
                                                            : "concat";
    CHECK_EQ_STR(st->kind, kind);
    if (strcmp(kind, "conv") == 0 || strcmp(kind, "fc") == 0)
      CHECK_EQ_INT(ival(st, "out", -1), atoi(c[8]));
    if (strcmp(kind, "conv") == 0 || strcmp(kind, "pool") == 0) {
      CHECK_EQ_INT(ival(st, "k", -1), atoi(c[11]));
      CHECK_EQ_INT(ival(st, "stride", 1), atoi(c[12]));
      CHECK_EQ_INT(ival(st, "pad", 0), atoi(c[13]));
    }
    if (strcmp(kind, "pool") == 0)
      CHECK_EQ_STR(val(st, "mode"), strcmp(c[14], "MAX") == 0 ? "max" : "avg");
    if (check_bottom) {
      char want[512];
      snprintf(want, sizeof want, "%s", c[4]);
      for (char *p = want; *p; p++)
        if (*p == '|') *p = ',';
      if (strcmp(kind, "concat") == 0)
        CHECK_EQ_STR(inputs(st), want);
      else
        CHECK_EQ_STR(source(nd, i), want);
    }
    i++;
  }
  if (f) fclose(f);
  CHECK_MSG(rows > 0, "no rows for %s", csv_net);
  for (; i < nd->n; i++) CHECK_EQ_STR(nd->stmts[i].kind, "relu"); /* nothing left over */
  cb_netdef_free(nd);
}

static void test_benchmark_nets(void) {
  /* The table's bottoms for alexnet name conv1 "conv1/11x11_s4"; the
   * other nets are consistent and checked. */
  check_benchmark_net("alexnet-owt.net", "alexnet", 18, "3x224x224", 128, false);
  check_benchmark_net("overfeat-fast.net", "overfeat", 18, "3x231x231", 128, true);
  check_benchmark_net("vgg-a.net", "vgg_a", 26, "3x224x224", 64, true);
  check_benchmark_net("googlenet-v1.net", "googlenet", 138, "3x224x224", 128, true);

  cb_netdef *nd = load("googlenet-v1.net");
  if (!nd) return;
  const cb_stmt *cat = find(nd, "inception_4e/output");
  CHECK_EQ_STR(inputs(cat),
               "inception_4e/1x1,inception_4e/3x3,inception_4e/5x5,inception_4e/pool_proj");
  CHECK(cat && cat->where && strstr(cat->where, " (in block inception at ") == cat->where);
  CHECK_EQ_STR(inputs(find(nd, "inception_4e/pool")), "inception_4d/output");
  CHECK_EQ_STR(inputs(find(nd, "inception_3a/3x3_reduce")), "pool2/3x3_s2");
  CHECK_EQ_STR(inputs(find(nd, "inception_3a/3x3")), "-");
  CHECK_EQ_STR(val(find(nd, "inception_5b/5x5"), "out"), "128");
  CHECK_EQ_STR(val(find(nd, "pool1/3x3_s2"), "round"), "ceil");
  CHECK(find(nd, "inception_3a/relu1") != NULL); /* auto names count per instance */
  CHECK(find(nd, "inception_5b/relu6") != NULL);
  CHECK_EQ_STR(nd->stmts[nd->n - 1].name, "fc6");
  cb_netdef_free(nd);
}

static void test_resnet(void) {
  cb_netdef *nd = load("resnet-50.net");
  if (!nd) return;
  CHECK_EQ_INT(nd->n, 175);
  CHECK_EQ_INT(ival(&nd->header, "batch", 1), 50);
  int convs = 0, bns = 0, adds = 0;
  for (int i = 0; i < nd->n; i++) {
    const cb_stmt *st = &nd->stmts[i];
    if (strcmp(st->kind, "conv") == 0) {
      convs++;
      CHECK_EQ_STR(val(st, "bias"), "0");
      CHECK_EQ_STR(nd->stmts[i + 1].kind, "bn"); /* every conv is followed by bn */
    }
    bns += strcmp(st->kind, "bn") == 0;
    adds += strcmp(st->kind, "add") == 0;
  }
  CHECK_EQ_INT(convs, 53);
  CHECK_EQ_INT(bns, 53);
  CHECK_EQ_INT(adds, 16);
  /* Projection shortcuts add the two branches; identity ones add the input. */
  CHECK_EQ_STR(inputs(find(nd, "res2a/sum")), "res2a/bn_branch1,res2a/bn_branch2c");
  CHECK_EQ_STR(inputs(find(nd, "res2_1/sum")), "res2a/relu3,res2_1/bn_branch2c");
  CHECK_EQ_STR(inputs(find(nd, "res4_5/sum")), "res4_4/relu3,res4_5/bn_branch2c");
  CHECK_EQ_STR(inputs(find(nd, "res3a/branch1")), "res2_2/relu3");
  CHECK_EQ_STR(inputs(find(nd, "res3a/branch2a")), "res2_2/relu3");
  CHECK_EQ_STR(inputs(find(nd, "res2a/branch1")), "pool1");
  CHECK_EQ_STR(inputs(find(nd, "res2_1/branch2a")), "-");
  /* Stride 2 sits in branch2a and branch1 of res3a, res4a, res5a. */
  CHECK_EQ_STR(val(find(nd, "res3a/branch2a"), "stride"), "2");
  CHECK_EQ_STR(val(find(nd, "res4a/branch1"), "stride"), "2");
  CHECK_EQ_STR(val(find(nd, "res5a/branch2a"), "stride"), "2");
  CHECK_EQ_STR(val(find(nd, "res2a/branch2a"), "stride"), "1");
  CHECK_EQ_STR(val(find(nd, "res5a/branch2b"), "stride"), "(absent)");
  CHECK_EQ_STR(val(find(nd, "res5_2/branch2c"), "out"), "2048");
  bool extra = false; /* stage 5 has two identity blocks, no third */
  for (int i = 0; i < nd->n; i++) extra |= strncmp(nd->stmts[i].name, "res5_3/", 7) == 0;
  CHECK(!extra);
  CHECK_EQ_STR(nd->stmts[nd->n - 1].kind, "softmax");
  CHECK_EQ_STR(nd->stmts[nd->n - 2].name, "fc1000");
  cb_netdef_free(nd);
}

static void test_lenet_and_shapes(void) {
  cb_netdef *nd = load("lenet.net");
  if (nd) {
    CHECK_EQ_STR(val(&nd->header, "name"), "lenet");
    CHECK(nd->header.name == NULL);
    CHECK_EQ_STR(val(&nd->header, "input"), "1x28x28");
    CHECK_EQ_INT(ival(&nd->header, "batch", 1), 64);
    CHECK(nd->has_solver);
    CHECK_EQ_STR(nd->solver.kind, "solver");
    CHECK_EQ_STR(val(&nd->solver, "type"), "sgd");
    CHECK_EQ_STR(val(&nd->solver, "lr"), "0.01");
    CHECK_EQ_STR(val(&nd->solver, "momentum"), "0.9");
    CHECK_EQ_STR(val(&nd->solver, "weight_decay"), "0.0005");
    CHECK_EQ_INT(nd->n, 8);
    CHECK_EQ_STR(nd->stmts[nd->n - 1].kind, "softmax");
    CHECK_EQ_STR(nd->stmts[nd->n - 2].kind, "fc");
    CHECK_EQ_STR(val(&nd->stmts[nd->n - 2], "out"), "10");
  }
  cb_netdef_free(nd);

  nd = load("layers.shapes");
  if (!nd) return;
  CHECK(nd->is_shapes);
  CHECK_EQ_STR(nd->header.kind, "shapes");
  CHECK_EQ_INT(ival(&nd->header, "batch", 1), 128);
  CHECK_EQ_INT(nd->n, 5);
  FILE *f = fopen(CB_TEST_DATA "/convnet_benchmarks_layers.csv", "r");
  CHECK(f != NULL);
  char line[4096];
  int rows = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *c[16];
    if (csv_fields(line, c, 16) < 15 || c[0][0] != 'L' || rows >= nd->n) continue;
    const cb_stmt *st = &nd->stmts[rows++];
    CHECK_EQ_STR(st->name, c[0]);
    CHECK_EQ_STR(st->kind, "conv");
    CHECK_EQ_INT(atoi(c[1]), 128);
    int64_t dims[3] = {0, 0, 0};
    int ndims = 0;
    CHECK(cb_stmt_shape(st, "input", dims, &ndims) == CB_OK);
    CHECK_EQ_INT(ndims, 3);
    CHECK_EQ_INT(dims[0], atoi(c[2]));
    CHECK_EQ_INT(dims[1], atoi(c[3]));
    CHECK_EQ_INT(dims[2], atoi(c[4]));
    CHECK_EQ_INT(ival(st, "out", -1), atoi(c[5]));
    CHECK_EQ_INT(ival(st, "k", -1), atoi(c[6]));
    CHECK_EQ_INT(ival(st, "stride", 1), atoi(c[8]));
    CHECK_EQ_INT(ival(st, "pad", 0), atoi(c[10]));
    CHECK_EQ_INT(st->nin, 0);
  }
  if (f) fclose(f);
  CHECK_EQ_INT(rows, 5);
  cb_netdef_free(nd);
}

/* ---- the language ---------------------------------------------------------------- */

static void test_names_and_inputs(void) {
  cb_netdef *nd = parse("# comment line\n"
                        "net input=3x8x8   # trailing comment\n"
                        "relu\n"                      /* reads data, not in place */
                        "conv name=conv2 out=4 k=3\n" /* taken: auto names skip it */
                        "conv out=4\n"
                        "\tconv out=4\n"
                        "relu\n"          /* in place */
                        "relu name=act\n" /* named: reads relu2, not in place */
                        "dropout in=act\n"
                        "concat in=conv2,conv1,data\n"
                        "fc out=10 in=conv3\n");
  if (nd) {
    CHECK_EQ_STR(val(&nd->header, "name"), "t"); /* from the path */
    CHECK_EQ_INT(nd->n, 9);
    CHECK_EQ_STR(nd->stmts[0].name, "relu1");
    CHECK_EQ_STR(inputs(&nd->stmts[0]), "data");
    CHECK_EQ_STR(nd->stmts[2].name, "conv1");
    CHECK_EQ_STR(nd->stmts[3].name, "conv3");
    CHECK_EQ_INT(nd->stmts[3].line, 6);
    CHECK_EQ_INT(nd->stmts[3].col, 2);
    CHECK_EQ_STR(nd->stmts[4].name, "relu2");
    CHECK_EQ_STR(inputs(&nd->stmts[4]), "-"); /* in place */
    CHECK_EQ_STR(nd->stmts[5].name, "act");
    CHECK_EQ_STR(inputs(&nd->stmts[5]), "relu2"); /* named: not in place */
    CHECK_EQ_STR(nd->stmts[6].name, "dropout1");
    CHECK_EQ_STR(inputs(&nd->stmts[6]), "act");
    CHECK_EQ_STR(inputs(&nd->stmts[7]), "conv2,conv1,data");
    CHECK_EQ_STR(nd->stmts[7].name, "concat1");
    CHECK_EQ_STR(inputs(&nd->stmts[8]), "conv3");
    CHECK(nd->stmts[8].where == NULL);
    CHECK(nd->stmts[8].file == nd->path);
    const cb_kv *kv = cb_stmt_find(&nd->stmts[8], "out");
    CHECK(kv && kv->line == 11 && kv->col == 4);
    CHECK_EQ_INT(nd->stmts[8].nkv, 1); /* in= is not a kv */
    CHECK(!nd->has_solver);
  }
  cb_netdef_free(nd);
}

static void test_blocks(void) {
  cb_netdef *nd = parse("net name=blocks input=3x8x8 batch=2\n"
                        "conv name=conv1 out=8\n"
                        "block unit out k=3\n"
                        "  conv name=a out=$out k=${k}\n"
                        "  conv name=b out=$out in=conv1\n"
                        "  conv name=conv1 out=${out}x\n"
                        "  add in=conv1,@in\n"
                        "end\n"
                        "unit name=u1 out=16\n" /* k defaults to 3 */
                        "unit out=32 k=5\n"     /* auto-named unit1 */
                        "unit out=4 in=u1\n"    /* the instance name refers to its output */
                        "fc out=10 in=u1\n");
  if (nd) {
    CHECK_EQ_STR(val(&nd->header, "name"), "blocks"); /* given, not from the path */
    CHECK_EQ_INT(nd->header.nkv, 3);
    CHECK_EQ_INT(nd->n, 1 + 3 * 4 + 1);
    const cb_stmt *a = find(nd, "u1/a");
    CHECK_EQ_STR(val(a, "out"), "16");
    CHECK_EQ_STR(val(a, "k"), "3");
    CHECK_EQ_STR(inputs(a), "-");
    CHECK_EQ_STR(a ? a->where : NULL, " (in block unit at t.net:9:1)");
    CHECK(a && a->line == 4 && a->col == 3);
    CHECK_EQ_STR(inputs(find(nd, "u1/b")), "conv1");
    CHECK_EQ_STR(val(find(nd, "u1/conv1"), "out"), "16x");
    CHECK_EQ_STR(inputs(find(nd, "u1/add1")), "u1/conv1,conv1");
    CHECK_EQ_STR(val(find(nd, "unit1/a"), "k"), "5");
    CHECK_EQ_STR(inputs(find(nd, "unit1/add1")), "unit1/conv1,u1/add1");
    CHECK_EQ_STR(inputs(find(nd, "unit2/a")), "u1/add1"); /* the instance's in= */
    CHECK_EQ_STR(inputs(find(nd, "unit2/add1")), "unit2/conv1,u1/add1");
    CHECK_EQ_STR(inputs(find(nd, "fc1")), "u1/add1");
  }
  cb_netdef_free(nd);

  /* Blocks using blocks: scopes nest; @in of the inner instance is the
   * outer one's input when it comes first. */
  nd = parse("net input=3x8x8\n"
             "conv name=x out=3\n"
             "conv name=y out=3\n"
             "block inner n\n"
             "  relu\n"
             "  conv name=c out=$n\n"
             "end\n"
             "block outer\n"
             "  inner name=i1 n=1\n"
             "  inner n=2 in=i1/c\n"
             "  concat in=i1,inner1,@in\n"
             "end\n"
             "outer name=o in=x\n");
  if (nd) {
    CHECK_EQ_INT(nd->n, 7);
    CHECK_EQ_STR(nd->stmts[2].name, "o/i1/relu1");
    CHECK_EQ_STR(inputs(&nd->stmts[2]), "x"); /* not in place: x is not the layer before */
    CHECK_EQ_STR(nd->stmts[2].where, " (in block inner at t.net:9:3)");
    CHECK_EQ_STR(nd->stmts[3].name, "o/i1/c");
    CHECK_EQ_STR(inputs(&nd->stmts[3]), "-");
    CHECK_EQ_STR(nd->stmts[4].name, "o/inner1/relu1");
    CHECK_EQ_STR(inputs(&nd->stmts[4]), "o/i1/c");
    CHECK_EQ_STR(inputs(&nd->stmts[6]), "o/i1/c,o/inner1/c,x");
    CHECK_EQ_STR(nd->stmts[6].where, " (in block outer at t.net:13:1)");
  }
  cb_netdef_free(nd);
}

static void test_repeats(void) {
  cb_netdef *nd = parse("net input=3x8x8\n"
                        "repeat 2\n"
                        "  repeat 3\n"
                        "    fc out=$i\n" /* the innermost repeat's i */
                        "  end\n"
                        "  relu name=r$i\n"
                        "end\n");
  if (nd) {
    CHECK_EQ_INT(nd->n, 8);
    const char *outs[] = {"1", "2", "3", NULL, "1", "2", "3", NULL};
    for (int i = 0; i < 8; i++)
      if (outs[i]) CHECK_EQ_STR(val(&nd->stmts[i], "out"), outs[i]);
    CHECK_EQ_STR(nd->stmts[4].name, "fc4");
    CHECK_EQ_STR(nd->stmts[3].name, "r1");
    CHECK_EQ_STR(nd->stmts[7].name, "r2");
    CHECK_EQ_STR(inputs(&nd->stmts[7]), "fc6");
  }
  cb_netdef_free(nd);

  /* A repeat inside a block inside a repeat: $i is lexically scoped, so
   * the block sees its own repeat's i and the caller passes its own. */
  nd = parse("net input=3x8x8\n"
             "block row n\n"
             "  repeat 2\n"
             "    conv name=c$i out=${n}0$i\n"
             "  end\n"
             "end\n"
             "repeat 3\n"
             "  row name=r$i n=$i\n"
             "end\n");
  if (nd) {
    CHECK_EQ_INT(nd->n, 6);
    CHECK_EQ_STR(nd->stmts[0].name, "r1/c1");
    CHECK_EQ_STR(nd->stmts[5].name, "r3/c2");
    CHECK_EQ_STR(val(&nd->stmts[5], "out"), "302");
    CHECK_EQ_STR(inputs(&nd->stmts[2]), "-");
  }
  cb_netdef_free(nd);

  /* A shapes file with a block and a repeat: every layer has its own input. */
  nd = NULL;
  CHECK(cb_netdef_parse("dir/set.shapes",
                        "shapes batch=4\n"
                        "block sq n\n"
                        "  conv input=${n}x8x8 out=$n k=3\n"
                        "end\n"
                        "repeat 2\n"
                        "  sq name=s$i n=$i\n"
                        "end\n"
                        "pool input=16 mode=avg global=1\n",
                        &nd) == CB_OK);
  if (nd) {
    CHECK(nd->is_shapes);
    CHECK_EQ_STR(val(&nd->header, "name"), "set");
    CHECK_EQ_INT(nd->n, 3);
    CHECK_EQ_STR(nd->stmts[1].name, "s2/conv1");
    CHECK_EQ_STR(val(&nd->stmts[1], "input"), "2x8x8");
    CHECK_EQ_INT(nd->stmts[1].nin, 0);
    CHECK_EQ_STR(nd->stmts[2].name, "pool1");
  }
  cb_netdef_free(nd);
}

/* ---- errors -------------------------------------------------------------------------- */

#define H "net input=3x8x8\n"

static const struct {
  const char *text;
  const char *msg;
} broken[] = {
    {H "convv out=8\n", "t.net:2:1: unknown layer kind 'convv' (did you mean 'conv'?)"},
    {H "frobnicate\n", "t.net:2:1: unknown layer kind 'frobnicate'"},
    {H "conv out=8 strid=2\n", "t.net:2:12: conv: unknown key 'strid' (did you mean 'stride'?)"},
    {H "conv out=8 k=\n", "t.net:2:12: missing value after 'k='"},
    {H "conv out=8 foo\n", "t.net:2:12: expected key=value, found 'foo'"},
    {H "conv Out=8\n", "t.net:2:6: expected key=value, found 'Out=8'"},
    {H "conv out=8 k=3=4\n", "t.net:2:12: expected key=value, found 'k=3=4'"},
    {H "conv out=8 k=3 k=5\n", "t.net:2:16: duplicate key 'k'"},
    {H "conv name=conv1 out=8\nrelu\nconv name=conv1 out=8\n",
     "t.net:4:11: duplicate layer name 'conv1' (first at t.net:2:1)"},
    {H "block b out\n  conv out=$mid\nend\nb out=3\n", "t.net:3:12: undefined variable '$mid'"},
    {H "conv out=$i\n", "t.net:2:10: undefined variable '$i'"},
    {H "block b n\n  conv out=${n\nend\n", "t.net:3:12: unclosed '${'"},
    {H "conv out=8$\n", "t.net:2:11: expected a variable name after '$'"},
    {H "conv out=8\x1b[31m\n", "t.net:2:11: unexpected control character (byte 0x1B)"},
    {H "conv out=8 in=conv9\n", "t.net:2:15: in=: no earlier layer named 'conv9'"},
    {H "conv name=a out=8\nconcat in=a,,b\n", "t.net:3:11: in=: empty name in 'a,,b'"},
    {H "conv name=a out=8\nconcat in=a\n", "t.net:3:11: concat: needs at least 2 inputs (got 1)"},
    {H "conv name=a out=8\nconv name=b out=8\nconv out=8 in=a,b\n",
     "t.net:4:15: conv: takes at most 1 input (got 2)"},
    {H "block b\nconv out=8\n", "t.net:2:1: 'block' without 'end'"},
    {H "repeat 2\nrelu\n", "t.net:2:1: 'repeat' without 'end'"},
    {H "conv out=8\nend\n", "t.net:3:1: 'end' without 'block' or 'repeat'"},
    {H "conv out=8\nrepeat 1\nrelu\nend now\n", "t.net:5:5: unexpected 'now' after 'end'"},
    {"conv out=8\n", "t.net:1:1: the first statement must be 'net' or 'shapes', found 'conv'"},
    {"", "t.net:1:1: no statements (expected 'net' or 'shapes')"},
    {"# nothing\n\n", "t.net:1:1: no statements (expected 'net' or 'shapes')"},
    {"net name=x batch=2\nconv out=8\n", "t.net:1:1: net: missing required key 'input'"},
    {"net input=3x8x8 bacth=2\n", "t.net:1:17: net: unknown key 'bacth' (did you mean 'batch'?)"},
    {H, "t.net:1:1: net: no layers"},
    {H H "relu\n", "t.net:2:1: 'net' is allowed only as the first statement"},
    {H "block inception c1 c3\n  conv out=$c1\nend\ninception c3=4\n",
     "t.net:5:1: block inception: missing parameter 'c1'"},
    {H "block inception c1 c3\n  conv out=$c1\nend\ninception c1=4 c3=4 c9=1\n",
     "t.net:5:21: block inception: unknown parameter 'c9' (did you mean 'c1'?)"},
    {H "block inception c1\n  conv out=$c1\nend\ninceptoin c1=4\n",
     "t.net:5:1: unknown layer kind 'inceptoin' (did you mean 'inception'?)"},
    {H "block b\nend\n", "t.net:2:1: 'block' with an empty body"},
    {H "block conv\nrelu\nend\n", "t.net:2:7: 'conv' is a layer kind and cannot name a block"},
    {H "block b\nrelu\nend\nblock b\nrelu\nend\n",
     "t.net:5:7: duplicate block 'b' (first at t.net:2:1)"},
    {H "block b x x\nrelu\nend\n", "t.net:2:11: block b: duplicate parameter 'x'"},
    {H "block b in\nrelu\nend\n", "t.net:2:9: block b: 'in' cannot be a parameter"},
    {H "repeat 2\nblock b\nrelu\nend\nend\n", "t.net:3:1: 'block' must be at the top level"},
    {H "conv out=8 in=@in\n", "t.net:2:15: '@in' outside a block"},
    {H "repeat 0\nrelu\nend\n",
     "t.net:2:8: repeat count must be an integer from 1 to 10000, found '0'"},
    {H "block b n\n  repeat $n\n    relu\n  end\nend\nb n=x\n",
     "t.net:3:10: repeat count must be an integer from 1 to 10000, found 'x' (in block b at "
     "t.net:7:1)"},
    {H "repeat\nrelu\nend\n", "t.net:2:1: 'repeat' needs a count"},
    {H "repeat 3$n\nrelu\nend\n", "t.net:2:9: undefined variable '$n'"},
    {H "repeat 2\n  repeat $i\n    relu\n  end\nend\n", NULL}, /* the outer $i: fine */
    {H "block b\n  relu\nend\nb in=data,data,data,data,data,data,data,data,data\n",
     "t.net:5:6: block b: takes at most 8 inputs (got 9)"},
    {H "block b\n  conv out=8 in=nope\nend\nconv out=4\nb name=x\n",
     "t.net:3:17: in=: no earlier layer named 'nope' (in block b at t.net:6:1)"},
    {H "block b\n  relu name=r\n  relu name=r\nend\nb\n",
     "t.net:4:13: duplicate layer name 'b1/r' (first at t.net:3:3) (in block b at t.net:6:1)"},
    {H "block b\n  relu\nend\nconv name=x out=3\nb name=x\n",
     "t.net:6:8: duplicate layer name 'x' (first at t.net:5:1)"},
    {H "conv name=a,b out=8\n", "t.net:2:11: invalid name 'a,b'"},
    {H "conv name=data out=8\n", "t.net:2:11: the name 'data' is reserved for the net input"},
    {H "solver type=sgd lrate=0.1\nconv out=8\n", "t.net:2:17: solver: unknown key 'lrate'"},
    {H "solver lr=0.1\nsolver lr=0.2\nconv out=8\n",
     "t.net:3:1: duplicate 'solver' (first at t.net:2:1)"},
    {H "repeat 2\n  solver lr=0.1\nend\n", "t.net:3:3: 'solver' must be at the top level"},
    {"shapes batch=4\nconv out=8 k=3\n", "t.net:2:1: conv: missing required key 'input'"},
    {"shapes\nconv input=3x8x8 out=8 in=x\n", "t.net:2:24: 'in=' is not allowed in a shapes file"},
    {H "repeat 10000\nrepeat 11\nrelu\nend\nend\n",
     "t.net:4:1: more than 100000 layers after expansion"},
};

static void test_errors(void) {
  int n = (int)(sizeof broken / sizeof broken[0]);
  CHECK(n >= 25); /* NULL messages: near misses that parse */
  for (int i = 0; i < n; i++) {
    if (!broken[i].msg) { /* a near miss that must parse */
      cb_netdef_free(parse(broken[i].text));
      continue;
    }
    static cb_netdef sentinel;
    cb_netdef *nd = &sentinel; /* must come back NULL */
    cb_status st = cb_netdef_parse("t.net", broken[i].text, &nd);
    CHECK_MSG(st == CB_ERR_PARSE, "case %d: status %d", i, (int)st);
    CHECK(nd == NULL);
    CHECK_EQ_STR(cb_errmsg(), broken[i].msg);
    if (nd != &sentinel) cb_netdef_free(nd);
  }

  /* Nesting deeper than 32 levels. */
  char deep[2048] = H;
  for (int i = 0; i < 33; i++) strcat(deep, "repeat 1\n");
  strcat(deep, "relu\n");
  for (int i = 0; i < 33; i++) strcat(deep, "end\n");
  cb_netdef *nd = NULL;
  CHECK(cb_netdef_parse("t.net", deep, &nd) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(),
               "t.net:34:1: blocks and repeats nested too deeply (more than 32 levels)");

  /* A qualified name longer than a tensor name can hold: 95 fits, 96 not. */
  char text[512], want[512], longname[100];
  memset(longname, 'x', 90);
  longname[90] = '\0';
  snprintf(text, sizeof text, H "block b\n  relu name=%s\nend\nb name=yyyy\n", longname);
  CHECK(cb_netdef_parse("t.net", text, &nd) == CB_OK);
  CHECK_EQ_INT(nd ? (int)strlen(nd->stmts[0].name) : 0, 95);
  cb_netdef_free(nd);
  strcat(longname, "x");
  snprintf(text, sizeof text, H "block b\n  relu name=%s\nend\nb name=yyyy\n", longname);
  CHECK(cb_netdef_parse("t.net", text, &nd) == CB_ERR_PARSE);
  snprintf(want, sizeof want,
           "t.net:3:13: name 'yyyy/%s' is too long (at most 95 characters) (in block b at "
           "t.net:5:1)",
           longname);
  CHECK_EQ_STR(cb_errmsg(), want);

  /* A NUL byte would end the text early: refused. */
  char tmp[] = "/tmp/cb_test_netdef_XXXXXX";
  int fd = mkstemp(tmp);
  CHECK(fd >= 0);
  if (fd >= 0) {
    static const char bytes[] = "net input=3\nconv out=8\0 k=3\n";
    CHECK(write(fd, bytes, sizeof bytes - 1) == (ssize_t)(sizeof bytes - 1));
    close(fd);
    CHECK(cb_netdef_load(tmp, &nd) == CB_ERR_PARSE);
    snprintf(want, sizeof want, "%s:2:11: NUL byte in the text", tmp);
    CHECK_EQ_STR(cb_errmsg(), want);
    unlink(tmp);
  }

  /* A missing file, and a directory. */
  CHECK(cb_netdef_load("/nonexistent/x.net", &nd) == CB_ERR_IO);
  CHECK(nd == NULL);
  CHECK_EQ_STR(cb_errmsg(), "cannot read '/nonexistent/x.net': No such file or directory");
  CHECK(cb_netdef_load(NETDEFS, &nd) == CB_ERR_IO);
  CHECK_EQ_STR(cb_errmsg(), "cannot read '" NETDEFS "': Is a directory");
}

/* ---- typed accessors (harness/netdef_stmt.c) ---------------------------------------------- */

static void test_accessors(void) {
  cb_netdef *nd = parse(H "conv name=c1 out=8 k=0 stride=x pad=1.5 dilation=99999999999999999999\n"
                          "pool mode=mean k=3 round=ceil\n"
                          "lrn alpha=1e-4 beta=abc size=5 k=2\n"
                          "block b n\n"
                          "  conv out=$n k=3x3\n"
                          "end\n"
                          "b name=blk n=-4\n");
  if (!nd) return;
  const cb_stmt *conv = &nd->stmts[0], *pool = &nd->stmts[1], *lrn = &nd->stmts[2];
  const cb_stmt *inner = &nd->stmts[3];
  int64_t i64 = -1;
  double d = -1;
  int e = -1;

  CHECK(cb_stmt_int(conv, "out", 0, 1, 100, &i64) == CB_OK);
  CHECK_EQ_INT(i64, 8);
  CHECK(cb_stmt_int(conv, "groups", 1, 1, 100, &i64) == CB_OK);
  CHECK_EQ_INT(i64, 1); /* absent: the default */
  CHECK(cb_stmt_int(conv, "k", 1, 1, 100, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:2:22: layer c1: k=0: must be between 1 and 100");
  CHECK(cb_stmt_int(conv, "stride", 1, 1, 100, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:2:31: layer c1: stride=x: expected an integer");
  CHECK(cb_stmt_int(conv, "pad", 0, 0, 100, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:2:37: layer c1: pad=1.5: expected an integer");
  CHECK(cb_stmt_int(conv, "dilation", 1, 1, 100, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(),
               "t.net:2:50: layer c1: dilation=99999999999999999999: expected an integer");

  CHECK(cb_stmt_float(lrn, "alpha", 1, 0, 1, &d) == CB_OK);
  CHECK_NEAR(d, 1e-4, 1e-12);
  CHECK(cb_stmt_float(lrn, "beta", 0.75, 0, 10, &d) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:4:21: layer lrn1: beta=abc: expected a number");
  CHECK(cb_stmt_float(lrn, "k", 1, 0, 1, &d) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:4:34: layer lrn1: k=2: must be between 0 and 1");

  static const char *const modes[] = {"max", "avg", NULL};
  static const char *const rounds[] = {"floor", "ceil", NULL};
  CHECK(cb_stmt_enum(pool, "round", rounds, 0, &e) == CB_OK);
  CHECK_EQ_INT(e, 1);
  CHECK(cb_stmt_enum(pool, "mode", modes, 0, &e) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:3:11: layer pool1: mode=mean: expected max or avg");

  const char *s = NULL;
  CHECK(cb_stmt_str(pool, "mode", "max", &s) == CB_OK);
  CHECK_EQ_STR(s, "mean");
  CHECK(cb_stmt_str(pool, "pad", "none", &s) == CB_OK);
  CHECK_EQ_STR(s, "none");

  int64_t dims[3] = {7, 7, 7};
  int nd3 = -1;
  CHECK(cb_stmt_shape(&nd->header, "input", dims, &nd3) == CB_OK);
  CHECK(nd3 == 3 && dims[0] == 3 && dims[1] == 8 && dims[2] == 8);
  CHECK(cb_stmt_shape(&nd->header, "batch", dims, &nd3) == CB_OK);
  CHECK(cb_stmt_int(&nd->header, "input", 1, 1, 10, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:1:11: input=3x8x8: expected an integer"); /* no "layer" */
  CHECK_EQ_INT(nd3, 0);                                                      /* absent */
  CHECK(cb_stmt_shape(inner, "k", dims, &nd3) == CB_ERR_PARSE);
  /* From a block: the message names the instance. */
  CHECK_EQ_STR(cb_errmsg(), "t.net:6:17: layer blk/conv1: k=3x3: expected a shape like 3x224x224 "
                            "(in block b at t.net:8:1)");
  CHECK(cb_stmt_int(inner, "out", 1, 1, 10, &i64) == CB_ERR_PARSE);
  CHECK_EQ_STR(cb_errmsg(), "t.net:6:12: layer blk/conv1: out=-4: must be between 1 and 10 "
                            "(in block b at t.net:8:1)");
  CHECK(cb_stmt_error(CB_ERR_INVALID, conv, NULL, "output would be %dx%d", 0, 0) == CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(), "t.net:2:1: layer c1: output would be 0x0");
  cb_netdef_free(nd);
}

int main(void) {
  test_all_files_parse();
  test_benchmark_nets();
  test_resnet();
  test_lenet_and_shapes();
  test_names_and_inputs();
  test_blocks();
  test_repeats();
  test_errors();
  test_accessors();
  return cb_test_result();
}
