/* validate.c: one variant against ref on small-integer data, and the
 * line that reproduces a result. */
#include "validate.h"

#include "devbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ------------------------------------------------------------------ */

/* Integers in [-2, 2] from a seeded LCG: exact in any summation order. */
static void fill_small_ints(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((int)((s >> 33) % 5) - 2);
  }
}

static void fill_nan(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = NAN;
}

void cb_compare(const float *got, const float *want, int64_t n, double tolerance, cb_check *check) {
  memset(check, 0, sizeof *check);
  check->tolerance = tolerance;
  double scale = 1.0;
  for (int64_t i = 0; i < n; i++)
    if (fabs((double)want[i]) > scale) scale = fabs((double)want[i]);
  if (n > 0) check->got = got[0], check->want = want[0];
  for (int64_t i = 0; i < n; i++) {
    double d = isnan(got[i]) || isnan(want[i]) ? INFINITY : fabs((double)got[i] - want[i]);
    if (d > check->max_abs) {
      check->max_abs = d;
      check->worst = i;
      check->got = got[i];
      check->want = want[i];
    }
  }
  check->max_rel = check->max_abs / scale;
  /* Exact means exact: a tolerance of 0 admits no difference at all. */
  check->pass = tolerance == 0 ? check->max_abs == 0 : check->max_rel <= tolerance;
}

/* Runs the candidate twice on one plan, its workspace and output refilled
 * with NaN before each run (the C of a GEMM with beta != 0 restored):
 * layers share one workspace, so a variant must not depend on what the
 * previous user left there, and the second run must repeat the first
 * exactly. Compares the first run with r->want; a second run that differs
 * fails the check too. */
cb_status cb_validate_against(cb_ctx *ctx, const cb_variant *v, const int *params,
                              const cb_reference *r, cb_check *check) {
  memset(check, 0, sizeof *check);
  int defaults[CB_MAX_PARAMS];
  if (!params) {
    cb_variant_default_params(v, defaults);
    params = defaults;
  }
  const cb_problem *p = &r->problem;
  if (p->op != v->op)
    return cb_error(CB_ERR_INVALID, "variant %s computes %s, not %s", v->name, cb_op_name(v->op),
                    cb_op_name(p->op));
  cb_devbuf a = {0}, b = {0}, dst = {0}, ws = {0};
  size_t ws_bytes = 0;
  void *plan = NULL;
  float *first = malloc((size_t)(r->n2 ? r->n2 : 1) * sizeof(float));
  cb_status st = first ? CB_OK : cb_error(CB_ERR_NOMEM, "out of memory");
  if (st == CB_OK && v->supports) st = v->supports(ctx, p, params);
  if (st == CB_OK && v->workspace) st = v->workspace(ctx, p, params, &ws_bytes);
  if (st == CB_OK) st = cb_devbuf_alloc(ctx, r->n0, &a);
  if (st == CB_OK) st = cb_devbuf_alloc(ctx, r->n1, &b);
  if (st == CB_OK) st = cb_devbuf_alloc(ctx, r->n2, &dst);
  if (st == CB_OK && ws_bytes) st = cb_devbuf_alloc(ctx, (int64_t)((ws_bytes + 3) / 4), &ws);
  if (st == CB_OK && v->plan_create) st = v->plan_create(ctx, p, params, &plan);
  if (st == CB_OK) {
    memcpy(a.host, r->src0, a.bytes);
    memcpy(b.host, r->src1, b.bytes);
    if ((st = cb_devbuf_upload(ctx, &a)) == CB_OK) st = cb_devbuf_upload(ctx, &b);
  }
  for (int rep = 0; rep < 2 && st == CB_OK; rep++) {
    if (ws.host) fill_nan(ws.host, (int64_t)(ws.bytes / sizeof(float)));
    memcpy(dst.host, r->dst_init, dst.bytes);
    cb_args args = {a.dev, b.dev, dst.dev};
    if ((st = cb_devbuf_upload(ctx, &ws)) != CB_OK || (st = cb_devbuf_upload(ctx, &dst)) != CB_OK ||
        (st = v->run(ctx, p, params, plan, &args, ws.dev)) != CB_OK ||
        (ctx->backend->sync && (st = ctx->backend->sync(ctx)) != CB_OK) ||
        (st = cb_devbuf_download(ctx, &dst)) != CB_OK)
      break;
    if (rep == 0) {
      cb_compare(dst.host, r->want, r->n2, v->tolerance, check);
      memcpy(first, dst.host, dst.bytes);
    } else if (memcmp(first, dst.host, dst.bytes) != 0) {
      /* Same inputs, same plan, different answer: the result depends on
       * leftover workspace contents or on timing. */
      cb_compare(dst.host, first, r->n2, 0, check);
      check->pass = false;
    }
  }
  if (plan && v->plan_destroy) v->plan_destroy(plan);
  cb_devbuf_free(ctx, &ws);
  cb_devbuf_free(ctx, &a);
  cb_devbuf_free(ctx, &b);
  cb_devbuf_free(ctx, &dst);
  free(first);
  return st;
}

