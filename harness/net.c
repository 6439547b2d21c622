/* net.c: builds a net from a parsed netdef and runs it forward and backward.
 *
 * Building happens in two halves so that nothing is allocated for a net
 * that cannot run: first every layer is connected, configured and
 * reshaped, its kernels planned and its bytes counted (any error names the
 * layer); only then are tensors allocated and layers set up. */
#include "net.h"

#include "machine.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------- */

/* "123456789 bytes (117.7 MiB)", or "512 bytes" under 1 KiB. */
static void fmt_bytes(int64_t b, char *buf, size_t len) {
  char human[32];
  cb_format_bytes(b, CB_BYTES_PROSE, human, sizeof human);
  if (b < 1024)
    snprintf(buf, len, "%s", human);
  else
    snprintf(buf, len, "%" PRId64 " bytes (%s)", b, human);
}

/* A tensor between layers: every one but the input carries a gradient. */
static cb_tensor *new_tensor(cb_net *net, const char *name) {
  cb_tensor *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  snprintf(t->name, sizeof t->name, "%s", name);
  t->needs_grad = true;
  net->tensors[net->ntensors++] = t;
  return t;
}

/* The output tensor of the layer called name ("data" is the input). */
static cb_tensor *find_output(cb_net *net, int upto, const char *name) {
  if (strcmp(name, "data") == 0) return net->data;
  for (int i = upto - 1; i >= 0; i--)
    if (strcmp(net->layers[i].name, name) == 0) return net->layers[i].out;
  return NULL;
}

/* How many layers before `upto` read tensor t (in-place layers count). */
static int consumers_before(const cb_net *net, int upto, const cb_tensor *t) {
  int n = 0;
  for (int i = 0; i < upto; i++)
    for (int j = 0; j < net->layers[i].nin; j++) n += net->layers[i].in[j] == t;
  return n;
}

/* ---- building -------------------------------------------------------------- */

/* The statements this net is built from: all of them, or one for .shapes. */
static cb_status select_statements(const cb_netdef *nd, const cb_net_opts *o, const cb_stmt **first,
                                   int *count) {
  if (!nd->is_shapes) {
    *first = nd->stmts;
    *count = nd->n;
    if (nd->n == 0) return cb_stmt_error(CB_ERR_PARSE, &nd->header, NULL, "the net has no layers");
    return CB_OK;
  }
  if (o->shape_index < 0 || o->shape_index >= nd->n)
    return cb_error(CB_ERR_INVALID, "%s: no shape number %d (the file has %d)", nd->path,
                    o->shape_index + 1, nd->n);
  *first = &nd->stmts[o->shape_index];
  *count = 1;
  return CB_OK;
}

/* Reads batch and input shape from the header (net) or the statement (shapes). */
static cb_status read_input(const cb_netdef *nd, const cb_stmt *first, const cb_net_opts *o,
                            cb_net *net) {
  int64_t batch;
  cb_status st = cb_stmt_int(&nd->header, "batch", 1, 1, INT32_MAX, &batch);
  if (st != CB_OK) return st;
  net->batch = o->batch > 0 ? o->batch : batch;

  const cb_stmt *src = nd->is_shapes ? first : &nd->header;
  int64_t dims[3] = {1, 1, 1};
  int nd_dims = 0;
  if ((st = cb_stmt_shape(src, "input", dims, &nd_dims)) != CB_OK) return st;
  if (nd_dims == 0) return cb_stmt_error(CB_ERR_PARSE, src, NULL, "missing required key 'input'");
  net->data->n = net->batch;
  net->data->c = dims[0];
  net->data->h = nd_dims == 3 ? dims[1] : 1;
  net->data->w = nd_dims == 3 ? dims[2] : 1;
  return CB_OK;
}

