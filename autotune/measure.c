/* measure.c: the timing engine: candidates' plans and workspaces held in
 * a session on one device, run in interleaved rounds with caches flushed
 * between samples. */
#include "measure.h"

#include "devbuf.h"
#include "stats.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Uniform values in [-1, 1): what timing runs on (denormal-free, non-zero). */
static void fill_uniform(float *x, int64_t n, uint64_t seed) {
  uint64_t s = seed ^ 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((double)(s >> 40) / 8388608.0 - 1.0);
  }
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
  cb_devbuf a, b, c;
  cb_devbuf *ws;
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
    if (s->ws) cb_devbuf_free(s->cands[i].ctx, &s->ws[i]);
    if (s->samples) free(s->samples[i]);
  }
  cb_devbuf_free(s->dev, &s->a);
  cb_devbuf_free(s->dev, &s->b);
  cb_devbuf_free(s->dev, &s->c);
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
  if ((st = cb_devbuf_alloc(s->dev, n0, &s->a)) != CB_OK ||
      (st = cb_devbuf_alloc(s->dev, n1, &s->b)) != CB_OK ||
      (st = cb_devbuf_alloc(s->dev, n2, &s->c)) != CB_OK)
    goto fail;
  fill_uniform(s->a.host, n0, 1);
  fill_uniform(s->b.host, n1, 2);
  fill_uniform(s->c.host, n2, 3);
  if ((st = cb_devbuf_upload(s->dev, &s->a)) != CB_OK ||
      (st = cb_devbuf_upload(s->dev, &s->b)) != CB_OK ||
      (st = cb_devbuf_upload(s->dev, &s->c)) != CB_OK)
    goto fail;
  for (int i = 0; i < n; i++) {
    const cb_candidate *k = &cands[i];
    size_t bytes = 0;
    if (k->variant->supports && (st = k->variant->supports(k->ctx, p, k->params)) != CB_OK)
      goto fail;
    if (k->variant->workspace &&
        (st = k->variant->workspace(k->ctx, p, k->params, &bytes)) != CB_OK)
      goto fail;
    if (bytes && (st = cb_devbuf_alloc(k->ctx, (int64_t)((bytes + 3) / 4), &s->ws[i])) != CB_OK)
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
  uint64_t t0 = cb_now_ns();
  cb_status st = k->variant->run(k->ctx, &s->p, k->params, s->plans[i], args, s->ws[i].dev);
  if (st == CB_OK && k->ctx->backend->sync) st = k->ctx->backend->sync(k->ctx);
  *ms = cb_ms(t0, cb_now_ns());
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

static long time_runs;

long cb_time_runs(void) {
  return time_runs;
}

cb_status cb_time_session_round(cb_time_session *s, const bool *active, bool timed) {
  cb_args args = {s->a.dev, s->b.dev, s->c.dev};
  for (int j = 0; j < s->n; j++) {
    int i = (s->round + j) % s->n;
    if (active && !active[i]) continue;
    const cb_candidate *k = &s->cands[i];
    double t = 0;
    time_runs++;
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
