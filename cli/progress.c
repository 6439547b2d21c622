/* progress.c: the progress line every command longer than a second shows
 * on stderr: on a terminal one line rewritten in place (at most every
 * 0.25 s), into a log or pipe a plain line every 5 s, never '\r' junk. */
#include "cli.h"
#include "util.h"

#include <stdarg.h>
#include <unistd.h>

void cli_progress_begin(cli_progress *p, bool quiet) {
  *p = (cli_progress){.enabled = !quiet, .tty = isatty(2) == 1, .start = cb_now_ns()};
}

void cli_progress_show(cli_progress *p, const char *fmt, ...) {
  if (!p->enabled) return;
  uint64_t now = cb_now_ns();
  double since_start = cb_ms(p->start, now), since_last = cb_ms(p->last, now);
  if (since_start < 1000.0 || (p->shown && since_last < (p->tty ? 250.0 : 5000.0))) return;
  p->last = now;
  p->shown = true;
  if (p->tty) fputs("\r\033[K", stderr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " [%.0f s]%s", since_start / 1000.0, p->tty ? "" : "\n");
  fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
  if (p->shown && p->tty) fputs("\r\033[K", stderr);
  p->shown = false;
}
