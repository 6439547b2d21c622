/* test_dataset.c: IDX loading through zlib (plain and gzip files), the
 * errors for missing, truncated, non-IDX and mismatched files (each must
 * name the file), normalisation and batches, and the real Fashion-MNIST
 * files when the Debian package is installed. */
#include "cb_test.h"
#include "dataset.h"

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256];

/* Writes bytes to DIR/name, through gzip when gz. Returns the path. */
static const char *write_file(const char *name, const uint8_t *b, size_t n, bool gz) {
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  if (gz) {
    gzFile f = gzopen(p, "wb");
    CHECK(f != NULL);
    if (f) {
      CHECK(gzwrite(f, b, (unsigned)n) == (int)n);
      gzclose(f);
    }
  } else {
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f) {
      CHECK(fwrite(b, 1, n, f) == n);
      fclose(f);
    }
  }
  return p;
}

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IDX image file of count images h x w: pixel i of image k = (k*7 + i) % 256. */
static size_t make_images(uint8_t *b, uint32_t count, uint32_t h, uint32_t w) {
  b[0] = b[1] = 0, b[2] = 8, b[3] = 3;
  be32(b + 4, count), be32(b + 8, h), be32(b + 12, w);
  for (uint32_t k = 0; k < count; k++)
    for (uint32_t i = 0; i < h * w; i++) b[16 + k * h * w + i] = (uint8_t)((k * 7 + i) % 256);
  return 16 + (size_t)count * h * w;
}

static size_t make_labels(uint8_t *b, uint32_t count) {
  b[0] = b[1] = 0, b[2] = 8, b[3] = 1;
  be32(b + 4, count);
  for (uint32_t k = 0; k < count; k++) b[8 + k] = (uint8_t)(k % 3);
  return 8 + count;
}

/* Loading must fail with status want and a message holding both texts. */
static void expect_error(const char *images, const char *labels, cb_status want, const char *a,
                         const char *b) {
  cb_dataset d;
  cb_status st = cb_dataset_load(images, labels, &d);
  CHECK_EQ_INT(st, want);
  CHECK_MSG(strstr(cb_errmsg(), a) != NULL, "message '%s' lacks '%s'", cb_errmsg(), a);
  CHECK_MSG(strstr(cb_errmsg(), b) != NULL, "message '%s' lacks '%s'", cb_errmsg(), b);
  CHECK(d.pixels == NULL && d.labels == NULL);
}

static void test_load(bool gz) {
  uint8_t img[16 + 5 * 4 * 3], lab[8 + 5];
  size_t ni = make_images(img, 5, 4, 3), nl = make_labels(lab, 5);
  const char *ip = write_file(gz ? "i.gz" : "i", img, ni, gz);
  const char *lp = write_file(gz ? "l.gz" : "l", lab, nl, gz);
  cb_dataset d;
  CHECK_EQ_INT(cb_dataset_load(ip, lp, &d), CB_OK);
  CHECK_EQ_INT(d.count, 5);
  CHECK_EQ_INT(d.h, 4);
  CHECK_EQ_INT(d.w, 3);
  CHECK_EQ_INT(d.classes, 3);
  CHECK_EQ_INT(d.pixels[2 * 12 + 5], (2 * 7 + 5) % 256);
  CHECK_EQ_INT(d.labels[4], 1);

  double mean, sd;
  cb_dataset_stats(&d, &mean, &sd);
  double s = 0, s2 = 0;
  for (int i = 0; i < 60; i++)
    s += img[16 + i] / 255.0, s2 += (img[16 + i] / 255.0) * (img[16 + i] / 255.0);
  CHECK_NEAR(mean, s / 60, 1e-12);
  CHECK_NEAR(sd, sqrt(s2 / 60 - (s / 60) * (s / 60)), 1e-9);

  float x[2 * 12];
  int32_t y[2];
  int64_t idx[2] = {3, 0};
  cb_dataset_batch(&d, idx, 2, 0.5, 0.25, x, y);
  CHECK_NEAR(x[1], ((double)((3 * 7 + 1) % 256) / 255.0 - 0.5) / 0.25, 1e-5);
  CHECK_NEAR(x[12 + 11], ((double)11 / 255.0 - 0.5) / 0.25, 1e-5);
  CHECK_EQ_INT(y[0], 0);
  CHECK_EQ_INT(y[1], 0);
  cb_dataset_truncate(&d, 2);
  CHECK_EQ_INT(d.count, 2);
  cb_dataset_free(&d);
}

