/* netdef.c: the netdef parser (the format is docs/netdef.md).
 *
 * Two passes over the text:
 *   1. split it into statements and tokens, and check everything that does
 *      not depend on how blocks are used: statement words, layer kinds and
 *      keys, block parameters, $variables (they are lexically scoped, so
 *      this is static), and the nesting of block / repeat / end;
 *   2. expand repeats and block instances into the flat list of layer
 *      statements: substitute variables, name unnamed layers, resolve in=
 *      names in scope, check input counts and duplicate names.
 * The first error stops everything, so pass-1 errors anywhere in the file
 * are reported before expansion errors. Every allocation is owned by the
 * cb_netdef being built (or freed on the spot), so an error path only has
 * to call cb_netdef_free(). */
#include "netdef.h"

#include "layer.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guards against runaway input: a few nested repeats multiply quickly. */
enum {
  MAX_LAYERS = 100000, /* layer statements after expansion */
  MAX_DEPTH = 32,      /* nested block instances and repeats */
  MAX_REPEAT = 10000,  /* iterations of one repeat */
  MAX_PARAMS = 256,    /* parameters of one block */
};
#define MAX_BYTES ((size_t)64 << 20) /* input text, and text made by expansion */

#define TRY(x)                                                                                     \
  do {                                                                                             \
    cb_status try_st_ = (x);                                                                       \
    if (try_st_ != CB_OK) return try_st_;                                                          \
  } while (0)

/* ---- pass-1 structures ---------------------------------------------------- */

/* A run of non-blank characters, pointing into the text. */
typedef struct tok {
  const char *s;
  int len;
  int keylen; /* bytes before the first '=', or -1 for a bare word */
  int col;
} tok;

typedef enum rkind { R_HEADER, R_SOLVER, R_BLOCK, R_REPEAT, R_END, R_LAYER, R_INSTANCE } rkind;

/* One statement as written. */
typedef struct raw {
  rkind kind;
  int line, col; /* of the statement word */
  const char *word;
  int wlen;
  int tok0, ntok;          /* the tokens after the word: toks[tok0 .. tok0 + ntok) */
  int match;               /* R_BLOCK, R_REPEAT: index of the matching end */
  int block;               /* R_INSTANCE: index of the block's definition */
  const cb_layer_ops *ops; /* R_LAYER */
} raw;

/* ---- a string-keyed hash table -------------------------------------------- */

typedef enum ekind { E_OTHER, E_LAYER, E_INSTANCE } ekind; /* E_OTHER: counters, blocks */

typedef struct entry {
  char *key; /* owned; NULL for an empty slot */
  ekind kind;
  int line, col; /* where the name was first defined */
  char *target;  /* E_INSTANCE: its output layer; NULL while the instance expands */
  int value;     /* counters: the last number used; blocks: the definition's index */
} entry;

typedef struct table {
  entry *e;
  size_t cap, n;
} table;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static entry *table_find(const table *t, const char *key) {
  if (!t->cap) return NULL;
  for (size_t i = hash_str(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (!t->e[i].key) return NULL;
    if (strcmp(t->e[i].key, key) == 0) return &t->e[i];
  }
}

/* Adds key (taking ownership; it must not be present). NULL when out of
 * memory, key freed. Pointers to entries die at the next add. */
static entry *table_add(table *t, char *key) {
  if ((t->n + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    entry *e = calloc(cap, sizeof *e);
    if (!e) {
      free(key);
      return NULL;
    }
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->e[i].key) continue;
      size_t j = hash_str(t->e[i].key) & (cap - 1);
      while (e[j].key) j = (j + 1) & (cap - 1);
      e[j] = t->e[i];
    }
    free(t->e);
    t->e = e;
    t->cap = cap;
  }
  size_t i = hash_str(key) & (t->cap - 1);
  while (t->e[i].key) i = (i + 1) & (t->cap - 1);
  t->e[i] = (entry){.key = key};
  t->n++;
  return &t->e[i];
}

static void table_free(table *t) {
  for (size_t i = 0; i < t->cap; i++) {
    free(t->e[i].key);
    free(t->e[i].target);
  }
  free(t->e);
  *t = (table){0};
}

/* ---- the parser ------------------------------------------------------------- */

typedef struct parser {
  const char *path, *text;
  raw *raws;
  int nraw, craw;
  tok *toks;
  int ntok, ctok;
  bool is_shapes;
  table blocks;   /* block name -> index of its definition (value) */
  table names;    /* fully qualified layer and instance names */
  table counters; /* "scope\x01kind" -> last auto-name number */
  cb_netdef *nd;
  int cstmt;    /* capacity of nd->stmts */
  size_t bytes; /* text allocated by expansion so far */
} parser;

/* A block instance being expanded, or the top level (block < 0). */
typedef struct scope {
  const struct scope *up;
  const char *prefix; /* "" at the top level, "a/b/" inside instance b of instance a */
  int block;          /* index of the block's definition */
  char **vals;        /* the parameters' values, in definition order */
  char **in;          /* @in: fully qualified names */
  int nin;
  int first;         /* nd->n when the instance began */
  bool in_direct;    /* @in is just the statement before the instance (or data) */
  const char *where; /* " (in block B at FILE:L:C)", NULL at the top level */
} scope;

