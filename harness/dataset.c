/* dataset.c: IDX image and label files through zlib (gzread reads plain
 * files unchanged, so one path serves both), with errors that name the
 * file and say what is wrong with it. */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Largest image set accepted: far beyond any IDX file in use, and it keeps
 * count x h x w well inside int64 and size_t. */
#define IDX_MAX_COUNT (1LL << 31)
#define IDX_MAX_SIDE  65536

/* Reads exactly len bytes; CB_ERR_PARSE naming the file when it ends
 * early (what was expected and what was there), CB_ERR_IO on a read or
 * decompression error. */
static cb_status read_exact(gzFile f, const char *path, void *buf, size_t len, size_t offset,
                            const char *what) {
  size_t got = 0;
  while (got < len) {
    unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
    int n = gzread(f, (char *)buf + got, chunk);
    if (n < 0) {
      int zerr;
      const char *msg = gzerror(f, &zerr);
      return cb_error(zerr == Z_BUF_ERROR ? CB_ERR_PARSE : CB_ERR_IO,
                      "%s: %s while reading the %s (%s)", path,
                      zerr == Z_BUF_ERROR ? "truncated" : "read error", what, msg);
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  if (got < len)
    return cb_error(CB_ERR_PARSE,
                    "%s: truncated: the %s needs %zu bytes from offset %zu, the file has %zu", path,
                    what, len, offset, got);
  return CB_OK;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Opens path and reads its IDX header: unsigned bytes of rank `rank`.
 * dims receives the sizes. */
static cb_status open_idx(const char *path, int rank, gzFile *out, int64_t dims[3]) {
  *out = NULL;
  gzFile f = gzopen(path, "rb");
  if (!f)
    return cb_error(CB_ERR_IO, "%s: cannot open: %s", path,
                    errno ? strerror(errno) : "out of memory");
  uint8_t head[4 + 12];
  cb_status st = read_exact(f, path, head, 4, 0, "IDX magic number");
  if (st == CB_OK && (head[0] != 0 || head[1] != 0))
    st = cb_error(CB_ERR_PARSE,
                  "%s: not an IDX file (magic number %02x%02x%02x%02x; IDX starts 0000 then the "
                  "type and the rank)",
                  path, head[0], head[1], head[2], head[3]);
  if (st == CB_OK && head[2] != 0x08)
    st = cb_error(CB_ERR_PARSE, "%s: IDX element type 0x%02x, expected 0x08 (unsigned bytes)", path,
                  head[2]);
  if (st == CB_OK && head[3] != rank)
    st = cb_error(CB_ERR_PARSE, "%s: IDX file of rank %d, expected %d (%s)", path, head[3], rank,
                  rank == 3 ? "images: count x rows x cols" : "labels: count");
  if (st == CB_OK) st = read_exact(f, path, head + 4, 4 * (size_t)rank, 4, "IDX header");
  for (int i = 0; st == CB_OK && i < rank; i++) {
    dims[i] = be32(head + 4 + 4 * i);
    int64_t max = i == 0 ? IDX_MAX_COUNT : IDX_MAX_SIDE;
    if (dims[i] < 1 || dims[i] > max)
      st = cb_error(CB_ERR_PARSE, "%s: IDX dimension %d is %lld (expected 1 to %lld)", path, i + 1,
                    (long long)dims[i], (long long)max);
  }
  if (st != CB_OK) {
    gzclose(f);
    return st;
  }
  *out = f;
  return CB_OK;
}

static cb_status load_images(const char *path, cb_dataset *d) {
  gzFile f;
  int64_t dims[3];
  cb_status st = open_idx(path, 3, &f, dims);
  if (st != CB_OK) return st;
  d->count = dims[0], d->h = dims[1], d->w = dims[2];
  size_t bytes = (size_t)(d->count * d->h * d->w);
  if (!(d->pixels = malloc(bytes)))
    st = cb_error(CB_ERR_NOMEM, "%s: cannot allocate %zu bytes for the images", path, bytes);
  else
    st = read_exact(f, path, d->pixels, bytes, 16, "images");
  gzclose(f);
  return st;
}

static cb_status load_labels(const char *path, cb_dataset *d) {
  gzFile f;
  int64_t dims[3];
  cb_status st = open_idx(path, 1, &f, dims);
  if (st != CB_OK) return st;
  if (dims[0] != d->count) {
    gzclose(f);
    return cb_error(CB_ERR_PARSE, "%s: %lld labels, but %s holds %lld images", path,
                    (long long)dims[0], d->images_path, (long long)d->count);
  }
  uint8_t *raw = malloc((size_t)d->count);
  d->labels = malloc((size_t)d->count * sizeof *d->labels);
  if (!raw || !d->labels)
    st = cb_error(CB_ERR_NOMEM, "%s: out of memory for %lld labels", path, (long long)d->count);
  else
    st = read_exact(f, path, raw, (size_t)d->count, 8, "labels");
  gzclose(f);
  for (int64_t i = 0; st == CB_OK && i < d->count; i++) {
    d->labels[i] = raw[i];
    if (raw[i] + 1 > d->classes) d->classes = raw[i] + 1;
  }
  free(raw);
  return st;
}

cb_status cb_dataset_load(const char *images_path, const char *labels_path, cb_dataset *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->images_path, sizeof out->images_path, "%s", images_path);
  snprintf(out->labels_path, sizeof out->labels_path, "%s", labels_path);
  errno = 0;
  cb_status st = load_images(images_path, out);
  if (st == CB_OK) st = load_labels(labels_path, out);
  if (st != CB_OK) cb_dataset_free(out);
  return st;
}

/* DIR/NAME.gz when it exists, else DIR/NAME. */
static void pick_path(const char *dir, const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s.gz", dir, name);
  if (access(buf, F_OK) == 0) return;
  snprintf(buf, len, "%s/%s", dir, name);
}

cb_status cb_dataset_load_dir(const char *dir, const char *prefix, cb_dataset *out) {
  char name[64], images[1024], labels[1024];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  pick_path(dir, name, images, sizeof images);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  pick_path(dir, name, labels, sizeof labels);
  if (access(images, F_OK) != 0) {
    memset(out, 0, sizeof *out);
    return cb_error(CB_ERR_IO, "%s: no such file (nor %s.gz)%s", images, images,
                    strcmp(dir, CB_FASHION_MNIST_DIR) == 0
                        ? "; install the Debian package dataset-fashion-mnist"
                        : "");
  }
  return cb_dataset_load(images, labels, out);
}

void cb_dataset_free(cb_dataset *d) {
  free(d->pixels);
  free(d->labels);
  d->pixels = NULL;
  d->labels = NULL;
  d->count = 0;
}

void cb_dataset_truncate(cb_dataset *d, int64_t n) {
  if (n >= 0 && n < d->count) d->count = n;
}

void cb_dataset_stats(const cb_dataset *d, double *mean, double *sd) {
  /* Integer sums of bytes are exact: no rounding drift over 47M pixels. */
  uint64_t sum = 0, sq = 0;
  int64_t n = d->count * d->h * d->w;
  for (int64_t i = 0; i < n; i++) {
    sum += d->pixels[i];
    sq += (uint64_t)d->pixels[i] * d->pixels[i];
  }
  double m = n ? (double)sum / (double)n : 0.0;
  double var = n ? (double)sq / (double)n - m * m : 0.0;
  *mean = m / 255.0;
  *sd = var > 0 ? sqrt(var) / 255.0 : 1.0;
}

void cb_dataset_batch(const cb_dataset *d, const int64_t *idx, int64_t n, double mean, double sd,
                      float *x, int32_t *y) {
  int64_t px = d->h * d->w;
  /* One table of 256 values: every pixel is a lookup, identical however
   * the batch is assembled. */
  float lut[256];
  for (int v = 0; v < 256; v++) lut[v] = (float)(((double)v / 255.0 - mean) / sd);
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *src = d->pixels + idx[i] * px;
    float *dst = x + i * px;
    for (int64_t j = 0; j < px; j++) dst[j] = lut[src[j]];
    if (y) y[i] = d->labels[idx[i]];
  }
}
