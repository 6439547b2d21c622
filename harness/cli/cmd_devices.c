/* cmd_devices.c: `convbench devices`: the hardware as hwloc sees it, and
 * every backend compiled in, with whether it can run here and why not. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static void usage(FILE *f) {
  fputs("usage: convbench devices\n"
        "\n"
        "Shows the machine as hwloc sees it (packages, caches, cores, PUs, memory),\n"
        "the CPU's model and vector ISA, and every backend compiled into this\n"
        "build: available, or unavailable with the reason (a missing library or\n"
        "device), and the variants it offers per op.\n"
        "\n"
        "options:\n"
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

static int devices_main(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (ch == 'h') {
      usage(stdout);
      return CLI_OK;
    }
    return cli_usage_error(&cli_devices, "unknown option '%s'", argv[optind - 1]);
  }
  if (optind < argc) return cli_usage_error(&cli_devices, "unexpected argument '%s'", argv[optind]);

  cb_machine m;
  if (cb_machine_probe(&m) != CB_OK) {
    cli_error("devices", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  char topo[8192];
  if (cb_machine_describe(topo, sizeof topo) != CB_OK) {
    cli_error("devices", "%s", cb_errmsg());
    return CLI_FAIL;
  }
  printf("topology (hwloc):\n%s\n", topo);
  printf("device fingerprint: %s\n\n", m.fingerprint);

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
