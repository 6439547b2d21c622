/* cmd_train.c: `convbench train NET --data fashion-mnist`: trains a net on
 * an IDX image set with the netdef's solver, evaluates the test set every
 * epoch, records steps and epochs in the database, saves a checkpoint.
 *
 * Order matters for "nothing half-written": the netdef, the net, the data,
 * their fit and a --load checkpoint are all checked before the database
 * is opened, so bad input never leaves a run behind. Steps are buffered
 * and written a few hundred at a time, each batch one transaction; each
 * epoch is one transaction. Ctrl-C stops between steps, keeps what was
 * recorded and marks the run interrupted. */
#include "train_common.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buffered step rows written per transaction. */
#define STEP_FLUSH 256

typedef struct train_args {
  cli_net_args c; /* path, data, batch, seed, backend, threads, limit, db, quiet */
  const char *save, *load;
  long long epochs, test_limit, log_every;
  double lr; /* 0: the netdef's */
} train_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: convbench train NET.net [options]\n"
          "\n"
          "Trains a net on a labelled image set in IDX files (as Fashion-MNIST and MNIST\n"
          "ship), with the solver of the netdef's `solver` line (SGD with momentum and\n"
          "weight decay, or Adam; lr policies fixed, step, inv, cosine). Pixels are\n"
          "scaled to [0, 1] and normalised by the training set's mean and deviation;\n"
          "each epoch visits the training set in an order shuffled from the seed, in\n"
          "whole batches, then evaluates the test set. The same seed, backend and\n"
          "thread count give the same losses. A progress line on stderr shows epoch,\n"
          "step, loss and images/s; a line per epoch goes to stdout. Steps and epochs\n"
          "are recorded in the database (run kind 'train').\n"
          "\n"
          "options:\n"
          "  --data D           fashion-mnist (default: the Debian package's files in\n"
          "                     %s) or a directory holding\n"
          "                     {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]\n"
          "  --epochs E         epochs (default 1)\n"
          "  --batch N          batch size (default: the netdef's batch=)\n"
          "  --lr X             base learning rate (default: the solver line's lr=)\n"
          "  --seed S           seed for weights, shuffle and dropout (default 1)\n"
          "  --backend B        kernels for conv and fc layers: a backend or 'tuned'\n"
          "                     (default: tuned when the database holds tuned choices for\n"
          "                     this machine, else ref)\n"
          "  --threads T        threads (default: physical cores, %d here)\n"
          "  --load FILE        start from a checkpoint: layers are matched by name, a\n"
          "                     layer it lacks is initialised fresh, a layer of the same\n"
          "                     name with other shapes is an error\n"
          "  --save FILE        write a checkpoint after the last epoch (docs/checkpoint.md)\n"
          "  --limit N          train on the first N training images only\n"
          "  --test-limit N     evaluate the first N test images only\n"
          "  --log-every N      record every Nth step in the database (default 10; each\n"
          "                     epoch is always recorded)\n"
          "  --db PATH          database to record into (default ./results.db)\n"
          "  --no-db            record nothing\n"
          "  --quiet            no progress line on stderr\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit status: 0 ok, 1 a run or the database failed (or training diverged),\n"
          "2 bad arguments or input (nothing run, nothing recorded), 130 interrupted\n"
          "(recorded steps and epochs kept, run marked interrupted).\n",
          CB_FASHION_MNIST_DIR, cli_default_threads());
}

/* The options only train has. */
static int own_option(const cli_command *c, int ch, const char *arg, void *user) {
  train_args *a = user;
  char *end;
  switch (ch) {
  case 'e':
    return cli_parse_int(c, "--epochs", arg, 1, 100000, &a->epochs) ? CLI_OK : CLI_USAGE;
  case 'N':
    return cli_parse_int(c, "--test-limit", arg, 1, INT64_MAX, &a->test_limit) ? CLI_OK : CLI_USAGE;
  case 'E':
    return cli_parse_int(c, "--log-every", arg, 1, INT32_MAX, &a->log_every) ? CLI_OK : CLI_USAGE;
  case 'L':
    a->load = arg;
    return CLI_OK;
  case 'S':
    a->save = arg;
    return CLI_OK;
  case 'l':
    a->lr = strtod(arg, &end);
    if (end == arg || *end || !(a->lr > 0) || a->lr > 10)
      return cli_usage_error(c, "--lr: expected a number above 0 and at most 10, got '%s'", arg);
    return CLI_OK;
  default:
    return cli_usage_error(c, "internal: option '%c' has no handler", ch);
  }
}

