/* cufft_kernels.h: launchers of the cufft backend's own kernels (embed,
 * spectral product, crop), callable from C. Each returns the launch's
 * status. */
#ifndef CB_CUFFT_KERNELS_H
#define CB_CUFFT_KERNELS_H

#include "cufft_geom.h"

#include <cuda_runtime_api.h>
#include <cufft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* grid[planes, hf, wf] = the planes src[planes, pl rows, pl cols] placed by pl. */
cudaError_t cb_fft_embed(cudaStream_t stream, const cb_fft_geom *g, const cb_fft_place *pl,
                         int64_t planes, const float *src, float *grid);

/* out[na nb planes of hf wc] = the product g->mix of spectra a and b. */
cudaError_t cb_fft_mix(cudaStream_t stream, const cb_fft_geom *g, const cufftComplex *a,
                       const cufftComplex *b, cufftComplex *out);

/* dst[planes, pl rows, pl cols] = scale * grid at pl's places. */
cudaError_t cb_fft_crop(cudaStream_t stream, const cb_fft_geom *g, const cb_fft_place *pl,
                        int64_t planes, const float *grid, float scale, float *dst);

#ifdef __cplusplus
}
#endif

#endif /* CB_CUFFT_KERNELS_H */
