/* session.c: the database side of one command: machine and build records,
 * and the run row that is 'running' until the command ends. */
#include "cli.h"

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

void cli_session_peak(cli_session *s, int threads) {
  bool found = false;
  if (s->db && cb_db_get_peak(s->db, s->machine.fingerprint, threads, &s->peak, &found) == CB_OK &&
      found) {
    s->have_peak = true;
    return;
  }
  /* A short measurement, best of five: enough for a percentage, not for
   * the record. It is not stored: a busy moment would read low and then
   * stand as the machine's peak; only `convbench peak` records one. */
  if (cb_peak_measure(threads, 0.1, 5, &s->peak) != CB_OK) return;
  s->have_peak = true;
  cli_error(NULL,
            "note: measured the FMA peak at %d thread%s briefly: %.1f GFLOP/s (run "
            "'convbench peak' to measure and record it)",
            threads, threads == 1 ? "" : "s", s->peak.gflops);
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
