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
  int finished; /* problems tuned so far, for the ETA */
} tune_printer;

/* The problem key without what every problem of a net shares (":f32",
 * ":nchw", unit dilation, one group): "conv_fwd n16c3h224w224_k64r11s11_p2x2_u4x4". */
static void short_key(const char *key, char *buf, size_t len) {
  char tmp[CB_KEY_MAX];
  snprintf(tmp, sizeof tmp, "%s", key);
  static const char *const drop[] = {":f32", ":nchw", "_d1x1", "_g1"};
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
    char *at = strstr(tmp, drop[i]);
    size_t n = strlen(drop[i]);
    if (at && (at[n] == '\0' || at[n] == ':' || at[n] == '_'))
      memmove(at, at + n, strlen(at + n) + 1);
  }
  char *colon = strchr(tmp, ':');
  if (colon) *colon = ' ';
  snprintf(buf, len, "%s", tmp);
}

/* "1m05s" or "12s". */
static void fmt_secs(double s, char *buf, size_t len) {
  if (s >= 60)
    snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else
    snprintf(buf, len, "%.0fs", s);
}

/* The ETA of the campaign: the mean time of the problems finished so far
 * times those left ("?" before the first). */
static void eta(const tune_printer *p, const cb_campaign_event *ev, char *buf, size_t len) {
  double elapsed = cb_ms(p->start, cb_now_ns()) / 1000.0;
  if (p->finished == 0) {
    snprintf(buf, len, "?");
    return;
  }
  int left = ev->todo_n - p->finished;
  fmt_secs(left > 0 ? elapsed / p->finished * left : 0, buf, len);
}

/* One progress line: problem i/n, its short key, the candidate concerned
 * (validated, or leading the race), the round, the best estimate so far
 * and the ETA. On a terminal it is redrawn in place (\r); elsewhere it is
 * written once per finished problem, whole, so logs hold no \r junk. */
static void print_progress(tune_printer *p, const cb_campaign_event *ev, bool finished) {
  uint64_t now = cb_now_ns();
  if (!finished && (!p->tty || cb_ms(p->last, now) < 250.0)) return;
  p->last = now;
  char key[CB_KEY_MAX], name[160] = "", when[32], best[48] = "";
  short_key(ev->key, key, sizeof key);
  if (ev->cand)
    cb_candidate_name(&ev->cand->c, name, sizeof name);
  else
    snprintf(name, sizeof name, "(%s)", ev->phase ? ev->phase : "starting");
  eta(p, ev, when, sizeof when);
  if (ev->best_ms > 0) snprintf(best, sizeof best, ", best %.4g ms", ev->best_ms);
  const char *phase = finished ? "done" : ev->phase ? ev->phase : "";
  fprintf(stderr, "%stune %d/%d %.60s: %s %s, round %d%s, ETA %s%s", p->tty ? "\r\033[K" : "",
          ev->todo_i + 1, ev->todo_n, key, phase, name, ev->round, best, when, p->tty ? "" : "\n");
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
    fprintf(f, "      no winner: %s (%d candidates, %d failed)\n", out->why_low, out->ncand,
            failed);
    return;
  }
  const cb_tune_candidate *w = &out->cand[out->winner];
  char name[160];
  cb_candidate_name(&w->c, name, sizeof name);
  /* The estimate (q25) is what the race ranked by; GFLOP/s from it too. */
  double g = cb_problem_flops(p) / (w->estimate * 1e6);
  fprintf(f, "      %-40s %9.3f ms  %7.1f GFLOP/s", name, w->estimate, g);
  if (peak > 0) fprintf(f, " %3.0f%%", 100 * g / peak);
  if (out->runner_up >= 0) {
    char ru[160];
    cb_candidate_name(&out->cand[out->runner_up].c, ru, sizeof ru);
    fprintf(f, "  (runner-up %s %+.1f%%)", ru,
            100.0 * (out->cand[out->runner_up].estimate / w->estimate - 1.0));
  }
  if (w->baseline) fprintf(f, "  [library default]");
  fprintf(f, "\n      %d candidates: %d dropped, %d failed; %d rounds; %s", out->ncand, pruned,
          failed, out->rounds, cached ? "cached" : "NOT cached");
  fprintf(f, ", confidence %s%s%s (%d samples, spread %.1f%%, load %.1f)\n",
          out->confident ? "high" : "low", out->confident ? "" : ": ",
          out->confident ? "" : out->why_low, w->t.samples,
          w->t.median > 0 ? 100.0 * w->t.mad / w->t.median : 0,
          out->before.load1 > out->after.load1 ? out->before.load1 : out->after.load1);
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
    if (p->progress) print_progress(p, ev, false);
    break;
  case CB_CAMPAIGN_TUNED:
    if (p->tty && p->progress) fputs("\r\033[K", stderr);
    break;
  case CB_CAMPAIGN_DONE: {
    p->finished++;
    report(p->o->report ? p->o->report : stdout, ev, p->peak);
    fflush(p->o->report ? p->o->report : stdout);
    const cb_tune_outcome *out = ev->out;
    cb_campaign_event done = *ev;
    done.cand = out->winner >= 0 ? &out->cand[out->winner] : NULL;
    done.best_ms = out->winner >= 0 ? out->cand[out->winner].estimate : 0;
    done.round = out->rounds;
    done.phase = "done";
    if (p->progress) print_progress(p, &done, true);
    break;
  }
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
                         .retune_noisy = o->retune_noisy,
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
