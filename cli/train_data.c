/* train_data.c: the --data option of train and infer. */
#include "train_common.h"

#include <string.h>

const char *cli_data_dir(const char *data) {
  return strcmp(data, "fashion-mnist") == 0 ? CB_FASHION_MNIST_DIR : data;
}

cb_status cli_data_load(const char *cmd, const char *data, const char *prefix, long long limit,
                        cb_dataset *out) {
  cb_status st = cb_dataset_load_dir(cli_data_dir(data), prefix, out);
  if (st != CB_OK) {
    cli_error(cmd, "%s", cb_errmsg());
    return st;
  }
  if (limit > 0) cb_dataset_truncate(out, limit);
  return CB_OK;
}
