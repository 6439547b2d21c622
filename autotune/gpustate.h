/* gpustate.h: the state of an NVIDIA GPU from NVML: SM and memory clocks,
 * temperature, power draw, utilisation and the reasons its clocks are held
 * down. NVML (libnvidia-ml.so.1, part of the driver) is loaded with dlopen
 * on first use, so no NVML header or library is needed to build, and a
 * machine without the driver simply has no GPU readings. */
#ifndef CB_GPUSTATE_H
#define CB_GPUSTATE_H

#include "records.h" /* cb_gpustate (columns of device samples) */

/* Samples CUDA device `cuda_index` (matched to NVML by PCI bus id, so the
 * numbering is CUDA's). Readings NVML cannot give are NAN (or "" for
 * text). CB_ERR_UNAVAILABLE with the reason when NVML or the device is
 * missing. */
cb_status cb_gpustate_sample(int cuda_index, cb_gpustate *out);

/* True when the limiters in a throttle string mean the clocks were forced
 * down by power or heat (not idleness or an application setting). */
bool cb_gpustate_throttled(const char *throttle);

/* The throttle string of an NVML reasons bit mask (exposed for tests). */
void cb_gpustate_reasons(unsigned long long mask, char *buf, size_t len);

#endif
