/* train_common.h: what train, infer and check share: the shared options
 * and the --data option (train_data.c). The rows they record in the
 * train_steps, train_epochs and grad_checks tables are written by the
 * database layer (cb_db_put_train_*, store.h). */
#ifndef CB_CLI_TRAIN_COMMON_H
#define CB_CLI_TRAIN_COMMON_H

#include "backends.h"

#include <getopt.h>
#include "checkpoint.h"
#include "gradcheck.h"
#include "train.h"

/* ---- options train, infer and check share ------------------------------------- */

typedef struct cli_common_args {
  const char *path; /* the NET.net operand */
  const char *db;   /* NULL: --no-db */
  const char *data; /* --data */
  long long batch;  /* 0: the netdef's */
  long long threads, seed, limit;
  cli_backends be;
  bool quiet;
} cli_common_args;

/* getopt_long entries of the shared options; a command lists those it takes. */
#define CLI_OPT_DB                                                                                 \
  { "db", required_argument, NULL, 'd' }
#define CLI_OPT_NO_DB                                                                              \
  { "no-db", no_argument, NULL, 'x' }
#define CLI_OPT_DATA                                                                               \
  { "data", required_argument, NULL, 'D' }
#define CLI_OPT_BATCH                                                                              \
  { "batch", required_argument, NULL, 'b' }
#define CLI_OPT_THREADS                                                                            \
  { "threads", required_argument, NULL, 't' }
#define CLI_OPT_SEED                                                                               \
  { "seed", required_argument, NULL, 's' }
#define CLI_OPT_BACKEND                                                                            \
  { "backend", required_argument, NULL, 'B' }
#define CLI_OPT_LIMIT                                                                              \
  { "limit", required_argument, NULL, 'n' }
#define CLI_OPT_QUIET                                                                              \
  { "quiet", no_argument, NULL, 'q' }
#define CLI_OPT_HELP                                                                               \
  { "help", no_argument, NULL, 'h' }

/* Defaults: results.db, fashion-mnist, seed 1, physical cores, backend
 * ref (tuned once the cache knows this machine, unless --backend). */
void cli_common_defaults(cli_common_args *a);

/* Runs getopt_long over argv with opts (NULL-terminated): the shared
 * options go into a, any other calls own(ch, optarg, user), which returns
 * CLI_OK or an exit code. Then reads the NET.net operand, checks --db and
 * resolves --backend (one backend only when one_backend). Returns CLI_OK,
 * -1 after --help, or the exit code after printing why. */
int cli_common_parse(const cli_command *c, int argc, char **argv, const struct option *opts,
                     cli_common_args *a, bool one_backend,
                     int (*own)(int ch, const char *arg, void *user), void *user);

/* Ends a run by its status: "ok", "interrupted" (saying `kept` on stderr)
 * or "failed" (with cb_errmsg() recorded and printed). Returns the exit
 * code: CLI_OK, CLI_INTERRUPTED or CLI_FAIL. */
int cli_common_end(cli_session *s, const char *cmd, cb_status st, const char *kept);

/* ---- data ------------------------------------------------------------------ */

/* The directory --data names: "fashion-mnist" is the Debian package's
 * (CB_FASHION_MNIST_DIR), anything else a directory of IDX files. */
const char *cli_data_dir(const char *data);

/* Loads PREFIX ("train" or "t10k") from --data, keeping the first limit
 * images when limit > 0. Prints the error (which names the file). */
cb_status cli_data_load(const char *cmd, const char *data, const char *prefix, long long limit,
                        cb_dataset *out);

#endif
