/* cuda_im2col.cu: im2col and col2im (gather form) on the device, one
 * thread per element, grid-stride; indices from cuda_geom.h. */
#include "cuda_kernels.h"

__global__ void im2col_kernel(cb_conv_geom g, const float *x, int64_t i0, int64_t nimg, float *col,
                              int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t src = cb_im2col_src(&g, i0, nimg, e);
    col[e] = src >= 0 ? x[src] : 0.0f;
  }
}

__global__ void col2im_kernel(cb_conv_geom g, const float *col, int64_t nimg, float *dx,
                              int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    float sum = 0.0f;
    for (int64_t rr = 0; rr < g.cv.r; rr++)
      for (int64_t ss = 0; ss < g.cv.s; ss++) {
        int64_t src = cb_col2im_src(&g, nimg, e, rr, ss);
        if (src >= 0) sum += col[src];
      }
    dx[e] = sum;
  }
}

extern "C" cudaError_t cb_cu_im2col(cudaStream_t stream, const cb_conv_geom *g, const float *x,
                                    int64_t i0, int64_t nimg, float *col) {
  int64_t total = g->cv.c * g->cv.r * g->cv.s * nimg * g->p * g->q;
  if (total == 0) return cudaSuccess;
  unsigned blocks = (unsigned)cb_cu_blocks(total, CB_CU_BLOCK, CB_CU_MAX_BLOCKS);
  im2col_kernel<<<blocks, CB_CU_BLOCK, 0, stream>>>(*g, x, i0, nimg, col, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_cu_col2im(cudaStream_t stream, const cb_conv_geom *g, const float *col,
                                    int64_t i0, int64_t nimg, float *dx) {
  int64_t total = nimg * g->cv.c * g->cv.h * g->cv.w;
  if (total == 0) return cudaSuccess;
  unsigned blocks = (unsigned)cb_cu_blocks(total, CB_CU_BLOCK, CB_CU_MAX_BLOCKS);
  col2im_kernel<<<blocks, CB_CU_BLOCK, 0, stream>>>(*g, col, nimg,
                                                    dx + i0 * g->cv.c * g->cv.h * g->cv.w, total);
  return cudaGetLastError();
}
