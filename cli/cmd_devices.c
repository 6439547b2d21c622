/* cmd_devices.c: `convbench devices`: the hardware as hwloc sees it, and
 * every backend compiled in, with whether it can run here and why not. */
#include "options.h"
#include "util.h"
#include "gpu.h"
#include "cache.h"
#include "gpustate.h"

#include <string.h>

static void usage(FILE *f) {
  fputs("usage: convbench devices\n"
        "\n"
        "Shows the machine as hwloc sees it (packages, caches, cores, PUs, memory),\n"
        "the CPU's model and vector ISA, each CUDA GPU (name, compute capability,\n"
        "SMs, its device fingerprint and NVML state), or 'cuda: unavailable (why)',\n"
        "and every backend compiled into this\n"
        "build: available, or unavailable with the reason (a missing library or\n"
        "device), and the variants it offers per op.\n"
        "\n"
        "options:\n"
        "  --format F   table (default) or json (machine and build records as\n"
        "               results.db stores them, for scripts)\n"
        "  -h, --help   this help\n",
        f);
}

/* One line per op: "conv_fwd: direct, im2col". */
static void print_variants(const cb_backend *b) {
  for (int op = 0; op < CB_OP_COUNT; op++) {
    const cb_variant *const *v = b->variants[op];
    if (!v || !*v) continue;
    printf("      %-16s", cb_op_name((cb_op)op));
    for (int i = 0; v[i]; i++) printf("%s%s", i ? ", " : "", v[i]->name);
    putchar('\n');
  }
}

/* Each CUDA GPU with its fingerprint and NVML state, or the reason there
 * is none: "cuda: unavailable (<driver message>)". */
static void print_gpus(void) {
  int n = 0;
  if (cb_gpu_count(&n) != CB_OK) {
    const char *why = cb_errmsg();
    /* cb_gpu_count's reasons start "cuda: "; say it once. */
    printf("cuda: unavailable (%s)\n\n", strncmp(why, "cuda: ", 6) == 0 ? why + 6 : why);
    return;
  }
  printf("gpus:\n");
  for (int i = 0; i < n; i++) {
    cb_gpu_info g;
    if (cb_gpu_info_get(i, &g) != CB_OK) {
      printf("  cuda:%d  unavailable (%s)\n", i, cb_errmsg());
      continue;
    }
    char fp[192];
    cb_gpu_fingerprint(&g, fp, sizeof fp);
    printf("  cuda:%d  %s, compute capability %d.%d, %d SMs, %.1f GiB, L2 %.0f MiB, PCI %s\n", i,
           g.name, g.cc_major, g.cc_minor, g.sms, g.mem_bytes / 1073741824.0,
           g.l2_bytes / 1048576.0, g.pci_bus_id);
    printf("          driver %d.%d, runtime %d.%d; device fingerprint: %s\n",
           g.driver_version / 1000, g.driver_version % 1000 / 10, g.runtime_version / 1000,
           g.runtime_version % 1000 / 10, fp);
    cb_gpustate st;
    if (cb_gpustate_sample(i, &st) == CB_OK)
      printf("          now: SM %.0f MHz, memory %.0f MHz, %.0f C, %.1f W, %.0f%% busy, "
             "throttle %s\n",
             st.sm_mhz, st.mem_mhz, st.temp_c, st.power_w, 100 * st.util,
             st.throttle[0] ? st.throttle : "unknown");
    else
      printf("          state: unavailable (%s)\n", cb_errmsg());
  }
  putchar('\n');
}

/* One "key": "value" line of the object. */
static void json_field(const char *key, const char *v, bool last) {
  printf("  \"%s\": ", key);
  cb_json_string(stdout, v);
  printf("%s\n", last ? "" : ",");
}

/* "gpus": each GPU with its device fingerprint, and "cuda": "ok" or the
 * reason there is none. */
static void print_gpus_json(void) {
  int n = 0;
  if (cb_gpu_count(&n) != CB_OK) {
    json_field("cuda", cb_errmsg(), false);
    printf("  \"gpus\": [],\n");
    return;
  }
  json_field("cuda", "ok", false);
  printf("  \"gpus\": [");
  for (int i = 0, k = 0; i < n; i++) {
    cb_gpu_info g;
    if (cb_gpu_info_get(i, &g) != CB_OK) continue;
    char fp[192];
    cb_gpu_fingerprint(&g, fp, sizeof fp);
    printf("%s\n    {\"index\": %d, \"sms\": %d, \"cc\": \"%d.%d\", \"mem_bytes\": %lld, ",
           k++ ? "," : "", i, g.sms, g.cc_major, g.cc_minor, (long long)g.mem_bytes);
    printf("\"pci_bus_id\": \"%s\",\n    ", g.pci_bus_id);
    json_field("name", g.name, false);
    printf("    ");
    json_field("fingerprint", fp, true);
    printf("    }");
  }
  printf("],\n");
}