/* Connects layer i to its inputs and output, deciding in-place. */
static cb_status connect_layer(cb_net *net, int i, const cb_stmt *st, bool single) {
  cb_layer *l = &net->layers[i];
  l->ops = cb_layer_kind_find(st->kind);
  if (!l->ops) return cb_stmt_error(CB_ERR_PARSE, st, NULL, "unknown layer kind '%s'", st->kind);
  l->stmt = st;
  l->exec = &net->exec;
  snprintf(l->name, sizeof l->name, "%s", st->name);

  if (st->nin == 0 || single) {
    l->nin = 1;
    l->in[0] = i == 0 ? net->data : net->layers[i - 1].out;
  } else {
    if (st->nin > CB_MAX_INPUTS)
      return cb_stmt_error(CB_ERR_PARSE, st, NULL, "at most %d inputs", CB_MAX_INPUTS);
    l->nin = st->nin;
    for (int j = 0; j < st->nin; j++) {
      l->in[j] = find_output(net, i, st->in[j]);
      if (!l->in[j])
        return cb_stmt_error(CB_ERR_PARSE, st, NULL, "in=: no earlier layer named '%s'", st->in[j]);
    }
  }
  if (l->nin < l->ops->min_inputs || l->nin > l->ops->max_inputs)
    return cb_stmt_error(CB_ERR_PARSE, st, NULL, "%s takes %d to %d inputs, got %d", st->kind,
                         l->ops->min_inputs, l->ops->max_inputs, l->nin);

  /* In place, as Caffe does, only when nothing else has read the input yet:
   * then every later reader wants the activated values anyway. */
  bool inplace = l->ops->inplace && st->nin == 0 && consumers_before(net, i, l->in[0]) == 0;
  l->out = inplace ? l->in[0] : new_tensor(net, l->name);
  if (!l->out) return cb_error(CB_ERR_NOMEM, "out of memory building layer %s", l->name);

  if (l->ops->priv_size && !(l->priv = calloc(1, l->ops->priv_size)))
    return cb_error(CB_ERR_NOMEM, "out of memory building layer %s", l->name);
  return CB_OK;
}

/* accum[j] of layer i: a later layer also reads the same tensor (not in
 * place), so its backward, which runs first, has already written the grad. */
static void set_accum(cb_net *net) {
  for (int i = 0; i < net->nlayers; i++) {
    cb_layer *l = &net->layers[i];
    for (int j = 0; j < l->nin; j++) {
      l->accum[j] = false;
      if (l->out == l->in[j]) continue;
      for (int k = i + 1; k < net->nlayers && !l->accum[j]; k++) {
        const cb_layer *m = &net->layers[k];
        for (int jj = 0; jj < m->nin; jj++)
          if (m->in[jj] == l->in[j] && m->out != m->in[jj]) l->accum[j] = true;
      }
      /* Two inputs of this very layer being the same tensor (add in=a,a):
       * the second write must add to the first. */
      for (int jj = 0; jj < j; jj++)
        if (l->in[jj] == l->in[j]) l->accum[j] = true;
    }
  }
}

/* A tensor nobody reads (a dead-end branch) never has its gradient
 * written by a consumer: list them so backward can zero their gradient and
 * their producers read defined values. */
static cb_status find_dead_ends(cb_net *net) {
  net->dead = calloc((size_t)net->ntensors, sizeof *net->dead);
  if (!net->dead) return cb_error(CB_ERR_NOMEM, "out of memory building net");
  for (int t = 1; t < net->ntensors; t++) /* 0 is the input */
    if (net->tensors[t] != net->top && consumers_before(net, net->nlayers, net->tensors[t]) == 0)
      net->dead[net->ndead++] = net->tensors[t];
  return CB_OK;
}

/* Sums what the net will allocate, layer by layer, and refuses a net that
 * does not fit, naming the layer where the running total crosses the limit. */