void cb_reference_free(cb_reference *r) {
  free(r->src0);
  free(r->src1);
  free(r->dst_init);
  free(r->want);
  memset(r, 0, sizeof *r);
}

cb_status cb_reference_make(cb_ctx *ref_ctx, const cb_problem *p, uint64_t seed, cb_reference *r) {
  memset(r, 0, sizeof *r);
  const cb_variant *ref =
      ref_ctx->backend->variants[p->op] ? ref_ctx->backend->variants[p->op][0] : NULL;
  if (!ref) return cb_error(CB_ERR_UNSUPPORTED, "ref has no variant for %s", cb_op_name(p->op));
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  r->problem = *p;
  r->n0 = cb_problem_elems(p, 0), r->n1 = cb_problem_elems(p, 1), r->n2 = cb_problem_elems(p, 2);
  r->src0 = malloc((size_t)(r->n0 ? r->n0 : 1) * sizeof(float));
  r->src1 = malloc((size_t)(r->n1 ? r->n1 : 1) * sizeof(float));
  r->dst_init = malloc((size_t)(r->n2 ? r->n2 : 1) * sizeof(float));
  r->want = malloc((size_t)(r->n2 ? r->n2 : 1) * sizeof(float));
  if (!r->src0 || !r->src1 || !r->dst_init || !r->want) {
    cb_reference_free(r);
    return cb_error(CB_ERR_NOMEM, "out of memory for the reference of a problem");
  }
  fill_small_ints(r->src0, r->n0, seed);
  fill_small_ints(r->src1, r->n1, seed + 1);
  /* GEMM with beta != 0 reads C: give it integers too. Everything else
   * starts as NaN so an unwritten element cannot pass. */
  if (p->op == CB_OP_GEMM && p->gemm.beta != 0.0f)
    fill_small_ints(r->dst_init, r->n2, seed + 2);
  else
    fill_nan(r->dst_init, r->n2);
  memcpy(r->want, r->dst_init, (size_t)r->n2 * sizeof(float));
  /* ref is a host backend: its buffers are the host arrays. */
  cb_args args = {r->src0, r->src1, r->want};
  if ((st = cb_variant_exec(ref_ctx, ref, p, NULL, &args)) != CB_OK) {
    cb_reference_free(r);
    return cb_error_wrap(st, "ref: ");
  }
  return CB_OK;
}

cb_status cb_validate(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                      cb_ctx *ref_ctx, uint64_t seed, cb_check *check) {
  memset(check, 0, sizeof *check);
  if (p->op != v->op)
    return cb_error(CB_ERR_INVALID, "variant %s computes %s, not %s", v->name, cb_op_name(v->op),
                    cb_op_name(p->op));
  cb_reference r;
  cb_status st = cb_reference_make(ref_ctx, p, seed, &r);
  if (st != CB_OK) return st;
  st = cb_validate_against(ctx, v, params, &r, check);
  cb_reference_free(&r);
  return st;
}

void cb_repro_line(const cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                   char *buf, size_t len) {
  char key[CB_KEY_MAX];
  cb_problem_key(p, key, sizeof key);
  int n =
      snprintf(buf, len, "convbench run --backend %s --variant %s", ctx->backend->name, v->name);
  if (params && v->nparams > 0 && n > 0 && (size_t)n < len) {
    n += snprintf(buf + n, len - (size_t)n, " --params ");
    for (int i = 0; i < v->nparams && n > 0 && (size_t)n < len; i++)
      n += snprintf(buf + n, len - (size_t)n, "%s%d", i ? "," : "", params[i]);
  }
  if (n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, " %s", key);
}
