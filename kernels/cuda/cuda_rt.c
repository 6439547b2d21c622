/* cuda_rt.c: the CUDA state, memory, copies and timing the GPU backends
 * share (see cuda_rt.h). */
#include "cuda_rt.h"

#include <stdio.h>
#include <stdlib.h>

cb_status cb_cuda_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return CB_OK;
  (void)cudaGetLastError(); /* clear the sticky error so the next call is judged on its own */
  cb_status st = CB_ERR_INTERNAL;
  switch (e) {
  case cudaErrorMemoryAllocation:
    st = CB_ERR_NOMEM;
    break;
  case cudaErrorNoDevice:
  case cudaErrorInsufficientDriver:
  case cudaErrorInvalidDevice:
  case cudaErrorDevicesUnavailable:
  case cudaErrorSystemDriverMismatch:
  case cudaErrorCompatNotSupportedOnDevice:
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorUnsupportedPtxVersion:
    st = CB_ERR_UNAVAILABLE;
    break;
  default:
    break;
  }
  return cb_error(st, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

cb_status cb_cuda_enter(const cb_ctx *ctx) {
  return cb_cuda_check(cudaSetDevice(cb_cuda_of(ctx)->device), "cudaSetDevice");
}

cb_status cb_cuda_open(cb_ctx *ctx) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return cb_error(CB_ERR_UNAVAILABLE, "cuda: %s", cudaGetErrorString(e));
  }
  if (n == 0) return cb_error(CB_ERR_UNAVAILABLE, "cuda: no CUDA device");
  if (ctx->device >= n)
    return cb_error(CB_ERR_UNAVAILABLE, "cuda:%d does not exist (%d device%s)", ctx->device, n,
                    n == 1 ? "" : "s");
  cb_cuda_state *s = calloc(1, sizeof *s);
  if (!s) return cb_error(CB_ERR_NOMEM, "out of memory opening cuda:%d", ctx->device);
  s->device = ctx->device;
  ctx->state = s;
  cb_status st = cb_cuda_enter(ctx);
  if (st == CB_OK)
    st = cb_cuda_check(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking),
                       "cudaStreamCreateWithFlags");
  if (st == CB_OK) st = cb_cuda_check(cudaEventCreate(&s->t0), "cudaEventCreate");
  if (st == CB_OK) st = cb_cuda_check(cudaEventCreate(&s->t1), "cudaEventCreate");
  if (st != CB_OK) {
    cb_cuda_close(ctx);
    return cb_error_wrap(st, "cuda:%d: ", ctx->device);
  }
  return CB_OK;
}

/* Teardown errors cannot be returned (fini is void); they are logged. */
static void warn_on(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    cb_log(CB_LOG_WARN, "%s: %s", what, cudaGetErrorString(e));
  }
}

void cb_cuda_close(cb_ctx *ctx) {
  cb_cuda_state *s = cb_cuda_of(ctx);
  if (!s) return;
  if (cudaSetDevice(s->device) != cudaSuccess) (void)cudaGetLastError();
  if (s->lib && s->lib_fini) s->lib_fini(s->lib);
  if (s->flush) warn_on(cudaFree(s->flush), "cudaFree (flush buffer)");
  if (s->t0) warn_on(cudaEventDestroy(s->t0), "cudaEventDestroy");
  if (s->t1) warn_on(cudaEventDestroy(s->t1), "cudaEventDestroy");
  if (s->stream) warn_on(cudaStreamDestroy(s->stream), "cudaStreamDestroy");
  free(s);
  ctx->state = NULL;
}

cb_status cb_cuda_alloc(cb_ctx *ctx, size_t bytes, void **ptr) {
  *ptr = NULL;
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  char what[64];
  snprintf(what, sizeof what, "cudaMalloc(%zu bytes)", bytes);
  /* cudaMalloc of 0 bytes returns NULL; callers treat NULL as "no buffer". */
  return cb_cuda_check(cudaMalloc(ptr, bytes ? bytes : 4), what);
}

void cb_cuda_free(cb_ctx *ctx, void *ptr) {
  if (!ptr) return;
  if (cb_cuda_enter(ctx) != CB_OK) {
    cb_log(CB_LOG_WARN, "cudaFree: %s", cb_errmsg());
    return;
  }
  warn_on(cudaFree(ptr), "cudaFree");
}

