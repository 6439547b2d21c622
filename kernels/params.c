/* params.c: a variant's parameter point as text ("16,4"), the one form
 * the database, cache exports and the command line share. The parser is
 * strict (no spaces, no '+', nothing trailing) so that a stored point
 * reads back as exactly the point that was written. */
#include "kernels.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int cb_params_format(const int *params, int n, char *buf, size_t len) {
  if (len) buf[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    /* Past the end of buf only the length is counted. */
    char *at = used < len ? buf + used : NULL;
    int k = snprintf(at, at ? len - used : 0, "%s%d", i ? "," : "", params[i]);
    if (k < 0) return k;
    used += (size_t)k;
  }
  return (int)used;
}

cb_status cb_params_parse(const char *text, int *params, int *n) {
  *n = 0;
  if (!text) return cb_error(CB_ERR_PARSE, "params: none given");
  if (!*text) return CB_OK; /* a variant without parameters */
  for (const char *c = text;;) {
    if (*n == CB_MAX_PARAMS)
      return cb_error(CB_ERR_PARSE, "params \"%s\": more than %d values", text, CB_MAX_PARAMS);
    /* strtol alone would also take spaces and '+'; the form has neither. */
    bool digit = (*c >= '0' && *c <= '9') || (*c == '-' && c[1] >= '0' && c[1] <= '9');
    if (!digit)
      return cb_error(CB_ERR_PARSE, "params \"%s\": expected an integer at column %d", text,
                      (int)(c - text) + 1);
    errno = 0;
    char *end;
    long v = strtol(c, &end, 10);
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
      return cb_error(CB_ERR_PARSE, "params \"%s\": the value at column %d is out of range", text,
                      (int)(c - text) + 1);
    params[(*n)++] = (int)v;
    c = end;
    if (!*c) return CB_OK;
    if (*c != ',')
      return cb_error(CB_ERR_PARSE, "params \"%s\": expected ',' at column %d", text,
                      (int)(c - text) + 1);
    c++;
  }
}
