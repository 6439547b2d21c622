/* gpu.c: CUDA device discovery (see gpu.h). The CUDA runtime is a C API,
 * so this is plain C; it is only linked against libcudart when the build
 * has CUDA (CB_HAVE_CUDA). */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CB_HAVE_CUDA
#include <cuda_runtime_api.h>

cb_status cb_gpu_count(int *n) {
  *n = 0;
  cudaError_t e = cudaGetDeviceCount(n);
  if (e != cudaSuccess) {
    *n = 0;
    /* The error sticks to the runtime for this thread otherwise. */
    (void)cudaGetLastError();
    return cb_error(CB_ERR_UNAVAILABLE, "cuda: %s", cudaGetErrorString(e));
  }
  if (*n == 0) return cb_error(CB_ERR_UNAVAILABLE, "cuda: no CUDA device");
  return CB_OK;
}

cb_status cb_gpu_info_get(int index, cb_gpu_info *out) {
  memset(out, 0, sizeof *out);
  int n;
  cb_status st = cb_gpu_count(&n);
  if (st != CB_OK) return st;
  if (index < 0 || index >= n)
    return cb_error(CB_ERR_UNAVAILABLE, "cuda:%d does not exist (%d device%s)", index, n,
                    n == 1 ? "" : "s");
  struct cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, index);
  if (e == cudaSuccess) e = cudaDeviceGetPCIBusId(out->pci_bus_id, sizeof out->pci_bus_id, index);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return cb_error(CB_ERR_UNAVAILABLE, "cuda:%d: properties: %s", index, cudaGetErrorString(e));
  }
  out->index = index;
  snprintf(out->name, sizeof out->name, "%s", p.name);
  out->cc_major = p.major, out->cc_minor = p.minor;
  out->sms = p.multiProcessorCount;
  out->mem_bytes = (int64_t)p.totalGlobalMem;
  out->l2_bytes = p.l2CacheSize;
  if (cudaDriverGetVersion(&out->driver_version) != cudaSuccess) out->driver_version = 0;
  if (cudaRuntimeGetVersion(&out->runtime_version) != cudaSuccess) out->runtime_version = 0;
  (void)cudaGetLastError();
  return CB_OK;
}

#else

cb_status cb_gpu_count(int *n) {
  *n = 0;
  return cb_error(CB_ERR_UNAVAILABLE, "built without CUDA");
}

cb_status cb_gpu_info_get(int index, cb_gpu_info *out) {
  (void)index;
  memset(out, 0, sizeof *out);
  return cb_error(CB_ERR_UNAVAILABLE, "built without CUDA");
}

#endif

cb_status cb_gpu_parse_device(const char *text, int *index) {
  *index = -1;
  if (strcmp(text, "cpu") == 0) return CB_OK;
  if (strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9') {
    char *end;
    long v = strtol(text + 5, &end, 10);
    if (*end == '\0' && v >= 0 && v < 1024) {
      *index = (int)v;
      return CB_OK;
    }
  }
  return cb_error(CB_ERR_INVALID, "device '%s': expected cpu or cuda:N", text);
}
