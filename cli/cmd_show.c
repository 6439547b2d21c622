/* cmd_show.c: `convbench show NET|SHAPES`: the net as built: every layer
 * after blocks and repeats are expanded, with its inputs, shapes, keys,
 * kernel problems and flops, and the memory the net needs. The JSON form
 * is what the peer scripts (scripts/peers/) build their models from, so a
 * PyTorch run has exactly convbench's shapes. Nothing is allocated. */
#include "options.h"
#include "util.h"
#include "solver.h"

#include <string.h>

static void usage(FILE *f) {
  fprintf(f, "usage: convbench show NET.net|LAYERS.shapes [options]\n"
             "\n"
             "Shows the net as convbench builds it: each layer (blocks and repeats\n"
             "expanded) with its inputs, output shape, keys, kernel problem keys and\n"
             "flops, and the memory the net needs. Allocates nothing.\n"
             "\n"
             "options:\n"
             "  --batch N      batch size (default: the netdef's batch=)\n"
             "  --format F     table (default) or json\n"
             "  -h, --help     this help\n");
}

static void json_shape(FILE *f, const cb_tensor *t) {
  fprintf(f, "[%lld, %lld, %lld]", (long long)t->c, (long long)t->h, (long long)t->w);
}

/* The solver as convbench reads it (defaults filled in): what a peer
 * trains with. */
static void json_solver(FILE *f, const cb_solver_cfg *c) {
  fprintf(f,
          ", \"solver\": {\"type\": \"%s\", \"lr\": %.17g, \"momentum\": %.17g, "
          "\"weight_decay\": %.17g, \"beta1\": %.17g, \"beta2\": %.17g, \"eps\": %.17g, "
          "\"policy\": \"%s\", \"gamma\": %.17g, \"step\": %lld, \"power\": %.17g}",
          c->type == CB_SOLVER_ADAM ? "adam" : "sgd", c->lr, c->momentum, c->weight_decay, c->beta1,
          c->beta2, c->eps, cb_lr_policy_name(c->policy), c->gamma, (long long)c->step, c->power);
}

static void show_json(FILE *f, const cb_net *net, bool first) {
  fprintf(f, "%s\n  {\"name\": ", first ? "" : ",");
  cb_json_string(f, net->name);
  fprintf(f, ", \"batch\": %lld, \"input\": ", (long long)net->batch);
  json_shape(f, net->data);
  fprintf(f, ", \"bytes\": %lld, \"has_loss\": %s, \"layers\": [", (long long)net->bytes,
          net->has_loss ? "true" : "false");
  for (int i = 0; i < net->nlayers; i++) {
    const cb_layer *l = &net->layers[i];
    fprintf(f, "%s\n    {\"index\": %d, \"name\": ", i ? "," : "", i + 1);
    cb_json_string(f, l->name);
    fputs(", \"kind\": ", f);
    cb_json_string(f, l->ops->kind);
    fputs(", \"inputs\": [", f);
    for (int j = 0; j < l->nin; j++) {
      if (j) fputs(", ", f);
      cb_json_string(f, l->in[j]->name);
    }
    fputs("], \"output\": ", f);
    cb_json_string(f, l->out->name);
    fprintf(f, ", \"inplace\": %s, \"in_shapes\": [", l->out == l->in[0] ? "true" : "false");
    for (int j = 0; j < l->nin; j++) {
      if (j) fputs(", ", f);
      json_shape(f, l->in[j]);
    }
    fputs("], \"out_shape\": ", f);
    json_shape(f, l->out);
    fputs(", \"keys\": {", f);
    for (int k = 0; k < l->stmt->nkv; k++) {
      if (k) fputs(", ", f);
      cb_json_string(f, l->stmt->kv[k].key);
      fputs(": ", f);
      cb_json_string(f, l->stmt->kv[k].val);
    }
    fputs("}, \"params\": [", f);
    for (int p = 0; p < l->nparams; p++) {
      const cb_tensor *t = &l->params[p];
      fprintf(f, "%s{\"name\": ", p ? ", " : "");
      cb_json_string(f, t->name);
      fprintf(f, ", \"shape\": [%lld, %lld, %lld, %lld], \"learnable\": %s}", (long long)t->n,
              (long long)t->c, (long long)t->h, (long long)t->w,
              l->learnable[p] ? "true" : "false");
    }
    fputs("], \"problems\": [", f);
    for (int b = 0; b < l->nbind; b++) {
      char key[CB_KEY_MAX];
      cb_problem_key(&l->bind[b].problem, key, sizeof key);
      if (b) fputs(", ", f);
      cb_json_string(f, key);
    }
    double ff = l->ops->flops ? l->ops->flops(l, CB_PASS_FWD) : 0;
    double fb = l->ops->flops ? l->ops->flops(l, CB_PASS_BWD) : 0;
    fprintf(f, "], \"fwd_flops\": %.0f, \"bwd_flops\": %.0f}", ff, fb);
  }
  fputs("\n  ]}", f);
}

