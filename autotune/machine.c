/* machine.c: the machine probe. hwloc gives the topology (packages, NUMA
 * nodes, cores, PUs, caches, memory); /proc/cpuinfo gives the ISA flags and,
 * when hwloc does not know it, the CPU model. The device fingerprint built
 * here keys the tune cache, so it holds only what decides kernel speed on
 * identical hardware: model, SIMD level and core count (no hostname, no
 * memory size, so two identical machines share cached answers). */
#include "machine.h"
#include "util.h"

#include <ctype.h>
#include <hwloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The /proc/cpuinfo flags that some kernel or its dispatcher looks at, in
 * the order they are reported. Everything else (virtualisation, security
 * mitigations, ...) would only make the isa string long and unstable. */
static const char *const isa_flags[] = {
    /* x86 */
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq", "avx512cd",
    "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_bf16", "amx_int8",
    /* arm64 ("Features" line) */
    "asimd", "asimdhp", "asimddp", "fphp", "bf16", "i8mm", "sve", "sve2", NULL};

/* Appends printf-formatted text at *pos in buf without overrunning len;
 * *pos keeps counting past the end so the caller can tell it truncated. */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(*pos < len ? buf + *pos : NULL, *pos < len ? len - *pos : 0, fmt, ap);
  va_end(ap);
  if (n > 0) *pos += (size_t)n;
}

/* Copies src into dst (size len), trimmed, with runs of blanks collapsed to
 * one space: Intel model names come padded ("Intel(R) Xeon(R)  CPU"). */
static void copy_clean(char *dst, size_t len, const char *src) {
  size_t o = 0;
  bool space = false;
  for (const char *s = src; *s && o + 1 < len; s++) {
    if (isspace((unsigned char)*s)) {
      space = o > 0;
      continue;
    }
    if (space && o + 2 < len) dst[o++] = ' ';
    space = false;
    dst[o++] = *s;
  }
  dst[o] = '\0';
}

/* The value of the first "key : value" line of /proc/cpuinfo whose key is
 * key, cleaned; false when there is none. */
static bool cpuinfo_value(const char *key, char *out, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return false;
  char line[8192];
  bool found = false;
  size_t klen = strlen(key);
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) != 0) continue;
    const char *p = line + klen;
    while (*p == ' ' || *p == '\t') p++;
    if (*p != ':') continue;
    copy_clean(out, len, p + 1);
    found = true;
  }
  fclose(f);
  return found;
}

/* True when the space-separated list has the exact token word. */
static bool has_token(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
    bool start = p == list || p[-1] == ' ';
    bool end = p[n] == '\0' || p[n] == ' ';
    if (start && end) return true;
  }
  return false;
}

/* Fills isa and isa_level from the flags (x86) or Features (arm64) line. */
static void probe_isa(cb_machine *m) {
  /* Large: a modern x86 flags line is ~1.5 KB and growing. */
  char all[8192];
  if (!cpuinfo_value("flags", all, sizeof all) && !cpuinfo_value("Features", all, sizeof all))
    all[0] = '\0';

  size_t pos = 0;
  m->isa[0] = '\0';
  for (int i = 0; isa_flags[i]; i++)
    if (has_token(all, isa_flags[i]))
      append(m->isa, sizeof m->isa, &pos, "%s%s", pos ? " " : "", isa_flags[i]);

  /* The levels our hand-written kernels are compiled for: AVX-512 kernels
   * need the byte/word and 128/256-bit forms too, AVX2 kernels use FMA. */
  const char *level = "scalar";
  if (has_token(all, "avx512f") && has_token(all, "avx512bw") && has_token(all, "avx512vl"))
    level = "avx512";
  else if (has_token(all, "avx2") && has_token(all, "fma"))
    level = "avx2";
  else if (has_token(all, "sse4_2"))
    level = "sse4.2";
  snprintf(m->isa_level, sizeof m->isa_level, "%s", level);
}

/* The first non-empty value of info name on the root or any package. */
static const char *topo_info(hwloc_topology_t topo, const char *name) {
  const char *v = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), name);
  if (v && *v) return v;
  int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  for (int i = 0; i < n; i++) {
    v = hwloc_obj_get_info_by_name(hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, i), name);
    if (v && *v) return v;
  }
  return NULL;
}

/* The value of a "Key: N kB" line of /proc/meminfo in bytes, -1 if none. */
static int64_t meminfo_bytes(const char *key) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  size_t klen = strlen(key);
  long long kb = -1;
  while (kb < 0 && fgets(line, sizeof line, f))
    if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
        sscanf(line + klen + 1, "%lld", &kb) != 1)
      kb = -1;
  fclose(f);
  return kb >= 0 ? (int64_t)kb * 1024 : -1;
}

