/* status.c: status names, the per-thread error reason and the log hook.
 *
 * Functions that fail record a one-line reason with cb_error() and return
 * the status; callers up the stack may prefix context with cb_error_wrap();
 * only the CLI prints the final line. The reason is thread-local so that
 * threaded variants and concurrent tests do not overwrite each other's. */
#include "kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CB_ERRMSG_MAX 1024

static _Thread_local char errmsg[CB_ERRMSG_MAX];

const char *cb_status_str(cb_status s) {
  switch (s) {
  case CB_OK:
    return "ok";
  case CB_ERR_INVALID:
    return "invalid argument";
  case CB_ERR_UNSUPPORTED:
    return "unsupported";
  case CB_ERR_UNAVAILABLE:
    return "unavailable";
  case CB_ERR_NOMEM:
    return "out of memory";
  case CB_ERR_IO:
    return "i/o error";
  case CB_ERR_PARSE:
    return "parse error";
  case CB_ERR_DB:
    return "database error";
  case CB_ERR_INTERRUPTED:
    return "interrupted";
  case CB_ERR_MISMATCH:
    return "mismatch against reference";
  case CB_ERR_INTERNAL:
    return "internal error";
  }
  return "unknown status";
}

cb_status cb_error(cb_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errmsg, sizeof errmsg, fmt, ap);
  va_end(ap);
  return s;
}

cb_status cb_error_wrap(cb_status s, const char *fmt, ...) {
  char prefix[CB_ERRMSG_MAX];
  char old[CB_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, errmsg, sizeof old);
  /* A message longer than the buffer is cut; the start says most. Testing
   * the result keeps gcc's -Wformat-truncation quiet about that choice. */
  if (snprintf(errmsg, sizeof errmsg, "%s%s", prefix, old[0] ? old : cb_status_str(s)) >=
      (int)sizeof errmsg)
    errmsg[sizeof errmsg - 1] = '\0';
  return s;
}

const char *cb_errmsg(void) {
  return errmsg;
}

void cb_error_clear(void) {
  errmsg[0] = '\0';
}

static cb_log_fn log_fn;
static void *log_user;

void cb_log_set(cb_log_fn fn, void *user) {
  log_fn = fn;
  log_user = user;
}

void cb_log(cb_log_level level, const char *fmt, ...) {
  if (!log_fn) return;
  char msg[CB_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_fn(level, msg, log_user);
}
