/* test_net.c: nets built from the shipped netdefs have exactly the layer
 * shapes of the published references, and a built net's backward is the
 * true gradient of its forward (branches, in-place layers and gradient
 * accumulation included).
 *
 * References: tests/data/convnet_benchmarks_nets.csv (Caffe "Top shape"
 * lines of the four convnet-benchmarks nets), convnet_benchmarks_layers.csv
 * (L1..L5), benchdnn_topologies_conv.csv (ResNet-50's convolutions). */
#include "cb_test.h"
#include "bench.h"
#include "net.h"

#include <stdint.h>

#define MAX_FIELDS 24

/* Splits a CSV line in place on commas (no quoted fields in the rows we
 * read; the quoted header comment line is skipped by the caller). */
static int split_csv(char *line, char **f) {
  int n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < MAX_FIELDS; p++) {
    if (*p == ',') {
      *p = '\0';
      f[n++] = p + 1;
    } else if (*p == '\n' || *p == '\r') {
      *p = '\0';
    }
  }
  return n;
}

static FILE *open_data(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", CB_TEST_DATA, name);
  FILE *f = fopen(path, "r");
  if (!f) fprintf(stderr, "cannot open %s\n", path);
  return f;
}

/* Builds netdefs/<file> without allocating (check_only, no memory limit). */
static cb_net *build_checked(const char *file, cb_netdef **nd, int shape_index, int64_t batch) {
  char path[1024];
  snprintf(path, sizeof path, "%s/netdefs/%s", CB_SOURCE_DIR, file);
  if (cb_netdef_load(path, nd) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return NULL;
  }
  cb_net_opts o = {.threads = 1,
                   .seed = 1,
                   .batch = batch,
                   .shape_index = shape_index,
                   .check_only = true,
                   .mem_limit = INT64_MAX};
  cb_net *net = NULL;
  if (cb_net_build(*nd, &o, &net) != CB_OK) fprintf(stderr, "%s: %s\n", file, cb_errmsg());
  return net;
}

static bool is_ref_kind(const char *kind) {
  return !strcmp(kind, "conv") || !strcmp(kind, "pool") || !strcmp(kind, "fc") ||
         !strcmp(kind, "concat");
}

/* Every conv, pool, fc and concat row of the CSV for csv_net matches the
 * net's layer of the same position and name: input and output shapes,
 * kernel, stride and padding. */
