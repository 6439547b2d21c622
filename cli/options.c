/* options.c: the table of shared options and the getopt_long loop every
 * command parses its command line with, so that an option means the same,
 * takes the same range and fails with the same message in every command. */
#include "options.h"

#include <getopt.h>
#include <stddef.h>
#include <string.h>

/* getopt_long ids of the shared options: above any character a command's
 * own option uses. */
#define COMMON_ID 0x100

typedef struct common_option {
  unsigned bit;
  const char *name;
  bool has_arg;
  long long min, max; /* the range of an integer option; min > max: not an integer */
  size_t field;       /* offsetof the long long in cli_args */
} common_option;

#define NOT_INT 1, 0, 0
static const common_option common[] = {
    {CLI_OPT_DB, "db", true, NOT_INT},
    {CLI_OPT_NO_DB, "no-db", false, NOT_INT},
    {CLI_OPT_THREADS, "threads", true, 1, 4096, offsetof(cli_args, threads)},
    {CLI_OPT_BATCH, "batch", true, 1, INT32_MAX, offsetof(cli_args, batch)},
    {CLI_OPT_BACKEND, "backend", true, NOT_INT},
    {CLI_OPT_FORMAT, "format", true, NOT_INT},
    {CLI_OPT_SEED, "seed", true, 0, INT64_MAX, offsetof(cli_args, seed)},
    {CLI_OPT_ITERS, "iters", true, 1, 1000000, offsetof(cli_args, iters)},
    {CLI_OPT_WARMUP, "warmup", true, 0, 1000000, offsetof(cli_args, warmup)},
    {CLI_OPT_QUIET, "quiet", false, NOT_INT},
    {CLI_OPT_DATA, "data", true, NOT_INT},
    {CLI_OPT_LIMIT, "limit", true, 1, INT64_MAX, offsetof(cli_args, limit)},
};
#define NCOMMON     (int)(sizeof common / sizeof common[0])
#define MAX_OPTIONS 48

void cli_args_init(const cli_options *o, cli_args *a) {
  *a = (cli_args){
      .db = "results.db", .data = "fashion-mnist", .backend = "ref", .seed = 1, .iters = 10};
  a->warmup = 1;
  if (o->common & CLI_OPT_THREADS) a->threads = cli_default_threads();
}

/* --format's value as an index into o->formats; the message lists them
 * as "table, csv or json". */
static int parse_format(const cli_options *o, const char *arg, cli_args *a) {
  int n = 0;
  for (; o->formats[n]; n++)
    if (strcmp(arg, o->formats[n]) == 0) {
      a->format = n;
      return CLI_OK;
    }
  char list[256] = "";
  for (int i = 0, len = 0; i < n && len >= 0 && (size_t)len < sizeof list; i++)
    len += snprintf(list + len, sizeof list - (size_t)len, "%s%s",
                    i == 0       ? ""
                    : i == n - 1 ? " or "
                                 : ", ",
                    o->formats[i]);
  return cli_usage_error(o->cmd, "--format: expected %s, got '%s'", list, arg);
}

static int common_value(const cli_options *o, const common_option *d, const char *arg,
                        cli_args *a) {
  if (d->min <= d->max) {
    char flag[32];
    snprintf(flag, sizeof flag, "--%s", d->name);
    long long *v = (long long *)((char *)a + d->field);
    return cli_parse_int(o->cmd, flag, arg, d->min, d->max, v) ? CLI_OK : CLI_USAGE;
  }
  switch (d->bit) {
  case CLI_OPT_DB:
    a->db = arg;
    break;
  case CLI_OPT_NO_DB:
    a->db = NULL;
    break;
  case CLI_OPT_BACKEND:
    a->backend = arg;
    a->backend_given = true;
    break;
  case CLI_OPT_FORMAT:
    return parse_format(o, arg, a);
  case CLI_OPT_QUIET:
    a->quiet = true;
    break;
  case CLI_OPT_DATA:
    a->data = arg;
    break;
  }
  return CLI_OK;
}

/* The getopt_long table: the shared options o takes, its own, --help. */
static void build_table(const cli_options *o, struct option *t) {
  int n = 0;
  for (int i = 0; i < NCOMMON; i++)
    if (o->common & common[i].bit)
      t[n++] = (struct option){common[i].name, common[i].has_arg ? required_argument : no_argument,
                               NULL, COMMON_ID + i};
  for (const cli_option *p = o->own; p && p->name && n < MAX_OPTIONS - 2; p++)
    t[n++] = (struct option){p->name, p->has_arg ? required_argument : no_argument, NULL, p->id};
  t[n++] = (struct option){"help", no_argument, NULL, 'h'};
  t[n] = (struct option){NULL, 0, NULL, 0};
}

static void add_operand(cli_args *a, const char *arg) {
  if (a->noperands < CLI_MAX_OPERANDS) a->operands[a->noperands] = arg;
  a->noperands++;
}

int cli_parse(const cli_options *o, int argc, char **argv, cli_args *a) {
  struct option table[MAX_OPTIONS];
  build_table(o, table);
  const cli_command *c = o->cmd;
  a->noperands = 0;
  opterr = 0;
  optind = 1;
  int ch, rc;
  /* A leading '-' returns operands in order (as id 1), so options may
   * follow them; otherwise getopt moves them to the end. */
  while ((ch = getopt_long(argc, argv, o->max_operands > 0 ? "-:h" : ":h", table, NULL)) != -1) {
    if (ch == 'h') {
      c->usage(stdout);
      return -1;
    }
    if (ch == ':') return cli_usage_error(c, "option '%s' needs a value", argv[optind - 1]);
    if (ch == '?') return cli_usage_error(c, "unknown option '%s'", argv[optind - 1]);
    if (ch == 1) {
      if (a->noperands == o->max_operands)
        return cli_usage_error(c, "unexpected argument '%s'", optarg);
      add_operand(a, optarg);
      continue;
    }
    rc = ch >= COMMON_ID ? common_value(o, &common[ch - COMMON_ID], optarg, a)
                         : o->own_fn(c, ch, optarg, o->user);
    if (rc != CLI_OK) return rc;
  }
  for (int i = optind; i < argc; i++) {
    if (o->max_operands > 0 && a->noperands == o->max_operands)
      return cli_usage_error(c, "unexpected argument '%s'", argv[i]);
    add_operand(a, argv[i]);
  }
  return CLI_OK;
}

bool cli_start(const cli_options *o, int argc, char **argv, cli_args *a, int *exit_code) {
  cli_args_init(o, a);
  int rc = cli_parse(o, argc, argv, a);
  *exit_code = rc < 0 ? CLI_OK : rc;
  return rc == CLI_OK;
}

void cli_net_args_init(const cli_options *spec, cli_net_args *a) {
  *a = (cli_net_args){0};
  cli_args_init(spec, &a->o);
}

int cli_net_args_parse(const cli_options *spec, int argc, char **argv, const char *what,
                       bool one_backend, cli_net_args *a) {
  const cli_command *c = spec->cmd;
  int rc = cli_parse(spec, argc, argv, &a->o);
  if (rc != CLI_OK) return rc;
  if (a->o.noperands < 1) return cli_usage_error(c, "missing %s", what);
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
