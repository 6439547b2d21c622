/* cuda_kernels.h: host-side launchers of the hand-written CUDA kernels
 * (cuda_sgemm.cu, cuda_im2col.cu, cuda_direct.cu, cuda_reduce.cu), callable
 * from C. Each queues its kernel on `stream` and returns the launch's
 * status (cudaGetLastError); a fault inside the kernel shows at the next
 * synchronisation. Sizes were checked by the caller's supports(): grid
 * dimensions fit (see cuda_geom.h) and pointers are device pointers. */
#ifndef CB_CUDA_KERNELS_H
#define CB_CUDA_KERNELS_H

#include "cuda_geom.h"

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* batch row-major GEMMs, z = 0..batch-1:
 *   C_z[m,n] = alpha op(A_z) op(B_z) + beta C_z, X_z = X + z sX,
 * tiles bm x bn (32, 64 or 128 each). C is not read when beta == 0.
 * cudaErrorInvalidValue for a tile that is not compiled or a grid too big. */
cudaError_t cb_cu_sgemm(cudaStream_t stream, int bm, int bn, bool trans_a, bool trans_b, int64_t m,
                        int64_t n, int64_t k, float alpha, const float *a, int64_t lda, int64_t sa,
                        const float *b, int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc,
                        int64_t sc, int64_t batch);

/* Whether cb_cu_sgemm can launch these sizes: grid y (m tiles) and the
 * batch at most 65535. */
bool cb_cu_sgemm_fits(int bm, int bn, int64_t m, int64_t n, int64_t batch);

/* col[C R S, nimg P Q] from x images i0 .. i0 + nimg - 1 (cuda_geom.h). */
cudaError_t cb_cu_im2col(cudaStream_t stream, const cb_conv_geom *g, const float *x, int64_t i0,
                         int64_t nimg, float *col);

/* dx images i0 .. i0 + nimg - 1 overwritten with the col2im of col. */
cudaError_t cb_cu_col2im(cudaStream_t stream, const cb_conv_geom *g, const float *col, int64_t i0,
                         int64_t nimg, float *dx);

/* Direct convolutions, every output element written. */
cudaError_t cb_cu_direct_fwd(cudaStream_t stream, const cb_conv_geom *g, const float *x,
                             const float *w, float *y);
cudaError_t cb_cu_direct_bwd_data(cudaStream_t stream, const cb_conv_geom *g, const float *dy,
                                  const float *w, float *dx);
cudaError_t cb_cu_direct_bwd_filter(cudaStream_t stream, const cb_conv_geom *g, const float *x,
                                    const float *dy, float *dw);

/* Bias: y[n, k, i] += b[k] over planes of pq; db[k] = sum over n and the
 * plane of dy[n, k, :] (a block-per-channel reduction, fixed order). */
cudaError_t cb_cu_bias_fwd(cudaStream_t stream, float *y, const float *b, int64_t n, int64_t k,
                           int64_t pq);
cudaError_t cb_cu_bias_bwd(cudaStream_t stream, const float *dy, float *db, int64_t n, int64_t k,
                           int64_t pq);

#ifdef __cplusplus
}
#endif

#endif /* CB_CUDA_KERNELS_H */
