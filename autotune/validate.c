/* validate.c: one variant against ref on small-integer data, and the
 * timing of one variant on one problem. */
#include "validate.h"

#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- buffers that live on the host or on a backend's device -------------- */

typedef struct buffer {
  float *host;
  void *dev; /* == host for host backends */
  size_t bytes;
} buffer;

static cb_status buffer_alloc(cb_ctx *ctx, int64_t count, buffer *b) {
  memset(b, 0, sizeof *b);
  b->bytes = (size_t)count * sizeof(float);
  b->host = malloc(b->bytes ? b->bytes : sizeof(float));
  if (!b->host) return cb_error(CB_ERR_NOMEM, "cannot allocate %zu bytes", b->bytes);
  if (!ctx->backend->alloc) {
    b->dev = b->host;
    return CB_OK;
  }
  return ctx->backend->alloc(ctx, b->bytes, &b->dev);
}

static void buffer_free(cb_ctx *ctx, buffer *b) {
  if (b->dev && b->dev != b->host) ctx->backend->free(ctx, b->dev);
  free(b->host);
  memset(b, 0, sizeof *b);
}

static cb_status buffer_upload(cb_ctx *ctx, buffer *b) {
  return b->dev == b->host ? CB_OK : ctx->backend->upload(ctx, b->dev, b->host, b->bytes);
}

static cb_status buffer_download(cb_ctx *ctx, buffer *b) {
  return b->dev == b->host ? CB_OK : ctx->backend->download(ctx, b->host, b->dev, b->bytes);
}

/* ---- data ------------------------------------------------------------------ */

/* Integers in [-2, 2] from a seeded LCG: exact in any summation order. */
static void fill_small_ints(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((int)((s >> 33) % 5) - 2);
  }
}