/* A copy on ctx's stream, waited for: the host buffer is pageable and the
 * caller reads or reuses it right after. */
static cb_status copy(cb_ctx *ctx, void *dst, const void *src, size_t bytes, enum cudaMemcpyKind k,
                      const char *what) {
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK || bytes == 0) return st;
  cb_cuda_state *s = cb_cuda_of(ctx);
  st = cb_cuda_check(cudaMemcpyAsync(dst, src, bytes, k, s->stream), what);
  if (st == CB_OK) st = cb_cuda_check(cudaStreamSynchronize(s->stream), what);
  return st;
}

cb_status cb_cuda_upload(cb_ctx *ctx, void *dst, const void *src, size_t bytes) {
  return copy(ctx, dst, src, bytes, cudaMemcpyHostToDevice, "cudaMemcpyAsync (upload)");
}

cb_status cb_cuda_download(cb_ctx *ctx, void *dst, const void *src, size_t bytes) {
  return copy(ctx, dst, src, bytes, cudaMemcpyDeviceToHost, "cudaMemcpyAsync (download)");
}

cb_status cb_cuda_sync(cb_ctx *ctx) {
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  return cb_cuda_check(cudaStreamSynchronize(cb_cuda_of(ctx)->stream), "cudaStreamSynchronize");
}

/* Writing twice the L2's size evicts whatever a previous candidate left
 * there; the value changes every time so no layer can skip the write. */
cb_status cb_cuda_flush(cb_ctx *ctx) {
  cb_cuda_state *s = cb_cuda_of(ctx);
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  if (!s->flush) {
    int l2 = 0;
    st = cb_cuda_check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, s->device),
                       "cudaDeviceGetAttribute(L2 size)");
    if (st != CB_OK) return st;
    size_t bytes = 2 * (size_t)(l2 > 0 ? l2 : 64 << 20);
    if ((st = cb_cuda_check(cudaMalloc(&s->flush, bytes), "cudaMalloc (L2 flush buffer)")) !=
        CB_OK) {
      s->flush = NULL;
      return st;
    }
    s->flush_bytes = bytes;
  }
  s->flush_count++;
  return cb_cuda_check(
      cudaMemsetAsync(s->flush, (int)(s->flush_count & 0xff), s->flush_bytes, s->stream),
      "cudaMemsetAsync (L2 flush)");
}

cb_status cb_cuda_time_begin(cb_ctx *ctx) {
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  cb_cuda_state *s = cb_cuda_of(ctx);
  return cb_cuda_check(cudaEventRecord(s->t0, s->stream), "cudaEventRecord");
}

cb_status cb_cuda_time_end(cb_ctx *ctx, double *ms) {
  *ms = 0;
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  cb_cuda_state *s = cb_cuda_of(ctx);
  float f = 0;
  if ((st = cb_cuda_check(cudaEventRecord(s->t1, s->stream), "cudaEventRecord")) != CB_OK ||
      (st = cb_cuda_check(cudaEventSynchronize(s->t1), "cudaEventSynchronize")) != CB_OK ||
      (st = cb_cuda_check(cudaEventElapsedTime(&f, s->t0, s->t1), "cudaEventElapsedTime")) != CB_OK)
    return st;
  *ms = f;
  return CB_OK;
}

void cb_cuda_version(char *buf, size_t len) {
  int rt = 0, drv = 0;
  if (cudaRuntimeGetVersion(&rt) != cudaSuccess) (void)cudaGetLastError();
  if (cudaDriverGetVersion(&drv) != cudaSuccess) (void)cudaGetLastError();
  if (drv > 0)
    snprintf(buf, len, "CUDA runtime %d.%d, driver %d.%d", rt / 1000, rt % 1000 / 10, drv / 1000,
             drv % 1000 / 10);
  else
    snprintf(buf, len, "CUDA runtime %d.%d, driver unavailable", rt / 1000, rt % 1000 / 10);
}

cb_status cb_cuda_check_args(const char *who, const cb_args *args) {
  if (!args || !args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "%s: a tensor pointer is NULL", who);
  return CB_OK;
}
