/* cufft_kernels.cu: the element-wise kernels around cuFFT's transforms:
 * placing planes in the FFT grid, the per-frequency product summed over
 * channels (or images), and cropping the result. Grid-stride loops; the
 * index arithmetic is cufft_geom.h's. */
#include "../cuda/cuda_geom.h"
#include "cufft_kernels.h"

__global__ void embed_kernel(cb_fft_geom g, cb_fft_place pl, const float *src, float *grid,
                             int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t s = cb_fft_embed_src(&g, &pl, e);
    grid[e] = s >= 0 ? src[s] : 0.0f;
  }
}

__global__ void mix_kernel(cb_fft_geom g, const cufftComplex *a, const cufftComplex *b,
                           cufftComplex *out, int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    float re = 0.0f, im = 0.0f;
    for (int64_t j = 0; j < g.mix.nj; j++) {
      int64_t ia, ib;
      cb_fft_combine_src(&g, e, j, &ia, &ib);
      cufftComplex x = a[ia], y = b[ib];
      if (g.mix.conj_a) x.y = -x.y;
      if (g.mix.conj_b) y.y = -y.y;
      re = fmaf(x.x, y.x, fmaf(-x.y, y.y, re));
      im = fmaf(x.x, y.y, fmaf(x.y, y.x, im));
    }
    out[e].x = re;
    out[e].y = im;
  }
}

__global__ void crop_kernel(cb_fft_geom g, cb_fft_place pl, const float *grid, float scale,
                            float *dst, int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x)
    dst[e] = scale * grid[cb_fft_crop_src(&g, &pl, e)];
}

static unsigned blocks_for(int64_t n) {
  return (unsigned)cb_cu_blocks(n, CB_CU_BLOCK, CB_CU_MAX_BLOCKS);
}

extern "C" cudaError_t cb_fft_embed(cudaStream_t stream, const cb_fft_geom *g,
                                    const cb_fft_place *pl, int64_t planes, const float *src,
                                    float *grid) {
  int64_t total = planes * g->hf * g->wf;
  embed_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(*g, *pl, src, grid, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_fft_mix(cudaStream_t stream, const cb_fft_geom *g, const cufftComplex *a,
                                  const cufftComplex *b, cufftComplex *out) {
  int64_t total = g->mix.na * g->mix.nb * g->hf * g->wc;
  mix_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(*g, a, b, out, total);
  return cudaGetLastError();
}

extern "C" cudaError_t cb_fft_crop(cudaStream_t stream, const cb_fft_geom *g,
                                   const cb_fft_place *pl, int64_t planes, const float *grid,
                                   float scale, float *dst) {
  int64_t total = planes * pl->rows * pl->cols;
  crop_kernel<<<blocks_for(total), CB_CU_BLOCK, 0, stream>>>(*g, *pl, grid, scale, dst, total);
  return cudaGetLastError();
}