/* The machine and build as results.db's machines and builds rows hold
 * them, and the backends: what peer scripts need to record beside us. */
static int print_json(const cb_machine *m) {
  cb_build b;
  if (cb_build_probe(&b) != CB_OK) {
    cli_error("devices", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  printf("{\n");
  json_field("fingerprint", m->fingerprint, false);
  json_field("hostname", m->hostname, false);
  json_field("os", m->os, false);
  json_field("cpu_vendor", m->cpu_vendor, false);
  json_field("cpu_model", m->cpu_model, false);
  json_field("isa", m->isa, false);
  json_field("isa_level", m->isa_level, false);
  printf("  \"packages\": %d,\n  \"numa_nodes\": %d,\n  \"cores\": %d,\n  \"pus\": %d,\n",
         m->packages, m->numa_nodes, m->cores, m->pus);
  printf("  \"l1d_bytes\": %lld,\n  \"l2_bytes\": %lld,\n  \"l3_bytes\": %lld,\n",
         (long long)m->l1d_bytes, (long long)m->l2_bytes, (long long)m->l3_bytes);
  printf("  \"l2_count\": %d,\n  \"l3_count\": %d,\n  \"mem_bytes\": %lld,\n", m->l2_count,
         m->l3_count, (long long)m->mem_bytes);
  json_field("topology", m->topology, false);
  json_field("build_fingerprint", b.fingerprint, false);
  json_field("git_rev", b.git_rev, false);
  json_field("libs", b.libs, false);
  print_gpus_json();
  printf("  \"schema_version\": %d,\n  \"backends\": [", cb_db_schema_version());
  int threads = cli_default_threads(), i = 0;
  for (const cb_backend *const *be = cb_backends(); *be; be++, i++) {
    cb_ctx *ctx;
    bool ok = cb_ctx_open(*be, threads, &ctx) == CB_OK;
    if (ok) cb_ctx_close(ctx);
    printf("%s{\"name\": \"%s\", \"available\": %s}", i ? ", " : "", (*be)->name,
           ok ? "true" : "false");
  }
  printf("]\n}\n");
  return CLI_OK;
}

static int devices_main(int argc, char **argv) {
  static const char *const formats[] = {"table", "json", NULL};
  const cli_options spec = {.cmd = &cli_devices, .common = CLI_OPT_FORMAT, .formats = formats};
  cli_args o;
  int rc;
  if (!cli_start(&spec, argc, argv, &o, &rc)) return rc;
  if (o.noperands) return cli_usage_error(&cli_devices, "unexpected argument '%s'", o.operands[0]);
  bool json = o.format == 1;

  cb_machine m;
  if (cb_machine_probe(&m) != CB_OK) {
    cli_error("devices", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  if (json) return print_json(&m);
  char topo[8192];
  if (cb_machine_describe(topo, sizeof topo) != CB_OK) {
    cli_error("devices", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  printf("topology (hwloc):\n%s\n", topo);
  printf("device fingerprint: %s\n\n", m.fingerprint);
  print_gpus();

  printf("backends:\n");
  int threads = cli_default_threads();
  for (const cb_backend *const *b = cb_backends(); *b; b++) {
    cb_ctx *ctx;
    cb_status st = cb_ctx_open(*b, threads, &ctx);
    char version[256] = "";
    if ((*b)->version) (*b)->version(version, sizeof version);
    if (st == CB_OK) {
      printf("  %-10s available     %s%s%s%s\n", (*b)->name, (*b)->desc, version[0] ? " [" : "",
             version, version[0] ? "]" : "");
      cb_ctx_close(ctx);
    } else {
      printf("  %-10s unavailable   (%s)\n", (*b)->name, cb_errmsg());
    }
    print_variants(*b);
  }
  return CLI_OK;
}

const cli_command cli_devices = {"devices", "show the hardware and which backends can run here",
                                 devices_main, usage};