static cb_status check_memory(cb_net *net, const cb_net_opts *o, size_t workspace) {
  int64_t limit = o->mem_limit > 0 ? o->mem_limit : cb_machine_mem_available();
  int64_t total = 0, b;
  cb_status st = cb_tensor_bytes(net->data, o->input_grad, &total);
  if (st != CB_OK)
    return cb_error(CB_ERR_NOMEM, "input %lldx%lldx%lld at batch %lld is too large",
                    (long long)net->data->c, (long long)net->data->h, (long long)net->data->w,
                    (long long)net->batch);
  bool overflow = __builtin_add_overflow(total, (int64_t)workspace, &total);
  for (int i = 0; i < net->nlayers; i++) {
    cb_layer *l = &net->layers[i];
    int64_t layer_bytes = l->scratch_bytes;
    if (l->out != l->in[0]) {
      if (cb_tensor_bytes(l->out, true, &b) != CB_OK) b = INT64_MAX, overflow = true;
      overflow |= __builtin_add_overflow(layer_bytes, b, &layer_bytes);
    }
    for (int p = 0; p < l->nparams; p++) {
      if (cb_tensor_bytes(&l->params[p], true, &b) != CB_OK) b = INT64_MAX, overflow = true;
      overflow |= __builtin_add_overflow(layer_bytes, b, &layer_bytes);
    }
    overflow |= __builtin_add_overflow(total, layer_bytes, &total);
    if (overflow || total > limit) {
      char need[64], have[64], own[64];
      fmt_bytes(overflow ? INT64_MAX : total, need, sizeof need);
      fmt_bytes(limit, have, sizeof have);
      fmt_bytes(layer_bytes, own, sizeof own);
      return cb_stmt_error(CB_ERR_NOMEM, l->stmt, NULL,
                           "the net at batch %lld needs %s%s by this layer (this layer: %s) but "
                           "only %s is available; lower --batch",
                           (long long)net->batch, overflow ? "more than " : "", need, own, have);
    }
  }
  net->bytes = total;
  return CB_OK;
}

/* Fills the input with seeded uniform values in [-1, 1) and the labels
 * with seeded classes in [0, classes). */
static void fill_synthetic(cb_net *net, uint64_t seed) {
  uint64_t s = cb_rng_seed(seed, "data");
  int64_t count = cb_tensor_count(net->data);
  for (int64_t i = 0; i < count; i++) net->data->data[i] = 2.0f * cb_rng_uniform(&s) - 1.0f;
  int64_t classes = 1;
  if (net->has_loss) {
    const cb_tensor *x = net->layers[net->nlayers - 1].in[0]; /* softmax: c*h*w classes */
    classes = x->c * x->h * x->w;
  }
  s = cb_rng_seed(seed, "labels");
  for (int64_t i = 0; i < net->batch; i++)
    net->labels[i] = (int32_t)(cb_rng_uniform(&s) * (float)classes) % (int32_t)classes;
}

/* The gradient fed to the top of a net without a loss: fixed pseudo-random
 * values, like the gradOutput convnet-benchmarks feeds. */
static cb_status make_top_seed(cb_net *net, uint64_t seed) {
  if (net->has_loss) return CB_OK;
  int64_t count = cb_tensor_count(net->top);
  bool keep_copy =
      net->nlayers > 0 && net->layers[net->nlayers - 1].out == net->layers[net->nlayers - 1].in[0];
  uint64_t s = cb_rng_seed(seed, "top_grad");
  for (int64_t i = 0; i < count; i++) net->top->grad[i] = 2.0f * cb_rng_uniform(&s) - 1.0f;
  /* An in-place top layer rewrites its gradient during backward; keep the
   * seed to restore it each pass. */
  if (keep_copy) {
    net->top_seed = cb_alloc((size_t)count * sizeof(float));
    if (!net->top_seed) return cb_error(CB_ERR_NOMEM, "out of memory for the top gradient");
    memcpy(net->top_seed, net->top->grad, (size_t)count * sizeof(float));
  }
  return CB_OK;
}

static cb_status allocate_and_setup(cb_net *net, const cb_net_opts *o, size_t workspace) {
  cb_status st;
  for (int t = 0; t < net->ntensors; t++)
    if ((st = cb_tensor_alloc(net->tensors[t], net->tensors[t]->needs_grad)) != CB_OK) return st;
  for (int i = 0; i < net->nlayers; i++)
    for (int p = 0; p < net->layers[i].nparams; p++)
      if ((st = cb_tensor_alloc(&net->layers[i].params[p], true)) != CB_OK) return st;
  net->exec.workspace_bytes = workspace;
  if (workspace && !(net->exec.workspace = cb_alloc(workspace)))
    return cb_error(CB_ERR_NOMEM, "cannot allocate %zu workspace bytes", workspace);
  if (!(net->labels = calloc((size_t)net->batch, sizeof *net->labels)))
    return cb_error(CB_ERR_NOMEM, "out of memory for labels");
  net->exec.labels = net->labels;
  fill_synthetic(net, o->seed);
  for (int i = 0; i < net->nlayers; i++) {
    cb_layer *l = &net->layers[i];
    if (l->ops->setup && (st = l->ops->setup(l)) != CB_OK) return st;
  }
  return make_top_seed(net, o->seed);
}

