/* tuning.c: what `convbench tune` and `bench --tune-missing` share: the
 * --ops and --backends lists, and running a tuning campaign (autotune/
 * campaign.c) with its progress and a report per problem printed. */
#include "tuning.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_short[] = {"fwd", "bwd_data", "bwd_filter"};

cb_status cli_parse_ops(const char *list, bool ops[3]) {
  ops[0] = ops[1] = ops[2] = false;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int i = 0;
    while (i < 3 && strcmp(tok, op_short[i]) != 0) i++;
    if (i == 3)
      return cb_error(CB_ERR_INVALID, "--ops: unknown op '%s' (fwd, bwd_data, bwd_filter)", tok);
    ops[i] = true;
  }
  if (!ops[0] && !ops[1] && !ops[2]) return cb_error(CB_ERR_INVALID, "--ops: empty list");
  return CB_OK;
}

/* ---- tuning --------------------------------------------------------------------------- */

/* What the campaign's events print to. */
typedef struct tune_printer {
  const cli_tune_opts *o;
  double peak; /* GFLOP/s, 0: unknown */
  bool progress, tty;
  uint64_t start, last;
} tune_printer;

static void print_progress(tune_printer *p, const cb_campaign_event *ev) {
  uint64_t now = cb_now_ns();
  if (cb_ms(p->last, now) < (p->tty ? 250.0 : 5000.0) || cb_ms(p->start, now) < 1000.0) return;
  p->last = now;
  char name[160] = "";
  if (ev->cand) cb_candidate_name(&ev->cand->c, name, sizeof name);
  fprintf(stderr, "%stune: problem %d/%d %.60s: %s %s%s", p->tty ? "\r\033[K" : "", ev->i + 1,
          ev->n, ev->key, ev->phase, name, p->tty ? "" : "\n");
  if (ev->best_ms > 0)
    fprintf(stderr, "%s best so far %.3f ms%s", p->tty ? "" : "  ", ev->best_ms,
            p->tty ? "" : "\n");
  fflush(stderr);
}

/* The winner's line and the candidate counts of a tuned problem. */
static void report_winner(FILE *f, const cb_problem *p, const cb_tune_outcome *out, bool cached,
                          double peak) {
  int pruned = 0, failed = 0;
  for (int c = 0; c < out->ncand; c++) {
    pruned += out->cand[c].status == CB_CAND_PRUNED;
    failed += out->cand[c].status == CB_CAND_MISMATCH || out->cand[c].status == CB_CAND_ERROR;
  }
  if (out->winner < 0) {
    fprintf(f, "      no winner: %s (%d candidates, %d failed)\n", out->why_not, out->ncand,
            failed);
    return;
  }
  const cb_tune_candidate *w = &out->cand[out->winner];
  char name[160];
  cb_candidate_name(&w->c, name, sizeof name);
  double g = cb_problem_flops(p) / (w->t.median * 1e6);
  fprintf(f, "      %-40s %9.3f ms  %7.1f GFLOP/s", name, w->t.median, g);
  if (peak > 0) fprintf(f, " %3.0f%%", 100 * g / peak);
  if (out->runner_up >= 0) {
    char ru[160];
    cb_candidate_name(&out->cand[out->runner_up].c, ru, sizeof ru);
    fprintf(f, "  (runner-up %s +%.1f%%)", ru,
            100.0 * (out->cand[out->runner_up].t.median / w->t.median - 1.0));
  }
  fprintf(f, "\n      %d candidates: %d pruned, %d failed; %s\n", out->ncand, pruned, failed,
          cached            ? "cached"
          : out->why_not[0] ? out->why_not
                            : "not cached");
}

/* The report of a tuned problem: its key, the winner, and a repro line per
 * candidate that failed. */
static void report(FILE *f, const cb_campaign_event *ev, double peak) {
  const cb_tune_outcome *out = ev->out;
  fprintf(f, "[%d/%d] %s\n", ev->i + 1, ev->n, ev->key);
  report_winner(f, ev->problem, out, ev->cached, peak);
  for (int c = 0; c < out->ncand; c++) {
    const cb_tune_candidate *k = &out->cand[c];
    if (k->status != CB_CAND_MISMATCH && k->status != CB_CAND_ERROR) continue;
    char name[160], repro[512];
    cb_candidate_name(&k->c, name, sizeof name);
    cb_repro_line(k->c.ctx, k->c.variant, k->c.params, ev->problem, repro, sizeof repro);
    fprintf(f, "      %s %s: %s\n        repro: %s\n",
            k->status == CB_CAND_MISMATCH ? "MISMATCH" : "ERROR", name, k->error, repro);
  }
}

static void on_event(void *user, const cb_campaign_event *ev) {
  tune_printer *p = user;
  switch (ev->kind) {
  case CB_CAMPAIGN_UNAVAILABLE:
    if (p->o->backends)
      cli_error("tune", "note: backend %s is unavailable here: %s", ev->backend->name, cb_errmsg());
    break;
  case CB_CAMPAIGN_PROGRESS:
    if (p->progress) print_progress(p, ev);
    break;
  case CB_CAMPAIGN_TUNED:
    if (p->tty && p->progress) fputs("\r\033[K", stderr);
    break;
  case CB_CAMPAIGN_DONE:
    report(p->o->report ? p->o->report : stdout, ev, p->peak);
    break;
  }
}

cb_status cli_tune_problems(const cli_session *s, const cli_tune_opts *o, const cb_problem_list *ps,
                            cb_campaign_stats *stats) {
  const cb_backend *backends[64];
  int n = 0;
  for (const cb_backend *const *b = cb_backends(); *b && n < 63; b++)
    if (strcmp((*b)->name, "ref") != 0 && cli_backend_selected(o->backends, (*b)->name))
      backends[n++] = *b;
  backends[n] = NULL;
  tune_printer pr = {.o = o,
                     .peak = s->have_peak ? s->peak.gflops : 0,
                     .progress = !o->quiet,
                     .tty = isatty(2),
                     .start = cb_now_ns()};
  cb_campaign_opts co = {.backends = backends,
                         .threads = o->threads,
                         .device = o->device,
                         .run_id = s->run_id,
                         .device_fp = o->device_fp,
                         .build_fp = s->build.fingerprint,
                         .force = o->force,
                         .budget_s = o->budget_s,
                         .llc_bytes = s->machine.l3_bytes *
                                      (s->machine.l3_count > 0 ? s->machine.l3_count : 1),
                         .rules = o->rules,
                         .stop = &cli_stop,
                         .event = on_event,
                         .event_user = &pr};
  return cb_campaign_run(s->db, &co, ps, stats);
}

bool cli_backend_selected(const char *list, const char *name) {
  if (!list || strcmp(list, "all") == 0) return true;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    p += len + (comma ? 1 : 0);
  }
  return false;
}
