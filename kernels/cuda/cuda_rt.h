/* cuda_rt.h: what the four GPU backends (cuda, cublas, cudnn, cufft)
 * share: the per-context CUDA state (device, stream, timing events, the L2
 * flush buffer), device memory, copies, synchronisation, timing, and the
 * mapping of CUDA runtime errors to cb_status.
 *
 * Every GPU backend's table points at the same memory functions, so a
 * buffer one allocates can be used by another on the same device (the
 * autotuner times cudnn, cublas and cuda candidates on one set of inputs).
 * All work of a context goes to its own non-blocking stream; copies
 * synchronise that stream, so a download sees every kernel before it.
 * Every CUDA call's return code is checked; a failure becomes a cb_status
 * whose message names the call and carries the runtime's error string. */
#ifndef CB_CUDA_RT_H
#define CB_CUDA_RT_H

#include "kernels.h"

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_cuda_state {
  int device;
  cudaStream_t stream;
  cudaEvent_t t0, t1; /* brackets of one timed sample */
  void *flush;        /* L2 flush buffer, allocated on first use */
  size_t flush_bytes;
  unsigned flush_count;
  void *lib; /* the backend's library handle (cublasHandle_t, ...) */
  void (*lib_fini)(void *lib);
} cb_cuda_state;

/* CB_OK when e is cudaSuccess; else a status (CB_ERR_NOMEM for an
 * allocation, CB_ERR_UNAVAILABLE for a missing driver or device,
 * CB_ERR_INTERNAL otherwise) with "what: <runtime message> (<error
 * name>)". Clears the runtime's sticky last error. */
cb_status cb_cuda_check(cudaError_t e, const char *what);

/* Opens ctx->device for ctx: checks it exists, makes it current, creates
 * the stream and events. CB_ERR_UNAVAILABLE with the driver's message
 * when there is no usable device. Sets ctx->state. */
cb_status cb_cuda_open(cb_ctx *ctx);
/* Releases what cb_cuda_open made, the library handle first. */
void cb_cuda_close(cb_ctx *ctx);

static inline cb_cuda_state *cb_cuda_of(const cb_ctx *ctx) {
  return (cb_cuda_state *)ctx->state;
}

/* Makes ctx's device current on the calling thread (the runtime's current
 * device is per thread); every entry point calls it first. */
cb_status cb_cuda_enter(const cb_ctx *ctx);

/* The cb_backend memory, sync and timing functions of every GPU backend. */
cb_status cb_cuda_alloc(cb_ctx *ctx, size_t bytes, void **ptr);
void cb_cuda_free(cb_ctx *ctx, void *ptr);
cb_status cb_cuda_upload(cb_ctx *ctx, void *dst, const void *src, size_t bytes);
cb_status cb_cuda_download(cb_ctx *ctx, void *dst, const void *src, size_t bytes);
cb_status cb_cuda_sync(cb_ctx *ctx);
cb_status cb_cuda_flush(cb_ctx *ctx);
cb_status cb_cuda_time_begin(cb_ctx *ctx);
cb_status cb_cuda_time_end(cb_ctx *ctx, double *ms);

/* "CUDA runtime 13.0, driver 13.0" (or "driver unavailable"). */
void cb_cuda_version(char *buf, size_t len);

/* The table of a CUDA backend, as one initializer: every GPU backend
 * shares the device lifecycle's fini (cb_cuda_close), the memory calls and
 * the event timing of cuda_rt.c, and differs only in its name, init (which
 * may open a library handle after cb_cuda_open), version string and
 * variant lists (NULL for an op it does not offer). */
#define CB_CUDA_BACKEND(NAME, DESC, INIT, VERSION, FWD, BWD_DATA, BWD_FILTER, GEMM)                \
  {                                                                                                \
    .api_version = CB_API_VERSION, .name = NAME, .desc = DESC, .device = CB_DEVICE_CUDA,           \
    .init = INIT, .fini = cb_cuda_close, .version = VERSION, .alloc = cb_cuda_alloc,               \
    .free = cb_cuda_free, .upload = cb_cuda_upload, .download = cb_cuda_download,                  \
    .sync = cb_cuda_sync, .flush = cb_cuda_flush, .time_begin = cb_cuda_time_begin,                \
    .time_end = cb_cuda_time_end, .variants = CB_VARIANTS(FWD, BWD_DATA, BWD_FILTER, GEMM),        \
  }

/* Checks that every tensor of args is set (device pointers cannot be
 * checked further from the host). */
cb_status cb_cuda_check_args(const char *who, const cb_args *args);

/* True when v fits in a (32-bit) int: library sizes and leading dimensions. */
static inline bool cb_cuda_fits_int(int64_t v) {
  return v >= 0 && v <= 2147483647;
}

#ifdef __cplusplus
}
#endif

#endif /* CB_CUDA_RT_H */
