/* jsonl.c: JSON lines of flat objects (see jsonl.h): a recursive-descent
 * reader for exactly one level of {"key": value, ...} and the writer
 * that produces it.
 *
 * The reader decodes keys and strings into one buffer owned by the
 * object, each NUL-terminated, and keeps a number's text beside its value
 * so callers can quote it in messages as it was written. */
#include "jsonl.h"

#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading --------------------------------------------------------------------- */

typedef struct reader {
  const char *line; /* start, for column numbers */
  const char *at;   /* next byte to read */
  char *out;        /* next free byte of the object's text */
} reader;

/* CB_ERR_PARSE "column C: ..." for the byte at `at`. */
static cb_status fail_at(const reader *r, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cb_status fail_at(const reader *r, const char *at, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cb_error(CB_ERR_PARSE, "column %d: %s", (int)(at - r->line) + 1, what);
}

static void skip_ws(reader *r) {
  while (*r->at == ' ' || *r->at == '\t' || *r->at == '\r' || *r->at == '\n') r->at++;
}

/* The value of hex digit c, or -1. */
static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p into *v; false when they are not there. */
static bool hex4(const char *p, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(p[i]);
    if (d < 0) return false;
    *v = *v << 4 | (unsigned)d;
  }
  return true;
}

/* Appends code point cp as UTF-8. */
static void put_utf8(reader *r, unsigned cp) {
  if (cp < 0x80) {
    *r->out++ = (char)cp;
  } else if (cp < 0x800) {
    *r->out++ = (char)(0xc0 | cp >> 6);
    *r->out++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *r->out++ = (char)(0xe0 | cp >> 12);
    *r->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *r->out++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *r->out++ = (char)(0xf0 | cp >> 18);
    *r->out++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *r->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *r->out++ = (char)(0x80 | (cp & 0x3f));
  }
}

/* A \uXXXX escape (r->at on the 'u'), with the second half of a UTF-16
 * surrogate pair when the first asks for one. */
