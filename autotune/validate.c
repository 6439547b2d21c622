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
  buffer a = {0}, b = {0}, dst = {0}, ws = {0};
  size_t ws_bytes = 0;
  void *plan = NULL;
  float *first = malloc((size_t)(r->n2 ? r->n2 : 1) * sizeof(float));
  cb_status st = first ? CB_OK : cb_error(CB_ERR_NOMEM, "out of memory");
  if (st == CB_OK && v->supports) st = v->supports(ctx, p, params);
  if (st == CB_OK && v->workspace) st = v->workspace(ctx, p, params, &ws_bytes);
  if (st == CB_OK) st = buffer_alloc(ctx, r->n0, &a);
  if (st == CB_OK) st = buffer_alloc(ctx, r->n1, &b);
  if (st == CB_OK) st = buffer_alloc(ctx, r->n2, &dst);
  if (st == CB_OK && ws_bytes) st = buffer_alloc(ctx, (int64_t)((ws_bytes + 3) / 4), &ws);
  if (st == CB_OK && v->plan_create) st = v->plan_create(ctx, p, params, &plan);
  if (st == CB_OK) {
    memcpy(a.host, r->src0, a.bytes);
    memcpy(b.host, r->src1, b.bytes);
    if ((st = buffer_upload(ctx, &a)) == CB_OK) st = buffer_upload(ctx, &b);
  }
  for (int rep = 0; rep < 2 && st == CB_OK; rep++) {
    if (ws.host) fill_nan(ws.host, (int64_t)(ws.bytes / sizeof(float)));
    memcpy(dst.host, r->dst_init, dst.bytes);
    cb_args args = {a.dev, b.dev, dst.dev};
    if ((st = buffer_upload(ctx, &ws)) != CB_OK || (st = buffer_upload(ctx, &dst)) != CB_OK ||
        (st = v->run(ctx, p, params, plan, &args, ws.dev)) != CB_OK ||
        (ctx->backend->sync && (st = ctx->backend->sync(ctx)) != CB_OK) ||
        (st = buffer_download(ctx, &dst)) != CB_OK)
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
  buffer_free(ctx, &ws);
  buffer_free(ctx, &a);
  buffer_free(ctx, &b);
  buffer_free(ctx, &dst);
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

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Reads and writes `bytes` of memory so the caches hold nothing a kernel
 * is about to use. */
static void flush_caches(float *buf, size_t bytes) {
  size_t n = bytes / sizeof(float);
  for (size_t i = 0; i < n; i += 16) buf[i] += 1.0f;
}

struct cb_time_session {
  const cb_candidate *cands;
  int n;
  cb_problem p;
  cb_ctx *dev; /* where the inputs live: every candidate's device */
  buffer a, b, c;
  buffer *ws;
  void **plans;
  double **samples; /* per candidate, grown as rounds run */
  int *count, *cap;
  float *flush;
  size_t flush_bytes;
  int round;
};

void cb_time_session_end(cb_time_session *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) {
    if (s->plans && s->plans[i] && s->cands[i].variant->plan_destroy)
      s->cands[i].variant->plan_destroy(s->plans[i]);
    if (s->ws) buffer_free(s->cands[i].ctx, &s->ws[i]);
    if (s->samples) free(s->samples[i]);
  }
  buffer_free(s->dev, &s->a);
  buffer_free(s->dev, &s->b);
  buffer_free(s->dev, &s->c);
  free(s->ws);
  free(s->plans);
  free(s->samples);
  free(s->count);
  free(s->cap);
  free(s->flush);
  free(s);
}

cb_status cb_time_session_begin(const cb_candidate *cands, int n, const cb_problem *p,
                                size_t flush_bytes, cb_time_session **out) {
  *out = NULL;
  if (n < 1) return cb_error(CB_ERR_INVALID, "timing needs at least one candidate");
  cb_status st = cb_problem_check(p);
  if (st != CB_OK) return st;
  for (int i = 1; i < n; i++)
    if (cands[i].ctx->backend->alloc != cands[0].ctx->backend->alloc ||
        cands[i].ctx->device != cands[0].ctx->device)
      return cb_error(CB_ERR_INVALID, "interleaved candidates must share one device");
  cb_time_session *s = calloc(1, sizeof *s);
  if (!s) return cb_error(CB_ERR_NOMEM, "out of memory for timing");
  s->cands = cands, s->n = n, s->p = *p, s->dev = cands[0].ctx, s->flush_bytes = flush_bytes;
  s->ws = calloc((size_t)n, sizeof *s->ws);
  s->plans = calloc((size_t)n, sizeof *s->plans);
  s->samples = calloc((size_t)n, sizeof *s->samples);
  s->count = calloc((size_t)n, sizeof *s->count);
  s->cap = calloc((size_t)n, sizeof *s->cap);
  s->flush = flush_bytes ? calloc(1, flush_bytes) : NULL;
  if (!s->ws || !s->plans || !s->samples || !s->count || !s->cap || (flush_bytes && !s->flush)) {
    cb_time_session_end(s);
    return cb_error(CB_ERR_NOMEM, "out of memory for timing");
  }
  int64_t n0 = cb_problem_elems(p, 0), n1 = cb_problem_elems(p, 1), n2 = cb_problem_elems(p, 2);
  if ((st = buffer_alloc(s->dev, n0, &s->a)) != CB_OK ||
      (st = buffer_alloc(s->dev, n1, &s->b)) != CB_OK ||
      (st = buffer_alloc(s->dev, n2, &s->c)) != CB_OK)
    goto fail;
  fill_uniform(s->a.host, n0, 1);
  fill_uniform(s->b.host, n1, 2);
  fill_uniform(s->c.host, n2, 3);
  if ((st = buffer_upload(s->dev, &s->a)) != CB_OK ||
      (st = buffer_upload(s->dev, &s->b)) != CB_OK || (st = buffer_upload(s->dev, &s->c)) != CB_OK)
    goto fail;
  for (int i = 0; i < n; i++) {
    const cb_candidate *k = &cands[i];
    size_t bytes = 0;
    if (k->variant->supports && (st = k->variant->supports(k->ctx, p, k->params)) != CB_OK)
      goto fail;
    if (k->variant->workspace &&
        (st = k->variant->workspace(k->ctx, p, k->params, &bytes)) != CB_OK)
      goto fail;
    if (bytes && (st = buffer_alloc(k->ctx, (int64_t)((bytes + 3) / 4), &s->ws[i])) != CB_OK)
      goto fail;
    if (k->variant->plan_create &&
        (st = k->variant->plan_create(k->ctx, p, k->params, &s->plans[i])) != CB_OK) {
      char name[160];
      snprintf(name, sizeof name, "%s/%s", k->ctx->backend->name, k->variant->name);
      cb_error_wrap(st, "%s: ", name);
      goto fail;
    }
  }
  *out = s;
  return CB_OK;
fail:
  cb_time_session_end(s);
  return st;
}