static int parse_args(int argc, char **argv, train_args *a) {
  static const cli_option own[] = {
      {"epochs", true, 'e'},     {"lr", true, 'l'},        {"load", true, 'L'}, {"save", true, 'S'},
      {"test-limit", true, 'N'}, {"log-every", true, 'E'}, {NULL, false, 0}};
  const cli_options spec = {.cmd = &cli_train,
                            .common = CLI_OPT_DATA | CLI_OPT_BATCH | CLI_OPT_SEED |
                                      CLI_OPT_BACKEND | CLI_OPT_THREADS | CLI_OPT_LIMIT |
                                      CLI_OPT_DB | CLI_OPT_NO_DB | CLI_OPT_QUIET,
                            .own = own,
                            .own_fn = own_option,
                            .user = a};
  *a = (train_args){.epochs = 1, .log_every = 10};
  cli_net_args_init(&spec, &a->c);
  return cli_net_args_parse(&spec, argc, argv, "NET.net", true, &a->c);
}

/* ---- while training ------------------------------------------------------------ */

typedef struct trainer {
  const train_args *a;
  cli_session *s;
  cb_train_rec rec;
  cb_train_step buf[STEP_FLUSH];
  int nbuf;
  bool tty;
  uint64_t last_progress;
  bool shown;
  int epochs;
} trainer;

static cb_status flush_steps(trainer *t) {
  cb_status st = cb_db_put_train_steps(t->s->db, &t->rec, t->buf, t->nbuf);
  t->nbuf = 0;
  return st;
}

/* A progress line at most every 0.25 s on a terminal (overwriting one
 * line), every 5 s into a log. */
static void progress(trainer *t, const cb_train_step *s) {
  uint64_t now = cb_now_ns();
  if (t->a->c.o.quiet || cb_ms(t->last_progress, now) < (t->tty ? 250.0 : 5000.0)) return;
  t->last_progress = now;
  t->shown = true;
  fprintf(stderr,
          "%strain %s [%s]: epoch %d/%d, step %lld/%lld, loss %.4f, %.0f images/s [%.0f s]%s",
          t->tty ? "\r\033[K" : "", t->rec.net, t->rec.backend, s->epoch, t->epochs,
          (long long)s->step_in_epoch, (long long)s->steps_per_epoch, s->loss, s->images_per_s,
          s->seconds, t->tty ? "" : "\n");
  fflush(stderr);
}

static void progress_done(trainer *t) {
  if (t->shown && t->tty) fputs("\r\033[K", stderr);
  t->shown = false;
}

static cb_status on_step(void *user, const cb_train_step *s) {
  trainer *t = user;
  progress(t, s);
  if (!t->s->db || (s->step - 1) % t->a->log_every != 0) return CB_OK;
  t->buf[t->nbuf++] = *s;
  return t->nbuf == STEP_FLUSH ? flush_steps(t) : CB_OK;
}

/* The test-set evaluation after each epoch, which can run for seconds
 * after the last step's line. */
static void on_eval(void *user, int64_t done, int64_t count) {
  trainer *t = user;
  uint64_t now = cb_now_ns();
  if (t->a->c.o.quiet || cb_ms(t->last_progress, now) < (t->tty ? 250.0 : 5000.0)) return;
  t->last_progress = now;
  t->shown = true;
  fprintf(stderr, "%strain %s [%s]: evaluating the test set, %lld/%lld images%s",
          t->tty ? "\r\033[K" : "", t->rec.net, t->rec.backend, (long long)done, (long long)count,
          t->tty ? "" : "\n");
  fflush(stderr);
}

static cb_status on_epoch(void *user, const cb_train_epoch *e) {
  trainer *t = user;
  cb_status st = flush_steps(t);
  if (st == CB_OK) st = cb_db_put_train_epoch(t->s->db, &t->rec, e);
  progress_done(t);
  printf("epoch %d/%d: train loss %.4f accuracy %.2f%%", e->epoch, t->epochs, e->train_loss,
         100.0 * e->train_accuracy);
  if (e->test.count)
    printf(", test loss %.4f accuracy %.2f%% (%lld images)", e->test.loss, 100.0 * e->test.accuracy,
           (long long)e->test.count);
  printf(", %.0f images/s, %.1f s (lr %.3g)\n", e->images_per_s, e->epoch_seconds, e->lr);
  fflush(stdout);
  return st;
}

/* ---- main ----------------------------------------------------------------------------- */

/* Everything checked before the database is opened. */
typedef struct prepared {
  cb_netdef *nd;
  cb_net *net;
  cb_solver_cfg cfg;
  cb_dataset train, test;
  double mean, sd;
} prepared;

static void prepared_free(prepared *p) {
  cb_net_free(p->net);
  cb_netdef_free(p->nd);
  cb_dataset_free(&p->train);
  cb_dataset_free(&p->test);
}