/* Opens and loads the topology of this machine. */
static cb_status topo_open(hwloc_topology_t *topo) {
  if (hwloc_topology_init(topo) != 0)
    return cb_error(CB_ERR_UNAVAILABLE, "hwloc: cannot initialise a topology");
  if (hwloc_topology_load(*topo) != 0) {
    hwloc_topology_destroy(*topo);
    return cb_error(CB_ERR_UNAVAILABLE, "hwloc: cannot load this machine's topology");
  }
  return CB_OK;
}

/* Data (or unified) level-1 caches: L1i is not what blocking is sized for. */
static bool is_data_cache(hwloc_obj_t o) {
  return o->attr && o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION;
}

/* Size of one cache of type t (the first one) and how many there are. */
static void cache_level(hwloc_topology_t topo, hwloc_obj_type_t t, int64_t *bytes, int *count) {
  *bytes = 0;
  *count = 0;
  int n = hwloc_get_nbobjs_by_type(topo, t);
  for (int i = 0; i < n; i++) {
    hwloc_obj_t o = hwloc_get_obj_by_type(topo, t, i);
    if (!is_data_cache(o)) continue;
    if (*count == 0) *bytes = (int64_t)o->attr->cache.size;
    (*count)++;
  }
}

/* One-line summary of the counts, caches and memory. */
static void summarise(cb_machine *m, int l1d_count) {
  char l1[32], l2[32], l3[32], mem[32];
  /* Binary units without a space: "48KiB", "1MiB", "23.5GiB". */
  cb_format_bytes(m->l1d_bytes, CB_BYTES_COMPACT, l1, sizeof l1);
  cb_format_bytes(m->l2_bytes, CB_BYTES_COMPACT, l2, sizeof l2);
  cb_format_bytes(m->l3_bytes, CB_BYTES_COMPACT, l3, sizeof l3);
  cb_format_bytes(m->mem_bytes, CB_BYTES_COMPACT, mem, sizeof mem);
  size_t pos = 0;
  char *t = m->topology;
  size_t len = sizeof m->topology;
  append(t, len, &pos, "%d package%s, %d NUMA node%s, %d core%s, %d PU%s", m->packages,
         m->packages == 1 ? "" : "s", m->numa_nodes, m->numa_nodes == 1 ? "" : "s", m->cores,
         m->cores == 1 ? "" : "s", m->pus, m->pus == 1 ? "" : "s");
  const char *sep = "; ";
  if (l1d_count) {
    append(t, len, &pos, "%sL1d %s x%d", sep, l1, l1d_count);
    sep = ", ";
  }
  if (m->l2_count) {
    append(t, len, &pos, "%sL2 %s x%d", sep, l2, m->l2_count);
    sep = ", ";
  }
  if (m->l3_count) append(t, len, &pos, "%sL3 %s x%d", sep, l3, m->l3_count);
  append(t, len, &pos, "; %s memory", mem);
}

/* Model names go into a ':'-separated fingerprint, so they must not hold ':'. */
static void fingerprint(cb_machine *m) {
  char model[sizeof m->cpu_model];
  snprintf(model, sizeof model, "%s", m->cpu_model);
  for (char *p = model; *p; p++)
    if (*p == ':') *p = ' ';
  snprintf(m->fingerprint, sizeof m->fingerprint, "cpu:%s:%s:%dc", model, m->isa_level, m->cores);
}

cb_status cb_machine_probe(cb_machine *m) {
  memset(m, 0, sizeof *m);
  hwloc_topology_t topo;
  cb_status st = topo_open(&topo);
  if (st != CB_OK) return st;

  m->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  m->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  m->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  m->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  /* Some virtual machines and containers hide packages or cores; count
   * what is there so that ratios and the fingerprint stay meaningful. */
  if (m->pus < 1) m->pus = 1;
  if (m->cores < 1) m->cores = m->pus;
  if (m->packages < 1) m->packages = 1;
  if (m->numa_nodes < 1) m->numa_nodes = 1;

  int l1d_count;
  cache_level(topo, HWLOC_OBJ_L1CACHE, &m->l1d_bytes, &l1d_count);
  cache_level(topo, HWLOC_OBJ_L2CACHE, &m->l2_bytes, &m->l2_count);
  cache_level(topo, HWLOC_OBJ_L3CACHE, &m->l3_bytes, &m->l3_count);
  /* The kernel's MemTotal first: hwloc adds up the NUMA nodes' meminfo,
   * which sandboxed kernels (gVisor) report smaller than the real total. */
  m->mem_bytes = meminfo_bytes("MemTotal");
  if (m->mem_bytes <= 0) m->mem_bytes = (int64_t)hwloc_get_root_obj(topo)->total_memory;

  const char *model = topo_info(topo, "CPUModel");
  const char *vendor = topo_info(topo, "CPUVendor");
  if (model)
    copy_clean(m->cpu_model, sizeof m->cpu_model, model);
  else if (!cpuinfo_value("model name", m->cpu_model, sizeof m->cpu_model))
    snprintf(m->cpu_model, sizeof m->cpu_model, "unknown");
  if (vendor)
    copy_clean(m->cpu_vendor, sizeof m->cpu_vendor, vendor);
  else if (!cpuinfo_value("vendor_id", m->cpu_vendor, sizeof m->cpu_vendor))
    snprintf(m->cpu_vendor, sizeof m->cpu_vendor, "unknown");
  hwloc_topology_destroy(topo);

  probe_isa(m);
  if (gethostname(m->hostname, sizeof m->hostname) != 0)
    snprintf(m->hostname, sizeof m->hostname, "unknown");
  m->hostname[sizeof m->hostname - 1] = '\0';
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(m->os, sizeof m->os, "%.40s %.60s %.20s", u.sysname, u.release, u.machine);
  else
    snprintf(m->os, sizeof m->os, "unknown");
  summarise(m, l1d_count);
  fingerprint(m);
  return CB_OK;
}