static void check_net_against_csv(const char *csv_net, const char *file, int64_t batch) {
  cb_netdef *nd = NULL;
  cb_net *net = build_checked(file, &nd, 0, 0);
  CHECK_MSG(net != NULL, "%s does not build", file);
  FILE *f = open_data("convnet_benchmarks_nets.csv");
  if (!net || !f) {
    if (f) fclose(f);
    cb_net_free(net);
    cb_netdef_free(nd);
    return;
  }
  CHECK_EQ_INT(net->batch, batch);
  char line[1024];
  int li = 0, rows = 0;
  while (fgets(line, sizeof line, f)) {
    char *c[MAX_FIELDS];
    if (line[0] == '"' || strncmp(line, "net,", 4) == 0) continue;
    int n = split_csv(line, c);
    if (n < 15 || strcmp(c[0], csv_net) != 0) continue;
    rows++;
    while (li < net->nlayers && !is_ref_kind(net->layers[li].ops->kind)) li++;
    if (li >= net->nlayers) {
      CHECK_MSG(0, "%s: net has fewer layers than the CSV (at %s)", file, c[2]);
      break;
    }
    const cb_layer *l = &net->layers[li++];
    CHECK_MSG(strcmp(l->name, c[2]) == 0, "%s: layer %d is %s, CSV has %s", file, li, l->name,
              c[2]);
    /* in_c is "64+128+32+32" for a concat: the sum is the channel count. */
    long long in_c = 0;
    for (char *p = c[5]; *p;) {
      in_c += strtoll(p, &p, 10);
      if (*p == '+') p++;
    }
    long long in_chw = l->in[0]->c * l->in[0]->h * l->in[0]->w;
    if (!strcmp(l->ops->kind, "concat")) {
      long long sum = 0;
      for (int j = 0; j < l->nin; j++) sum += l->in[j]->c;
      CHECK_MSG(sum == in_c, "%s %s: concat inputs sum to %lld, CSV %lld", file, l->name, sum,
                in_c);
    } else if (*c[6]) {
      CHECK_MSG(l->in[0]->c == in_c && l->in[0]->h == atoll(c[6]) && l->in[0]->w == atoll(c[7]),
                "%s %s: input %lldx%lldx%lld, CSV %sx%sx%s", file, l->name, (long long)l->in[0]->c,
                (long long)l->in[0]->h, (long long)l->in[0]->w, c[5], c[6], c[7]);
    } else {
      CHECK_MSG(in_chw == in_c, "%s %s: input has %lld values, CSV %lld", file, l->name, in_chw,
                in_c);
    }
    CHECK_MSG(l->out->c == atoll(c[8]), "%s %s: out channels %lld, CSV %s", file, l->name,
              (long long)l->out->c, c[8]);
    if (*c[9])
      CHECK_MSG(l->out->h == atoll(c[9]) && l->out->w == atoll(c[10]),
                "%s %s: output %lldx%lld, CSV %sx%s", file, l->name, (long long)l->out->h,
                (long long)l->out->w, c[9], c[10]);
    else
      CHECK_MSG(l->out->h == 1 && l->out->w == 1, "%s %s: fc output not flat", file, l->name);
    if (!strcmp(l->ops->kind, "conv")) {
      const cb_conv *cv = &l->bind[0].problem.conv;
      CHECK_MSG(cv->r == atoll(c[11]) && cv->s == atoll(c[11]) && cv->stride_h == atoll(c[12]) &&
                    cv->pad_h == atoll(c[13]) && cv->n == batch,
                "%s %s: conv r%lld u%lld p%lld n%lld, CSV k%s s%s p%s", file, l->name,
                (long long)cv->r, (long long)cv->stride_h, (long long)cv->pad_h, (long long)cv->n,
                c[11], c[12], c[13]);
    }
  }
  fclose(f);
  while (li < net->nlayers && !is_ref_kind(net->layers[li].ops->kind)) li++;
  CHECK_MSG(li == net->nlayers, "%s: net has layers beyond the CSV's %d rows (next: %s)", file,
            rows, li < net->nlayers ? net->layers[li].name : "");
  CHECK_MSG(rows > 5, "%s: CSV rows for %s not found", file, csv_net);
  cb_net_free(net);
  cb_netdef_free(nd);
}

/* layers.shapes: each entry alone matches L1..L5, forward flops included. */
static void check_layers_shapes(void) {
  FILE *f = open_data("convnet_benchmarks_layers.csv");
  CHECK(f != NULL);
  if (!f) return;
  char line[1024];
  int idx = 0;
  while (fgets(line, sizeof line, f)) {
    char *c[MAX_FIELDS];
    if (line[0] == '"' || strncmp(line, "layer,", 6) == 0) continue;
    if (split_csv(line, c) < 15) continue;
    cb_netdef *nd = NULL;
    cb_net *net = build_checked("layers.shapes", &nd, idx++, 0);
    CHECK_MSG(net != NULL, "layers.shapes entry %d does not build", idx);
    if (net) {
      const cb_layer *l = &net->layers[0];
      const cb_conv *cv = &l->bind[0].problem.conv;
      CHECK_EQ_STR(l->name, c[0]);
      CHECK_EQ_INT(cv->n, atoll(c[1]));
      CHECK_EQ_INT(cv->c, atoll(c[2]));
      CHECK_EQ_INT(cv->h, atoll(c[3]));
      CHECK_EQ_INT(cv->w, atoll(c[4]));
      CHECK_EQ_INT(cv->k, atoll(c[5]));
      CHECK_EQ_INT(cv->r, atoll(c[6]));
      CHECK_EQ_INT(cv->s, atoll(c[7]));
      CHECK_EQ_INT(cv->stride_h, atoll(c[8]));
      CHECK_EQ_INT(cv->pad_h, atoll(c[10]));
      CHECK_EQ_INT(l->out->h, atoll(c[12]));
      CHECK_EQ_INT(l->out->w, atoll(c[13]));
      CHECK_NEAR(cb_problem_flops(&l->bind[0].problem) / 1e9, atof(c[14]), 1e-3);
    }
    cb_net_free(net);
    cb_netdef_free(nd);
  }
  fclose(f);
  CHECK_EQ_INT(idx, 5);
}