static void show_table(FILE *f, const cb_net *net) {
  char in[48];
  cb_tensor_shape_str(net->data, in, sizeof in);
  fprintf(f, "%s: batch %lld, input %s, %d layers, %.1f MiB with gradients\n", net->name,
          (long long)net->batch, in, net->nlayers, (double)net->bytes / (1024.0 * 1024.0));
  double ff = 0, fb = 0;
  for (int i = 0; i < net->nlayers; i++) {
    const cb_layer *l = &net->layers[i];
    char out[48], inputs[256] = "", keys[256] = "";
    cb_tensor_shape_str(l->out, out, sizeof out);
    for (int j = 0; j < l->nin; j++) {
      size_t used = strlen(inputs);
      snprintf(inputs + used, sizeof inputs - used, "%s%s", j ? "," : "", l->in[j]->name);
    }
    for (int k = 0; k < l->stmt->nkv; k++) {
      size_t used = strlen(keys);
      snprintf(keys + used, sizeof keys - used, "%s%s=%s", k ? " " : "", l->stmt->kv[k].key,
               l->stmt->kv[k].val);
    }
    double lf = l->ops->flops && l->nbind ? l->ops->flops(l, CB_PASS_FWD) : 0;
    if (l->ops->flops && l->nbind) {
      ff += lf;
      fb += l->ops->flops(l, CB_PASS_BWD);
    }
    fprintf(f, "%4d  %-28s %-7s %-14s <- %-24s %s%s", i + 1, l->name, l->ops->kind, out, inputs,
            keys, l->out == l->in[0] ? " (in place)" : "");
    if (lf > 0) fprintf(f, "  %.3f GFLOP", lf / 1e9);
    fputc('\n', f);
  }
  fprintf(f, "conv + fc: %.3f GFLOP forward, %.3f GFLOP backward per batch\n", ff / 1e9, fb / 1e9);
}

static int show_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "json", NULL};
  const cli_options spec = {
      .cmd = &cli_show, .common = CLI_OPT_BATCH | CLI_OPT_FORMAT, .formats = formats};
  const cli_command *c = &cli_show;
  cli_args args;
  int parsed;
  if (!cli_start(&spec, argc, argv, &args, &parsed)) return parsed;
  if (args.noperands < 1) return cli_usage_error(c, "missing NET.net or LAYERS.shapes");
  if (args.noperands > 1) return cli_usage_error(c, "unexpected argument '%s'", args.operands[1]);
  const char *path = args.operands[0];
  long long batch = args.batch;
  bool json = args.format == 1;

  cb_netdef *nd;
  if (cb_netdef_load(path, &nd) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  const char *name = NULL;
  cb_stmt_str(&nd->header, "name", "net", &name);
  cb_solver_cfg solver;
  if (cb_solver_cfg_read(nd->has_solver ? &nd->solver : NULL, &solver) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    cb_netdef_free(nd);
    return CLI_USAGE;
  }
  if (json) {
    printf("{\"netdef\": ");
    cb_json_string(stdout, path);
    printf(", \"name\": ");
    cb_json_string(stdout, name);
    json_solver(stdout, &solver);
    printf(", \"shapes\": %s, \"nets\": [", nd->is_shapes ? "true" : "false");
  }
  int nnets = nd->is_shapes ? nd->n : 1, rc = CLI_OK;
  for (int i = 0; i < nnets && rc == CLI_OK; i++) {
    cb_net_opts o = {.batch = batch,
                     .threads = 1,
                     .seed = 1,
                     .shape_index = i,
                     .check_only = true,
                     .mem_limit = INT64_MAX};
    cb_net *net;
    cb_status st = cb_net_build(nd, &o, &net);
    if (st != CB_OK) {
      fprintf(stderr, "%s\n", cb_errmsg());
      rc = cli_exit_code(st);
      break;
    }
    if (json)
      show_json(stdout, net, i == 0);
    else
      show_table(stdout, net);
    cb_net_free(net);
  }
  if (json && rc == CLI_OK) printf("\n]}\n");
  cb_netdef_free(nd);
  return rc;
}

const cli_command cli_show = {"show", "show the net as built: layers, shapes, keys, flops",
                              show_main, usage};
