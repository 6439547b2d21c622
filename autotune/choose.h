/* choose.h: the chooser, the only code that decides which backend,
 * variant and parameters run an op.
 *
 * Two rules:
 *   fixed   a named backend: its first variant that supports the problem
 *           at default parameters, else ref's first, marked fallback.
 *   tuned   the cache's answer (exact, imported, then the same device
 *           generation: borrowed), if this build can run it (the backend
 *           opens, the variant exists with that many parameters, and its
 *           supports() accepts the problem); else the heuristic default:
 *           the first backend of a preference table held as data with a
 *           supporting variant, else ref. The answer names its source.
 *
 * The chooser works on problems, backends and the cache only; opened
 * contexts come from the caller (a net keeps a pool of them), so nothing
 * here knows about layers or nets. */
#ifndef CB_CHOOSE_H
#define CB_CHOOSE_H

#include "cache.h"

/* A kernel choice for one problem as a cache knows it: names, not code. */
typedef struct cb_choice {
  char backend[32];
  char variant[64];
  int params[CB_MAX_PARAMS];
  int nparams;
  char source[24]; /* "exact", "imported", "borrowed" */
} cb_choice;

/* Looks a problem up: CB_OK with *out filled, or CB_ERR_UNSUPPORTED for a
 * miss (the chooser then uses its heuristic default and says so). */
typedef cb_status (*cb_choose_fn)(void *user, const cb_problem *p, cb_choice *out);

/* A cb_choose_fn over the tune cache (cb_cache_lookup); user is a
 * cb_cache_chooser. */
typedef struct cb_cache_chooser {
  cb_db *db;
  const char *device_fp, *build_fp;
} cb_cache_chooser;
cb_status cb_choose_cached(void *user, const cb_problem *p, cb_choice *out);

/* The decision: a runnable kernel for one problem. */
typedef struct cb_pick {
  cb_ctx *ctx;
  const cb_variant *variant;
  int params[CB_MAX_PARAMS];
  bool fallback;   /* fixed rule only: the named backend could not run it; ref does */
  char source[48]; /* tuned rule only: "exact", "borrowed", "heuristic", ... (whole: the
                    * longest is CB_SOURCE_NOT_IN_BUILD) */
} cb_pick;

/* The source strings of the tuned rule's heuristic answers. */
#define CB_SOURCE_HEURISTIC          "heuristic"
#define CB_SOURCE_NOT_IN_BUILD       "heuristic (cached choice not in this build)"
#define CB_SOURCE_CHOICE_UNSUPPORTED "heuristic (cached choice unsupported)"

/* The first variant of ctx's backend that supports p at its default
 * parameters; NULL when none does (or ctx is NULL). */
const cb_variant *cb_first_supporting(cb_ctx *ctx, const cb_problem *p);

/* The fixed rule: ctx's first supporting variant, else (when ref is set
 * and another context) ref's, with fallback set. CB_ERR_UNSUPPORTED naming
 * the backend and problem key when neither can run it. */
cb_status cb_choose_fixed(cb_ctx *ctx, cb_ctx *ref, const cb_problem *p, cb_pick *out);

/* The heuristic preference for op: backend names, best first,
 * NULL-terminated (ref is not among them: it is the last resort). */
const char *const *cb_heuristic_backends(cb_op op);

/* Where the tuned rule gets an opened context for a backend of this
 * build: NULL when it cannot run here (cb_errmsg may say why). */
typedef cb_ctx *(*cb_ctx_open_fn)(void *user, const char *backend);

typedef struct cb_chooser {
  cb_choose_fn lookup; /* the cache (cb_choose_cached) or a stand-in; NULL: none */
  void *lookup_user;
  const char *const *heuristic; /* NULL-terminated override of the table; NULL: the table */
  cb_ctx_open_fn open;          /* contexts for the backends the answer names */
  void *open_user;
  cb_ctx *ref; /* the last resort, already open */
} cb_chooser;

/* The tuned rule (see the header comment). */
cb_status cb_choose(const cb_chooser *c, const cb_problem *p, cb_pick *out);

#endif