/* Uniform values in [-1, 1): what timing runs on (denormal-free, non-zero). */
static void fill_uniform(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed ^ 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((double)(s >> 40) / 8388608.0 - 1.0);
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

/* Runs ref's variant on (src0, src1) into dst, which the caller prefilled. */
static cb_status run_ref(cb_ctx *ctx, const cb_variant *v, const cb_problem *p, buffer *src0,
                         buffer *src1, buffer *dst) {
  cb_status st;
  if ((st = buffer_upload(ctx, src0)) != CB_OK || (st = buffer_upload(ctx, src1)) != CB_OK ||
      (st = buffer_upload(ctx, dst)) != CB_OK)
    return st;
  cb_args args = {src0->dev, src1->dev, dst->dev};
  if ((st = cb_variant_exec(ctx, v, p, NULL, &args)) != CB_OK) return st;
  if (ctx->backend->sync && (st = ctx->backend->sync(ctx)) != CB_OK) return st;
  return buffer_download(ctx, dst);
}

/* Runs the candidate twice on one plan, its workspace and output refilled
 * with NaN before each run (the C of a GEMM with beta != 0 restored):
 * layers share one workspace, so a variant must not depend on what the
 * previous user left there, and the second run must repeat the first
 * exactly. Compares the first run with want; a second run that differs
 * fails the check too. */
static cb_status run_candidate(cb_ctx *ctx, const cb_variant *v, const int *params,
                               const cb_problem *p, buffer *src0, buffer *src1, buffer *dst,
                               const float *dst_init, const float *want, cb_check *check) {
  int64_t n = (int64_t)(dst->bytes / sizeof(float));
  size_t ws_bytes = 0;
  buffer ws = {0};
  void *plan = NULL;
  float *first = malloc(dst->bytes ? dst->bytes : sizeof(float));
  cb_status st = first ? CB_OK : cb_error(CB_ERR_NOMEM, "out of memory");
  if (st == CB_OK && v->supports) st = v->supports(ctx, p, params);
  if (st == CB_OK && v->workspace) st = v->workspace(ctx, p, params, &ws_bytes);
  if (st == CB_OK && ws_bytes) st = buffer_alloc(ctx, (int64_t)((ws_bytes + 3) / 4), &ws);
  if (st == CB_OK && v->plan_create) st = v->plan_create(ctx, p, params, &plan);
  if (st == CB_OK) st = buffer_upload(ctx, src0);
  if (st == CB_OK) st = buffer_upload(ctx, src1);
  for (int rep = 0; rep < 2 && st == CB_OK; rep++) {
    if (ws.host) fill_nan(ws.host, (int64_t)(ws.bytes / sizeof(float)));
    memcpy(dst->host, dst_init, dst->bytes);
    cb_args args = {src0->dev, src1->dev, dst->dev};
    if ((st = buffer_upload(ctx, &ws)) != CB_OK || (st = buffer_upload(ctx, dst)) != CB_OK ||
        (st = v->run(ctx, p, params, plan, &args, ws.dev)) != CB_OK ||
        (ctx->backend->sync && (st = ctx->backend->sync(ctx)) != CB_OK) ||
        (st = buffer_download(ctx, dst)) != CB_OK)
      break;
    if (rep == 0) {
      cb_compare(dst->host, want, n, v->tolerance, check);
      memcpy(first, dst->host, dst->bytes);
    } else if (memcmp(first, dst->host, dst->bytes) != 0) {
      /* Same inputs, same plan, different answer: the result depends on
       * leftover workspace contents or on timing. */
      cb_compare(dst->host, first, n, 0, check);
      check->pass = false;
    }
  }
  if (plan && v->plan_destroy) v->plan_destroy(plan);
  buffer_free(ctx, &ws);
  free(first);
  return st;
}

cb_status cb_validate(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                      cb_ctx *ref_ctx, uint64_t seed, cb_check *check) {
  memset(check, 0, sizeof *check);
  int defaults[CB_MAX_PARAMS];
  if (!params) {
    cb_variant_default_params(v, defaults);
    params = defaults;
  }
  const cb_variant *ref =
      ref_ctx->backend->variants[p->op] ? ref_ctx->backend->variants[p->op][0] : NULL;
  if (!ref) return cb_error(CB_ERR_UNSUPPORTED, "ref has no variant for %s", cb_op_name(p->op));
  if (p->op != v->op)
    return cb_error(CB_ERR_INVALID, "variant %s computes %s, not %s", v->name, cb_op_name(v->op),
                    cb_op_name(p->op));
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  int64_t n0 = cb_problem_elems(p, 0), n1 = cb_problem_elems(p, 1), n2 = cb_problem_elems(p, 2);

  buffer a = {0}, b = {0}, out = {0}, ra = {0}, rb = {0}, rout = {0};
  float *init = malloc((size_t)n2 * sizeof(float));
  if (!init) return cb_error(CB_ERR_NOMEM, "out of memory");
  if ((st = buffer_alloc(ctx, n0, &a)) != CB_OK || (st = buffer_alloc(ctx, n1, &b)) != CB_OK ||
      (st = buffer_alloc(ctx, n2, &out)) != CB_OK ||
      (st = buffer_alloc(ref_ctx, n0, &ra)) != CB_OK ||
      (st = buffer_alloc(ref_ctx, n1, &rb)) != CB_OK ||
      (st = buffer_alloc(ref_ctx, n2, &rout)) != CB_OK)
    goto done;
  fill_small_ints(a.host, n0, seed);
  fill_small_ints(b.host, n1, seed + 1);
  memcpy(ra.host, a.host, a.bytes);
  memcpy(rb.host, b.host, b.bytes);
  /* GEMM with beta != 0 reads C: give both the same integers. Everything
   * else starts as NaN so an unwritten element cannot pass. */
  if (p->op == CB_OP_GEMM && p->gemm.beta != 0.0f)
    fill_small_ints(init, n2, seed + 2);
  else
    fill_nan(init, n2);
  memcpy(rout.host, init, rout.bytes);

  if ((st = run_ref(ref_ctx, ref, p, &ra, &rb, &rout)) != CB_OK) {
    cb_error_wrap(st, "ref: ");
    goto done;
  }
  st = run_candidate(ctx, v, params, p, &a, &b, &out, init, rout.host, check);
done:
  free(init);
  buffer_free(ctx, &a);
  buffer_free(ctx, &b);
  buffer_free(ctx, &out);
  buffer_free(ref_ctx, &ra);
  buffer_free(ref_ctx, &rb);
  buffer_free(ref_ctx, &rout);
  return st;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

cb_status cb_time_variant(cb_ctx *ctx, const cb_variant *v, const int *params, const cb_problem *p,
                          int warmup, int iters, cb_timing *t) {
  memset(t, 0, sizeof *t);
  int defaults[CB_MAX_PARAMS];
  if (!params) {
    cb_variant_default_params(v, defaults);
    params = defaults;
  }
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  if (v->supports && (st = v->supports(ctx, p, params)) != CB_OK) return st;
  int64_t n0 = cb_problem_elems(p, 0), n1 = cb_problem_elems(p, 1), n2 = cb_problem_elems(p, 2);
  buffer a = {0}, b = {0}, out = {0}, ws = {0};
  size_t ws_bytes = 0;
  void *plan = NULL;
  double *samples = calloc((size_t)(iters > 0 ? iters : 1), sizeof *samples);
  if (!samples) return cb_error(CB_ERR_NOMEM, "out of memory");
  if ((st = buffer_alloc(ctx, n0, &a)) != CB_OK || (st = buffer_alloc(ctx, n1, &b)) != CB_OK ||
      (st = buffer_alloc(ctx, n2, &out)) != CB_OK)
    goto done;
  fill_uniform(a.host, n0, 1);
  fill_uniform(b.host, n1, 2);
  fill_uniform(out.host, n2, 3);
  if ((st = buffer_upload(ctx, &a)) != CB_OK || (st = buffer_upload(ctx, &b)) != CB_OK ||
      (st = buffer_upload(ctx, &out)) != CB_OK)
    goto done;
  if (v->workspace && (st = v->workspace(ctx, p, params, &ws_bytes)) != CB_OK) goto done;
  if (ws_bytes && (st = buffer_alloc(ctx, (int64_t)((ws_bytes + 3) / 4), &ws)) != CB_OK) goto done;
  if (v->plan_create && (st = v->plan_create(ctx, p, params, &plan)) != CB_OK) goto done;
  cb_args args = {a.dev, b.dev, out.dev};
  for (int i = 0; i < warmup + iters; i++) {
    double t0 = now_ms();
    if ((st = v->run(ctx, p, params, plan, &args, ws.dev)) != CB_OK) goto done;
    if (ctx->backend->sync && (st = ctx->backend->sync(ctx)) != CB_OK) goto done;
    if (i >= warmup) samples[i - warmup] = now_ms() - t0;
  }
  cb_timing_compute(samples, iters, t);
done:
  if (plan && v->plan_destroy) v->plan_destroy(plan);
  buffer_free(ctx, &ws);
  buffer_free(ctx, &a);
  buffer_free(ctx, &b);
  buffer_free(ctx, &out);
  free(samples);
  return st;
}

/* Reads and writes `bytes` of memory so the caches hold nothing a kernel
 * is about to use. */
static void flush_caches(float *buf, size_t bytes) {
  size_t n = bytes / sizeof(float);
  for (size_t i = 0; i < n; i += 16) buf[i] += 1.0f;
}

cb_status cb_time_interleaved(const cb_candidate *cands, int n, const cb_problem *p, int warmup,
                              int iters, size_t flush_bytes, cb_timing *out) {
  memset(out, 0, (size_t)n * sizeof *out);
  if (n < 1 || iters < 1 || warmup < 0)
    return cb_error(CB_ERR_INVALID, "timing needs candidates, iters >= 1 and warmup >= 0");
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  cb_ctx *dev = cands[0].ctx;
  for (int i = 1; i < n; i++)
    if (cands[i].ctx->backend->alloc != dev->backend->alloc || cands[i].ctx->device != dev->device)
      return cb_error(CB_ERR_INVALID, "interleaved candidates must share one device");

  int64_t n0 = cb_problem_elems(p, 0), n1 = cb_problem_elems(p, 1), n2 = cb_problem_elems(p, 2);
  buffer a = {0}, b = {0}, c = {0};
  buffer *ws = calloc((size_t)n, sizeof *ws);
  void **plans = calloc((size_t)n, sizeof *plans);
  double *samples = calloc((size_t)n * (size_t)iters, sizeof *samples);
  float *flush = flush_bytes ? malloc(flush_bytes) : NULL;
  if (!ws || !plans || !samples || (flush_bytes && !flush)) {
    st = cb_error(CB_ERR_NOMEM, "out of memory for timing");
    goto done;
  }
  if (flush) memset(flush, 0, flush_bytes);
  if ((st = buffer_alloc(dev, n0, &a)) != CB_OK || (st = buffer_alloc(dev, n1, &b)) != CB_OK ||
      (st = buffer_alloc(dev, n2, &c)) != CB_OK)
    goto done;
  fill_uniform(a.host, n0, 1);
  fill_uniform(b.host, n1, 2);
  fill_uniform(c.host, n2, 3);
  if ((st = buffer_upload(dev, &a)) != CB_OK || (st = buffer_upload(dev, &b)) != CB_OK ||
      (st = buffer_upload(dev, &c)) != CB_OK)
    goto done;
  for (int i = 0; i < n; i++) {
    const cb_candidate *k = &cands[i];
    size_t bytes = 0;
    if (k->variant->supports && (st = k->variant->supports(k->ctx, p, k->params)) != CB_OK)
      goto done;
    if (k->variant->workspace &&
        (st = k->variant->workspace(k->ctx, p, k->params, &bytes)) != CB_OK)
      goto done;
    if (bytes && (st = buffer_alloc(k->ctx, (int64_t)((bytes + 3) / 4), &ws[i])) != CB_OK)
      goto done;
    if (k->variant->plan_create &&
        (st = k->variant->plan_create(k->ctx, p, k->params, &plans[i])) != CB_OK)
      goto done;
  }
  cb_args args = {a.dev, b.dev, c.dev};
  for (int round = 0; round < warmup + iters; round++) {
    for (int j = 0; j < n; j++) {
      int i = (round + j) % n;
      const cb_candidate *k = &cands[i];
      if (flush) flush_caches(flush, flush_bytes);
      double t0 = now_ms();
      if ((st = k->variant->run(k->ctx, p, k->params, plans[i], &args, ws[i].dev)) != CB_OK)
        goto done;
      if (k->ctx->backend->sync && (st = k->ctx->backend->sync(k->ctx)) != CB_OK) goto done;
      double t = now_ms() - t0;
      if (round >= warmup) samples[(size_t)i * (size_t)iters + (size_t)(round - warmup)] = t;
    }
  }
  for (int i = 0; i < n; i++)
    cb_timing_compute(samples + (size_t)i * (size_t)iters, iters, &out[i]);
done:
  for (int i = 0; plans && ws && i < n; i++) {
    if (plans[i] && cands[i].variant->plan_destroy) cands[i].variant->plan_destroy(plans[i]);
    buffer_free(cands[i].ctx, &ws[i]);
  }
  buffer_free(dev, &a);
  buffer_free(dev, &b);
  buffer_free(dev, &c);
  free(ws);
  free(plans);
  free(samples);
  free(flush);
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
