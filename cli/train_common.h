/* train_common.h: what train, infer and check share: the shared options
 * and the --data option (train_data.c). The rows they record in the
 * train_steps, train_epochs and grad_checks tables are written by the
 * database layer (cb_db_put_train_*, db.h). */
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

#endif