/* Appends one sample to candidate i's series. */
static cb_status add_sample(cb_time_session *s, int i, double ms) {
  if (s->count[i] == s->cap[i]) {
    int cap = s->cap[i] ? 2 * s->cap[i] : 16;
    double *grown = realloc(s->samples[i], (size_t)cap * sizeof *grown);
    if (!grown) return cb_error(CB_ERR_NOMEM, "out of memory for samples");
    s->samples[i] = grown, s->cap[i] = cap;
  }
  s->samples[i][s->count[i]++] = ms;
  return CB_OK;
}

/* One sample on the host clock: caches flushed, then run and sync. */
static cb_status time_host(cb_time_session *s, const cb_candidate *k, int i, const cb_args *args,
                           double *ms) {
  if (s->flush) flush_caches(s->flush, s->flush_bytes);
  double t0 = now_ms();
  cb_status st = k->variant->run(k->ctx, &s->p, k->params, s->plans[i], args, s->ws[i].dev);
  if (st == CB_OK && k->ctx->backend->sync) st = k->ctx->backend->sync(k->ctx);
  *ms = now_ms() - t0;
  return st;
}

/* One sample on a device: its L2 flushed (queued before the start event,
 * so not timed), then the run between two device events. The host's
 * flush buffer is for host caches and is not streamed here. */
static cb_status time_device(cb_time_session *s, const cb_candidate *k, int i, const cb_args *args,
                             double *ms) {
  const cb_backend *b = k->ctx->backend;
  cb_status st = b->flush ? b->flush(k->ctx) : CB_OK;
  if (st == CB_OK) st = b->time_begin(k->ctx);
  if (st == CB_OK) st = k->variant->run(k->ctx, &s->p, k->params, s->plans[i], args, s->ws[i].dev);
  if (st == CB_OK) st = b->time_end(k->ctx, ms);
  return st;
}

cb_status cb_time_session_round(cb_time_session *s, const bool *active, bool timed) {
  cb_args args = {s->a.dev, s->b.dev, s->c.dev};
  for (int j = 0; j < s->n; j++) {
    int i = (s->round + j) % s->n;
    if (active && !active[i]) continue;
    const cb_candidate *k = &s->cands[i];
    double t = 0;
    cb_status st = k->ctx->backend->time_begin ? time_device(s, k, i, &args, &t)
                                               : time_host(s, k, i, &args, &t);
    if (st != CB_OK) return cb_error_wrap(st, "%s/%s: ", k->ctx->backend->name, k->variant->name);
    if (timed && (st = add_sample(s, i, t)) != CB_OK) return st;
  }
  s->round++;
  return CB_OK;
}

const double *cb_time_session_samples(const cb_time_session *s, int i, int *count) {
  *count = s->count[i];
  return s->samples[i];
}

cb_status cb_time_interleaved(const cb_candidate *cands, int n, const cb_problem *p, int warmup,
                              int iters, size_t flush_bytes, cb_timing *out) {
  memset(out, 0, (size_t)n * sizeof *out);
  if (iters < 1 || warmup < 0)
    return cb_error(CB_ERR_INVALID, "timing needs iters >= 1 and warmup >= 0");
  cb_time_session *s;
  cb_status st = cb_time_session_begin(cands, n, p, flush_bytes, &s);
  for (int r = 0; st == CB_OK && r < warmup + iters; r++)
    st = cb_time_session_round(s, NULL, r >= warmup);
  for (int i = 0; st == CB_OK && i < n; i++) {
    int count;
    const double *v = cb_time_session_samples(s, i, &count);
    cb_timing_compute(v, count, &out[i]);
  }
  cb_time_session_end(s);
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
