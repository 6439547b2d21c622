/* train_options.c: the options and the end of run that train, infer and
 * check share (the getopt loop, the NET.net operand, --db, --backend). */
#include "train_common.h"

#include <string.h>

void cli_common_defaults(cli_common_args *a) {
  *a = (cli_common_args){.db = "results.db", .data = "fashion-mnist", .seed = 1};
  a->be.arg = "ref";
  a->threads = cli_default_threads();
}

/* One shared option: CLI_OK, or CLI_USAGE after the message. */
static int common_option(const cli_command *c, int ch, const char *arg, cli_common_args *a) {
  switch (ch) {
  case 'd':
    a->db = arg;
    return CLI_OK;
  case 'x':
    a->db = NULL;
    return CLI_OK;
  case 'D':
    a->data = arg;
    return CLI_OK;
  case 'b':
    return cli_parse_int(c, "--batch", arg, 1, INT32_MAX, &a->batch) ? CLI_OK : CLI_USAGE;
  case 't':
    return cli_parse_int(c, "--threads", arg, 1, 4096, &a->threads) ? CLI_OK : CLI_USAGE;
  case 's':
    return cli_parse_int(c, "--seed", arg, 0, INT64_MAX, &a->seed) ? CLI_OK : CLI_USAGE;
  case 'n':
    return cli_parse_int(c, "--limit", arg, 1, INT64_MAX, &a->limit) ? CLI_OK : CLI_USAGE;
  case 'B':
    a->be.arg = arg;
    a->be.given = true;
    return CLI_OK;
  case 'q':
    a->quiet = true;
    return CLI_OK;
  default:
    return cli_usage_error(c, "internal: option '%c' has no handler", ch);
  }
}

int cli_common_parse(const cli_command *c, int argc, char **argv, const struct option *opts,
                     cli_common_args *a, bool one_backend,
                     int (*own)(int ch, const char *arg, void *user), void *user) {
  opterr = 0;
  optind = 1;
  int ch, rc;
  while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (ch == 'h') {
      c->usage(stdout);
      return -1;
    }
    if (ch == ':') return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
    if (ch == '?') return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
    rc = strchr("dxDbtsnBq", ch) ? common_option(c, ch, optarg, a) : own(ch, optarg, user);
    if (rc != CLI_OK) return rc;
  }
  if (optind >= argc) return cli_usage_error(c, "missing NET.net");
  if (optind + 1 < argc) return cli_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
  a->path = argv[optind];
  if (a->db && !*a->db)
    return cli_usage_error(c, "--db: empty path (use --no-db to record nothing)");
  if ((rc = cli_backends_resolve(c, &a->be)) != CLI_OK) return rc;
  if (one_backend && (a->be.n != 1 || strcmp(a->be.arg, "all") == 0))
    return cli_usage_error(c, "--backend: %s runs on one backend, got '%s'", c->name, a->be.arg);
  return CLI_OK;
}

int cli_common_end(cli_session *s, const char *cmd, cb_status st, const char *kept) {
  if (st == CB_OK) {
    cli_session_end(s, "ok", NULL);
    return CLI_OK;
  }
  if (st == CB_ERR_INTERRUPTED) {
    bool recorded = s->db != NULL;
    cli_session_end(s, "interrupted", NULL);
    cli_error(cmd, "interrupted; %s", recorded ? kept : "nothing recorded");
    return CLI_INTERRUPTED;
  }
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", cb_errmsg());
  cli_session_end(s, "failed", msg);
  cli_error(cmd, "%s", msg);
  return CLI_FAIL;
}
