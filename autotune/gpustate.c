/* gpustate.c: GPU readings through NVML, loaded with dlopen (gpustate.h).
 *
 * The few NVML entry points used are declared here from NVML's documented
 * signatures (nvml.h is not needed): every call returns an nvmlReturn_t,
 * 0 for success; nvmlErrorString names the others. */
#include "gpustate.h"

#include "gpu.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef int nvml_return;              /* nvmlReturn_t; NVML_SUCCESS = 0 */
typedef struct nvml_device *nvml_dev; /* nvmlDevice_t, opaque */
typedef struct nvml_utilization {
  unsigned int gpu, memory; /* percent */
} nvml_utilization;

enum { NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_TEMPERATURE_GPU = 0 };

static struct nvml {
  bool ok;
  char why[160];
  nvml_return (*init)(void);
  const char *(*error_string)(nvml_return);
  nvml_return (*by_pci)(const char *bus_id, nvml_dev *dev);
  nvml_return (*name)(nvml_dev dev, char *name, unsigned int len);
  nvml_return (*clock)(nvml_dev dev, int type, unsigned int *mhz);
  nvml_return (*temperature)(nvml_dev dev, int sensor, unsigned int *c);
  nvml_return (*power)(nvml_dev dev, unsigned int *milliwatts);
  nvml_return (*utilization)(nvml_dev dev, nvml_utilization *u);
  nvml_return (*reasons)(nvml_dev dev, unsigned long long *mask);
} nv;

static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

/* dlsym into a function pointer: POSIX guarantees the conversion works;
 * the memcpy keeps -Wpedantic quiet about object-to-function casts. */
static bool sym(void *lib, const char *name, void *fn_ptr) {
  void *p = dlsym(lib, name);
  if (p) memcpy(fn_ptr, &p, sizeof p);
  return p != NULL;
}

static void nv_load(void) {
  void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(nv.why, sizeof nv.why, "NVML: %s", dlerror());
    return;
  }
  bool all = sym(lib, "nvmlInit_v2", &nv.init) && sym(lib, "nvmlErrorString", &nv.error_string) &&
             sym(lib, "nvmlDeviceGetHandleByPciBusId_v2", &nv.by_pci) &&
             sym(lib, "nvmlDeviceGetName", &nv.name) &&
             sym(lib, "nvmlDeviceGetClockInfo", &nv.clock) &&
             sym(lib, "nvmlDeviceGetTemperature", &nv.temperature) &&
             sym(lib, "nvmlDeviceGetPowerUsage", &nv.power) &&
             sym(lib, "nvmlDeviceGetUtilizationRates", &nv.utilization);
  /* Renamed "clocks event reasons" in newer drivers; the old name stays. */
  if (all && !sym(lib, "nvmlDeviceGetCurrentClocksEventReasons", &nv.reasons))
    sym(lib, "nvmlDeviceGetCurrentClocksThrottleReasons", &nv.reasons);
  if (!all) {
    snprintf(nv.why, sizeof nv.why, "NVML: libnvidia-ml.so.1 lacks an entry point");
    return;
  }
  nvml_return r = nv.init();
  if (r != 0) {
    snprintf(nv.why, sizeof nv.why, "NVML: nvmlInit: %s", nv.error_string(r));
    return;
  }
  nv.ok = true; /* the library stays loaded and initialised for the process */
}

void cb_gpustate_reasons(unsigned long long mask, char *buf, size_t len) {
  static const struct {
    unsigned long long bit;
    const char *name;
  } names[] = {{0x1, "idle"},        {0x2, "app_clocks"},   {0x4, "sw_power_cap"},
               {0x8, "hw_slowdown"}, {0x10, "sync_boost"},  {0x20, "sw_thermal"},
               {0x40, "hw_thermal"}, {0x80, "power_brake"}, {0x100, "display_clocks"}};
  size_t used = 0;
  if (len) buf[0] = '\0';
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (mask & names[i].bit) {
      int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
      if (n < 0 || (size_t)n >= len - used) return;
      used += (size_t)n;
    }
  if (used == 0) snprintf(buf, len, "%s", mask ? "other" : "none");
}

bool cb_gpustate_throttled(const char *t) {
  static const char *const forced[] = {"sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal",
                                       "power_brake"};
  for (size_t i = 0; i < sizeof forced / sizeof *forced; i++)
    if (t && strstr(t, forced[i])) return true;
  return false;
}

cb_status cb_gpustate_sample(int cuda_index, cb_gpustate *out) {
  memset(out, 0, sizeof *out);
  out->sm_mhz = out->mem_mhz = out->temp_c = out->power_w = out->util = NAN;
  pthread_once(&nv_once, nv_load);
  if (!nv.ok) return cb_error(CB_ERR_UNAVAILABLE, "%s", nv.why);
  cb_gpu_info info;
  cb_status st = cb_gpu_info_get(cuda_index, &info);
  if (st != CB_OK) return st;
  nvml_dev dev;
  nvml_return r = nv.by_pci(info.pci_bus_id, &dev);
  if (r != 0)
    return cb_error(CB_ERR_UNAVAILABLE, "NVML: device %s (cuda:%d): %s", info.pci_bus_id,
                    cuda_index, nv.error_string(r));
  if (nv.name(dev, out->name, sizeof out->name) != 0)
    snprintf(out->name, sizeof out->name, "%.95s", info.name);
  unsigned int v;
  if (nv.clock(dev, NVML_CLOCK_SM, &v) == 0) out->sm_mhz = v;
  if (nv.clock(dev, NVML_CLOCK_MEM, &v) == 0) out->mem_mhz = v;
  if (nv.temperature(dev, NVML_TEMPERATURE_GPU, &v) == 0) out->temp_c = v;
  if (nv.power(dev, &v) == 0) out->power_w = v / 1000.0;
  nvml_utilization u;
  if (nv.utilization(dev, &u) == 0) out->util = u.gpu / 100.0;
  unsigned long long mask;
  if (nv.reasons && nv.reasons(dev, &mask) == 0)
    cb_gpustate_reasons(mask, out->throttle, sizeof out->throttle);
  return CB_OK;
}