static cb_status perr(const parser *p, int line, int col, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records "path:line:col: message[where]" and returns CB_ERR_PARSE. */
static cb_status perr(const parser *p, int line, int col, const char *where, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cb_error(CB_ERR_PARSE, "%s:%d:%d: %s%s", p->path, line, col, msg, where ? where : "");
}

/* Makes room for element n of arr, which holds *cap elements of size
 * bytes: doubles it (to first when empty) when n has reached *cap. The
 * array to keep, or NULL when out of memory (arr is then unchanged and
 * still the caller's). */
static void *grow(void *arr, int n, int *cap, int first, size_t size) {
  if (n < *cap) return arr;
  int c = *cap ? *cap * 2 : first;
  void *a = realloc(arr, size * (size_t)c);
  if (a) *cap = c;
  return a;
}

static cb_status nomem(const parser *p) {
  return cb_error(CB_ERR_NOMEM, "%s: out of memory while parsing", p->path);
}

/* A NUL-terminated copy of s[0..n), counted against the expansion limit. */
static char *xstrndup(parser *p, const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  p->bytes += n + 1;
  return d;
}

static char *xstrdup(parser *p, const char *s) {
  return xstrndup(p, s, strlen(s));
}

/* printf into a fresh string (NULL when out of memory). */

static bool word_is(const char *s, int len, const char *w) {
  return (size_t)len == strlen(w) && memcmp(s, w, (size_t)len) == 0;
}

static bool is_lower_start(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_alpha_start(char c) {
  return is_lower_start(c) || (c >= 'A' && c <= 'Z');
}
static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* [a-z_][a-z0-9_]* when lower, else [A-Za-z_][A-Za-z0-9_]*. */
static bool is_ident(const char *s, int len, bool lower) {
  if (len <= 0) return false;
  for (int i = 0; i < len; i++) {
    bool ok = lower ? is_lower_start(s[i]) : is_alpha_start(s[i]);
    if (!ok && !(i > 0 && is_digit(s[i]))) return false;
  }
  return true;
}

/* ---- "did you mean" ----------------------------------------------------------- */

typedef struct word {
  const char *s;
  int len;
} word;

/* Levenshtein distance, or a large number for long words (no suggestion). */
static int edit_distance(const char *a, int la, const char *b, int lb) {
  enum { LONGEST = 64 };
  if (la < 0 || lb < 0 || la > LONGEST || lb > LONGEST) return 1000;
  int row[LONGEST + 1];
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* Writes " (did you mean 'x'?)" into hint for the closest of the n words
 * within edit distance 2 (and not wholly different), else "". */
static void suggest(const word *w, int n, const char *s, int len, char *hint, size_t size) {
  int best = -1, best_d = 3;
  for (int i = 0; i < n; i++) {
    int d = edit_distance(s, len, w[i].s, w[i].len);
    int longer = len > w[i].len ? len : w[i].len;
    if (d < best_d && d < longer) {
      best = i;
      best_d = d;
    }
  }
  if (best >= 0)
    snprintf(hint, size, " (did you mean '%.*s'?)", w[best].len, w[best].s);
  else
    hint[0] = '\0';
}

static int word_index(const word *w, int n, const char *s, int len) {
  for (int i = 0; i < n; i++)
    if (w[i].len == len && memcmp(w[i].s, s, (size_t)len) == 0) return i;
  return -1;
}

/* Appends the NULL-terminated list to w (room for it is the caller's). */
static int add_words(word *w, int n, const char *const *list) {
  for (; list && *list; list++) w[n++] = (word){*list, (int)strlen(*list)};
  return n;
}

/* ---- pass 1: statements and tokens ------------------------------------------- */

static const char *const net_keys[] = {"name", "input", "batch", NULL};
static const char *const shapes_keys[] = {"name", "batch", NULL};
static const char *const solver_keys[] = {"type",  "lr",    "momentum", "weight_decay",
                                          "beta1", "beta2", "eps",      "policy",
                                          "gamma", "step",  "power",    NULL};
static const char *const statement_words[] = {"net",    "shapes", "solver", "block",
                                              "repeat", "end",    NULL};

static const tok *tok_at(const parser *p, const raw *r, int j) {
  return &p->toks[r->tok0 + j];
}

/* The j-th parameter of block definition b: a bare name (required) or
 * name=default. */
static const tok *block_param(const parser *p, int b, int j) {
  return tok_at(p, &p->raws[b], j + 1);
}

static int block_nparams(const parser *p, int b) {
  return p->raws[b].ntok - 1;
}

static int param_len(const tok *t) {
  return t->keylen >= 0 ? t->keylen : t->len;
}

static int param_index(const parser *p, int b, const char *s, int len) {
  if (b < 0) return -1;
  for (int j = 0; j < block_nparams(p, b); j++) {
    const tok *t = block_param(p, b, j);
    if (param_len(t) == len && memcmp(t->s, s, (size_t)len) == 0) return j;
  }
  return -1;
}

/* Finds the variable at v[k] == '$': `$name` or `${name}`. Returns 0 and
 * the name's start, length and the end of the reference; 1 when no name
 * follows; 2 for a '${' without '}'. */
static int var_at(const char *v, int n, int k, int *ns, int *nl, int *end) {
  if (k + 1 < n && v[k + 1] == '{') {
    const char *close = memchr(v + k + 2, '}', (size_t)(n - k - 2));
    if (!close) return 2;
    *ns = k + 2;
    *nl = (int)(close - v) - *ns;
    *end = (int)(close - v) + 1;
    return is_ident(v + *ns, *nl, false) ? 0 : 1;
  }
  int e = k + 1;
  if (e < n && is_alpha_start(v[e]))
    while (e < n && (is_alpha_start(v[e]) || is_digit(v[e]))) e++;
  *ns = k + 1;
  *nl = e - k - 1;
  *end = e;
  return *nl > 0 ? 0 : 1;
}

/* Checks every $variable in v[0..n) (written at line:col) is defined: a
 * parameter of block b (-1: none), or i inside a repeat. */
static cb_status check_vars(const parser *p, int line, int col, const char *v, int n, int b,
                            bool in_repeat) {
  for (int k = 0; k < n; k++) {
    if (v[k] != '$') continue;
    int ns, nl, end;
    int bad = var_at(v, n, k, &ns, &nl, &end);
    if (bad == 1) return perr(p, line, col + k, NULL, "expected a variable name after '$'");
    if (bad == 2) return perr(p, line, col + k, NULL, "unclosed '${'");
    bool is_i = nl == 1 && v[ns] == 'i' && in_repeat;
    if (!is_i && param_index(p, b, v + ns, nl) < 0)
      return perr(p, line, col + k, NULL, "undefined variable '$%.*s'", nl, v + ns);
    k = end - 1;
  }
  return CB_OK;
}

/* Checks t is key=value: a lower-case identifier, '=', a non-empty value
 * without '='. */
static cb_status check_pair(const parser *p, int line, const tok *t) {
  if (t->keylen > 0 && is_ident(t->s, t->keylen, true)) {
    if (t->keylen == t->len - 1)
      return perr(p, line, t->col, NULL, "missing value after '%.*s'", t->len, t->s);
    if (!memchr(t->s + t->keylen + 1, '=', (size_t)(t->len - t->keylen - 1))) return CB_OK;
  }
  return perr(p, line, t->col, NULL, "expected key=value, found '%.*s'", t->len, t->s);
}

/* Checks every token of r is key=value with a key from keys, none twice,
 * and its $variables defined. what names the statement in messages; a
 * block instance says "parameter" rather than "key". */
static cb_status check_keys(const parser *p, const raw *r, const word *keys, int nkeys,
                            const char *what, bool params, int b, bool in_repeat) {
  for (int j = 0; j < r->ntok; j++) {
    const tok *t = tok_at(p, r, j);
    TRY(check_pair(p, r->line, t));
    bool is_layer = r->kind == R_LAYER || r->kind == R_INSTANCE;
    if (p->is_shapes && is_layer && word_is(t->s, t->keylen, "in"))
      return perr(p, r->line, t->col, NULL, "'in=' is not allowed in a shapes file");
    if (word_index(keys, nkeys, t->s, t->keylen) < 0) {
      char hint[160];
      suggest(keys, nkeys, t->s, t->keylen, hint, sizeof hint);
      return perr(p, r->line, t->col, NULL, "%s: unknown %s '%.*s'%s", what,
                  params ? "parameter" : "key", t->keylen, t->s, hint);
    }
    for (int k = 0; k < j; k++) {
      const tok *u = tok_at(p, r, k);
      if (u->keylen == t->keylen && memcmp(u->s, t->s, (size_t)t->keylen) == 0)
        return perr(p, r->line, t->col, NULL, "duplicate key '%.*s'", t->keylen, t->s);
    }
    TRY(check_vars(p, r->line, t->col + t->keylen + 1, t->s + t->keylen + 1, t->len - t->keylen - 1,
                   b, in_repeat));
  }
  return CB_OK;
}

static bool has_key(const parser *p, const raw *r, const char *key) {
  for (int j = 0; j < r->ntok; j++)
    if (word_is(tok_at(p, r, j)->s, tok_at(p, r, j)->keylen, key)) return true;
  return false;
}

/* Parses a repeat count: digits only, 1 to MAX_REPEAT; -1 otherwise. */
static int parse_count(const char *s, int len) {
  int v = 0;
  if (len <= 0 || len > 5) return -1;
  for (int i = 0; i < len; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= 1 && v <= MAX_REPEAT ? v : -1;
}

static cb_status bad_count(const parser *p, int line, int col, const char *where, const char *s,
                           int len) {
  return perr(p, line, col, where, "repeat count must be an integer from 1 to %d, found '%.*s'",
              MAX_REPEAT, len, s);
}

/* What pass 1 knows while it walks the statements. */
typedef struct nesting {
  int *open; /* indices of the unclosed block / repeat statements */
  int depth, cap;
  int block;  /* the open block's definition, or -1 */
  int solver; /* the solver statement, or -1 */
} nesting;

static cb_status check_header(parser *p, raw *r) {
  if (!word_is(r->word, r->wlen, "net") && !word_is(r->word, r->wlen, "shapes"))
    return perr(p, r->line, r->col, NULL,
                "the first statement must be 'net' or 'shapes', found '%.*s'", r->wlen, r->word);
  r->kind = R_HEADER;
  p->is_shapes = word_is(r->word, r->wlen, "shapes");
  word keys[4];
  int n = add_words(keys, 0, p->is_shapes ? shapes_keys : net_keys);
  TRY(check_keys(p, r, keys, n, p->is_shapes ? "shapes" : "net", false, -1, false));
  if (!p->is_shapes && !has_key(p, r, "input"))
    return perr(p, r->line, r->col, NULL, "net: missing required key 'input'");
  return CB_OK;
}

static cb_status check_block_def(parser *p, int ri, nesting *ns) {
  raw *r = &p->raws[ri];
  r->kind = R_BLOCK;
  if (ns->depth > 0) return perr(p, r->line, r->col, NULL, "'block' must be at the top level");
  if (r->ntok == 0) return perr(p, r->line, r->col, NULL, "'block' needs a name");
  const tok *name = tok_at(p, r, 0);
  if (!is_ident(name->s, name->len, false))
    return perr(p, r->line, name->col, NULL, "expected a block name, found '%.*s'", name->len,
                name->s);
  char buf[64];
  snprintf(buf, sizeof buf, "%.*s", name->len, name->s);
  bool is_word = false;
  for (const char *const *w = statement_words; *w; w++) is_word |= strcmp(buf, *w) == 0;
  if (is_word || cb_layer_kind_find(buf))
    return perr(p, r->line, name->col, NULL, "'%s' is a %s and cannot name a block", buf,
                is_word ? "statement" : "layer kind");
  char *key = xstrndup(p, name->s, (size_t)name->len);
  if (!key) return nomem(p);
  const entry *dup = table_find(&p->blocks, key);
  if (dup) {
    const raw *first = &p->raws[dup->value];
    free(key);
    return perr(p, r->line, name->col, NULL, "duplicate block '%.*s' (first at %s:%d:%d)",
                name->len, name->s, p->path, first->line, first->col);
  }
  free(key);
  if (r->ntok - 1 > MAX_PARAMS)
    return perr(p, r->line, r->col, NULL, "block %.*s: too many parameters (at most %d)", name->len,
                name->s, MAX_PARAMS);
  for (int j = 1; j < r->ntok; j++) {
    const tok *t = tok_at(p, r, j);
    if (t->keylen >= 0) {
      TRY(check_pair(p, r->line, t));
      TRY(check_vars(p, r->line, t->col + t->keylen + 1, t->s + t->keylen + 1,
                     t->len - t->keylen - 1, -1, false));
    } else if (!is_ident(t->s, t->len, true)) {
      return perr(p, r->line, t->col, NULL, "expected a parameter name, found '%.*s'", t->len,
                  t->s);
    }
    int len = param_len(t);
    if (word_is(t->s, len, "name") || word_is(t->s, len, "in"))
      return perr(p, r->line, t->col, NULL, "block %.*s: '%.*s' cannot be a parameter", name->len,
                  name->s, len, t->s);
    for (int k = 1; k < j; k++) {
      const tok *u = tok_at(p, r, k);
      if (param_len(u) == len && memcmp(u->s, t->s, (size_t)len) == 0)
        return perr(p, r->line, t->col, NULL, "block %.*s: duplicate parameter '%.*s'", name->len,
                    name->s, len, t->s);
    }
  }
  ns->block = ri;
  return CB_OK;
}

static bool in_repeat(const nesting *ns);

static cb_status check_repeat(parser *p, raw *r, const nesting *ns) {
  r->kind = R_REPEAT;
  if (r->ntok == 0) return perr(p, r->line, r->col, NULL, "'repeat' needs a count");
  const tok *t = tok_at(p, r, 0);
  if (t->keylen >= 0)
    return perr(p, r->line, t->col, NULL, "expected a repeat count, found '%.*s'", t->len, t->s);
  if (r->ntok > 1) {
    const tok *u = tok_at(p, r, 1);
    return perr(p, r->line, u->col, NULL, "unexpected '%.*s' after the repeat count", u->len, u->s);
  }
  if (memchr(t->s, '$', (size_t)t->len)) /* its own $i is not defined yet */
    return check_vars(p, r->line, t->col, t->s, t->len, ns->block, in_repeat(ns));
  if (parse_count(t->s, t->len) < 0) return bad_count(p, r->line, t->col, NULL, t->s, t->len);
  return CB_OK;
}

static cb_status check_end(parser *p, int ri, nesting *ns) {
  raw *r = &p->raws[ri];
  r->kind = R_END;
  if (r->ntok > 0) {
    const tok *t = tok_at(p, r, 0);
    return perr(p, r->line, t->col, NULL, "unexpected '%.*s' after 'end'", t->len, t->s);
  }
  if (ns->depth == 0) return perr(p, r->line, r->col, NULL, "'end' without 'block' or 'repeat'");
  int oi = ns->open[--ns->depth];
  raw *o = &p->raws[oi];
  o->match = ri;
  if (ri == oi + 1)
    return perr(p, o->line, o->col, NULL, "'%s' with an empty body",
                o->kind == R_BLOCK ? "block" : "repeat");
  if (o->kind == R_BLOCK) {
    /* Registered at its end, so a block cannot use itself. */
    const tok *name = tok_at(p, o, 0);
    char *key = xstrndup(p, name->s, (size_t)name->len);
    entry *e = key ? table_add(&p->blocks, key) : NULL;
    if (!e) return nomem(p);
    e->value = oi;
    ns->block = -1;
  }
  return CB_OK;
}

/* Whether $i is defined here: a repeat is open (besides the block, which
 * can only be the outermost). */
static bool in_repeat(const nesting *ns) {
  return ns->depth > (ns->block >= 0 ? 1 : 0);
}

static cb_status check_layer(parser *p, raw *r, const nesting *ns) {
  r->kind = R_LAYER;
  word keys[64];
  int n = add_words(keys, 0, r->ops->keys);
  if (n > 60) return cb_error(CB_ERR_INTERNAL, "layer kind %s has too many keys", r->ops->kind);
  keys[n++] = (word){"name", 4};
  keys[n++] = p->is_shapes ? (word){"input", 5} : (word){"in", 2};
  TRY(check_keys(p, r, keys, n, r->ops->kind, false, ns->block, in_repeat(ns)));
  if (p->is_shapes && !has_key(p, r, "input"))
    return perr(p, r->line, r->col, NULL, "%s: missing required key 'input'", r->ops->kind);
  return CB_OK;
}

static cb_status check_instance(parser *p, raw *r, const nesting *ns) {
  r->kind = R_INSTANCE;
  int b = r->block, np = block_nparams(p, b);
  word keys[MAX_PARAMS + 2];
  for (int j = 0; j < np; j++)
    keys[j] = (word){block_param(p, b, j)->s, param_len(block_param(p, b, j))};
  keys[np] = (word){"name", 4};
  keys[np + 1] = (word){"in", 2};
  char what[96];
  snprintf(what, sizeof what, "block %.*s", r->wlen, r->word);
  TRY(check_keys(p, r, keys, np + 2, what, true, ns->block, in_repeat(ns)));
  for (int j = 0; j < np; j++) {
    const tok *t = block_param(p, b, j);
    if (t->keylen < 0) {
      bool given = false;
      for (int k = 0; k < r->ntok; k++) {
        const tok *u = tok_at(p, r, k);
        given |= u->keylen == t->len && memcmp(u->s, t->s, (size_t)t->len) == 0;
      }
      if (!given)
        return perr(p, r->line, r->col, NULL, "%s: missing parameter '%.*s'", what, t->len, t->s);
    }
  }
  return CB_OK;
}

static cb_status unknown_kind(parser *p, const raw *r) {
  if (memchr(r->word, '=', (size_t)r->wlen))
    return perr(p, r->line, r->col, NULL, "expected a layer kind, found '%.*s'", r->wlen, r->word);
  int nkinds = 0;
  for (const cb_layer_ops *const *k = cb_layer_kinds(); *k; k++) nkinds++;
  word *w = malloc(sizeof *w * ((size_t)nkinds + 8 + p->blocks.n));
  if (!w) return nomem(p);
  int n = 0;
  for (const cb_layer_ops *const *k = cb_layer_kinds(); *k; k++)
    w[n++] = (word){(*k)->kind, (int)strlen((*k)->kind)};
  n = add_words(w, n, statement_words);
  for (size_t i = 0; i < p->blocks.cap; i++)
    if (p->blocks.e[i].key) w[n++] = (word){p->blocks.e[i].key, (int)strlen(p->blocks.e[i].key)};
  char hint[160];
  suggest(w, n, r->word, r->wlen, hint, sizeof hint);
  free(w);
  return perr(p, r->line, r->col, NULL, "unknown layer kind '%.*s'%s", r->wlen, r->word, hint);
}

/* Classifies statement ri and checks what can be checked before expansion. */
static cb_status check_statement(parser *p, int ri, nesting *ns) {
  raw *r = &p->raws[ri];
  if (ri == 0) return check_header(p, r);
  if (word_is(r->word, r->wlen, "net") || word_is(r->word, r->wlen, "shapes"))
    return perr(p, r->line, r->col, NULL, "'%.*s' is allowed only as the first statement", r->wlen,
                r->word);
  if (word_is(r->word, r->wlen, "solver")) {
    r->kind = R_SOLVER;
    if (ns->depth > 0) return perr(p, r->line, r->col, NULL, "'solver' must be at the top level");
    if (ns->solver >= 0)
      return perr(p, r->line, r->col, NULL, "duplicate 'solver' (first at %s:%d:%d)", p->path,
                  p->raws[ns->solver].line, p->raws[ns->solver].col);
    ns->solver = ri;
    word keys[16];
    int n = add_words(keys, 0, solver_keys);
    return check_keys(p, r, keys, n, "solver", false, -1, false);
  }
  if (word_is(r->word, r->wlen, "end")) return check_end(p, ri, ns);
  if (word_is(r->word, r->wlen, "block")) {
    TRY(check_block_def(p, ri, ns));
  } else if (word_is(r->word, r->wlen, "repeat")) {
    TRY(check_repeat(p, r, ns));
  } else {
    char *kind = xstrndup(p, r->word, (size_t)r->wlen);
    if (!kind) return nomem(p);
    const entry *blk = table_find(&p->blocks, kind);
    r->ops = cb_layer_kind_find(kind);
    free(kind);
    if (r->ops) return check_layer(p, r, ns);
    if (!blk) return unknown_kind(p, r);
    r->block = blk->value;
    return check_instance(p, r, ns);
  }
  /* A block or repeat opens a body. */
  if (ns->depth >= MAX_DEPTH)
    return perr(p, r->line, r->col, NULL,
                "blocks and repeats nested too deeply (more than %d levels)", MAX_DEPTH);
  int *o = grow(ns->open, ns->depth, &ns->cap, 8, sizeof *o);
  if (!o) return nomem(p);
  ns->open = o;
  ns->open[ns->depth++] = ri;
  return CB_OK;
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Appends the tokens of one line; *ntok is how many it had. Control
 * characters are refused, so that no message can carry them. */
static cb_status split_line(parser *p, const char *s, const char *eol, int line, int *ntok) {
  *ntok = 0;
  for (const char *q = s; q < eol && *q != '#';) {
    if (is_blank(*q)) {
      q++;
      continue;
    }
    if ((unsigned char)*q < 0x20 || *q == 0x7f)
      return perr(p, line, (int)(q - s) + 1, NULL, "unexpected control character (byte 0x%02X)",
                  (unsigned)(unsigned char)*q);
    const char *b = q;
    while (q < eol && *q != '#' && !is_blank(*q) && (unsigned char)*q >= 0x20 && *q != 0x7f) q++;
    tok *t = grow(p->toks, p->ntok, &p->ctok, 256, sizeof *t);
    if (!t) return nomem(p);
    p->toks = t;
    const char *eq = memchr(b, '=', (size_t)(q - b));
    p->toks[p->ntok++] = (tok){
        .s = b, .len = (int)(q - b), .keylen = eq ? (int)(eq - b) : -1, .col = (int)(b - s) + 1};
    (*ntok)++;
  }
  return CB_OK;
}

static cb_status pass1(parser *p) {
  nesting ns = {.block = -1, .solver = -1};
  cb_status st = CB_OK;
  int line = 1;
  for (const char *s = p->text; *s && st == CB_OK; line++) {
    const char *eol = s + strcspn(s, "\n");
    int first = p->ntok, n;
    st = split_line(p, s, eol, line, &n);
    if (st == CB_OK && n > 0) {
      raw *r = grow(p->raws, p->nraw, &p->craw, 64, sizeof *r);
      if (!r) {
        st = nomem(p);
        break;
      }
      p->raws = r;
      const tok *w = &p->toks[first];
      p->raws[p->nraw] = (raw){.line = line,
                               .col = w->col,
                               .word = w->s,
                               .wlen = w->len,
                               .tok0 = first + 1,
                               .ntok = n - 1,
                               .match = -1,
                               .block = -1};
      st = check_statement(p, p->nraw++, &ns);
    }
    s = *eol ? eol + 1 : eol;
  }
  if (st == CB_OK && p->nraw == 0)
    st = perr(p, 1, 1, NULL, "no statements (expected 'net' or 'shapes')");
  if (st == CB_OK && ns.depth > 0) {
    const raw *o = &p->raws[ns.open[ns.depth - 1]];
    st = perr(p, o->line, o->col, NULL, "'%s' without 'end'",
              o->kind == R_BLOCK ? "block" : "repeat");
  }
  free(ns.open);
  return st;
}

/* ---- pass 2: expansion ------------------------------------------------------- */

/* A growable string. */
typedef struct sbuf {
  char *s;
  size_t len, cap;
  bool oom;
} sbuf;

static void sbuf_add(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 32;
    while (cap < b->len + n + 1) cap *= 2;
    char *t = realloc(b->s, cap);
    if (!t) {
      b->oom = true;
      return;
    }
    b->s = t;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

/* *out = v[0..n) with every $variable replaced: i by the repeat iteration
 * (iter > 0), a parameter by its value in sc. Pass 1 checked they exist. */
static cb_status subst(parser *p, const scope *sc, int iter, const char *v, int n, char **out) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (int k = 0; k < n; k++) {
    int ns, nl, end;
    if (v[k] != '$' || var_at(v, n, k, &ns, &nl, &end) != 0) {
      sbuf_add(&b, v + k, 1);
      continue;
    }
    if (nl == 1 && v[ns] == 'i' && iter > 0) {
      char num[16];
      snprintf(num, sizeof num, "%d", iter);
      sbuf_add(&b, num, strlen(num));
    } else {
      int j = param_index(p, sc->block, v + ns, nl);
      if (j < 0) {
        free(b.s);
        return cb_error(CB_ERR_INTERNAL, "%s: variable '%.*s' escaped pass 1", p->path, nl, v + ns);
      }
      sbuf_add(&b, sc->vals[j], strlen(sc->vals[j]));
    }
    k = end - 1;
  }
  if (b.oom) {
    free(b.s);
    return nomem(p);
  }
  p->bytes += b.len + 1;
  *out = b.s;
  return CB_OK;
}

/* The value of token t after substitution. */
static cb_status tok_value(parser *p, const scope *sc, int iter, const tok *t, char **out) {
  int off = t->keylen >= 0 ? t->keylen + 1 : 0;
  return subst(p, sc, iter, t->s + off, t->len - off, out);
}

/* Layer and instance names: [A-Za-z0-9_.-] runs joined by single '/'. */
static bool valid_name(const char *s) {
  if (!*s || *s == '/') return false;
  for (const char *q = s; *q; q++) {
    if (*q == '/') {
      if (q[1] == '/' || q[1] == '\0') return false;
    } else if (!is_alpha_start(*q) && !is_digit(*q) && *q != '-' && *q != '.') {
      return false;
    }
  }
  return true;
}

/* Every string the parser makes counts against its expansion limit. */
static char *counted(parser *p, char *s) {
  if (s) p->bytes += strlen(s) + 1;
  return s;
}
#define xprintf(p, ...) counted((p), cb_strdup_printf(__VA_ARGS__))

/* Makes the fully qualified name for an explicit name= value. */
static cb_status qualify(parser *p, const scope *sc, const char *name, int line, int col,
                         char **out) {
  if (!valid_name(name)) return perr(p, line, col, sc->where, "invalid name '%s'", name);
  if (strcmp(name, "data") == 0)
    return perr(p, line, col, sc->where, "the name 'data' is reserved for the net input");
  size_t len = strlen(sc->prefix) + strlen(name);
  if (len >= CB_NAME_MAX)
    return perr(p, line, col, sc->where, "name '%s%s' is too long (at most %d characters)",
                sc->prefix, name, CB_NAME_MAX - 1);
  *out = xprintf(p, "%s%s", sc->prefix, name);
  return *out ? CB_OK : nomem(p);
}

/* Names an unnamed layer or instance: its kind and the next number of
 * that kind in the scope, skipping names already taken. */
static cb_status auto_name(parser *p, const scope *sc, const char *kind, int line, int col,
                           char **out) {
  char *ckey = xprintf(p, "%s\x01%s", sc->prefix, kind);
  if (!ckey) return nomem(p);
  entry *c = table_find(&p->counters, ckey);
  if (c) {
    free(ckey);
  } else if (!(c = table_add(&p->counters, ckey))) {
    return nomem(p);
  }
  for (;;) {
    char *name = xprintf(p, "%s%s%d", sc->prefix, kind, ++c->value);
    if (!name) return nomem(p);
    if (strlen(name) >= CB_NAME_MAX) {
      cb_status st = perr(p, line, col, sc->where, "name '%s' is too long (at most %d characters)",
                          name, CB_NAME_MAX - 1);
      free(name);
      return st;
    }
    if (!table_find(&p->names, name)) {
      *out = name;
      return CB_OK;
    }
    free(name);
  }
}

static cb_status check_unique(parser *p, const scope *sc, const char *fq, int line, int col) {
  const entry *e = table_find(&p->names, fq);
  if (e)
    return perr(p, line, col, sc->where, "duplicate layer name '%s' (first at %s:%d:%d)", fq,
                p->path, e->line, e->col);
  return CB_OK;
}

static cb_status add_name(parser *p, const char *fq, ekind kind, int line, int col) {
  char *key = xstrdup(p, fq);
  entry *e = key ? table_add(&p->names, key) : NULL;
  if (!e) return nomem(p);
  e->kind = kind;
  e->line = line;
  e->col = col;
  return CB_OK;
}

/* The layer an in= name refers to, looked up in sc first, then outward;
 * NULL when there is none (yet). */
static const char *lookup(const parser *p, const scope *sc, const char *name) {
  for (const scope *s = sc; s; s = s->up) {
    char key[CB_NAME_MAX];
    size_t lp = strlen(s->prefix), ln = strlen(name);
    if (lp + ln >= sizeof key) continue; /* longer than any name */
    memcpy(key, s->prefix, lp);
    memcpy(key + lp, name, ln + 1);
    const entry *e = table_find(&p->names, key);
    if (!e) continue;
    if (e->kind == E_LAYER) return e->key;
    if (e->target) return e->target; /* an instance: its output */
  }
  return NULL;
}

/* Appends a copy of name to the list (*list, *n). The array doubles
 * whenever *n reaches a power of two, so a long list costs linear time. */
static cb_status push_name(parser *p, char ***list, int *n, const char *name) {
  if ((*n & (*n - 1)) == 0) {
    char **l = realloc(*list, sizeof *l * (*n ? (size_t)*n * 2 : 1));
    if (!l) return nomem(p);
    *list = l;
  }
  if (!((*list)[*n] = xstrdup(p, name))) return nomem(p);
  (*n)++;
  return CB_OK;
}

/* How many names an in= value gives, @in counting as the block's inputs:
 * known before resolving, so a huge list is refused cheaply. */
static int count_names(const scope *sc, const char *val) {
  long long n = 0;
  for (const char *s = val;; s++) {
    size_t len = strcspn(s, ",");
    n += len == 3 && memcmp(s, "@in", 3) == 0 && sc->block >= 0 ? sc->nin : 1;
    s += len;
    if (!*s) break;
  }
  return n > INT_MAX ? INT_MAX : (int)n;
}

static cb_status too_many_inputs(parser *p, const scope *sc, int line, int col, const char *what,
                                 int max, int got) {
  return perr(p, line, col, sc->where, "%s: takes at most %d input%s (got %d)", what, max,
              max == 1 ? "" : "s", got);
}

/* Resolves an in= value (comma-separated names, @in, data) in scope sc
 * into fully qualified names appended to (*list, *n). */
static cb_status resolve_inputs(parser *p, const scope *sc, const char *val, int line, int col,
                                char ***list, int *n) {
  for (const char *s = val;; s++) {
    size_t len = strcspn(s, ",");
    char item[CB_NAME_MAX];
    if (len == 0) return perr(p, line, col, sc->where, "in=: empty name in '%s'", val);
    if (len >= sizeof item)
      return perr(p, line, col, sc->where, "in=: no earlier layer named '%.*s'", (int)len, s);
    memcpy(item, s, len);
    item[len] = '\0';
    if (strcmp(item, "@in") == 0) {
      if (sc->block < 0) return perr(p, line, col, sc->where, "'@in' outside a block");
      for (int j = 0; j < sc->nin; j++) TRY(push_name(p, list, n, sc->in[j]));
    } else if (strcmp(item, "data") == 0) {
      TRY(push_name(p, list, n, "data"));
    } else {
      const char *fq = lookup(p, sc, item);
      if (!fq) return perr(p, line, col, sc->where, "in=: no earlier layer named '%s'", item);
      TRY(push_name(p, list, n, fq));
    }
    s += len;
    if (!*s) return CB_OK;
  }
}

/* What a statement without in= reads, given the `before` statements
 * already made: the instance's in= when nothing of the instance came
 * before, else the statement just before (*direct), or data at the start
 * (also *direct). */
static void previous(const parser *p, const scope *sc, int before, char *const **names, int *n,
                     bool *direct) {
  static char data[] = "data";
  static char *const data_list[] = {data};
  if (sc->block >= 0 && before == sc->first && !sc->in_direct) {
    *names = sc->in;
    *n = sc->nin;
    *direct = false;
  } else {
    *names = before > 0 ? &p->nd->stmts[before - 1].name : data_list;
    *n = 1;
    *direct = true;
  }
}

/* Checks a layer's input count n against its kind's range. */
static cb_status count_check(parser *p, const scope *sc, const raw *r, int n, int col) {
  const cb_layer_ops *o = r->ops;
  if (n < o->min_inputs)
    return perr(p, r->line, col, sc->where, "%s: needs at least %d input%s (got %d)", o->kind,
                o->min_inputs, o->min_inputs == 1 ? "" : "s", n);
  if (n > o->max_inputs) return too_many_inputs(p, sc, r->line, col, o->kind, o->max_inputs, n);
  return CB_OK;
}

static cb_status check_size(parser *p, const raw *r, const scope *sc) {
  if (p->bytes > MAX_BYTES)
    return perr(p, r->line, r->col, sc->where, "netdef expands to more than %zu MiB of text",
                MAX_BYTES >> 20);
  return CB_OK;
}

/* Appends an empty statement owned by nd. */
static cb_stmt *new_stmt(parser *p) {
  cb_netdef *nd = p->nd;
  cb_stmt *s = grow(nd->stmts, nd->n, &p->cstmt, 64, sizeof *s);
  if (!s) return NULL;
  nd->stmts = s;
  cb_stmt *st = &nd->stmts[nd->n++];
  memset(st, 0, sizeof *st);
  return st;
}

/* Fills st's kind, position and key=value pairs from r, leaving name= and
 * in= (substituted) in *name and *in (NULL when absent), and their tokens. */
static cb_status fill_stmt(parser *p, const scope *sc, int iter, const raw *r, cb_stmt *st,
                           const char *kind, char **name, const tok **name_tok, char **in,
                           const tok **in_tok) {
  st->file = p->nd->path;
  st->line = r->line;
  st->col = r->col;
  if (!(st->kind = xstrdup(p, kind))) return nomem(p);
  if (sc->where && !(st->where = xstrdup(p, sc->where))) return nomem(p);
  /* One spare: a header may get a name= it was not given. */
  if (!(st->kv = calloc((size_t)r->ntok + 1, sizeof *st->kv))) return nomem(p);
  for (int j = 0; j < r->ntok; j++) {
    const tok *t = tok_at(p, r, j);
    char *val;
    TRY(tok_value(p, sc, iter, t, &val));
    if (name && word_is(t->s, t->keylen, "name")) {
      *name = val;
      *name_tok = t;
    } else if (in && word_is(t->s, t->keylen, "in")) {
      *in = val;
      *in_tok = t;
    } else {
      cb_kv *kv = &st->kv[st->nkv++];
      kv->val = val;
      kv->line = r->line;
      kv->col = t->col;
      if (!(kv->key = xstrndup(p, t->s, (size_t)t->keylen))) return nomem(p);
    }
  }
  return CB_OK;
}

static cb_status emit_layer_named(parser *p, const scope *sc, int iter, const raw *r, char **name,
                                  char **in) {
  const tok *in_tok = NULL, *name_tok = NULL;
  cb_stmt *st = new_stmt(p);
  if (!st) return nomem(p);
  TRY(fill_stmt(p, sc, iter, r, st, r->ops->kind, name, &name_tok, in, &in_tok));
  bool named = *name != NULL;
  int name_col = named ? name_tok->col + 5 : r->col;
  if (named)
    TRY(qualify(p, sc, *name, r->line, name_col, &st->name));
  else
    TRY(auto_name(p, sc, r->ops->kind, r->line, r->col, &st->name));
  TRY(check_unique(p, sc, st->name, r->line, name_col));
  if (!p->is_shapes) {
    int before = p->nd->n - 1;
    char *const *prev;
    int nprev;
    bool direct;
    previous(p, sc, before, &prev, &nprev, &direct);
    int col = in_tok ? in_tok->col + 3 : r->col;
    if (*in) {
      TRY(count_check(p, sc, r, count_names(sc, *in), col));
      TRY(resolve_inputs(p, sc, *in, r->line, col, &st->in, &st->nin));
    } else if (!direct || (r->ops->inplace && (named || before == 0))) {
      /* nin == 0 means "the statement before"; for relu and dropout it also
       * allows running in place, so the input is spelled out where that
       * must not happen: a named one, one reading data, one reading an
       * instance's in= rather than its neighbour. */
      for (int j = 0; j < nprev; j++) TRY(push_name(p, &st->in, &st->nin, prev[j]));
    }
    TRY(count_check(p, sc, r, st->nin ? st->nin : 1, col));
  }
  TRY(add_name(p, st->name, E_LAYER, r->line, r->col));
  return check_size(p, r, sc);
}

static cb_status emit_layer(parser *p, const scope *sc, int iter, const raw *r) {
  if (p->nd->n >= MAX_LAYERS)
    return perr(p, r->line, r->col, sc->where, "more than %d layers after expansion", MAX_LAYERS);
  char *name = NULL, *in = NULL;
  cb_status st = emit_layer_named(p, sc, iter, r, &name, &in);
  free(name);
  free(in);
  return st;
}

static cb_status expand_range(parser *p, const scope *sc, int lo, int hi, int iter, int depth);

static void scope_free(scope *s, int nparams) {
  for (int j = 0; s->vals && j < nparams; j++) free(s->vals[j]);
  free(s->vals);
  for (int j = 0; j < s->nin; j++) free(s->in[j]);
  free(s->in);
  free((char *)s->prefix);
  free((char *)s->where);
}

/* Sets up instance scope in (values, name, input) for statement r, called from sc. */
static cb_status instance_scope(parser *p, const scope *sc, int iter, const raw *r, scope *in,
                                char **fq) {
  const raw *b = &p->raws[r->block];
  int np = block_nparams(p, r->block);
  const tok *bname = tok_at(p, b, 0);
  char *name = NULL, *inval = NULL;
  const tok *in_tok = NULL, *name_tok = NULL;
  cb_status st = CB_OK;
  for (int j = 0; j < r->ntok && st == CB_OK; j++) {
    const tok *t = tok_at(p, r, j);
    char *val = NULL;
    st = tok_value(p, sc, iter, t, &val);
    if (st != CB_OK) break;
    int k = param_index(p, r->block, t->s, t->keylen);
    if (k >= 0) {
      in->vals[k] = val;
    } else if (word_is(t->s, t->keylen, "name")) {
      name = val;
      name_tok = t;
    } else {
      inval = val;
      in_tok = t;
    }
  }
  for (int j = 0; j < np && st == CB_OK; j++) {
    const tok *t = block_param(p, r->block, j);
    if (in->vals[j]) continue;
    if (t->keylen < 0) { /* pass 1 saw to this; kept for safety */
      st = perr(p, r->line, r->col, sc->where, "block %.*s: missing parameter '%.*s'", bname->len,
                bname->s, t->len, t->s);
    } else if (!(in->vals[j] =
                     xstrndup(p, t->s + t->keylen + 1, (size_t)(t->len - t->keylen - 1)))) {
      st = nomem(p);
    }
  }
  int name_col = name ? name_tok->col + 5 : r->col;
  if (st == CB_OK) {
    if (name) {
      st = qualify(p, sc, name, r->line, name_col, fq);
    } else {
      char *kind = xstrndup(p, bname->s, (size_t)bname->len);
      st = kind ? auto_name(p, sc, kind, r->line, r->col, fq) : nomem(p);
      free(kind);
    }
  }
  if (st == CB_OK) st = check_unique(p, sc, *fq, r->line, name_col);
  if (st == CB_OK) {
    if (p->is_shapes) {
      /* Layers of a shapes file stand alone: there is no @in. */
    } else if (inval) {
      int n = count_names(sc, inval);
      if (n > CB_MAX_INPUTS) {
        char what[96];
        snprintf(what, sizeof what, "block %.*s", bname->len, bname->s);
        st = too_many_inputs(p, sc, r->line, in_tok->col + 3, what, CB_MAX_INPUTS, n);
      } else {
        st = resolve_inputs(p, sc, inval, r->line, in_tok->col + 3, &in->in, &in->nin);
      }
    } else {
      char *const *prev;
      int nprev;
      previous(p, sc, p->nd->n, &prev, &nprev, &in->in_direct);
      for (int j = 0; j < nprev && st == CB_OK; j++) st = push_name(p, &in->in, &in->nin, prev[j]);
    }
  }
  if (st == CB_OK) {
    in->prefix = xprintf(p, "%s/", *fq);
    in->where =
        xprintf(p, " (in block %.*s at %s:%d:%d)", bname->len, bname->s, p->path, r->line, r->col);
    if (!in->prefix || !in->where) st = nomem(p);
  }
  free(name);
  free(inval);
  return st;
}

static cb_status expand_instance(parser *p, const scope *sc, int iter, int depth, const raw *r) {
  if (depth >= MAX_DEPTH)
    return perr(p, r->line, r->col, sc->where,
                "blocks and repeats nested too deeply (more than %d levels)", MAX_DEPTH);
  int np = block_nparams(p, r->block);
  scope in = {.up = sc, .block = r->block, .first = p->nd->n};
  char *fq = NULL;
  cb_status st = CB_OK;
  if (np > 0 && !(in.vals = calloc((size_t)np, sizeof *in.vals))) st = nomem(p);
  if (st == CB_OK) st = instance_scope(p, sc, iter, r, &in, &fq);
  /* Taken now, so nothing inside can reuse the name; it refers to the
   * instance's output only once that exists. */
  if (st == CB_OK) st = add_name(p, fq, E_INSTANCE, r->line, r->col);
  if (st == CB_OK) st = expand_range(p, &in, r->block + 1, p->raws[r->block].match, 0, depth + 1);
  if (st == CB_OK) {
    entry *e = table_find(&p->names, fq);
    if (!(e->target = xstrdup(p, p->nd->stmts[p->nd->n - 1].name))) st = nomem(p);
  }
  free(fq);
  scope_free(&in, np);
  return st;
}

static cb_status expand_repeat(parser *p, const scope *sc, int iter, int depth, int ri) {
  const raw *r = &p->raws[ri];
  if (depth >= MAX_DEPTH)
    return perr(p, r->line, r->col, sc->where,
                "blocks and repeats nested too deeply (more than %d levels)", MAX_DEPTH);
  const tok *t = tok_at(p, r, 0);
  char *v;
  TRY(tok_value(p, sc, iter, t, &v));
  int count = parse_count(v, (int)strlen(v));
  cb_status st = count < 0 ? bad_count(p, r->line, t->col, sc->where, v, (int)strlen(v)) : CB_OK;
  free(v);
  for (int i = 1; i <= count && st == CB_OK; i++)
    st = expand_range(p, sc, ri + 1, r->match, i, depth + 1);
  return st;
}

/* A header or solver statement: no substitution, no inputs, no name of
 * its own (so messages about it do not say "layer"). The header keeps
 * name= among its values, filled in from the file name when not given. */
static cb_status emit_top(parser *p, const raw *r, cb_stmt *st, bool header) {
  scope top = {.prefix = "", .block = -1};
  const char *kind = header ? (p->is_shapes ? "shapes" : "net") : "solver";
  TRY(fill_stmt(p, &top, 0, r, st, kind, NULL, NULL, NULL, NULL));
  if (!header) return CB_OK;
  const cb_kv *given = cb_stmt_find(st, "name");
  if (given) {
    if (strlen(given->val) >= CB_NAME_MAX)
      return perr(p, r->line, given->col + 5, NULL, "name '%s' is too long (at most %d characters)",
                  given->val, CB_NAME_MAX - 1);
    return CB_OK;
  }
  /* The file name without directory and extension. */
  const char *base = strrchr(p->path, '/');
  base = base ? base + 1 : p->path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  if (len == 0) base = "net", len = 3;
  if (len >= CB_NAME_MAX) len = CB_NAME_MAX - 1;
  cb_kv *kv = &st->kv[st->nkv++]; /* fill_stmt left room for it */
  kv->line = r->line;
  kv->col = r->col;
  if (!(kv->key = xstrdup(p, "name")) || !(kv->val = xstrndup(p, base, len))) return nomem(p);
  return CB_OK;
}

static cb_status expand_range(parser *p, const scope *sc, int lo, int hi, int iter, int depth) {
  for (int k = lo; k < hi; k++) {
    const raw *r = &p->raws[k];
    switch (r->kind) {
    case R_HEADER:
      break; /* done first */
    case R_SOLVER:
      p->nd->has_solver = true;
      TRY(emit_top(p, r, &p->nd->solver, false));
      break;
    case R_BLOCK:
      k = r->match;
      break;
    case R_REPEAT:
      TRY(expand_repeat(p, sc, iter, depth, k));
      k = r->match;
      break;
    case R_END:
      break; /* skipped with its opener */
    case R_LAYER:
      TRY(emit_layer(p, sc, iter, r));
      break;
    case R_INSTANCE:
      TRY(expand_instance(p, sc, iter, depth, r));
      break;
    }
  }
  return CB_OK;
}

static cb_status pass2(parser *p) {
  p->bytes = 0; /* pass 1 counted its scratch copies */
  TRY(emit_top(p, &p->raws[0], &p->nd->header, true));
  scope top = {.prefix = "", .block = -1};
  TRY(expand_range(p, &top, 1, p->nraw, 0, 0));
  if (p->nd->n == 0)
    return perr(p, p->raws[0].line, p->raws[0].col, NULL, "%s: no layers", p->nd->header.kind);
  return CB_OK;
}

/* ---- public ------------------------------------------------------------------ */

static void stmt_free(cb_stmt *st) {
  free(st->kind);
  free(st->name);
  for (int i = 0; i < st->nin; i++) free(st->in[i]);
  free(st->in);
  for (int i = 0; i < st->nkv; i++) {
    free(st->kv[i].key);
    free(st->kv[i].val);
  }
  free(st->kv);
  free(st->where);
}

void cb_netdef_free(cb_netdef *nd) {
  if (!nd) return;
  stmt_free(&nd->header);
  stmt_free(&nd->solver);
  for (int i = 0; i < nd->n; i++) stmt_free(&nd->stmts[i]);
  free(nd->stmts);
  free(nd->path);
  free(nd);
}

cb_status cb_netdef_parse(const char *path, const char *text, cb_netdef **out) {
  *out = NULL;
  if (!path) path = "<netdef>";
  parser p = {.path = path, .text = text};
  if (!text) return cb_error(CB_ERR_INVALID, "%s: no text to parse", path);
  if (strlen(text) > MAX_BYTES)
    return cb_error(CB_ERR_PARSE, "%s: netdef too large (more than %zu MiB)", path,
                    MAX_BYTES >> 20);
  cb_netdef *nd = calloc(1, sizeof *nd);
  if (!nd || !(nd->path = strdup(path))) {
    free(nd);
    return nomem(&p);
  }
  p.nd = nd;
  cb_status st = pass1(&p);
  if (st == CB_OK) st = pass2(&p);
  nd->is_shapes = p.is_shapes;
  free(p.raws);
  free(p.toks);
  table_free(&p.blocks);
  table_free(&p.names);
  table_free(&p.counters);
  if (st != CB_OK) {
    cb_netdef_free(nd);
    return st;
  }
  *out = nd;
  return CB_OK;
}

cb_status cb_netdef_load(const char *path, cb_netdef **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cb_error(CB_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
  sbuf b = {0};
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_BYTES)
    sbuf_add(&b, chunk, got);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err || b.oom) {
    free(b.s);
    return b.oom ? cb_error(CB_ERR_NOMEM, "%s: out of memory", path)
                 : cb_error(CB_ERR_IO, "cannot read '%s': %s", path, strerror(err));
  }
  sbuf_add(&b, "", 0);
  if (b.oom) {
    free(b.s);
    return cb_error(CB_ERR_NOMEM, "%s: out of memory", path);
  }
  /* A NUL byte would silently end the text early. */
  const char *nul = memchr(b.s, '\0', b.len);
  if (nul) {
    int line = 1, col = 1;
    for (const char *q = b.s; q < nul; q++, col++)
      if (*q == '\n') line++, col = 0;
    free(b.s);
    return cb_error(CB_ERR_PARSE, "%s:%d:%d: NUL byte in the text", path, line, col);
  }
  cb_status st = cb_netdef_parse(path, b.s, out);
  free(b.s);
  return st;
}
