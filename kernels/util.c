/* util.c: clock, ISO time, byte formatting and JSON escaping (util.h). */
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdbool.h>
#include <time.h>

uint64_t cb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double cb_unix_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cb_iso_time(double t, char *buf, size_t len) {
  time_t s = (time_t)floor(t);
  int ms = (int)((t - (double)s) * 1000);
  /* Rounding of t can land a hair outside [0, 1000). */
  if (ms < 0) ms = 0;
  if (ms > 999) ms = 999;
  struct tm tm;
  gmtime_r(&s, &tm);
  char date[CB_ISO_TIME_MAX];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%.19s.%03dZ", date, ms);
}

void cb_iso_now(char *buf, size_t len) {
  cb_iso_time(cb_unix_now(), buf, len);
}

void cb_format_bytes(int64_t bytes, cb_bytes_style style, char *buf, size_t len) {
  static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  bool compact = style == CB_BYTES_COMPACT;
  double v = (double)bytes;
  int u = 0;
  while ((v >= 1024.0 || v <= -1024.0) && u < 6) v /= 1024.0, u++;
  if (u == 0)
    snprintf(buf, len, "%lld%s", (long long)bytes, compact ? "B" : " bytes");
  else if (compact && v == (double)(int64_t)v) /* hwloc writes whole sizes bare: "48KiB" */
    snprintf(buf, len, "%lld%s", (long long)v, unit[u]);
  else
    snprintf(buf, len, "%.1f%s%s", v, compact ? "" : " ", unit[u]);
}

char *cb_strdup_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

void cb_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
    case '"':
      fputs("\\\"", f);
      break;
    case '\\':
      fputs("\\\\", f);
      break;
    case '\n':
      fputs("\\n", f);
      break;
    case '\r':
      fputs("\\r", f);
      break;
    case '\t':
      fputs("\\t", f);
      break;
    default:
      /* Other control characters (and DEL, which terminals mangle). */
      if (*c < 0x20 || *c == 0x7f)
        fprintf(f, "\\u%04x", *c);
      else
        fputc(*c, f);
    }
  }
  fputc('"', f);
}
