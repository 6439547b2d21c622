/* jsonl.h: JSON lines of flat objects, read strictly and written so they
 * read back exactly.
 *
 * A line holds one object whose values are strings or numbers:
 *   {"key": "gemm:f32:nt:m64n64k64", "median_ms": 0.125, "samples": 10}
 * Nested objects, arrays, true, false and null are refused, as are
 * duplicate keys and anything after the closing brace: the files this
 * reads (cache exports) are written by cb_json_* below, and a strict
 * reader turns a damaged or hand-edited file into an error that names the
 * column instead of a wrong value. Strings may hold any JSON escape;
 * \u0000 is refused (C strings end there). Bytes >= 0x80 pass through
 * unchecked (UTF-8 is assumed, not validated). */
#ifndef CB_JSONL_H
#define CB_JSONL_H

#include <stdint.h>
#include <stdio.h>

#include "kernels.h"

/* The most fields one object may have. */
#define CB_JSON_MAX_FIELDS 64

typedef enum cb_json_type { CB_JSON_STRING, CB_JSON_NUMBER } cb_json_type;

typedef struct cb_json_field {
  const char *key; /* decoded, NUL-terminated */
  cb_json_type type;
  const char *str; /* a string's decoded text; a number's text as written */
  double num;      /* a number's value (0 for strings); may be +-HUGE_VAL on overflow */
} cb_json_field;

/* One parsed object. The field texts live in `text`, owned by the object. */
typedef struct cb_json_object {
  int n;
  cb_json_field fields[CB_JSON_MAX_FIELDS];
  char *text;
} cb_json_object;

/* Parses line (one object, without its newline) into obj. CB_ERR_PARSE
 * with "column C: what is wrong" (C counts bytes from 1); CB_ERR_NOMEM.
 * obj is empty after a failure; cb_json_object_free it either way. */
cb_status cb_json_parse_object(const char *line, cb_json_object *obj);
void cb_json_object_free(cb_json_object *obj);

/* The field called key, or NULL. */
const cb_json_field *cb_json_find(const cb_json_object *obj, const char *key);

/* The value of a field that must be there with this type: CB_ERR_PARSE
 * "missing key \"k\"" or "\"k\" must be a string, not a number" (and the
 * other way round). */
cb_status cb_json_get_string(const cb_json_object *obj, const char *key, const char **out);
cb_status cb_json_get_number(const cb_json_object *obj, const char *key, double *out);

/* CB_ERR_PARSE "unknown key \"k\"" when obj holds a key not in known
 * (NULL-terminated). */
cb_status cb_json_check_keys(const cb_json_object *obj, const char *const *known);

/* Writes one object on one line: begin, fields, end ("}\n"). Values are
 * escaped as JSON needs; numbers are written with as few digits as read
 * back to exactly the same double. Write errors show in ferror(f). */
typedef struct cb_json_writer {
  FILE *f;
  int fields; /* written so far on this line */
} cb_json_writer;

void cb_json_begin(cb_json_writer *w, FILE *f);
void cb_json_put_string(cb_json_writer *w, const char *key, const char *value);
/* value must be finite (JSON has no NaN or infinity): another is written
 * as 0, so the line stays JSON, and answered with CB_ERR_INVALID. */
cb_status cb_json_put_number(cb_json_writer *w, const char *key, double value);
void cb_json_put_int(cb_json_writer *w, const char *key, int64_t value);
void cb_json_end(cb_json_writer *w);

#endif
