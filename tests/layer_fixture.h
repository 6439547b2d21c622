/* layer_fixture.h: builds one layer standalone for tests, the way the net
 * would, without a netdef file or a net:
 *   cb_fixture f;
 *   cb_fx_init(&f, "conv", "c1", "out=4 k=3 pad=1");   statement from C text
 *   cb_fx_input(&f, 0, 2, 3, 5, 5);                     input shapes
 *   (optionally: f.l.accum[i], f.inplace, f.no_grad[i], f.exec.train, ...)
 *   if (cb_fx_build(&f) != CB_OK) ... cb_errmsg() ...   configure .. setup
 *   ... fill f.in[i].data, cb_fx_forward(&f), cb_fx_backward(&f) ...
 *   cb_fx_free(&f);
 * The statement reads as if written on line 1 of "test.net" as
 * "KIND name=NAME KVS", so error positions are predictable: the
 * statement at 1:1, each key's value at its column in that line.
 * Inputs get data and (unless no_grad) grad; the output and parameters
 * get data and grad; the workspace is sized by cb_layer_plan on a ref
 * context. Everything is freed by cb_fx_free. */
#ifndef CB_LAYER_FIXTURE_H
#define CB_LAYER_FIXTURE_H

#include "layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_FX_MAX_KV 24

typedef struct cb_fixture {
  /* the statement */
  char line[512]; /* "KIND name=NAME KVS", for columns */
  char kvbuf[512];
  cb_kv kv[CB_FX_MAX_KV];
  cb_stmt st;
  /* the layer and its tensors */
  const cb_layer_ops *ops;
  cb_layer l;
  cb_tensor in[CB_MAX_INPUTS];
  cb_tensor out;
  bool inplace;                /* run on in[0] (relu, dropout) */
  bool no_grad[CB_MAX_INPUTS]; /* leave in[i].grad NULL */
  cb_exec exec;                /* train true, seed 1 unless changed before build */
  int32_t labels[256];         /* exec.labels points here when used */
  cb_ctx *ctx;                 /* ref */
  bool configured, set_up;
} cb_fixture;

/* Makes the statement `kind name=NAME kvs` (kvs: "key=value ..." or ""). */
static inline void cb_fx_init(cb_fixture *f, const char *kind, const char *name, const char *kvs) {
  memset(f, 0, sizeof *f);
  snprintf(f->line, sizeof f->line, "%s name=%s%s%s", kind, name, kvs[0] ? " " : "", kvs);
  snprintf(f->kvbuf, sizeof f->kvbuf, "%s", kvs);
  f->st.kind = (char *)kind;
  f->st.name = (char *)name;
  f->st.file = "test.net";
  f->st.line = 1;
  f->st.col = 1;
  /* Split kvs in place; a key's column is where it starts in f->line. */
  size_t base = strlen(kind) + strlen(" name=") + strlen(name) + 1;
  char *save = NULL;
  for (char *tok = strtok_r(f->kvbuf, " ", &save); tok && f->st.nkv < CB_FX_MAX_KV;
       tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    cb_kv *kv = &f->kv[f->st.nkv++];
    kv->line = 1;
    kv->col = (int)(base + (size_t)(tok - f->kvbuf)) + 1;
    kv->key = tok;
    kv->val = eq ? eq + 1 : tok + strlen(tok);
    if (eq) *eq = '\0';
  }
  f->st.kv = f->kv;
  snprintf(f->l.name, sizeof f->l.name, "%s", name);
  f->l.stmt = &f->st;
  f->exec.train = true;
  f->exec.seed = 1;
  f->l.exec = &f->exec;
}

/* Sets input i's shape (and raises the input count to i + 1). */
static inline void cb_fx_input(cb_fixture *f, int i, int64_t n, int64_t c, int64_t h, int64_t w) {
  cb_tensor *t = &f->in[i];
  snprintf(t->name, sizeof t->name, "in%d", i);
  t->n = n;
  t->c = c;
  t->h = h;
  t->w = w;
  if (f->l.nin < i + 1) f->l.nin = i + 1;
}

