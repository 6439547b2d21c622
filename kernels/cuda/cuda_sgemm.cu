/* cuda_sgemm.cu: the tiled SGEMM (shared-memory tiles, register blocking;
 * the arithmetic is cuda_geom.h's, unit-tested on the host). One kernel
 * template per tile size, 3 x 3 sizes compiled. */
#include "cuda_kernels.h"

template <int BM, int BN>
__global__ void __launch_bounds__(CB_SGEMM_THREADS)
    sgemm_tiled(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb, float beta,
                float *c, int64_t ldc, int64_t sc) {
  constexpr int BK = CB_SGEMM_BK, TM = BM / 16, TN = BN / 16;
  __shared__ float as[BK][BM];
  __shared__ float bs[BK][BN];
  cb_sgemm_tile t;
  cb_sgemm_tile_of(BM, BN, &t);
  a += (int64_t)blockIdx.z * sa;
  b += (int64_t)blockIdx.z * sb;
  c += (int64_t)blockIdx.z * sc;
  const int tid = (int)threadIdx.x;
  const int64_t m0 = (int64_t)blockIdx.y * BM, n0 = (int64_t)blockIdx.x * BN;
  int r0, c0;
  cb_sgemm_thread_block(&t, tid, &r0, &c0);
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

  for (int64_t k0 = 0; k0 < k; k0 += BK) {
    for (int e = tid; e < BM * BK; e += CB_SGEMM_THREADS) {
      int i, kk;
      cb_sgemm_a_elem(&t, e, &i, &kk);
      int64_t gi = m0 + i, gk = k0 + kk;
      as[kk][i] = gi < m && gk < k ? a[cb_sgemm_a_index(ta, lda, gi, gk)] : 0.0f;
    }
    for (int e = tid; e < BK * BN; e += CB_SGEMM_THREADS) {
      int kk, j;
      cb_sgemm_b_elem(&t, e, &kk, &j);
      int64_t gk = k0 + kk, gj = n0 + j;
      bs[kk][j] = gk < k && gj < n ? b[cb_sgemm_b_index(tb, ldb, gk, gj)] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; i++) av[i] = as[kk][r0 + i];
#pragma unroll
      for (int j = 0; j < TN; j++) bv[j] = bs[kk][c0 + j];
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; i++) {
    int64_t gi = m0 + r0 + i;
    if (gi >= m) continue;
#pragma unroll
    for (int j = 0; j < TN; j++) {
      int64_t gj = n0 + c0 + j;
      if (gj >= n) continue;
      float v = alpha * acc[i][j];
      /* beta == 0 must not read C: it may hold NaN. */
      if (beta != 0.0f) v += beta * c[gi * ldc + gj];
      c[gi * ldc + gj] = v;
    }
  }
}

extern "C" bool cb_cu_sgemm_fits(int bm, int bn, int64_t m, int64_t n, int64_t batch) {
  cb_sgemm_tile t;
  if (!cb_sgemm_tile_of(bm, bn, &t)) return false;
  return cb_sgemm_grid_y(&t, m) <= 65535 && cb_sgemm_grid_x(&t, n) <= 2147483647 && batch >= 1 &&
         batch <= 65535;
}

template <int BM, int BN>
static void launch(cudaStream_t stream, dim3 grid, bool ta, bool tb, int64_t m, int64_t n,
                   int64_t k, float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                   int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc) {
  sgemm_tiled<BM, BN><<<grid, CB_SGEMM_THREADS, 0, stream>>>(ta, tb, m, n, k, alpha, a, lda, sa, b,
                                                             ldb, sb, beta, c, ldc, sc);
}

extern "C" cudaError_t cb_cu_sgemm(cudaStream_t stream, int bm, int bn, bool ta, bool tb, int64_t m,
                                   int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                                   int64_t sa, const float *b, int64_t ldb, int64_t sb, float beta,
                                   float *c, int64_t ldc, int64_t sc, int64_t batch) {
  cb_sgemm_tile t;
  if (!cb_cu_sgemm_fits(bm, bn, m, n, batch) || !cb_sgemm_tile_of(bm, bn, &t))
    return cudaErrorInvalidValue;
  if (m == 0 || n == 0) return cudaSuccess;
  dim3 grid((unsigned)cb_sgemm_grid_x(&t, n), (unsigned)cb_sgemm_grid_y(&t, m), (unsigned)batch);
#define CB_SGEMM_CASE(BM, BN)                                                                      \
  if (bm == BM && bn == BN)                                                                        \
    launch<BM, BN>(stream, grid, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc);
  CB_SGEMM_CASE(32, 32)
  CB_SGEMM_CASE(32, 64)
  CB_SGEMM_CASE(32, 128)
  CB_SGEMM_CASE(64, 32)
  CB_SGEMM_CASE(64, 64)
  CB_SGEMM_CASE(64, 128)
  CB_SGEMM_CASE(128, 32)
  CB_SGEMM_CASE(128, 64)
  CB_SGEMM_CASE(128, 128)
#undef CB_SGEMM_CASE
  return cudaGetLastError();
}
