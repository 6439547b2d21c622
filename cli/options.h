/* options.h: the one option parser of the convbench commands. The options
 * several commands share (--db, --threads, --backend, ...) are one table in
 * options.c, with one meaning, range and message each; a command declares
 * which of them it takes and a `static const` table of its own options,
 * whose values go to its callback. */
#ifndef CB_CLI_OPTIONS_H
#define CB_CLI_OPTIONS_H

#include "backends.h"

/* The shared options, as bits of cli_options.common. */
enum {
  CLI_OPT_DB = 1u << 0,      /* --db PATH */
  CLI_OPT_NO_DB = 1u << 1,   /* --no-db: db becomes NULL */
  CLI_OPT_THREADS = 1u << 2, /* --threads T, 1..4096 */
  CLI_OPT_BATCH = 1u << 3,   /* --batch N, 1..INT32_MAX */
  CLI_OPT_BACKEND = 1u << 4, /* --backend B */
  CLI_OPT_FORMAT = 1u << 5,  /* --format F, one of cli_options.formats */
  CLI_OPT_SEED = 1u << 6,    /* --seed S, 0..INT64_MAX */
  CLI_OPT_ITERS = 1u << 7,   /* --iters K, 1..1000000 */
  CLI_OPT_WARMUP = 1u << 8,  /* --warmup W, 0..1000000 */
  CLI_OPT_QUIET = 1u << 9,   /* --quiet */
  CLI_OPT_DATA = 1u << 10,   /* --data D */
  CLI_OPT_LIMIT = 1u << 11,  /* --limit N, 1..INT64_MAX */
};

/* One option of a command's own: id (a character) goes to cli_options.own_fn. */
typedef struct cli_option {
  const char *name; /* without the dashes */
  bool has_arg;
  int id;
} cli_option;

/* What a command accepts. */
typedef struct cli_options {
  const cli_command *cmd;
  unsigned common;            /* CLI_OPT_* bits */
  const char *const *formats; /* --format values, NULL-terminated; the first is the default */
  const cli_option *own;      /* the command's own options, ended by a NULL name; may be NULL */
  int (*own_fn)(const cli_command *c, int id, const char *arg, void *user); /* CLI_OK or exit */
  void *user;
  int max_operands; /* > 0: operands may come between options, and the one past this many
                     * is refused where it stands */
} cli_options;

#define CLI_MAX_OPERANDS 16

/* The shared options' values and the operands. */
typedef struct cli_args {
  const char *db; /* NULL after --no-db */
  const char *data;
  const char *backend; /* as given, or the command's default */
  bool backend_given;
  long long threads, batch, seed, iters, warmup, limit;
  int format; /* index into cli_options.formats */
  bool quiet;
  int noperands;                          /* all of them, even past CLI_MAX_OPERANDS */
  const char *operands[CLI_MAX_OPERANDS]; /* in order */
} cli_args;

/* The defaults a command starts from and may change before cli_parse:
 * ./results.db, fashion-mnist, backend ref, seed 1, 10 iterations, 1
 * warm-up, the first format, and physical cores when it takes --threads. */
void cli_args_init(const cli_options *o, cli_args *a);

/* Parses argv (argv[0] the command) into a, calling o->own_fn for the
 * command's own options, in command-line order. Returns CLI_OK, -1 after
 * printing the usage for --help, or the exit code after reporting a bad
 * option as cli_usage_error does. */
int cli_parse(const cli_options *o, int argc, char **argv, cli_args *a);

/* How a command with only the common defaults starts: cli_args_init, then
 * cli_parse. True to run; false when main must return *exit_code at once
 * (CLI_OK after --help, else the usage error's code). */
bool cli_start(const cli_options *o, int argc, char **argv, cli_args *a, int *exit_code);

/* ---- commands that build a net: bench, train, infer, check --------------------------- */

typedef struct cli_net_args {
  cli_args o;
  const char *path; /* the net operand */
  cli_backends be;  /* --backend, resolved */
} cli_net_args;

/* cli_args_init for a command that builds a net. */
void cli_net_args_init(const cli_options *spec, cli_net_args *a);

/* cli_parse, then the one net operand (named `what` when it is missing),
 * --db (not empty) and --backend, resolved (one backend only when
 * one_backend). Returns CLI_OK, -1 after --help, or the exit code after
 * printing why. */
int cli_net_args_parse(const cli_options *spec, int argc, char **argv, const char *what,
                       bool one_backend, cli_net_args *a);

#endif