/* The opened context of backend `name` in a tuned net's pool, opening it
 * the first time; NULL (and the reason in cb_errmsg) when it cannot run. */
static cb_ctx *pool_ctx(cb_net *net, const char *name, int threads) {
  if (strcmp(name, "ref") == 0) return net->ref_ctx;
  for (int i = 0; i < net->npool; i++)
    if (strcmp(net->pool[i]->backend->name, name) == 0) return net->pool[i];
  const cb_backend *b = cb_backend_find(name);
  if (!b) {
    cb_error(CB_ERR_UNAVAILABLE, "this build has no backend %s", name);
    return NULL;
  }
  if (net->npool == (int)(sizeof net->pool / sizeof net->pool[0])) return NULL;
  cb_ctx *ctx;
  if (cb_ctx_open(b, threads, &ctx) != CB_OK) return NULL;
  net->pool[net->npool++] = ctx;
  return ctx;
}

/* The chooser's source of contexts: the net's pool (cb_ctx_open_fn). */
static cb_ctx *open_pooled(void *user, const char *backend) {
  cb_net *net = user;
  return pool_ctx(net, backend, net->exec.threads);
}

static cb_status open_backends(cb_net *net, const cb_net_opts *o) {
  if (o->choose) /* tuned: the pool opens what the choices need */
    return cb_ctx_open(cb_backend_find("ref"), o->threads, &net->ref_ctx);
  const char *name = o->backend ? o->backend : "ref";
  net->backend = cb_backend_find(name);
  if (!net->backend) {
    char list[256] = "";
    for (const cb_backend *const *b = cb_backends(); *b; b++) {
      size_t used = strlen(list);
      snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", (*b)->name);
    }
    return cb_error(CB_ERR_INVALID, "unknown backend '%s' (this build has: %s)", name, list);
  }
  cb_status st = cb_ctx_open_on(net->backend, o->threads, o->device, &net->ctx);
  if (st != CB_OK) return cb_error_wrap(st, "backend %s: ", name);
  if (strcmp(name, "ref") == 0) {
    net->ref_ctx = net->ctx;
    return CB_OK;
  }
  return cb_ctx_open(cb_backend_find("ref"), o->threads, &net->ref_ctx);
}

static cb_status build(const cb_netdef *nd, const cb_net_opts *o, cb_net *net) {
  const cb_stmt *first = NULL;
  int count = 0;
  cb_status st = select_statements(nd, o, &first, &count);
  if (st != CB_OK) return st;

  const char *name = NULL;
  cb_stmt_str(&nd->header, "name", NULL, &name);
  snprintf(net->name, sizeof net->name, "%s", name ? name : "net");
  net->def = nd;
  net->exec.train = true;
  net->exec.threads = o->threads;
  net->exec.seed = o->seed;

  /* Every layer may add one tensor; data is the first. */
  net->tensors = calloc((size_t)count + 1, sizeof *net->tensors);
  net->layers = calloc((size_t)count, sizeof *net->layers);
  if (!net->tensors || !net->layers) return cb_error(CB_ERR_NOMEM, "out of memory building net");
  net->data = new_tensor(net, "data");
  if (!net->data) return cb_error(CB_ERR_NOMEM, "out of memory building net");
  net->data->needs_grad = o->input_grad;
  if ((st = read_input(nd, first, o, net)) != CB_OK) return st;

  for (int i = 0; i < count; i++) {
    net->nlayers = i + 1; /* so cb_net_free releases what this layer got */
    if ((st = connect_layer(net, i, &first[i], nd->is_shapes)) != CB_OK) return st;
  }
  set_accum(net);
  net->top = net->layers[count - 1].out;
  if ((st = find_dead_ends(net)) != CB_OK) return st;
  net->has_loss = strcmp(net->layers[count - 1].ops->kind, "softmax") == 0;

  for (int i = 0; i < count; i++) {
    cb_layer *l = &net->layers[i];
    if (l->ops->configure && (st = l->ops->configure(l, l->stmt)) != CB_OK) return st;
    if ((st = l->ops->reshape(l)) != CB_OK) return st;
    if (l->out->n < 1 || l->out->c < 1 || l->out->h < 1 || l->out->w < 1)
      return cb_stmt_error(CB_ERR_INVALID, l->stmt, NULL, "output would be empty (%lldx%lldx%lld)",
                           (long long)l->out->c, (long long)l->out->h, (long long)l->out->w);
  }

  if ((st = open_backends(net, o)) != CB_OK) return st;
  size_t workspace = 0;
  cb_bind_first_ctx plain = {net->ctx, net->ref_ctx};
  cb_chooser tuned = {.lookup = o->choose,
                      .lookup_user = o->choose_user,
                      .heuristic = o->heuristic,
                      .open = open_pooled,
                      .open_user = net,
                      .ref = net->ref_ctx};
  for (int i = 0; i < count; i++) {
    cb_layer *l = &net->layers[i];
    st = o->choose ? cb_layer_plan(l, cb_bind_chosen, &tuned, &workspace)
                   : cb_layer_plan(l, cb_bind_first, &plain, &workspace);
    if (st != CB_OK) return st;
  }
  if ((st = check_memory(net, o, workspace)) != CB_OK) return st;
  if (o->check_only) return CB_OK;
  return allocate_and_setup(net, o, workspace);
}

