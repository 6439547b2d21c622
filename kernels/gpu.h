/* gpu.h: which CUDA GPUs this process can see, and what they are.
 *
 * Compiled in every build: without CUDA (CB_WITH_CUDA off or no nvcc)
 * every call says CB_ERR_UNAVAILABLE "built without CUDA"; with CUDA but
 * no usable driver or device, it carries the runtime's own message
 * ("cuda: CUDA driver version is insufficient for CUDA runtime version"),
 * which `convbench devices` prints and GPU backends give as their reason. */
#ifndef CB_GPU_H
#define CB_GPU_H

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_gpu_info {
  int index;              /* CUDA device index (cuda:N) */
  char name[256];         /* "NVIDIA H100 80GB HBM3" */
  int cc_major, cc_minor; /* compute capability */
  int sms;                /* streaming multiprocessors */
  int64_t mem_bytes;      /* global memory */
  int64_t l2_bytes;       /* L2 cache */
  char pci_bus_id[32];    /* "0000:65:00.0": how NVML finds the same device */
  int driver_version;     /* e.g. 13000, 0 if unknown */
  int runtime_version;
} cb_gpu_info;

/* Number of CUDA devices; CB_ERR_UNAVAILABLE (reason "cuda: <driver
 * message>", or "cuda: no CUDA device") when there is none to use. */
cb_status cb_gpu_count(int *n);

/* Properties of device `index`. */
cb_status cb_gpu_info_get(int index, cb_gpu_info *out);

/* "cuda:N" -> N; CB_ERR_INVALID naming the text when it is not of that
 * form. "cpu" gives -1. */
cb_status cb_gpu_parse_device(const char *text, int *index);

#ifdef __cplusplus
}
#endif

#endif /* CB_GPU_H */
