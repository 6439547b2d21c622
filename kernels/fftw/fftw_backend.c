/* fftw_backend.c: the fftw backend table: FFT convolution on the host with
 * FFTW 3 in single precision, stride 1 only. Two variants per conv op,
 * fft (whole-image transforms) and fft_tiled (overlap-save tiles, tile
 * size tunable); no GEMM. */
#include "fftw_impl.h"

#include <pthread.h>
#include <stdio.h>

static const cb_variant *const conv_fwd_variants[] = {&cb_fftw_conv_fwd_fft,
                                                      &cb_fftw_conv_fwd_tiled, NULL};
static const cb_variant *const conv_bwd_data_variants[] = {&cb_fftw_conv_bwd_data_fft,
                                                           &cb_fftw_conv_bwd_data_tiled, NULL};
static const cb_variant *const conv_bwd_filter_variants[] = {&cb_fftw_conv_bwd_filter_fft,
                                                             &cb_fftw_conv_bwd_filter_tiled, NULL};

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_ok;

static void init_threads(void) {
  cb_fftw_planner_lock();
  threads_ok = fftwf_init_threads();
  cb_fftw_planner_unlock();
}

/* Initialises FFTW's thread support once per process. The variants make
 * single-threaded FFTW plans (fftwf_plan_with_nthreads(1)) and run them
 * from ctx->threads OpenMP threads, each on its own group of planes: a
 * convolution transforms hundreds of small planes, which split across
 * threads with no synchronisation, where FFTW's threads would split each
 * 64x64 transform and synchronise inside it. */
static cb_status backend_init(cb_ctx *ctx) {
  (void)ctx;
  pthread_once(&threads_once, init_threads);
  if (!threads_ok) return cb_error(CB_ERR_UNAVAILABLE, "fftw: fftwf_init_threads failed");
  return CB_OK;
}

/* "fftw-3.3.10-sse2-avx": FFTW's version and the SIMD it was built with. */
static void backend_version(char *buf, size_t len) {
  snprintf(buf, len, "%s", fftwf_version);
}

const cb_backend cb_backend_fftw = {
    .api_version = CB_API_VERSION,
    .name = "fftw",
    .desc = "FFT convolution with FFTW (single precision), stride 1",
    .device = CB_DEVICE_HOST,
    .init = backend_init,
    .version = backend_version,
    .variants =
        CB_VARIANTS(conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants, NULL),
};