static cb_status read_unicode(reader *r) {
  const char *esc = r->at - 1; /* the backslash, for messages */
  unsigned cp, lo;
  if (!hex4(r->at + 1, &cp)) return fail_at(r, esc, "\\u needs four hex digits");
  r->at += 5;
  if (cp >= 0xdc00 && cp <= 0xdfff)
    return fail_at(r, esc, "\\u%04x is the second half of a surrogate pair, alone", cp);
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (r->at[0] != '\\' || r->at[1] != 'u' || !hex4(r->at + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
      return fail_at(r, esc, "\\u%04x must be followed by the second half of its pair", cp);
    r->at += 6;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  }
  if (cp == 0) return fail_at(r, esc, "\\u0000 is not allowed");
  put_utf8(r, cp);
  return CB_OK;
}

/* A string (r->at on its opening quote), decoded to r->out and
 * NUL-terminated; *out points at it. */
static cb_status read_string(reader *r, const char **out) {
  const char *open = r->at++;
  *out = r->out;
  for (;;) {
    unsigned char c = (unsigned char)*r->at;
    if (c == '\0') return fail_at(r, open, "the string starting here is not closed");
    if (c < 0x20)
      return fail_at(r, r->at, "control character 0x%02x in a string (write it as \\u%04x)", c, c);
    if (c == '"') break;
    r->at++;
    if (c != '\\') {
      *r->out++ = (char)c;
      continue;
    }
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (*r->at == '\0') return fail_at(r, open, "the string starting here is not closed");
    const char *e = strchr(from, *r->at);
    if (e) {
      *r->out++ = to[e - from];
      r->at++;
    } else if (*r->at == 'u') {
      cb_status st = read_unicode(r);
      if (st != CB_OK) return st;
    } else {
      return fail_at(r, r->at - 1, "unknown escape '\\%c'", *r->at);
    }
  }
  r->at++;
  *r->out++ = '\0';
  return CB_OK;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* A number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * strtod alone would also take "inf", "0x1p3", " 1" and "+1". */
static cb_status read_number(reader *r, cb_json_field *f) {
  const char *start = r->at, *p = r->at;
  if (*p == '-') p++;
  if (*p == '0')
    p++;
  else if (is_digit(*p))
    while (is_digit(*p)) p++;
  else
    return fail_at(r, start, "expected a string or a number");
  if (*p == '.') {
    if (!is_digit(*++p)) return fail_at(r, p, "expected a digit after '.'");
    while (is_digit(*p)) p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!is_digit(*p)) return fail_at(r, p, "expected a digit in the exponent");
    while (is_digit(*p)) p++;
  }
  size_t n = (size_t)(p - start);
  memcpy(r->out, start, n);
  r->out[n] = '\0';
  f->str = r->out;
  r->out += n + 1;
  /* Overflow gives +-HUGE_VAL, which callers refuse as not finite;
   * underflow gives 0 or a denormal, which is the nearest double. */
  char *end;
  f->num = strtod(f->str, &end);
  /* strtod follows LC_NUMERIC: under a locale with a decimal comma it
   * stops at the '.'; say so rather than return a wrong value. */
  if (end != f->str + n) return fail_at(r, start, "number not understood (LC_NUMERIC is not C?)");
  r->at = p;
  return CB_OK;
}

/* The value of the field called key (r->at on its first byte). */
static cb_status read_value(reader *r, cb_json_field *f) {
  char c = *r->at;
  if (c == '"') {
    f->type = CB_JSON_STRING;
    f->num = 0;
    return read_string(r, &f->str);
  }
  if (c == '{' || c == '[')
    return fail_at(r, r->at, "\"%s\": nested objects and arrays are not allowed here", f->key);
  if (strncmp(r->at, "true", 4) == 0 || strncmp(r->at, "false", 5) == 0 ||
      strncmp(r->at, "null", 4) == 0)
    return fail_at(r, r->at, "\"%s\": true, false and null are not allowed here", f->key);
  f->type = CB_JSON_NUMBER;
  return read_number(r, f);
}

/* One "key": value pair (r->at on the key's quote) into obj. */
static cb_status read_member(reader *r, cb_json_object *obj) {
  const char *start = r->at;
  if (*r->at != '"') return fail_at(r, r->at, "expected a key in double quotes");
  if (obj->n == CB_JSON_MAX_FIELDS)
    return fail_at(r, r->at, "more than %d fields", CB_JSON_MAX_FIELDS);
  cb_json_field *f = &obj->fields[obj->n];
  cb_status st = read_string(r, &f->key);
  if (st != CB_OK) return st;
  if (cb_json_find(obj, f->key)) return fail_at(r, start, "duplicate key \"%s\"", f->key);
  skip_ws(r);
  if (*r->at != ':') return fail_at(r, r->at, "expected ':' after \"%s\"", f->key);
  r->at++;
  skip_ws(r);
  if ((st = read_value(r, f)) != CB_OK) return st;
  obj->n++;
  return CB_OK;
}

static cb_status read_object(reader *r, cb_json_object *obj) {
  skip_ws(r);
  if (*r->at != '{') return fail_at(r, r->at, "expected '{'");
  r->at++;
  skip_ws(r);
  if (*r->at == '}') {
    r->at++;
  } else {
    for (;;) {
      cb_status st = read_member(r, obj);
      if (st != CB_OK) return st;
      skip_ws(r);
      if (*r->at == '}') {
        r->at++;
        break;
      }
      if (*r->at != ',') return fail_at(r, r->at, "expected ',' or '}'");
      r->at++;
      skip_ws(r);
    }
  }
  skip_ws(r);
  if (*r->at) return fail_at(r, r->at, "unexpected text after the object");
  return CB_OK;
}

cb_status cb_json_parse_object(const char *line, cb_json_object *obj) {
  memset(obj, 0, sizeof *obj);
  if (!line) return cb_error(CB_ERR_INVALID, "cb_json_parse_object: no line");
  /* Decoded strings are never longer than their JSON, but a number's copy
   * needs one byte more than its text (the NUL): twice the line is always
   * enough. */
  size_t len = strlen(line);
  obj->text = malloc(2 * len + 2);
  if (!obj->text) return cb_error(CB_ERR_NOMEM, "out of memory reading a line of %zu bytes", len);
  reader r = {line, line, obj->text};
  cb_status st = read_object(&r, obj);
  if (st != CB_OK) obj->n = 0;
  return st;
}

void cb_json_object_free(cb_json_object *obj) {
  if (!obj) return;
  free(obj->text);
  obj->text = NULL;
  obj->n = 0;
}

const cb_json_field *cb_json_find(const cb_json_object *obj, const char *key) {
  for (int i = 0; i < obj->n; i++)
    if (strcmp(obj->fields[i].key, key) == 0) return &obj->fields[i];
  return NULL;
}

/* The field key, which must have type t. */
static cb_status get_typed(const cb_json_object *obj, const char *key, cb_json_type t,
                           const cb_json_field **out) {
  static const char *const names[] = {"a string", "a number"};
  *out = cb_json_find(obj, key);
  if (!*out) return cb_error(CB_ERR_PARSE, "missing key \"%s\"", key);
  if ((*out)->type != t)
    return cb_error(CB_ERR_PARSE, "\"%s\" must be %s, not %s", key, names[t], names[(*out)->type]);
  return CB_OK;
}

cb_status cb_json_get_string(const cb_json_object *obj, const char *key, const char **out) {
  const cb_json_field *f;
  cb_status st = get_typed(obj, key, CB_JSON_STRING, &f);
  *out = st == CB_OK ? f->str : NULL;
  return st;
}

cb_status cb_json_get_number(const cb_json_object *obj, const char *key, double *out) {
  const cb_json_field *f;
  cb_status st = get_typed(obj, key, CB_JSON_NUMBER, &f);
  *out = st == CB_OK ? f->num : 0;
  return st;
}

cb_status cb_json_check_keys(const cb_json_object *obj, const char *const *known) {
  for (int i = 0; i < obj->n; i++) {
    const char *const *k = known;
    while (*k && strcmp(*k, obj->fields[i].key) != 0) k++;
    if (!*k) return cb_error(CB_ERR_PARSE, "unknown key \"%s\"", obj->fields[i].key);
  }
  return CB_OK;
}

/* ---- writing --------------------------------------------------------------------- */

/* The separator before the next field, and its key. */
static void put_key(cb_json_writer *w, const char *key) {
  fputs(w->fields++ ? ", " : "{", w->f);
  cb_json_string(w->f, key);
  fputs(": ", w->f);
}

void cb_json_begin(cb_json_writer *w, FILE *f) {
  w->f = f;
  w->fields = 0;
}

void cb_json_put_string(cb_json_writer *w, const char *key, const char *value) {
  put_key(w, key);
  cb_json_string(w->f, value ? value : "");
}

cb_status cb_json_put_number(cb_json_writer *w, const char *key, double value) {
  put_key(w, key);
  if (!isfinite(value)) {
    fputc('0', w->f);
    return cb_error(CB_ERR_INVALID, "\"%s\": %g cannot be written in JSON", key, value);
  }
  /* %.17g always reads back exactly but turns 0.1 into
   * 0.10000000000000001; the fewest digits that read back are kinder to
   * people reading the file. %g never writes anything JSON refuses for a
   * finite value ("1e+20" and "-0" are JSON). */
  char buf[32];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, value);
    if (strtod(buf, NULL) == value) break;
  }
  fputs(buf, w->f);
  return CB_OK;
}

void cb_json_put_int(cb_json_writer *w, const char *key, int64_t value) {
  put_key(w, key);
  fprintf(w->f, "%lld", (long long)value);
}

void cb_json_end(cb_json_writer *w) {
  fputs(w->fields ? "}\n" : "{}\n", w->f);
  w->fields = 0;
}