/* ResNet-50's convolutions against benchdnn's shapes_resnet_50: each
 * distinct shape occurs as often as the row's repeat count says, and there
 * are no other convolutions. */
static void check_resnet(void) {
  cb_netdef *nd = NULL;
  cb_net *net = build_checked("resnet-50.net", &nd, 0, 0);
  CHECK(net != NULL);
  FILE *f = open_data("benchdnn_topologies_conv.csv");
  CHECK(f != NULL);
  if (!net || !f) {
    if (f) fclose(f);
    cb_net_free(net);
    cb_netdef_free(nd);
    return;
  }
  CHECK_EQ_INT(net->batch, 50);
  int convs = 0, expected_convs = 0;
  for (int i = 0; i < net->nlayers; i++) convs += !strcmp(net->layers[i].ops->kind, "conv");
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    char *c[MAX_FIELDS];
    if (strncmp(line, "tests/benchdnn/inputs/conv/shapes_resnet_50,", 44) != 0) continue;
    if (split_csv(line, c) < 20) continue;
    /* file,name,repeat,g,mb,ic,ih,iw,oc,oh,ow,kh,kw,sh,sw,ph,pw */
    int repeat = atoi(c[2]), found = 0;
    expected_convs += repeat;
    for (int i = 0; i < net->nlayers; i++) {
      const cb_layer *l = &net->layers[i];
      if (strcmp(l->ops->kind, "conv")) continue;
      const cb_conv *cv = &l->bind[0].problem.conv;
      found += cv->n == atoll(c[4]) && cv->c == atoll(c[5]) && cv->h == atoll(c[6]) &&
               cv->k == atoll(c[8]) && l->out->h == atoll(c[9]) && cv->r == atoll(c[11]) &&
               cv->stride_h == atoll(c[13]) && cv->pad_h == atoll(c[15]);
    }
    CHECK_MSG(found == repeat, "resnet-50: %d convolutions shaped like %s, benchdnn says %d", found,
              c[1], repeat);
  }
  CHECK_EQ_INT(convs, expected_convs);
  CHECK_EQ_INT(expected_convs, 53);
  CHECK_EQ_STR(net->layers[net->nlayers - 1].ops->kind, "softmax");
  fclose(f);
  cb_net_free(net);
  cb_netdef_free(nd);
}

/* ---- a built net's backward is the gradient of its forward --------------- */

static const char *branchy =
    "net name=branchy input=3x7x7 batch=2\n"
    "conv name=c1 out=4 k=3 pad=1\n"
    "relu\n"                  /* in place on c1 */
    "conv name=a out=3 k=1\n" /* reads c1 (post-relu) */
    "conv name=b in=c1 out=3 k=3 pad=1 stride=2\n"
    "pool name=up in=c1 mode=avg k=2 stride=2 round=ceil\n" /* c1 read a third time */
    "conv name=dead in=a out=2 k=1\n"                       /* a dead end */
    "conv name=b2 in=b out=3 k=1\n"
    "add name=s in=up,up\n" /* the same input twice */
    "concat name=cat in=b2,s\n"
    "fc name=f out=5\n";