/* Finds the kind, allocates the private state, configures. */
static inline cb_status cb_fx_configure(cb_fixture *f) {
  f->ops = cb_layer_kind_find(f->st.kind);
  if (!f->ops) return cb_error(CB_ERR_INVALID, "no layer kind %s", f->st.kind);
  f->l.ops = f->ops;
  if (f->ops->priv_size && !(f->l.priv = calloc(1, f->ops->priv_size)))
    return cb_error(CB_ERR_NOMEM, "fixture: priv");
  f->configured = true;
  return f->ops->configure ? f->ops->configure(&f->l, &f->st) : CB_OK;
}

/* Configure, reshape, allocate, plan on ref, setup. */
static inline cb_status cb_fx_build(cb_fixture *f) {
  cb_status s = cb_fx_configure(f);
  if (s != CB_OK) return s;
  for (int i = 0; i < f->l.nin; i++) {
    f->l.in[i] = &f->in[i];
    if ((s = cb_tensor_alloc(&f->in[i], !f->no_grad[i])) != CB_OK) return s;
  }
  snprintf(f->out.name, sizeof f->out.name, "%s", f->l.name);
  f->l.out = f->inplace ? &f->in[0] : &f->out;
  if ((s = f->ops->reshape(&f->l)) != CB_OK) return s;
  if (!f->inplace && (s = cb_tensor_alloc(&f->out, true)) != CB_OK) return s;
  for (int i = 0; i < f->l.nparams; i++)
    if ((s = cb_tensor_alloc(&f->l.params[i], true)) != CB_OK) return s;
  if ((s = cb_ctx_open(cb_backend_find("ref"), 1, &f->ctx)) != CB_OK) return s;
  size_t ws = 0;
  cb_bind_first_ctx first = {f->ctx, f->ctx};
  if ((s = cb_layer_plan(&f->l, cb_bind_first, &first, &ws)) != CB_OK) return s;
  if (ws && !(f->exec.workspace = cb_alloc(ws))) return cb_error(CB_ERR_NOMEM, "fixture: ws");
  f->exec.workspace_bytes = ws;
  f->set_up = true;
  return f->ops->setup ? f->ops->setup(&f->l) : CB_OK;
}

static inline cb_status cb_fx_forward(cb_fixture *f) {
  return f->ops->forward(&f->l);
}

static inline cb_status cb_fx_backward(cb_fixture *f) {
  return f->ops->backward(&f->l);
}

/* Uses labels for a loss layer (copied; at most 256). */
static inline void cb_fx_labels(cb_fixture *f, const int32_t *labels, int n) {
  memcpy(f->labels, labels, (size_t)n * sizeof *labels);
  f->exec.labels = f->labels;
}

static inline void cb_fx_free(cb_fixture *f) {
  if (f->set_up || f->configured) {
    if (f->ops->fini) f->ops->fini(&f->l);
  }
  cb_layer_unplan(&f->l);
  for (int i = 0; i < f->l.nparams; i++) cb_tensor_free(&f->l.params[i]);
  for (int i = 0; i < CB_MAX_INPUTS; i++) cb_tensor_free(&f->in[i]);
  cb_tensor_free(&f->out);
  cb_free(f->exec.workspace);
  cb_ctx_close(f->ctx);
  free(f->l.priv);
  memset(f, 0, sizeof *f);
}

/* Sets every element of t's data to v. */
static inline void cb_fx_fill(cb_tensor *t, float v) {
  int64_t n = cb_tensor_count(t);
  for (int64_t i = 0; i < n; i++) t->data[i] = v;
}

/* Fills n floats with uniform values in [lo, hi) from a fixed stream. */
static inline void cb_fx_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi) {
  uint64_t s = cb_rng_seed(seed, "fixture");
  for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * cb_rng_uniform(&s);
}

#endif
