/* cmd_infer.c: `convbench infer NET --load FILE --data fashion-mnist`:
 * classifies the test set with a trained checkpoint and prints accuracy,
 * loss and the confusion matrix. Every layer must come from the
 * checkpoint: inference with freshly initialised layers is refused. */
#include "train_common.h"

#include <stdlib.h>
#include <string.h>

typedef struct infer_args {
  cli_net_args c; /* path, data, batch, backend, threads, limit, db */
  const char *load;
} infer_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench infer NET.net --load FILE [options]\n"
          "\n"
          "Classifies the test images (t10k) with the parameters of a checkpoint\n"
          "written by 'convbench train --save', in inference mode, normalised as in\n"
          "training. Prints the accuracy, the mean loss and the confusion matrix\n"
          "(rows: true class, columns: predicted). The run is recorded in the\n"
          "database (kind 'infer').\n"
          "\n"
          "options:\n"
          "  --load FILE        the checkpoint (required); every layer with parameters\n"
          "                     must be in it\n"
          "  --data D           fashion-mnist (default: %s)\n"
          "                     or a directory holding t10k-{images-idx3,labels-idx1}-ubyte[.gz]\n"
          "  --batch N          batch size (default: the netdef's batch=)\n"
          "  --backend B        kernels for conv and fc layers: a backend or 'tuned'\n"
          "                     (default: tuned when the database holds tuned choices for\n"
          "                     this machine, else ref)\n"
          "  --threads T        threads (default: physical cores, %d here)\n"
          "  --limit N          the first N test images only\n"
          "  --db PATH          database to record the run into (default ./results.db)\n"
          "  --no-db            record nothing\n"
          "  --quiet            no progress line on stderr\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or input\n"
          "(nothing run, nothing recorded), 130 interrupted.\n",
          CB_FASHION_MNIST_DIR, cli_default_threads());
}

static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  infer_args *a = user;
  if (ch != 'L') return cli_usage_error(c, "internal: option '%c' has no handler", ch);
  a->load = arg;
  return CLI_OK;
}

static int parse_args(int argc, char **argv, infer_args *a) {
  static const cli_option own[] = {{"load", true, 'L'}, {NULL, false, 0}};
  const cli_options spec = {.cmd = &cli_infer,
                            .common = CLI_OPT_DATA | CLI_OPT_BATCH | CLI_OPT_BACKEND |
                                      CLI_OPT_THREADS | CLI_OPT_LIMIT | CLI_OPT_DB | CLI_OPT_NO_DB |
                                      CLI_OPT_QUIET,
                            .own = own,
                            .own_fn = own_option,
                            .user = a};
  *a = (infer_args){0};
  cli_net_args_init(&spec, &a->c);
  int rc = cli_net_args_parse(&spec, argc, argv, "NET.net", true, &a->c);
  if (rc == CLI_OK && !a->load) return cli_usage_error(&cli_infer, "--load FILE is required");
  return rc;
}

/* The confusion matrix, counts right-aligned, with per-class accuracy. */
static void print_confusion(const int64_t *m, int64_t classes) {
  printf("\nconfusion matrix (rows: true class, columns: predicted)\n\n true");
  for (int64_t j = 0; j < classes; j++) printf(" %6lld", (long long)j);
  printf("   accuracy\n");
  for (int64_t i = 0; i < classes; i++) {
    int64_t row = 0;
    for (int64_t j = 0; j < classes; j++) row += m[i * classes + j];
    printf(" %4lld", (long long)i);
    for (int64_t j = 0; j < classes; j++) printf(" %6lld", (long long)m[i * classes + j]);
    if (row)
      printf("   %7.2f%%\n", 100.0 * (double)m[i * classes + i] / (double)row);
    else
      printf("         -\n");
  }
}

static void on_eval(void *user, int64_t done, int64_t count) {
  cli_progress_show(user, "infer: %lld/%lld images", (long long)done, (long long)count);
}

/* Builds the net, loads the checkpoint and the data: all before the
 * database. */
static int prepare(infer_args *a, cb_netdef **nd, cb_net **net, cb_dataset *test,
                   cb_ckpt_meta *meta) {
  const cli_command *c = &cli_infer;
  cb_status st = cb_netdef_load(a->c.path, nd);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  if ((*nd)->is_shapes) return cli_usage_error(c, "%s is a .shapes file, not a net", a->c.path);
  int rc = cli_backends_setup_tuned(c, &a->c.be, a->c.o.db, (int)a->c.o.threads, false);
  if (rc != CLI_OK) return rc;
  cb_net_opts o =
      cli_backends_net_opts(&a->c.be, a->c.be.names[0], a->c.o.batch, (int)a->c.o.threads, 1);
  if ((st = cb_net_build(*nd, &o, net)) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return cli_exit_code(st);
  }
  if (cli_data_load("infer", a->c.o.data, "t10k", a->c.o.limit, test) != CB_OK) return CLI_USAGE;
  if ((st = cb_train_check_fit(*net, test)) != CB_OK) {
    cli_error("infer", "%s", cb_errmsg());
    return CLI_USAGE;
  }
  cb_ckpt_report rep;
  if ((st = cb_checkpoint_load(a->load, *net, meta, &rep)) != CB_OK) {
    cli_error("infer", "%s", cb_errmsg());
    return cli_exit_code(st);
  }
  if (rep.fresh) {
    cli_error("infer", "%s lacks layers %s of %s: they would classify with random weights", a->load,
              rep.fresh_names, a->c.path);
    return CLI_USAGE;
  }
  return CLI_OK;
}

static int infer_main(int argc, char **argv) {
  infer_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  cb_netdef *nd = NULL;
  cb_net *net = NULL;
  cb_dataset test = {0};
  cb_ckpt_meta meta;
  cli_session s = {0};
  int64_t *confusion = NULL;
  if ((rc = prepare(&a, &nd, &net, &test, &meta)) != CLI_OK) goto done;
  if (cli_session_begin(&s, a.c.o.db, "infer", 1, (int)a.c.o.threads) != CB_OK) {
    rc = CLI_FAIL;
    goto done;
  }
  cli_install_signals();
  int64_t classes = cb_net_classes(net);
  cb_eval_result r;
  cb_status st = CB_OK;
  if (!(confusion = calloc((size_t)(classes * classes), sizeof *confusion)))
    st = cb_error(CB_ERR_NOMEM, "out of memory");
  cli_progress pr;
  cli_progress_begin(&pr, a.c.o.quiet);
  if (st == CB_OK)
    st = cb_evaluate_progress(net, &test, meta.mean, meta.sd, &cli_stop, on_eval, &pr, &r,
                              confusion);
  cli_progress_end(&pr);
  if (st == CB_OK) {
    printf("infer %s with %s on %s: %lld images, backend %s, batch %lld\n", net->name, a.load,
           a.c.o.data, (long long)r.count, a.c.be.names[0], (long long)net->batch);
    printf("accuracy %.2f%% (%lld of %lld), loss %.4f, %.0f images/s\n", 100.0 * r.accuracy,
           (long long)r.correct, (long long)r.count, r.loss,
           r.seconds > 0 ? (double)r.count / r.seconds : 0.0);
    print_confusion(confusion, classes);
  }
  rc = cli_session_finish(&s, "infer", st, "run marked interrupted");
done:
  free(confusion);
  cb_dataset_free(&test);
  cb_net_free(net);
  cb_netdef_free(nd);
  cli_backends_close(&a.c.be);
  return rc;
}

const cli_command cli_infer = {
    "infer", "classify the test set with a checkpoint (accuracy, confusion)", infer_main, usage};