static int prepare(train_args *a, prepared *p) {
  const cli_command *c = &cli_train;
  memset(p, 0, sizeof *p);
  cb_status st = cb_netdef_load(a->c.path, &p->nd);
  if (st == CB_OK) st = cb_solver_cfg_read(p->nd->has_solver ? &p->nd->solver : NULL, &p->cfg);
  if (st != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return CLI_USAGE;
  }
  if (p->nd->is_shapes) return cli_usage_error(c, "%s is a .shapes file, not a net", a->c.path);
  if (a->lr > 0) p->cfg.lr = a->lr;
  int rc = cli_backends_setup_tuned(c, &a->c.be, a->c.o.db, (int)a->c.o.threads, false);
  if (rc != CLI_OK) return rc;
  cb_net_opts o = cli_backends_net_opts(&a->c.be, a->c.be.names[0], a->c.o.batch,
                                        (int)a->c.o.threads, (uint64_t)a->c.o.seed);
  if ((st = cb_net_build(p->nd, &o, &p->net)) != CB_OK) {
    fprintf(stderr, "%s\n", cb_errmsg());
    return cli_exit_code(st);
  }
  if (cli_data_load("train", a->c.o.data, "train", a->c.o.limit, &p->train) != CB_OK ||
      cli_data_load("train", a->c.o.data, "t10k", a->test_limit, &p->test) != CB_OK)
    return CLI_USAGE;
  if ((st = cb_train_check_fit(p->net, &p->train)) != CB_OK ||
      (st = cb_train_check_fit(p->net, &p->test)) != CB_OK) {
    cli_error("train", "%s", cb_errmsg());
    return CLI_USAGE;
  }
  cb_dataset_stats(&p->train, &p->mean, &p->sd);
  if (a->load) {
    cb_ckpt_report rep;
    if ((st = cb_checkpoint_load(a->load, p->net, NULL, &rep)) != CB_OK) {
      cli_error("train", "%s", cb_errmsg());
      return cli_exit_code(st);
    }
    cli_error("train", "loaded %d layers from %s%s%s", rep.loaded, a->load,
              rep.fresh ? "; initialised fresh: " : "", rep.fresh_names);
  }
  return CLI_OK;
}

static int train_main(int argc, char **argv) {
  train_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != CLI_OK) return rc < 0 ? CLI_OK : rc;
  prepared p;
  if ((rc = prepare(&a, &p)) != CLI_OK) {
    prepared_free(&p);
    cli_backends_close(&a.c.be);
    return rc;
  }
  cli_session s;
  if (cli_session_begin(&s, a.c.o.db, "train", (uint64_t)a.c.o.seed, (int)a.c.o.threads) != CB_OK) {
    prepared_free(&p);
    cli_backends_close(&a.c.be);
    return CLI_FAIL;
  }
  cli_install_signals();
  cb_solver *solver = NULL;
  cb_status st = cb_solver_create(p.net, &p.cfg, &solver);
  trainer *t = calloc(1, sizeof *t);
  if (!t) st = cb_error(CB_ERR_NOMEM, "out of memory");
  if (st == CB_OK) {
    *t = (trainer){.a = &a,
                   .s = &s,
                   .rec = {.run_id = s.run_id,
                           .net = p.net->name,
                           .backend = a.c.be.names[0],
                           .dataset = a.c.o.data,
                           .batch = p.net->batch,
                           .threads = (int)a.c.o.threads},
                   .tty = isatty(2),
                   .last_progress = cb_now_ns(),
                   .epochs = (int)a.epochs};
    printf("train %s on %s: %lld training and %lld test images, batch %lld, %d epoch%s, backend "
           "%s, %d thread%s, %s lr %g (policy %s), seed %lld\n",
           p.net->name, a.c.o.data, (long long)p.train.count, (long long)p.test.count,
           (long long)p.net->batch, (int)a.epochs, a.epochs == 1 ? "" : "s", a.c.be.names[0],
           (int)a.c.o.threads, a.c.o.threads == 1 ? "" : "s",
           p.cfg.type == CB_SOLVER_ADAM ? "adam" : "sgd", p.cfg.lr, cb_lr_policy_name(p.cfg.policy),
           a.c.o.seed);
    fflush(stdout);
    cb_train_opts o = {.epochs = (int)a.epochs,
                       .seed = (uint64_t)a.c.o.seed,
                       .mean = p.mean,
                       .sd = p.sd,
                       .stop = &cli_stop,
                       .on_step = on_step,
                       .on_epoch = on_epoch,
                       .on_eval = on_eval,
                       .user = t};
    st = cb_train(p.net, solver, &p.cfg, &p.train, &p.test, &o);
    progress_done(t);
    cb_status fl = flush_steps(t); /* what an interrupted epoch finished */
    if (st == CB_OK) st = fl;
  }
  if (st == CB_OK && a.save) {
    cb_ckpt_meta meta = {.mean = p.mean, .sd = p.sd};
    snprintf(meta.net, sizeof meta.net, "%s", p.net->name);
    if ((st = cb_checkpoint_save(a.save, p.net, &meta)) == CB_OK) printf("saved %s\n", a.save);
  }
  rc = cli_session_finish(&s, "train", st,
                          "recorded steps and epochs were kept, run marked interrupted");
  free(t);
  cb_solver_free(solver);
  prepared_free(&p);
  cli_backends_close(&a.c.be);
  return rc;
}

const cli_command cli_train = {
    "train", "train a net on Fashion-MNIST (IDX files), with checkpoints", train_main, usage};
