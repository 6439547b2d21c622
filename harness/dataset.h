/* dataset.h: labelled image sets read from IDX files (the MNIST format,
 * as Debian's dataset-fashion-mnist ships them), gzip-compressed or not.
 *
 * An IDX file is a big-endian header, magic 0x0000 TTDD (TT the element
 * type, 0x08 for unsigned bytes; DD the number of dimensions), DD 32-bit
 * sizes, then the elements. Images are 3-D (count x rows x cols), labels
 * 1-D (count). A set keeps its images as bytes and normalises a batch when
 * it is copied out, so 60000 Fashion-MNIST images cost 47 MB, not 188. */
#ifndef CB_DATASET_H
#define CB_DATASET_H

#include "kernels.h"

/* The Debian package's directory, the default for --data fashion-mnist. */
#define CB_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct cb_dataset {
  char images_path[1024], labels_path[1024]; /* as opened, for messages */
  int64_t count;                             /* images (= labels) */
  int64_t h, w;                              /* one channel */
  uint8_t *pixels;                           /* count x h x w */
  int32_t *labels;                           /* count, each in [0, classes) */
  int32_t classes;                           /* largest label + 1 */
} cb_dataset;

/* Reads an image file and its label file (each .gz or plain). CB_ERR_IO
 * naming the file when it is missing or unreadable, CB_ERR_PARSE naming it
 * when it is not IDX, has the wrong type or rank, is truncated (expected
 * and actual bytes), or when the two counts differ. */
cb_status cb_dataset_load(const char *images_path, const char *labels_path, cb_dataset *out);

/* Loads DIR/PREFIX-images-idx3-ubyte[.gz] and DIR/PREFIX-labels-idx1-ubyte[.gz]
 * (prefix "train" or "t10k"), preferring the .gz file when both exist. */
cb_status cb_dataset_load_dir(const char *dir, const char *prefix, cb_dataset *out);

void cb_dataset_free(cb_dataset *d);

/* Keeps the first n images (tests and quick runs train on a subset). */
void cb_dataset_truncate(cb_dataset *d, int64_t n);

/* Mean and standard deviation of all pixels scaled to [0, 1], in double:
 * the normalisation a net trained on this set uses. */
void cb_dataset_stats(const cb_dataset *d, double *mean, double *sd);

/* Copies images idx[0..n) into x (n x 1 x h x w floats) as
 * (pixel / 255 - mean) / sd, and their labels into y (may be NULL). */
void cb_dataset_batch(const cb_dataset *d, const int64_t *idx, int64_t n, double mean, double sd,
                      float *x, int32_t *y);

#endif
