/* netdef_stmt.c: typed access to the values of one netdef statement, and the
 * error format every layer uses ("file:line:col: layer NAME: message"). */
#include "netdef.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cb_kv *cb_stmt_find(const cb_stmt *st, const char *key) {
  for (int i = 0; i < st->nkv; i++)
    if (strcmp(st->kv[i].key, key) == 0) return &st->kv[i];
  return NULL;
}

cb_status cb_stmt_error(cb_status s, const cb_stmt *st, const cb_kv *kv, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int line = kv ? kv->line : st->line;
  int col = kv ? kv->col + (int)strlen(kv->key) + 1 : st->col;
  const char *what = st->name ? "layer " : "";
  return cb_error(s, "%s:%d:%d: %s%s%s%s%s", st->file ? st->file : "<netdef>", line, col, what,
                  st->name ? st->name : "", st->name ? ": " : "", msg, st->where ? st->where : "");
}

static cb_status bad_value(const cb_stmt *st, const cb_kv *kv, const char *expected) {
  return cb_stmt_error(CB_ERR_PARSE, st, kv, "%s=%s: expected %s", kv->key, kv->val, expected);
}

/* Parses a whole string as a decimal int64; false on junk or overflow. */
static bool parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end) return false;
  *out = v;
  return true;
}

cb_status cb_stmt_int(const cb_stmt *st, const char *key, int64_t def, int64_t min, int64_t max,
                      int64_t *out) {
  const cb_kv *kv = cb_stmt_find(st, key);
  if (!kv) {
    *out = def;
    return CB_OK;
  }
  int64_t v;
  if (!parse_i64(kv->val, &v)) return bad_value(st, kv, "an integer");
  if (v < min || v > max)
    return cb_stmt_error(CB_ERR_PARSE, st, kv, "%s=%s: must be between %lld and %lld", key, kv->val,
                         (long long)min, (long long)max);
  *out = v;
  return CB_OK;
}

cb_status cb_stmt_float(const cb_stmt *st, const char *key, double def, double min, double max,
                        double *out) {
  const cb_kv *kv = cb_stmt_find(st, key);
  if (!kv) {
    *out = def;
    return CB_OK;
  }
  char *end;
  errno = 0;
  double v = strtod(kv->val, &end);
  if (errno || end == kv->val || *end || !isfinite(v)) return bad_value(st, kv, "a number");
  if (v < min || v > max)
    return cb_stmt_error(CB_ERR_PARSE, st, kv, "%s=%s: must be between %g and %g", key, kv->val,
                         min, max);
  *out = v;
  return CB_OK;
}

cb_status cb_stmt_str(const cb_stmt *st, const char *key, const char *def, const char **out) {
  const cb_kv *kv = cb_stmt_find(st, key);
  *out = kv ? kv->val : def;
  return CB_OK;
}

cb_status cb_stmt_enum(const cb_stmt *st, const char *key, const char *const *choices, int def,
                       int *out) {
  const cb_kv *kv = cb_stmt_find(st, key);
  if (!kv) {
    *out = def;
    return CB_OK;
  }
  char list[256] = "";
  for (int i = 0; choices[i]; i++) {
    if (strcmp(kv->val, choices[i]) == 0) {
      *out = i;
      return CB_OK;
    }
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, "%s%s", i ? " or " : "", choices[i]);
  }
  return bad_value(st, kv, list);
}

cb_status cb_stmt_shape(const cb_stmt *st, const char *key, int64_t dims[3], int *ndims) {
  const cb_kv *kv = cb_stmt_find(st, key);
  *ndims = 0;
  if (!kv) return CB_OK;
  int64_t v[3];
  int n = 0;
  const char *p = kv->val;
  for (;;) {
    char *end;
    errno = 0;
    long long x = strtoll(p, &end, 10);
    if (errno || end == p || x < 1 || n == 3) return bad_value(st, kv, "a shape like 3x224x224");
    v[n++] = x;
    if (*end == '\0') break;
    if (*end != 'x') return bad_value(st, kv, "a shape like 3x224x224");
    p = end + 1;
  }
  if (n == 2) return bad_value(st, kv, "a shape like 3x224x224");
  for (int i = 0; i < n; i++) dims[i] = v[i];
  *ndims = n;
  return CB_OK;
}
