/* bench.c: the timing loop behind `convbench bench`. */
#include "bench.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Samples of one run, laid out [layer][iteration] per quantity, all in
 * one block that fwd owns. */
typedef struct samples {
  int iters;
  double *fwd, *bwd, *bwd_data, *bwd_filter; /* nlayers * iters each */
  double *net_fwd, *net_bwd, *net_total;     /* iters each */
} samples;

static void samples_free(samples *s) {
  free(s->fwd);
  memset(s, 0, sizeof *s); /* safe to free twice */
}

static cb_status samples_alloc(samples *s, int nlayers, int iters) {
  size_t per = (size_t)nlayers * (size_t)iters, n = (size_t)iters;
  memset(s, 0, sizeof *s);
  s->iters = iters;
  /* per <= SIZE_MAX / 8 keeps 4 * per + 3 * n from wrapping. */
  double *block = per <= SIZE_MAX / 8 ? calloc(4 * per + 3 * n, sizeof(double)) : NULL;
  if (!block) return cb_error(CB_ERR_NOMEM, "out of memory for timing samples");
  s->fwd = block;
  s->bwd = s->fwd + per;
  s->bwd_data = s->bwd + per;
  s->bwd_filter = s->bwd_data + per;
  s->net_fwd = s->bwd_filter + per;
  s->net_bwd = s->net_fwd + n;
  s->net_total = s->net_bwd + n;
  return CB_OK;
}

static bool stopped(const cb_bench_opts *o) {
  return o->stop && *o->stop;
}

/* One forward + backward pass of net number `which`; when s is non-NULL,
 * records sample `it`. */
static cb_status one_iteration(cb_net *net, int which, const cb_bench_opts *o, bool warmup, int it,
                               int iters, samples *s) {
  int n = net->nlayers;
  net->exec.step++;
  uint64_t t0 = cb_now_ns();
  for (int i = 0; i < n; i++) {
    uint64_t a = cb_now_ns();
    cb_status st = cb_net_forward_layer(net, i);
    uint64_t b = cb_now_ns();
    if (st != CB_OK) return st;
    if (s) s->fwd[(size_t)i * (size_t)iters + (size_t)it] = cb_ms(a, b);
    if (o->progress) o->progress(o->progress_user, which, warmup, it, iters, i, CB_PASS_FWD);
    if (stopped(o)) return cb_error(CB_ERR_INTERRUPTED, "interrupted");
  }
  uint64_t t1 = cb_now_ns();
  /* Seeding the top gradient is set-up, not the net's work: untimed. */
  cb_net_backward_begin(net);
  uint64_t t2 = cb_now_ns();
  for (int i = n - 1; i >= 0; i--) {
    cb_layer *l = &net->layers[i];
    l->sub_ms[0] = l->sub_ms[1] = l->sub_ms[2] = -1.0;
    uint64_t a = cb_now_ns();
    cb_status st = cb_net_backward_layer(net, i);
    uint64_t b = cb_now_ns();
    if (st != CB_OK) return st;
    if (s) {
      size_t k = (size_t)i * (size_t)iters + (size_t)it;
      s->bwd[k] = cb_ms(a, b);
      s->bwd_data[k] = l->sub_ms[0];
      s->bwd_filter[k] = l->sub_ms[1];
    }
    if (o->progress) o->progress(o->progress_user, which, warmup, it, iters, i, CB_PASS_BWD);
    if (stopped(o)) return cb_error(CB_ERR_INTERRUPTED, "interrupted");
  }
  uint64_t t3 = cb_now_ns();
  if (s) {
    s->net_fwd[it] = cb_ms(t0, t1);
    s->net_bwd[it] = cb_ms(t2, t3);
    s->net_total[it] = s->net_fwd[it] + s->net_bwd[it];
  }
  return CB_OK;
}

/* Statistics of a layer's sub-timing; none when the layer never reported it. */
static void sub_timing(const double *v, int n, cb_timing *t) {
  for (int i = 0; i < n; i++)
    if (v[i] < 0) {
      memset(t, 0, sizeof *t);
      return;
    }
  cb_timing_compute(v, n, t);
}

