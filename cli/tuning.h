/* tuning.h: tuning as the CLI drives it (convbench tune, bench
 * --tune-missing). */
#ifndef CB_CLI_TUNING_H
#define CB_CLI_TUNING_H

#include "cli.h"
#include "tune.h"

/* The distinct kernel problems of a netdef, in first-seen order. */
typedef struct cli_problems {
  int n, cap;
  cb_problem *p;
  char (*keys)[CB_KEY_MAX];
} cli_problems;

/* Collects every conv and fc problem of the netdef (all entries of a
 * .shapes file) for the selected ops (fwd, bwd_data, bwd_filter); the
 * input gradient only where the net computes one. */
cb_status cli_collect_problems(const cb_netdef *nd, int64_t batch, int threads, bool input_grad,
                               const bool ops[3], cli_problems *out);
void cli_problems_free(cli_problems *ps);

/* "fwd,bwd_filter" into ops[]; CB_ERR_INVALID naming a bad entry. */
cb_status cli_parse_ops(const char *list, bool ops[3]);

/* Whether backend name is in a comma-separated list (NULL or "all": yes). */
bool cli_backend_selected(const char *list, const char *name);

typedef struct cli_tune_opts {
  const char *backends; /* NULL: every available backend but ref */
  int threads;
  int device; /* CUDA device the GPU backends run on, or -1: the host backends */
  const char *device_fp;
  bool force;      /* re-tune problems cached for this device and build */
  double budget_s; /* 0: none */
  bool quiet;
  FILE *report; /* where a line per problem goes; NULL: stdout */
  cb_tune_rules rules;
} cli_tune_opts;

typedef struct cli_tune_stats {
  int tuned, cached, already, skipped_budget, failed, candidates;
  double seconds;
} cli_tune_stats;

/* Tunes every problem not already cached exactly (unless o->force),
 * recording each problem's measurements and winner in one transaction and
 * printing a line per problem. Stops between problems on Ctrl-C
 * (CB_ERR_INTERRUPTED) or when the budget is spent. */
cb_status cli_tune_problems(const cli_session *s, const cli_tune_opts *o, const cli_problems *ps,
                            cli_tune_stats *stats);

#endif
