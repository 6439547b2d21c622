/* campaign.h: a tuning campaign: tunes a list of problems one after the
 * other, records every candidate's measurement and caches each winner,
 * with its confidence, in the database, skipping problems already cached
 * for this device and build. The cache is read for every problem before
 * any backend is opened, so a warm campaign times nothing. What `convbench tune` and `bench
 * --tune-missing` run; the caller prints, through the event callback. */
#ifndef CB_CAMPAIGN_H
#define CB_CAMPAIGN_H

#include "db.h"
#include "tune.h"

/* Distinct problems in first-seen order, each with its canonical key. */
typedef struct cb_problem_list {
  int n, cap;
  cb_problem *p;
  char (*keys)[CB_KEY_MAX];
} cb_problem_list;

/* Appends p unless a problem with the same key is already there. */
cb_status cb_problem_list_add(cb_problem_list *ps, const cb_problem *p);
void cb_problem_list_free(cb_problem_list *ps);

typedef enum cb_campaign_event_kind {
  CB_CAMPAIGN_UNAVAILABLE, /* a backend could not open: backend, cb_errmsg() says why */
  CB_CAMPAIGN_PROGRESS,    /* the tuner's progress on problem i: phase, cand, best_ms */
  CB_CAMPAIGN_TUNED,       /* problem i has been tuned, successfully or not */
  CB_CAMPAIGN_DONE         /* problem i's outcome is recorded: out, cached */
} cb_campaign_event_kind;

typedef struct cb_campaign_event {
  cb_campaign_event_kind kind;
  int i, n; /* problem index and count */
  const cb_problem *problem;
  const char *key;
  const cb_backend *backend;     /* UNAVAILABLE */
  const char *phase;             /* PROGRESS */
  const cb_tune_candidate *cand; /* PROGRESS, may be NULL */
  int round;                     /* PROGRESS: timed rounds so far, 0 outside the race */
  double best_ms;                /* PROGRESS, 0 when none yet */
  int todo_i, todo_n;            /* problems to tune: this is the todo_i-th of todo_n */
  const cb_tune_outcome *out;    /* DONE */
  bool cached;                   /* DONE: the winner went into the cache */
} cb_campaign_event;

typedef void (*cb_campaign_event_fn)(void *user, const cb_campaign_event *ev);

typedef struct cb_campaign_opts {
  const cb_backend *const *backends; /* NULL-terminated: where candidates come from */
  int threads;
  int device; /* CUDA device the backends run on, or -1: the host */
  int64_t run_id;
  const char *device_fp, *build_fp; /* the cache key's fingerprints */
  bool force;                       /* re-tune problems cached for this device and build */
  bool retune_noisy;                /* re-tune the problems cached with low confidence */
  double budget_s;                  /* start no problem after this; 0: no budget */
  int64_t llc_bytes; /* all last-level caches together, sizing the flush; 0: the rules' */
  cb_tune_rules rules;
  const volatile sig_atomic_t *stop; /* non-zero: stop between (and within) problems */
  cb_campaign_event_fn event;        /* may be NULL */
  void *event_user;
} cb_campaign_opts;

typedef struct cb_campaign_stats {
  int tuned, cached, already, skipped_budget, failed, candidates;
  int low;     /* of cached: with low confidence */
  int retuned; /* of tuned: cached with low confidence before (--retune-noisy) */
  double seconds;
} cb_campaign_stats;

/* Tunes every problem of ps not already cached exactly (all of them with
 * o->force; with o->retune_noisy also those cached with low confidence),
 * recording each problem's measurements and winner (always, with its
 * confidence) in one transaction. The cache is checked first: when
 * nothing needs tuning, no backend is opened and nothing is timed.
 * Stops between problems on o->stop (CB_ERR_INTERRUPTED) or when the
 * budget is spent (stats->skipped_budget counts the rest).
 * CB_ERR_UNAVAILABLE when none of o->backends opens. */
cb_status cb_campaign_run(cb_db *db, const cb_campaign_opts *o, const cb_problem_list *ps,
                          cb_campaign_stats *stats);

#endif
