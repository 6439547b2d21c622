/* test_cuda_ops.c: the cuda backend's kernels that no conv or GEMM variant
 * exposes, the bias kernels (a broadcast add, and a block-per-channel
 * reduction), against the host on integer data (exact). Label gpu: exits
 * 77 without a GPU. */
#include "cb_test.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_rt.h"

int main(void) {
  cb_ctx *ctx;
  if (cb_ctx_open(cb_backend_find("cuda"), 1, &ctx) != CB_OK) CB_TEST_SKIP("%s", cb_errmsg());
  const int64_t n = 3, k = 5, pq = 300; /* more terms per channel than a block has threads */
  int64_t ny = n * k * pq;
  float *y = malloc((size_t)ny * sizeof *y), *b = malloc((size_t)k * sizeof *b);
  float *got = malloc((size_t)ny * sizeof *got), db[5], want_db[5] = {0};
  for (int64_t i = 0; i < ny; i++) y[i] = (float)((i * 7) % 5 - 2);
  for (int64_t i = 0; i < k; i++) b[i] = (float)(i - 2);
  for (int64_t i = 0; i < ny; i++) want_db[(i / pq) % k] += y[i];
  void *dy = NULL, *dbias = NULL, *ddb = NULL;
  cb_status st = cb_cuda_alloc(ctx, (size_t)ny * 4, &dy);
  if (st == CB_OK) st = cb_cuda_alloc(ctx, (size_t)k * 4, &dbias);
  if (st == CB_OK) st = cb_cuda_alloc(ctx, (size_t)k * 4, &ddb);
  if (st == CB_OK) st = cb_cuda_upload(ctx, dy, y, (size_t)ny * 4);
  if (st == CB_OK) st = cb_cuda_upload(ctx, dbias, b, (size_t)k * 4);
  cudaStream_t s = st == CB_OK ? cb_cuda_of(ctx)->stream : NULL;
  if (st == CB_OK) st = cb_cuda_check(cb_cu_bias_bwd(s, dy, ddb, n, k, pq), "bias_bwd");
  if (st == CB_OK) st = cb_cuda_check(cb_cu_bias_fwd(s, dy, dbias, n, k, pq), "bias_fwd");
  if (st == CB_OK) st = cb_cuda_download(ctx, got, dy, (size_t)ny * 4);
  if (st == CB_OK) st = cb_cuda_download(ctx, db, ddb, (size_t)k * 4);
  CHECK_MSG(st == CB_OK, "%s", cb_errmsg());
  int bad = 0;
  for (int64_t i = 0; st == CB_OK && i < ny; i++) bad += got[i] != y[i] + b[(i / pq) % k];
  CHECK_MSG(bad == 0, "bias_fwd: %d elements wrong", bad);
  for (int64_t i = 0; st == CB_OK && i < k; i++) CHECK_NEAR(db[i], want_db[i], 0);
  cb_cuda_free(ctx, dy), cb_cuda_free(ctx, dbias), cb_cuda_free(ctx, ddb);
  free(y), free(b), free(got);
  cb_ctx_close(ctx);
  return cb_test_result();
}
