/* machine.h: what machine this is, as hwloc and the CPU report it, and
 * the device fingerprint measurements are keyed by. */
#ifndef CB_MACHINE_H
#define CB_MACHINE_H

#include "records.h" /* cb_machine (a row of the machines table) */

/* Fills m from hwloc and /proc/cpuinfo. CB_ERR_UNAVAILABLE if hwloc fails. */
cb_status cb_machine_probe(cb_machine *m);

/* Multi-line description for `convbench devices`: the topology as hwloc
 * sees it, one line per package / cache level / core. */
cb_status cb_machine_describe(char *buf, size_t len);

/* Memory available to a new allocation now (MemAvailable), in bytes. */
int64_t cb_machine_mem_available(void);

#endif
