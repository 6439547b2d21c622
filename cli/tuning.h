/* tuning.h: tuning as the CLI drives it (convbench tune, bench
 * --tune-missing). */
#ifndef CB_CLI_TUNING_H
#define CB_CLI_TUNING_H

#include "cli.h"
#include "campaign.h"
#include "net_problems.h"
#include "tune.h"

/* "fwd,bwd_filter" into ops[]; CB_ERR_INVALID naming a bad entry. */
cb_status cli_parse_ops(const char *list, bool ops[3]);

/* Whether backend name is in a comma-separated list (NULL or "all": yes). */
bool cli_backend_selected(const char *list, const char *name);

typedef struct cli_tune_opts {
  const char *backends; /* NULL: every available backend but ref */
  int threads;
  int device; /* CUDA device the GPU backends run on, or -1: the host backends */
  const char *device_fp;
  bool force;        /* re-tune problems cached for this device and build */
  bool retune_noisy; /* re-tune the problems cached with low confidence */
  double budget_s;   /* 0: none */
  bool quiet;
  FILE *report; /* where a line per problem goes; NULL: stdout */
  cb_tune_rules rules;
} cli_tune_opts;

/* Runs a tuning campaign over ps for this session's run and build,
 * drawing candidates from o->backends but ref, printing a report per
 * problem (and progress on stderr unless o->quiet). Stops between
 * problems on Ctrl-C (CB_ERR_INTERRUPTED) or when the budget is spent. */
cb_status cli_tune_problems(const cli_session *s, const cli_tune_opts *o, const cb_problem_list *ps,
                            cb_campaign_stats *stats);

#endif
