/* main.c: the convbench command line: dispatches to one command per file. */
#include "cli.h"

#include <string.h>

#ifndef CB_VERSION
#define CB_VERSION "0.1.0"
#endif

static const cli_command *const commands[] = {
    &cli_bench, &cli_tune,    &cli_cache,      &cli_run,     &cli_gemm,
    &cli_show,  &cli_devices, &cli_db,         &cli_peak,    &cli_train,
    &cli_infer, &cli_check,   &cli_report_cmd, &cli_compare, NULL};

static void usage(FILE *f) {
  fputs("usage: convbench [--version] [--help] COMMAND [ARGS]\n"
        "\n"
        "Benchmarks convolution and GEMM kernels across backends, times nets\n"
        "layer by layer forward and backward, and records everything in SQLite.\n"
        "\n"
        "commands:\n",
        f);
  for (const cli_command *const *c = commands; *c; c++)
    fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
  fputs("  help       show a command's options (convbench help COMMAND)\n"
        "\n"
        "Results go to ./results.db unless --db says otherwise.\n"
        "Exit status: 0 ok, 1 failure, 2 bad arguments or input, 130 interrupted.\n",
        f);
}

static const cli_command *find(const char *name) {
  for (const cli_command *const *c = commands; *c; c++)
    if (strcmp((*c)->name, name) == 0) return *c;
  return NULL;
}

/* Library messages (warnings) go to stderr; the library never prints. */
static void log_to_stderr(cb_log_level level, const char *msg, void *user) {
  (void)user;
  if (level >= CB_LOG_WARN)
    fprintf(stderr, "convbench: %s%s\n", level == CB_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv) {
  cb_log_set(log_to_stderr, NULL);
  cli_save_command_line(argc, argv);
  if (argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return CLI_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("convbench %s\n", CB_VERSION);
    return CLI_OK;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc < 3) {
      usage(stdout);
      return CLI_OK;
    }
    const cli_command *c = find(argv[2]);
    if (!c) {
      fprintf(stderr, "convbench help: unknown command '%s'\n\n", argv[2]);
      usage(stderr);
      return CLI_USAGE;
    }
    c->usage(stdout);
    return CLI_OK;
  }
  const cli_command *c = find(cmd);
  if (!c) {
    fprintf(stderr, "convbench: unknown %s '%s'\n\n", cmd[0] == '-' ? "option" : "command", cmd);
    usage(stderr);
    return CLI_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
