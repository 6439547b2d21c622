/* registry.c: the backends compiled into this build, and the small helpers
 * every caller of a variant needs (find, open, run once).
 *
 * Backends are listed in one static table; a backend's presence here means
 * it was compiled, not that its library or device works: cb_ctx_open() asks
 * the backend's init(), which says CB_ERR_UNAVAILABLE and why. */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

extern const cb_backend cb_backend_ref;
#ifdef CB_HAVE_CPU
extern const cb_backend cb_backend_cpu;
#endif
#ifdef CB_HAVE_OPENBLAS
extern const cb_backend cb_backend_openblas;
#endif
#ifdef CB_HAVE_ONEDNN
extern const cb_backend cb_backend_onednn;
#endif
#ifdef CB_HAVE_FFTW
extern const cb_backend cb_backend_fftw;
#endif
#ifdef CB_HAVE_CUDA
extern const cb_backend cb_backend_cuda;
#endif
#ifdef CB_HAVE_CUBLAS
extern const cb_backend cb_backend_cublas;
#endif
#ifdef CB_HAVE_CUDNN
extern const cb_backend cb_backend_cudnn;
#endif
#ifdef CB_HAVE_CUFFT
extern const cb_backend cb_backend_cufft;
#endif

/* Which backends exist is decided at build time (CMake's CB_WITH_*
 * options and whether the library was found). */
static const cb_backend *const backends[] = {
    &cb_backend_ref,
#ifdef CB_HAVE_CPU
    &cb_backend_cpu,
#endif
#ifdef CB_HAVE_OPENBLAS
    &cb_backend_openblas,
#endif
#ifdef CB_HAVE_ONEDNN
    &cb_backend_onednn,
#endif
#ifdef CB_HAVE_FFTW
    &cb_backend_fftw,
#endif
#ifdef CB_HAVE_CUDA
    &cb_backend_cuda,
#endif
#ifdef CB_HAVE_CUBLAS
    &cb_backend_cublas,
#endif
#ifdef CB_HAVE_CUDNN
    &cb_backend_cudnn,
#endif
#ifdef CB_HAVE_CUFFT
    &cb_backend_cufft,
#endif
    NULL,
};

const cb_backend *const *cb_backends(void) {
  return backends;
}

const cb_backend *cb_backend_find(const char *name) {
  for (const cb_backend *const *b = backends; *b; b++)
    if (strcmp((*b)->name, name) == 0) return *b;
  return NULL;
}

const cb_variant *cb_variant_find(const cb_backend *b, cb_op op, const char *name) {
  if (!b || op < 0 || op >= CB_OP_COUNT || !b->variants[op]) return NULL;
  for (const cb_variant *const *v = b->variants[op]; *v; v++)
    if (strcmp((*v)->name, name) == 0) return *v;
  return NULL;
}

cb_status cb_ctx_open(const cb_backend *b, int threads, cb_ctx **out) {
  return cb_ctx_open_on(b, threads, 0, out);
}

cb_status cb_ctx_open_on(const cb_backend *b, int threads, int device, cb_ctx **out) {
  *out = NULL;
  if (device < 0) return cb_error(CB_ERR_INVALID, "device index %d is negative", device);
  if (b->api_version != CB_API_VERSION)
    return cb_error(CB_ERR_UNAVAILABLE, "backend %s was built for kernel API %d, this build has %d",
                    b->name, b->api_version, CB_API_VERSION);
  cb_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return cb_error(CB_ERR_NOMEM, "out of memory opening backend %s", b->name);
  ctx->backend = b;
  ctx->threads = threads > 0 ? threads : 1;
  ctx->device = device;
  if (b->init) {
    cb_status st = b->init(ctx);
    if (st != CB_OK) {
      free(ctx);
      return st;
    }
  }
  *out = ctx;
  return CB_OK;
}

void cb_ctx_close(cb_ctx *ctx) {
  if (!ctx) return;
  if (ctx->backend->fini) ctx->backend->fini(ctx);
  free(ctx);
}

void cb_variant_default_params(const cb_variant *v, int *out) {
  for (int i = 0; i < CB_MAX_PARAMS; i++) out[i] = i < v->nparams ? v->params[i].def : 0;
}

cb_status cb_variant_exec(cb_ctx *ctx, const cb_variant *v, const cb_problem *p, const int *params,
                          const cb_args *args) {
  int defaults[CB_MAX_PARAMS];
  if (!params) {
    cb_variant_default_params(v, defaults);
    params = defaults;
  }
  if (p->op != v->op)
    return cb_error(CB_ERR_INVALID, "variant %s computes %s, not %s", v->name, cb_op_name(v->op),
                    cb_op_name(p->op));
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  if (v->supports && (st = v->supports(ctx, p, params)) != CB_OK) return st;

  size_t bytes = 0;
  if (v->workspace && (st = v->workspace(ctx, p, params, &bytes)) != CB_OK) return st;
  void *ws = NULL;
  if (bytes) {
    if (ctx->backend->alloc)
      st = ctx->backend->alloc(ctx, bytes, &ws);
    else if (!(ws = malloc(bytes)))
      st =
          cb_error(CB_ERR_NOMEM, "variant %s: cannot allocate %zu workspace bytes", v->name, bytes);
    if (st != CB_OK) return st;
  }
  void *plan = NULL;
  if (v->plan_create) st = v->plan_create(ctx, p, params, &plan);
  if (st == CB_OK) st = v->run(ctx, p, params, plan, args, ws);
  if (plan && v->plan_destroy) v->plan_destroy(plan);
  if (ws) {
    if (ctx->backend->free)
      ctx->backend->free(ctx, ws);
    else
      free(ws);
  }
  return st;
}
