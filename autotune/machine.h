/* machine.h: what machine this is, as hwloc and the CPU report it, and
 * the device fingerprint measurements are keyed by. */
#ifndef CB_MACHINE_H
#define CB_MACHINE_H

#include "kernels.h"

typedef struct cb_machine {
  char hostname[128];
  char os[128]; /* uname: sysname release machine */
  char cpu_vendor[64];
  char cpu_model[128]; /* "AMD EPYC 9B45" */
  char isa[256];       /* the flags kernels care about, space separated */
  char isa_level[16];  /* best SIMD level: "avx512", "avx2", "sse4.2", "scalar" */
  int packages, numa_nodes, cores, pus;
  int64_t l1d_bytes, l2_bytes, l3_bytes; /* size of one cache of each level (0 if none) */
  int l2_count, l3_count;                /* how many of each */
  int64_t mem_bytes;                     /* total RAM */
  char topology[1024];   /* one line: "1 package, 2 cores, 2 PUs; L1d 48KiB x2, L2 1MiB x2, L3 32MiB
                            x1" */
  char fingerprint[256]; /* "cpu:<model>:<isa_level>:<cores>c" (threads are added per run) */
} cb_machine;

/* Fills m from hwloc and /proc/cpuinfo. CB_ERR_UNAVAILABLE if hwloc fails. */
cb_status cb_machine_probe(cb_machine *m);

/* Multi-line description for `convbench devices`: the topology as hwloc
 * sees it, one line per package / cache level / core. */
cb_status cb_machine_describe(char *buf, size_t len);

/* Memory available to a new allocation now (MemAvailable), in bytes. */
int64_t cb_machine_mem_available(void);

#endif
