/* choose.c: the fixed and tuned rules that pick the kernel of one
 * problem, the heuristic preference table, and the cache lookup the tuned
 * rule asks first. */
#include "choose.h"

#include <stdio.h>
#include <string.h>

/* ---- the heuristic default, as data --------------------------------------------- */

/* Best first on a host: oneDNN's JIT kernels, then ours, then the library
 * GEMM and FFT backends. Every op prefers the same order today; a row per
 * op is where a different order would go. */
static const char *const host_preference[] = {"onednn", "cpu", "openblas", "fftw", NULL};

static const char *const *const heuristic_table[CB_OP_COUNT] = {
    [CB_OP_CONV_FWD] = host_preference,
    [CB_OP_CONV_BWD_DATA] = host_preference,
    [CB_OP_CONV_BWD_FILTER] = host_preference,
    [CB_OP_GEMM] = host_preference,
};

const char *const *cb_heuristic_backends(cb_op op) {
  static const char *const none[] = {NULL};
  return (unsigned)op < CB_OP_COUNT && heuristic_table[op] ? heuristic_table[op] : none;
}

/* ---- the fixed rule ------------------------------------------------------------------ */

const cb_variant *cb_first_supporting(cb_ctx *ctx, const cb_problem *p) {
  const cb_variant *const *list = ctx ? ctx->backend->variants[p->op] : NULL;
  for (; list && *list; list++) {
    int params[CB_MAX_PARAMS];
    cb_variant_default_params(*list, params);
    if (!(*list)->supports || (*list)->supports(ctx, p, params) == CB_OK) return *list;
  }
  return NULL;
}

cb_status cb_choose_fixed(cb_ctx *ctx, cb_ctx *ref, const cb_problem *p, cb_pick *out) {
  memset(out, 0, sizeof *out);
  out->ctx = ctx;
  out->variant = cb_first_supporting(ctx, p);
  if (!out->variant && ref && ref != ctx) {
    out->ctx = ref;
    out->variant = cb_first_supporting(ref, p);
    out->fallback = true;
  }
  if (!out->variant) {
    char key[CB_KEY_MAX];
    cb_problem_key(p, key, sizeof key);
    return cb_error(CB_ERR_UNSUPPORTED, "no variant of %s supports %s",
                    ctx ? ctx->backend->name : "(none)", key);
  }
  cb_variant_default_params(out->variant, out->params);
  return CB_OK;
}

/* The answer carries the whole reason, the longest one included. */
_Static_assert(sizeof CB_SOURCE_NOT_IN_BUILD <= sizeof((cb_pick *)0)->source,
               "cb_pick.source is too short");

/* ---- the tuned rule ------------------------------------------------------------------ */

/* The heuristic default: the first preferred backend with a variant that
 * supports p, else ref; source records why the cache was not used. */
static cb_status choose_heuristic(const cb_chooser *c, const cb_problem *p, cb_pick *out,
                                  const char *why) {
  const char *const *names = c->heuristic ? c->heuristic : cb_heuristic_backends(p->op);
  for (; *names; names++) {
    /* A backend this build lacks is skipped without opening anything. */
    cb_ctx *ctx = cb_backend_find(*names) ? c->open(c->open_user, *names) : NULL;
    const cb_variant *v = ctx ? cb_first_supporting(ctx, p) : NULL;
    if (v) {
      memset(out, 0, sizeof *out);
      out->ctx = ctx, out->variant = v;
      cb_variant_default_params(v, out->params);
      snprintf(out->source, sizeof out->source, "%s", why);
      return CB_OK;
    }
  }
  cb_status st = cb_choose_fixed(c->ref, c->ref, p, out);
  snprintf(out->source, sizeof out->source, "%s", why);
  return st;
}

cb_status cb_choose(const cb_chooser *c, const cb_problem *p, cb_pick *out) {
  cb_choice ch;
  if (!c->lookup || c->lookup(c->lookup_user, p, &ch) != CB_OK)
    return choose_heuristic(c, p, out, CB_SOURCE_HEURISTIC);
  /* A cached name is only a claim: this build may lack the backend or
   * the variant, or have changed its parameters or its rules. */
  cb_ctx *ctx = c->open(c->open_user, ch.backend);
  const cb_variant *v = ctx ? cb_variant_find(ctx->backend, p->op, ch.variant) : NULL;
  if (!v || ch.nparams != v->nparams) return choose_heuristic(c, p, out, CB_SOURCE_NOT_IN_BUILD);
  int params[CB_MAX_PARAMS];
  cb_variant_default_params(v, params);
  memcpy(params, ch.params, (size_t)ch.nparams * sizeof *params);
  if (v->supports && v->supports(ctx, p, params) != CB_OK)
    return choose_heuristic(c, p, out, CB_SOURCE_CHOICE_UNSUPPORTED);
  memset(out, 0, sizeof *out);
  out->ctx = ctx, out->variant = v;
  memcpy(out->params, params, sizeof out->params);
  snprintf(out->source, sizeof out->source, "%s", ch.source);
  return CB_OK;
}

/* ---- the cache as a lookup ----------------------------------------------------------- */

cb_status cb_choose_cached(void *user, const cb_problem *p, cb_choice *out) {
  const cb_cache_chooser *c = user;
  cb_cache_entry e;
  cb_cache_source src;
  cb_status st = cb_cache_lookup(c->db, p, c->device_fp, c->build_fp, &e, &src);
  if (st != CB_OK || src == CB_CACHE_MISS) return CB_ERR_UNSUPPORTED;
  memset(out, 0, sizeof *out);
  snprintf(out->backend, sizeof out->backend, "%s", e.backend);
  snprintf(out->variant, sizeof out->variant, "%s", e.variant);
  memcpy(out->params, e.params, sizeof out->params);
  out->nparams = e.nparams;
  snprintf(out->source, sizeof out->source, "%s", cb_cache_source_name(src));
  return CB_OK;
}
