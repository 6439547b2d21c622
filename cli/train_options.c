/* train_options.c: the options that train, infer and check share (the
 * NET.net operand, --db, --backend). */
#include "train_common.h"

#include <string.h>

void cli_common_defaults(const cli_options *spec, cli_common_args *a) {
  *a = (cli_common_args){0};
  cli_args_init(spec, &a->o);
}

int cli_common_parse(const cli_options *spec, int argc, char **argv, cli_common_args *a,
                     bool one_backend) {
  const cli_command *c = spec->cmd;
  int rc = cli_parse(spec, argc, argv, &a->o);
  if (rc != CLI_OK) return rc;
  if (a->o.noperands < 1) return cli_usage_error(c, "missing NET.net");
  if (a->o.noperands > 1) return cli_usage_error(c, "unexpected argument '%s'", a->o.operands[1]);
  a->path = a->o.operands[0];
  if (a->o.db && !*a->o.db)
    return cli_usage_error(c, "--db: empty path (use --no-db to record nothing)");
  a->be.arg = a->o.backend;
  a->be.given = a->o.backend_given;
  if ((rc = cli_backends_resolve(c, &a->be)) != CLI_OK) return rc;
  if (one_backend && (a->be.n != 1 || strcmp(a->be.arg, "all") == 0))
    return cli_usage_error(c, "--backend: %s runs on one backend, got '%s'", c->name, a->be.arg);
  return CLI_OK;
}