/* ---- cb_machine_describe: lstopo's console view ---------------------------- */

/* One object in lstopo's words: "L2 L#0 (1MiB)", "PU L#3 (P#3)". */
static void describe_obj(hwloc_obj_t o, char *buf, size_t len, size_t *pos) {
  char size[32];
  switch (o->type) {
  case HWLOC_OBJ_MACHINE:
    cb_format_bytes((int64_t)o->total_memory, CB_BYTES_COMPACT, size, sizeof size);
    append(buf, len, pos, "Machine (%s total)", size);
    return;
  case HWLOC_OBJ_NUMANODE:
    cb_format_bytes((int64_t)o->attr->numanode.local_memory, CB_BYTES_COMPACT, size, sizeof size);
    append(buf, len, pos, "NUMANode L#%u (P#%u %s)", o->logical_index, o->os_index, size);
    return;
  case HWLOC_OBJ_PU:
    append(buf, len, pos, "PU L#%u (P#%u)", o->logical_index, o->os_index);
    return;
  default:
    break;
  }
  char type[64];
  hwloc_obj_type_snprintf(type, sizeof type, o, 0);
  append(buf, len, pos, "%s L#%u", type, o->logical_index);
  if (hwloc_obj_type_is_cache(o->type)) {
    cb_format_bytes((int64_t)o->attr->cache.size, CB_BYTES_COMPACT, size, sizeof size);
    append(buf, len, pos, " (%s)", size);
  } else if (o->type == HWLOC_OBJ_PACKAGE) {
    const char *model = hwloc_obj_get_info_by_name(o, "CPUModel");
    if (model) append(buf, len, pos, " (%s)", model);
  }
}

/* Prints o and, like lstopo, folds a chain of only children onto the same
 * line with " + "; memory children (NUMA nodes) get their own lines. */
static void describe_tree(hwloc_obj_t o, int depth, char *buf, size_t len, size_t *pos) {
  append(buf, len, pos, "%*s", 2 * depth, "");
  describe_obj(o, buf, len, pos);
  while (o->arity == 1 && o->memory_arity == 0) {
    o = o->children[0];
    append(buf, len, pos, " + ");
    describe_obj(o, buf, len, pos);
  }
  append(buf, len, pos, "\n");
  for (hwloc_obj_t c = o->memory_first_child; c; c = c->next_sibling)
    describe_tree(c, depth + 1, buf, len, pos);
  for (unsigned i = 0; i < o->arity; i++) describe_tree(o->children[i], depth + 1, buf, len, pos);
}

cb_status cb_machine_describe(char *buf, size_t len) {
  if (!buf || len == 0) return cb_error(CB_ERR_INVALID, "cb_machine_describe: empty buffer");
  buf[0] = '\0';
  cb_machine m;
  cb_status st = cb_machine_probe(&m);
  if (st != CB_OK) return st;
  hwloc_topology_t topo;
  if ((st = topo_open(&topo)) != CB_OK) return st;

  size_t pos = 0;
  append(buf, len, &pos, "%s %s (%s; isa: %s)\n", m.cpu_vendor, m.cpu_model, m.isa_level,
         m.isa[0] ? m.isa : "none");
  append(buf, len, &pos, "%s\n", m.topology);
  describe_tree(hwloc_get_root_obj(topo), 0, buf, len, &pos);
  hwloc_topology_destroy(topo);
  if (pos >= len)
    return cb_error(CB_ERR_INVALID, "topology description needs %zu bytes, the buffer has %zu",
                    pos + 1, len);
  return CB_OK;
}

int64_t cb_machine_mem_available(void) {
  int64_t bytes = meminfo_bytes("MemAvailable");
  if (bytes >= 0) return bytes;
  /* Kernels before 3.14 have no MemAvailable; free pages undercount (the
   * page cache could be reclaimed) but never promise too much. */
  long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (int64_t)pages * page : 0;
}