/* L = sum(top * seed) in double, seed being the net's own top gradient. */
static double loss_of(cb_net *net, const float *seed) {
  cb_net_forward(net);
  double l = 0;
  int64_t n = cb_tensor_count(net->top);
  for (int64_t i = 0; i < n; i++) l += (double)net->top->data[i] * seed[i];
  return l;
}

static void check_net_gradient(void) {
  cb_netdef *nd = NULL;
  cb_status st = cb_netdef_parse("branchy.net", branchy, &nd);
  CHECK_MSG(st == CB_OK, "%s", cb_errmsg());
  if (st != CB_OK) return;
  cb_net_opts o = {.threads = 1, .seed = 7, .input_grad = true};
  cb_net *net = NULL;
  st = cb_net_build(nd, &o, &net);
  CHECK_MSG(st == CB_OK, "%s", cb_errmsg());
  if (st != CB_OK) {
    cb_netdef_free(nd);
    return;
  }
  /* The relu ran in place on c1's output. */
  CHECK(net->layers[1].out == net->layers[0].out);
  CHECK(net->layers[7].accum[1]); /* add in=up,up: second write adds */

  int64_t ntop = cb_tensor_count(net->top);
  float *seed = malloc((size_t)ntop * sizeof *seed);
  cb_net_forward(net);
  cb_net_backward(net);
  memcpy(seed, net->top->grad, (size_t)ntop * sizeof *seed);
  int64_t nx = cb_tensor_count(net->data);
  float *analytic = malloc((size_t)nx * sizeof *analytic);
  memcpy(analytic, net->data->grad, (size_t)nx * sizeof *analytic);

  /* Central differences: fp32 forward, so eps 1e-2 keeps rounding error
   * (~1e-6 relative in L) far below the O(eps^2) truncation error. */
  const double eps = 1e-2;
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < nx; i++) scale = fmax(scale, fabs(analytic[i]));
  for (int64_t i = 0; i < nx; i++) {
    float x0 = net->data->data[i];
    net->data->data[i] = x0 + (float)eps;
    double lp = loss_of(net, seed);
    net->data->data[i] = x0 - (float)eps;
    double lm = loss_of(net, seed);
    net->data->data[i] = x0;
    double numeric = (lp - lm) / (2 * eps);
    worst = fmax(worst, fabs(numeric - analytic[i]) / fmax(scale, 1e-3));
  }
  CHECK_MSG(worst < 2e-2, "net gradient w.r.t. the input: max error %.3g of the largest", worst);
  CHECK(scale > 1e-3);
  free(seed);
  free(analytic);
  cb_net_free(net);
  cb_netdef_free(nd);
}

/* ---- bench keeps its samples -------------------------------------------------- */

/* cb_bench_nets hands back every iteration's times, the ones its
 * statistics came from: total is forward plus backward of the same
 * iteration, medians recompute from the samples, and a layer part never
 * reported (a relu's bwd_data) has none. compare tests on these. */
static void check_bench_samples(void) {
  cb_netdef *nd = NULL;
  if (cb_netdef_parse("branchy.net", branchy, &nd) != CB_OK) {
    CHECK_MSG(false, "%s", cb_errmsg());
    return;
  }
  cb_net_opts o = {.threads = 1, .seed = 7};
  cb_net *net = NULL;
  cb_status st = cb_net_build(nd, &o, &net);
  CHECK_MSG(st == CB_OK, "%s", cb_errmsg());
  cb_bench_result r;
  cb_bench_opts bo = {.iters = 5, .warmup = 0};
  if (st == CB_OK) st = cb_bench_nets(&net, 1, &bo, &r);
  CHECK_EQ_INT(st, CB_OK);
  if (st == CB_OK) {
    CHECK_EQ_INT(r.iters, 5);
    CHECK(r.fwd_samples && r.bwd_samples && r.total_samples && r.sample_block);
    for (int i = 0; r.total_samples && i < 5; i++)
      CHECK_NEAR(r.total_samples[i], r.fwd_samples[i] + r.bwd_samples[i], 1e-12);
    CHECK_NEAR(cb_median(r.total_samples, 5), r.total.median, 0);
    CHECK_NEAR(cb_median(r.fwd_samples, 5), r.fwd.median, 0);
    for (int l = 0; l < r.nlayers; l++) {
      const cb_bench_layer *b = &r.layers[l];
      CHECK(b->fwd_samples && b->bwd_samples);
      if (b->fwd_samples) CHECK_NEAR(cb_median(b->fwd_samples, 5), b->fwd.median, 0);
      CHECK_EQ_INT(b->bwd_data_samples != NULL, b->bwd_data.samples > 0);
      CHECK_EQ_INT(b->bwd_filter_samples != NULL, b->bwd_filter.samples > 0);
    }
    CHECK(r.layers[1].bwd_data_samples == NULL); /* the relu */
    cb_bench_result_free(&r);
    CHECK(r.sample_block == NULL && r.layers == NULL);
  }
  cb_net_free(net);
  cb_netdef_free(nd);
}

