/* session.c: the database side of one command: machine and build records,
 * and the run row that is 'running' until the command ends. */
#include "cli.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Appends arg to buf, single-quoted when it holds anything a shell would
 * interpret, so the stored command line can be pasted back. */
static void append_quoted(char *buf, size_t len, const char *arg) {
  size_t used = strlen(buf);
  bool plain = *arg != '\0';
  for (const char *p = arg; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
      plain = false;
  if (used && used + 1 < len) buf[used++] = ' ', buf[used] = '\0';
  if (plain) {
    snprintf(buf + used, len - used, "%s", arg);
    return;
  }
  if (used + 1 < len) buf[used++] = '\'', buf[used] = '\0';
  for (const char *p = arg; *p && used + 5 < len; p++) {
    if (*p == '\'') {
      memcpy(buf + used, "'\\''", 4);
      used += 4;
    } else {
      buf[used++] = *p;
    }
  }
  if (used + 1 < len) buf[used++] = '\'';
  buf[used < len ? used : len - 1] = '\0';
}

char cli_cmdline[4096];

void cli_save_command_line(int argc, char **argv) {
  snprintf(cli_cmdline, sizeof cli_cmdline, "convbench");
  for (int i = 1; i < argc; i++) append_quoted(cli_cmdline, sizeof cli_cmdline, argv[i]);
}

void cli_cmdline_ensure(const char *flag, const char *value) {
  size_t n = strlen(flag);
  /* Tokens are separated by spaces (quoted ones contain no bare flag). */
  for (const char *p = strstr(cli_cmdline, flag); p; p = strstr(p + 1, flag))
    if (p > cli_cmdline && p[-1] == ' ' && (p[n] == ' ' || p[n] == '=' || p[n] == '\0')) return;
  append_quoted(cli_cmdline, sizeof cli_cmdline, flag);
  if (value) append_quoted(cli_cmdline, sizeof cli_cmdline, value);
}

void cli_cmdline_ensure_int(const char *flag, long long value) {
  char num[32];
  snprintf(num, sizeof num, "%lld", value);
  cli_cmdline_ensure(flag, num);
}

cb_status cli_session_begin(cli_session *s, const char *path, const char *kind, uint64_t seed,
                            int threads) {
  memset(s, 0, sizeof *s);
  cb_status st = cb_machine_probe(&s->machine);
  if (st == CB_OK) st = cb_build_probe(&s->build);
  if (st != CB_OK) {
    cli_error(kind, "%s", cb_errmsg());
    return st;
  }
  if (!path) return CB_OK;

  if ((st = cb_db_open(path, &s->db)) != CB_OK) {
    cli_error(kind, "%s", cb_errmsg());
    return st;
  }
  cb_run_rec run = {.command = cli_cmdline, .kind = kind, .seed = seed, .threads = threads};
  if ((st = cb_db_put_machine(s->db, &s->machine, &run.machine_id)) != CB_OK ||
      (st = cb_db_put_build(s->db, &s->build, &run.build_id)) != CB_OK ||
      (st = cb_db_run_begin(s->db, &run, &s->run_id)) != CB_OK) {
    cli_error(kind, "%s", cb_errmsg());
    cb_db_close(s->db);
    s->db = NULL;
    return st;
  }
  return CB_OK;
}

void cli_session_end(cli_session *s, const char *status, const char *error) {
  if (!s->db) return;
  if (cb_db_run_end(s->db, s->run_id, status, error) != CB_OK)
    cli_error(NULL, "could not mark run %lld %s: %s", (long long)s->run_id, status, cb_errmsg());
  cb_db_close(s->db);
  s->db = NULL;
}

static void on_peak_progress(void *user, int threads, int done, int repeats) {
  cli_progress_show(user, "measuring the FMA peak at %d thread%s: repeat %d/%d", threads,
                    threads == 1 ? "" : "s", done, repeats);
}

cb_status cli_peak_measure(int threads, double seconds, int repeats, bool quiet, cb_peak *p) {
  cli_progress pr;
  cli_progress_begin(&pr, quiet);
  cb_status st = cb_peak_measure(threads, seconds, repeats, &cli_stop, on_peak_progress, &pr, p);
  cli_progress_end(&pr);
  return st;
}

void cli_peak_verdict_text(const cb_peak *p, char *buf, size_t len) {
  switch (cb_peak_judge(p)) {
  case CB_PEAK_OK:
  case CB_PEAK_UNCHECKED:
    snprintf(buf, len, "%s", "");
    break;
  case CB_PEAK_TOO_FEW:
    snprintf(buf, len, "%d repeat%s, fewer than the %d a peak needs", p->repeats,
             p->repeats == 1 ? "" : "s", CB_PEAK_MIN_REPEATS);
    break;
  case CB_PEAK_FAULT:
    snprintf(buf, len, "measurement fault: %.1f GFLOP/s is %.0f%% of the theoretical %.1f (%s)",
             p->gflops, 100 * p->gflops / p->theoretical_gflops, p->theoretical_gflops,
             p->theoretical_how);
    break;
  case CB_PEAK_BUSY:
    snprintf(buf, len,
             "machine busy: %.1f GFLOP/s is only %.0f%% of the theoretical %.1f (load %.2f before, "
             "%.2f after, on %d thread%s)",
             p->gflops, 100 * p->gflops / p->theoretical_gflops, p->theoretical_gflops,
             p->load1_before, p->load1_after, p->threads, p->threads == 1 ? "" : "s");
    break;
  }
}

void cli_session_peak(cli_session *s, int threads) {
  s->have_peak = false;
  s->no_peak[0] = '\0';
  if (!s->db) {
    snprintf(s->no_peak, sizeof s->no_peak,
             "no %% of peak: --no-db reads no recorded peak (run 'convbench peak' to record one)");
    return;
  }
  bool found = false;
  if (cb_db_get_peak(s->db, s->machine.fingerprint, threads, &s->peak, &found) == CB_OK && found) {
    /* A stored row is checked against this machine's rate as well as its
     * own: a row planted or copied from elsewhere cannot exceed it. */
    cb_peak now = {0};
    cb_devstate d;
    cb_devstate_sample(&d);
    cb_peak_theoretical(threads, d.cpu_mhz_measured, &now);
    if (!(now.theoretical_gflops > 0) ||
        s->peak.gflops <= now.theoretical_gflops * (1 + CB_PEAK_FAULT_TOLERANCE)) {
      s->have_peak = true;
      return;
    }
    cli_error(NULL,
              "note: the recorded peak at %d thread%s (%.1f GFLOP/s, %s) exceeds this machine's "
              "theoretical %.1f GFLOP/s: a measurement fault, ignored",
              threads, threads == 1 ? "" : "s", s->peak.gflops, s->peak.measured,
              now.theoretical_gflops);
  } else {
    cb_error_clear();
  }
  /* Once per machine and thread count: eight repeats of 0.25 s, the best
   * kept, so a busy moment lowers only some of them. */
  cli_error(NULL,
            "note: no peak recorded for %d thread%s on this machine: measuring it once "
            "(about %d s; 'convbench peak' does the same)",
            threads, threads == 1 ? "" : "s", 3);
  cb_peak p;
  if (cli_peak_measure(threads, 0.25, 8, s->quiet, &p) != CB_OK) {
    snprintf(s->no_peak, sizeof s->no_peak, "no %% of peak: measuring it failed: %s", cb_errmsg());
    cb_error_clear();
    return;
  }
  char why[512];
  cli_peak_verdict_text(&p, why, sizeof why);
  if (why[0]) {
    snprintf(s->no_peak, sizeof s->no_peak,
             "no %% of peak: the peak measured now is not kept: %.200s", why);
    cli_error(NULL, "note: peak not recorded: %s", why);
    return;
  }
  if (cb_db_put_peak(s->db, s->run_id, &p) != CB_OK) {
    cli_error(NULL, "note: could not record the peak: %s", cb_errmsg());
    cb_error_clear();
  }
  cli_error(NULL,
            "note: peak at %d thread%s: %.1f GFLOP/s (repeats min %.1f, median %.1f; theoretical "
            "%.1f), recorded",
            threads, threads == 1 ? "" : "s", p.gflops, p.gflops_min, p.gflops_median,
            p.theoretical_gflops);
  s->peak = p;
  cb_iso_now(s->peak.measured, sizeof s->peak.measured);
  s->have_peak = true;
}

int cli_session_finish(cli_session *s, const char *cmd, cb_status st, const char *kept) {
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
