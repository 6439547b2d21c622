/* ref_common.c: what the ref variants share: per-thread scratch buffers and
 * the unpacked convolution geometry (see ref.h). */
#include "ref.h"

#include <stdint.h>
#include <stdlib.h>

/* 64-byte lines hold 8 doubles. */
#define CB_REF_LINE 64

cb_status cb_ref_scratch(const char *who, int64_t per_thread, int threads, double **out,
                         int64_t *stride) {
  const int64_t per_line = CB_REF_LINE / (int64_t)sizeof(double);
  int64_t count;
  size_t bytes;
  *out = NULL;
  if (threads < 1) threads = 1;
  if (per_thread < 1) per_thread = 1;
  *stride = (per_thread + per_line - 1) / per_line * per_line;
  if (__builtin_mul_overflow(*stride, (int64_t)threads, &count) ||
      __builtin_mul_overflow((size_t)count, sizeof(double), &bytes) ||
      !(*out = aligned_alloc(CB_REF_LINE, bytes)))
    return cb_error(CB_ERR_NOMEM, "%s: cannot allocate %d x %lld doubles of scratch", who, threads,
                    (long long)per_thread);
  return CB_OK;
}

cb_status cb_ref_check_args(const char *who, const cb_args *args) {
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "%s: a tensor pointer is NULL", who);
  return CB_OK;
}

cb_status cb_ref_run_tasks(const char *who, const cb_ctx *ctx, const cb_args *args,
                           const void *data, int64_t tasks, int64_t per_thread, cb_ref_task task) {
  double *scratch;
  int64_t stride = 0;
  cb_status st = cb_ref_scratch(who, per_thread, ctx->threads, &scratch, &stride);
  if (st != CB_OK) return st;
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
  for (int64_t t = 0; t < tasks; t++) task(data, args, t, scratch + cb_ref_thread() * stride);
  free(scratch);
  return CB_OK;
}

cb_status cb_ref_geom_init(const cb_conv *cv, cb_ref_geom *g) {
  cb_conv_geom_init(&g->geom, cv);
  g->rows = calloc((size_t)cv->r, sizeof *g->rows);
  g->cols = calloc((size_t)cv->s, sizeof *g->cols);
  if (!g->rows || !g->cols) {
    cb_ref_geom_free(g);
    return cb_error(CB_ERR_NOMEM, "ref: cannot allocate the tap ranges of a %lldx%lld filter",
                    (long long)cv->r, (long long)cv->s);
  }
  for (int64_t r = 0; r < cv->r; r++)
    g->rows[r] = cb_tap_range(r, cv->h, g->geom.p, cv->stride_h, cv->pad_h, cv->dil_h);
  for (int64_t s = 0; s < cv->s; s++)
    g->cols[s] = cb_tap_range(s, cv->w, g->geom.q, cv->stride_w, cv->pad_w, cv->dil_w);
  return CB_OK;
}

void cb_ref_geom_free(cb_ref_geom *g) {
  free(g->rows);
  free(g->cols);
  g->rows = g->cols = NULL;
}
