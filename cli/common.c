/* common.c: error printing, option values, exit codes and signals shared
 * by every convbench command. */
#include "cli.h"

#include <errno.h>
#include <hwloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "convbench%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const cli_command *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "convbench %s: ", c->name);
  vfprintf(stderr, fmt, ap);
  fputs("\n\n", stderr);
  va_end(ap);
  c->usage(stderr);
  return CLI_USAGE;
}

bool cli_parse_int(const cli_command *c, const char *flag, const char *val, long long min,
                   long long max, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(val, &end, 10);
  if (errno || end == val || *end || v < min || v > max) {
    cli_usage_error(c, "%s: expected an integer from %lld to %lld, got '%s'", flag, min, max, val);
    return false;
  }
  *out = v;
  return true;
}

int cli_default_threads(void) {
  hwloc_topology_t topo;
  int cores = 1;
  if (hwloc_topology_init(&topo) == 0) {
    if (hwloc_topology_load(topo) == 0) {
      int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
      if (n > 0) cores = n;
    }
    hwloc_topology_destroy(topo);
  }
  return cores;
}

int cli_exit_code(cb_status st) {
  switch (st) {
  case CB_OK:
    return CLI_OK;
  case CB_ERR_INVALID:
  case CB_ERR_PARSE:
  case CB_ERR_NOMEM: /* a net refused before allocation: the input asked too much */
  case CB_ERR_UNSUPPORTED:
    return CLI_USAGE;
  case CB_ERR_INTERRUPTED:
    return CLI_INTERRUPTED;
  default:
    return CLI_FAIL;
  }
}

volatile sig_atomic_t cli_stop;

static void on_signal(int sig) {
  if (cli_stop) {
    /* Second signal: the user means it. */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  cli_stop = 1;
}

void cli_install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}