/* ---- build errors name the layer --------------------------------------------- */

static void check_errors(void) {
  cb_netdef *nd = NULL;
  cb_net *net = NULL;
  cb_net_opts o = {.threads = 1, .seed = 1};
  CHECK(cb_netdef_parse("tiny.net", "net input=3x8x8 batch=2\nconv name=c1 out=4 k=11\n", &nd) ==
        CB_OK);
  CHECK(cb_net_build(nd, &o, &net) == CB_ERR_INVALID);
  CHECK_EQ_STR(cb_errmsg(),
               "tiny.net:2:1: layer c1: output would be 0x0 (input 3x8x8, k 11, stride 1, pad 0)");
  cb_netdef_free(nd);

  /* A net larger than the limit is refused before allocating, naming the
   * layer where the running total crosses it. */
  CHECK(cb_netdef_parse("big.net",
                        "net input=3x64x64 batch=4\nconv name=c1 out=8 k=3 pad=1\n"
                        "conv name=c2 out=64 k=3 pad=1\n",
                        &nd) == CB_OK);
  o.mem_limit = 2 * 1024 * 1024;
  CHECK(cb_net_build(nd, &o, &net) == CB_ERR_NOMEM);
  /* input 3x64x64x4 floats (no gradient) 196608 bytes; c1: output and
   * gradient 1048576, weights 2x216 floats, bias 2x8: 1050368; c2: output
   * and gradient 8388608, weights 2x4608 floats, bias 2x64: 8425984. */
  CHECK_EQ_STR(cb_errmsg(), "big.net:3:1: layer c2: the net at batch 4 needs 9672960 bytes (9.2 "
                            "MiB) by this layer (this layer: 8425984 bytes (8.0 MiB)) but only "
                            "2097152 bytes (2.0 MiB) is available; lower --batch");
  CHECK(net == NULL);
  /* Sizes that overflow int64 are refused the same way, not wrapped. */
  o.mem_limit = 0;
  o.batch = INT32_MAX;
  CHECK(cb_net_build(nd, &o, &net) == CB_ERR_NOMEM);
  o.batch = 0;

  o.backend = "nosuch";
  o.mem_limit = 0;
  CHECK(cb_net_build(nd, &o, &net) == CB_ERR_INVALID);
  CHECK(strncmp(cb_errmsg(), "unknown backend 'nosuch' (this build has: ref", 45) == 0);
  cb_netdef_free(nd);
}

int main(void) {
  check_net_against_csv("alexnet", "alexnet-owt.net", 128);
  check_net_against_csv("overfeat", "overfeat-fast.net", 128);
  check_net_against_csv("vgg_a", "vgg-a.net", 64);
  check_net_against_csv("googlenet", "googlenet-v1.net", 128);
  check_layers_shapes();
  check_resnet();
  check_net_gradient();
  check_bench_samples();
  check_errors();
  return cb_test_result();
}
