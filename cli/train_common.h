/* train_common.h: what train, infer and check share: the --data option
 * (train_data.c) and the rows they record in the train_steps,
 * train_epochs and grad_checks tables (schema 5, autotune/store.c;
 * train_db.c). */
#ifndef CB_CLI_TRAIN_COMMON_H
#define CB_CLI_TRAIN_COMMON_H

#include "options.h"

#include "checkpoint.h"
#include "gradcheck.h"
#include "train.h"

/* ---- data ------------------------------------------------------------------ */

/* The directory --data names: "fashion-mnist" is the Debian package's
 * (CB_FASHION_MNIST_DIR), anything else a directory of IDX files. */
const char *cli_data_dir(const char *data);

/* Loads PREFIX ("train" or "t10k") from --data, keeping the first limit
 * images when limit > 0. Prints the error (which names the file). */
cb_status cli_data_load(const char *cmd, const char *data, const char *prefix, long long limit,
                        cb_dataset *out);

/* ---- the database ------------------------------------------------------------ */

/* Where the rows belong: the run, the net and the backend asked for. */
typedef struct cli_train_rec {
  int64_t run_id;
  const char *net, *backend, *dataset;
  int64_t batch;
  int threads;
} cli_train_rec;

/* Writes n steps in one transaction (training calls it every few hundred
 * steps so the database never slows it down). */
cb_status cli_db_put_train_steps(cb_db *db, const cli_train_rec *r, const cb_train_step *steps,
                                 int n);

/* Writes one epoch's row, in its own transaction. */
cb_status cli_db_put_train_epoch(cb_db *db, const cli_train_rec *r, const cb_train_epoch *e);

/* Writes n gradient-check results of one layer in one transaction. */
cb_status cli_db_put_grad_checks(cb_db *db, const cli_train_rec *r, const cb_grad_result *res,
                                 int n);

#endif