cb_status cb_net_build(const cb_netdef *nd, const cb_net_opts *o, cb_net **out) {
  *out = NULL;
  if (o->threads < 1) return cb_error(CB_ERR_INVALID, "threads must be at least 1");
  cb_net *net = calloc(1, sizeof *net);
  if (!net) return cb_error(CB_ERR_NOMEM, "out of memory building net");
  cb_status st = build(nd, o, net);
  if (st != CB_OK) {
    cb_net_free(net);
    return st;
  }
  *out = net;
  return CB_OK;
}

void cb_net_free(cb_net *net) {
  if (!net) return;
  for (int i = 0; i < net->nlayers; i++) {
    cb_layer *l = &net->layers[i];
    cb_layer_unplan(l);
    if (l->ops && l->ops->fini) l->ops->fini(l);
    for (int p = 0; p < l->nparams; p++) cb_tensor_free(&l->params[p]);
    free(l->priv);
  }
  for (int t = 0; t < net->ntensors; t++) {
    cb_tensor_free(net->tensors[t]);
    free(net->tensors[t]);
  }
  for (int i = 0; i < net->npool; i++) cb_ctx_close(net->pool[i]);
  if (net->ref_ctx != net->ctx) cb_ctx_close(net->ref_ctx);
  cb_ctx_close(net->ctx);
  cb_free(net->exec.workspace);
  cb_free(net->top_seed);
  free(net->labels);
  free(net->dead);
  free(net->tensors);
  free(net->layers);
  free(net);
}

/* ---- running ----------------------------------------------------------------- */

cb_status cb_net_forward_layer(cb_net *net, int i) {
  cb_layer *l = &net->layers[i];
  return l->ops->forward(l);
}

cb_status cb_net_backward_layer(cb_net *net, int i) {
  cb_layer *l = &net->layers[i];
  return l->ops->backward(l);
}

void cb_net_backward_begin(cb_net *net) {
  int64_t count = cb_tensor_count(net->top);
  if (net->has_loss)
    net->top->grad[0] = 1.0f;
  else if (net->top_seed)
    memcpy(net->top->grad, net->top_seed, (size_t)count * sizeof(float));
  for (int t = 0; t < net->ndead; t++)
    memset(net->dead[t]->grad, 0, (size_t)cb_tensor_count(net->dead[t]) * sizeof(float));
}

cb_status cb_net_forward(cb_net *net) {
  net->exec.step++;
  for (int i = 0; i < net->nlayers; i++) {
    cb_status st = cb_net_forward_layer(net, i);
    if (st != CB_OK) return st;
  }
  return CB_OK;
}

cb_status cb_net_backward(cb_net *net) {
  cb_net_backward_begin(net);
  for (int i = net->nlayers - 1; i >= 0; i--) {
    cb_status st = cb_net_backward_layer(net, i);
    if (st != CB_OK) return st;
  }
  return CB_OK;
}

double cb_net_loss(const cb_net *net) {
  return net->has_loss ? (double)net->top->data[0] : 0.0;
}
