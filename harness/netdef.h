/* netdef.h: the network definition language, parsed into a flat list of
 * layer statements.
 *
 * A netdef is text, one statement per line (`kind key=value ...`, `#`
 * comments). The parser expands blocks and repeats, scopes and resolves
 * layer names, checks every key against the layer kind's key list, and
 * reports the first error as `file:line:col: message`. It does not know
 * shapes: the net builder (net.h) reads the values and computes shapes.
 * The full grammar is in docs/netdef.md. */
#ifndef CB_NETDEF_H
#define CB_NETDEF_H

#include "kernels.h"

/* One key=value pair as written (value after $-substitution). */
typedef struct cb_kv {
  char *key;
  char *val;
  int line, col; /* position of the key; the value starts at col + strlen(key) + 1 */
} cb_kv;

/* One layer statement after expansion. */
typedef struct cb_stmt {
  char *kind; /* layer kind: "conv", "relu", ... (or "net", "shapes", "solver") */
  char *name; /* fully qualified ("inception_3a/1x1"); auto-named "relu3" when unnamed */
  int nin;    /* 0: the input is the previous layer's output */
  char **in;  /* fully qualified names of earlier layers, or "data" for the net input */
  int nkv;    /* every key but name= and in= */
  cb_kv *kv;
  const char *file; /* the netdef's path, owned by cb_netdef */
  int line, col;    /* where the statement's kind word is written */
  char *where; /* for statements expanded from a block: " (in block B at FILE:L:C)", else NULL */
} cb_stmt;

typedef struct cb_netdef {
  char *path;      /* as given; used in every message */
  bool is_shapes;  /* a .shapes file: a `shapes` header, every layer has its own input= */
  cb_stmt header;  /* the `net` or `shapes` statement */
  bool has_solver; /* a `solver` statement was given */
  cb_stmt solver;
  int n; /* layers in order */
  cb_stmt *stmts;
} cb_netdef;

/* Reads and parses path. CB_ERR_IO when it cannot be read, CB_ERR_PARSE
 * with "path:line:col: message" otherwise. */
cb_status cb_netdef_load(const char *path, cb_netdef **out);

/* Parses text; path is used only in messages. */
cb_status cb_netdef_parse(const char *path, const char *text, cb_netdef **out);

void cb_netdef_free(cb_netdef *nd);

/* ---- typed access to a statement's values ---------------------------------
 * Each returns def when the key is absent, and CB_ERR_PARSE with
 * "file:line:col: layer NAME: ..." (col of the value) when the value is
 * malformed or outside [min, max]. */

const cb_kv *cb_stmt_find(const cb_stmt *st, const char *key);
cb_status cb_stmt_int(const cb_stmt *st, const char *key, int64_t def, int64_t min, int64_t max,
                      int64_t *out);
cb_status cb_stmt_float(const cb_stmt *st, const char *key, double def, double min, double max,
                        double *out);
cb_status cb_stmt_str(const cb_stmt *st, const char *key, const char *def, const char **out);
/* choices is NULL-terminated; *out is the index of the value in it. */
cb_status cb_stmt_enum(const cb_stmt *st, const char *key, const char *const *choices, int def,
                       int *out);
/* "CxHxW", "HxW" or "C": fills dims (unwritten ones stay as given) and
 * the count of numbers read. */
cb_status cb_stmt_shape(const cb_stmt *st, const char *key, int64_t dims[3], int *ndims);

/* Formats "file:line:col: layer NAME: message" (col of kv's value when kv
 * is given, else of the statement), appends the block trace, records it
 * with cb_error() and returns s. */
cb_status cb_stmt_error(cb_status s, const cb_stmt *st, const cb_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
