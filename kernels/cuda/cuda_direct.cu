/* cuda_direct.cu: direct convolutions for small filters, and the bias
 * kernels. Forward and backward-data: one thread per output element.
 * Backward-filter and the bias gradient: one block per output element,
 * threads splitting the sum, then a shared-memory tree reduction (fixed
 * order: the same bits on every run). Indices from cuda_geom.h. */
#include "cuda_kernels.h"

__global__ void direct_fwd_kernel(cb_conv_geom g, const float *x, const float *w, float *y,
                                  int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t i, k, p, q;
    cb_direct_out_coords(&g, e, &i, &k, &p, &q);
    float sum = 0.0f;
    for (int64_t cc = 0; cc < g.cg; cc++)
      for (int64_t rr = 0; rr < g.cv.r; rr++)
        for (int64_t ss = 0; ss < g.cv.s; ss++) {
          int64_t src = cb_direct_fwd_src(&g, i, k, p, q, cc, rr, ss);
          if (src >= 0) sum = fmaf(x[src], w[cb_direct_w_index(&g, k, cc, rr, ss)], sum);
        }
    y[e] = sum;
  }
}

/* dx[i, c, y, x] = sum over the k of c's group and the taps that read it
 * of dy[i, k, p, q] w[k, c % cg, rr, ss]. */
__global__ void direct_bwd_data_kernel(cb_conv_geom g, const float *dy, const float *w, float *dx,
                                       int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t x = e % g.cv.w, y = (e / g.cv.w) % g.cv.h, c = (e / (g.cv.w * g.cv.h)) % g.cv.c;
    int64_t i = e / (g.cv.w * g.cv.h * g.cv.c);
    int64_t grp = c / g.cg, cc = c % g.cg;
    float sum = 0.0f;
    for (int64_t rr = 0; rr < g.cv.r; rr++) {
      int64_t p = cb_col2im_out(y, rr, g.cv.pad_h, g.cv.dil_h, g.cv.stride_h, g.p);
      if (p < 0) continue;
      for (int64_t ss = 0; ss < g.cv.s; ss++) {
        int64_t q = cb_col2im_out(x, ss, g.cv.pad_w, g.cv.dil_w, g.cv.stride_w, g.q);
        if (q < 0) continue;
        for (int64_t k = grp * g.kg; k < (grp + 1) * g.kg; k++)
          sum = fmaf(dy[((i * g.cv.k + k) * g.p + p) * g.q + q],
                     w[cb_direct_w_index(&g, k, cc, rr, ss)], sum);
      }
    }
    dx[e] = sum;
  }
}

/* Sums a block's per-thread values in shared memory; thread 0 gets the
 * total. blockDim.x must be CB_CU_BLOCK (a power of two). */
__device__ float block_sum(float v) {
  __shared__ float part[CB_CU_BLOCK];
  part[threadIdx.x] = v;
  __syncthreads();
  for (int half = CB_CU_BLOCK / 2; half > 0; half /= 2) {
    if ((int)threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  return part[0];
}

__global__ void direct_bwd_filter_kernel(cb_conv_geom g, const float *x, const float *dy, float *dw,
                                         int64_t total, int64_t terms) {
  for (int64_t e = blockIdx.x; e < total; e += gridDim.x) {
    float sum = 0.0f;
    for (int64_t t = threadIdx.x; t < terms; t += blockDim.x) {
      int64_t xo, dyo;
      if (cb_direct_bwf_term(&g, e, t, &xo, &dyo)) sum = fmaf(x[xo], dy[dyo], sum);
    }
    float total_sum = block_sum(sum);
    if (threadIdx.x == 0) dw[e] = total_sum;
    __syncthreads(); /* part[] is reused by the next e */
  }
}

__global__ void bias_fwd_kernel(float *y, const float *b, int64_t k, int64_t pq, int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x)
    y[e] += b[(e / pq) % k];
}

__global__ void bias_bwd_kernel(const float *dy, float *db, int64_t n, int64_t k, int64_t pq) {
  for (int64_t kk = blockIdx.x; kk < k; kk += gridDim.x) {
    float sum = 0.0f;
    for (int64_t t = threadIdx.x; t < n * pq; t += blockDim.x)
      sum += dy[((t / pq) * k + kk) * pq + t % pq];
    float total = block_sum(sum);
    if (threadIdx.x == 0) db[kk] = total;
    __syncthreads();
  }
}

static unsigned blocks_for(int64_t n) {
  return (unsigned)cb_cu_blocks(n, CB_CU_BLOCK, CB_CU_MAX_BLOCKS);
}

extern "C" cudaError_t cb_cu_direct_fwd(cudaStream_t stream, const cb_conv_geom *g, const float *x,
                                        const float *w, float *y) {
  int64_t total = g->cv.n * g->cv.k * g->p * g->q;
  direct_fwd_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(*g, x, w, y, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_cu_direct_bwd_data(cudaStream_t stream, const cb_conv_geom *g,
                                             const float *dy, const float *w, float *dx) {
  int64_t total = g->cv.n * g->cv.c * g->cv.h * g->cv.w;
  direct_bwd_data_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(*g, dy, w, dx, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_cu_direct_bwd_filter(cudaStream_t stream, const cb_conv_geom *g,
                                               const float *x, const float *dy, float *dw) {
  int64_t total = g->cv.k * g->cg * g->cv.r * g->cv.s, terms = g->cv.n * g->p * g->q;
  unsigned blocks = (unsigned)(total < CB_CU_MAX_BLOCKS ? total : CB_CU_MAX_BLOCKS);
  direct_bwd_filter_kernel<<<blocks, CB_CU_BLOCK, 0, stream>>>(*g, x, dy, dw, total, terms);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_cu_bias_fwd(cudaStream_t stream, float *y, const float *b, int64_t n,
                                      int64_t k, int64_t pq) {
  int64_t total = n * k * pq;
  if (total == 0) return cudaSuccess;
  bias_fwd_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(y, b, k, pq, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_cu_bias_bwd(cudaStream_t stream, const float *dy, float *db, int64_t n,
                                      int64_t k, int64_t pq) {
  if (k == 0) return cudaSuccess;
  unsigned blocks = (unsigned)(k < CB_CU_MAX_BLOCKS ? k : CB_CU_MAX_BLOCKS);
  bias_bwd_kernel<<<blocks, CB_CU_BLOCK, 0, stream>>>(dy, db, n, k, pq);
  return cudaGetLastError();
}