/* Turns net's samples into r; r takes the samples' block (s is left
 * empty) when it succeeds. */
static cb_status summarise(const cb_net *net, samples *s, cb_bench_result *r) {
  int iters = s->iters;
  r->nlayers = net->nlayers;
  r->layers = calloc((size_t)net->nlayers, sizeof *r->layers);
  if (!r->layers) return cb_error(CB_ERR_NOMEM, "out of memory for results");
  for (int i = 0; i < net->nlayers; i++) {
    size_t off = (size_t)i * (size_t)iters;
    cb_timing_compute(s->fwd + off, iters, &r->layers[i].fwd);
    cb_timing_compute(s->bwd + off, iters, &r->layers[i].bwd);
    sub_timing(s->bwd_data + off, iters, &r->layers[i].bwd_data);
    sub_timing(s->bwd_filter + off, iters, &r->layers[i].bwd_filter);
    cb_bench_layer *rl = &r->layers[i];
    rl->fwd_samples = s->fwd + off;
    rl->bwd_samples = s->bwd + off;
    rl->bwd_data_samples = rl->bwd_data.samples ? s->bwd_data + off : NULL;
    rl->bwd_filter_samples = rl->bwd_filter.samples ? s->bwd_filter + off : NULL;
    const cb_layer *l = &net->layers[i];
    /* The net's rate counts kernel arithmetic (conv, fc), as the
     * convnet-benchmarks and DeepBench figures do. */
    if (l->ops->flops && l->nbind > 0) {
      r->fwd_flops += l->ops->flops(l, CB_PASS_FWD);
      r->bwd_flops += l->ops->flops(l, CB_PASS_BWD);
    }
  }
  cb_timing_compute(s->net_fwd, iters, &r->fwd);
  cb_timing_compute(s->net_bwd, iters, &r->bwd);
  cb_timing_compute(s->net_total, iters, &r->total);
  r->iters = iters;
  r->fwd_samples = s->net_fwd;
  r->bwd_samples = s->net_bwd;
  r->total_samples = s->net_total;
  r->sample_block = s->fwd; /* the block's owner */
  memset(s, 0, sizeof *s);
  return CB_OK;
}

cb_status cb_bench_nets(cb_net *const *nets, int count, const cb_bench_opts *o,
                        cb_bench_result *r) {
  memset(r, 0, (size_t)count * sizeof *r);
  if (o->iters < 1 || o->warmup < 0 || count < 1)
    return cb_error(CB_ERR_INVALID, "bench needs iters >= 1, warmup >= 0 and a net");
  samples *s = calloc((size_t)count, sizeof *s);
  if (!s) return cb_error(CB_ERR_NOMEM, "out of memory for timing samples");
  cb_status st = CB_OK;
  int made = 0;
  for (; made < count && st == CB_OK; made++)
    st = samples_alloc(&s[made], nets[made]->nlayers, o->iters);
  /* Round r starts with net r mod count. */
  for (int w = 0; w < o->warmup && st == CB_OK; w++)
    for (int j = 0; j < count && st == CB_OK; j++) {
      int k = (w + j) % count;
      st = one_iteration(nets[k], k, o, true, w, o->warmup, NULL);
    }
  for (int it = 0; it < o->iters && st == CB_OK; it++)
    for (int j = 0; j < count && st == CB_OK; j++) {
      int k = (it + j) % count;
      st = one_iteration(nets[k], k, o, false, it, o->iters, &s[k]);
    }
  for (int k = 0; k < count && st == CB_OK; k++) st = summarise(nets[k], &s[k], &r[k]);
  if (st != CB_OK)
    for (int k = 0; k < count; k++) cb_bench_result_free(&r[k]);
  for (int k = 0; k < made; k++) samples_free(&s[k]);
  free(s);
  return st;
}

void cb_bench_result_free(cb_bench_result *r) {
  free(r->layers);
  free(r->sample_block);
  memset(r, 0, sizeof *r);
}