static void test_errors(void) {
  uint8_t img[16 + 5 * 4 * 3], lab[8 + 6];
  size_t ni = make_images(img, 5, 4, 3), nl = make_labels(lab, 5);
  const char *ip = write_file("good-i", img, ni, false);
  const char *lp = write_file("good-l", lab, nl, false);

  char missing[512];
  snprintf(missing, sizeof missing, "%s/nope", dir);
  expect_error(missing, lp, CB_ERR_IO, missing, "cannot open");
  expect_error(ip, missing, CB_ERR_IO, missing, "cannot open");

  const char *trunc = write_file("trunc-i", img, ni - 7, false);
  expect_error(trunc, lp, CB_ERR_PARSE, trunc, "truncated");
  const char *truncgz = write_file("trunc-i.gz", img, ni - 7, true);
  expect_error(truncgz, lp, CB_ERR_PARSE, truncgz, "truncated");
  const char *headonly = write_file("head-i", img, 10, false);
  expect_error(headonly, lp, CB_ERR_PARSE, headonly, "truncated");

  const char *text = write_file("text", (const uint8_t *)"hello, world\n", 13, false);
  expect_error(text, lp, CB_ERR_PARSE, text, "not an IDX file");
  expect_error(lp, lp, CB_ERR_PARSE, lp, "rank 1, expected 3");
  expect_error(ip, ip, CB_ERR_PARSE, ip, "rank 3, expected 1");

  uint8_t lab6[8 + 6];
  size_t n6 = make_labels(lab6, 6);
  const char *lp6 = write_file("six-l", lab6, n6, false);
  expect_error(ip, lp6, CB_ERR_PARSE, lp6, "6 labels, but");

  uint8_t bad[16 + 60];
  memcpy(bad, img, sizeof bad);
  bad[2] = 0x0d; /* float elements */
  const char *fl = write_file("float-i", bad, ni, false);
  expect_error(fl, lp, CB_ERR_PARSE, fl, "element type 0x0d");

  cb_dataset d;
  CHECK_EQ_INT(cb_dataset_load_dir(dir, "absent", &d), CB_ERR_IO);
  CHECK(strstr(cb_errmsg(), "absent-images-idx3-ubyte") != NULL);
}

/* The Debian package's files, when installed: the shapes and counts every
 * Fashion-MNIST user relies on. */
static void test_fashion_mnist(void) {
  if (access(CB_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
    printf("note: %s not installed; skipping the real files\n", CB_FASHION_MNIST_DIR);
    return;
  }
  cb_dataset d;
  CHECK_EQ_INT(cb_dataset_load_dir(CB_FASHION_MNIST_DIR, "t10k", &d), CB_OK);
  CHECK_EQ_INT(d.count, 10000);
  CHECK_EQ_INT(d.h, 28);
  CHECK_EQ_INT(d.w, 28);
  CHECK_EQ_INT(d.classes, 10);
  int64_t per_class[10] = {0};
  for (int64_t i = 0; i < d.count; i++) per_class[d.labels[i]]++;
  for (int c = 0; c < 10; c++) CHECK_EQ_INT(per_class[c], 1000);
  double mean, sd;
  cb_dataset_stats(&d, &mean, &sd);
  CHECK_NEAR(mean, 0.2868, 0.002); /* the published statistics of the test set */
  CHECK_NEAR(sd, 0.3524, 0.002);
  cb_dataset_free(&d);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/cb_test_dataset_XXXXXX");
  if (!mkdtemp(dir)) CB_TEST_SKIP("cannot create a temporary directory");
  test_load(false);
  test_load(true);
  test_errors();
  test_fashion_mnist();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
  return cb_test_result();
}
