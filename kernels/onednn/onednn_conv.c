/* onednn_conv.c: convolution forward, backward-data and backward-weights
 * through oneDNN primitives, five variants per op:
 *
 *   direct_nchw       algorithm direct on our own layouts (nchw activations,
 *                     oihw / goihw filters), so nothing is reordered
 *   direct_blocked    algorithm direct on the layouts oneDNN prefers
 *                     (format_tag any, typically nChw16c and OIhw16i16o)
 *   winograd_blocked  algorithm winograd, preferred layouts; only where
 *                     oneDNN has a Winograd kernel for the shape and ISA
 *   auto_nchw         dnnl_convolution_auto (oneDNN picks direct or
 *   auto_blocked      Winograd) on our layouts / on its preferred ones
 *
 * A blocked variant copies its inputs into oneDNN's layout and its output
 * back to NCHW / KCRS inside run(), with reorder primitives: that work is
 * part of what a layer pays, so it is part of what is timed.
 *
 * Everything oneDNN builds (primitive descriptors, primitives, reorders and
 * the memory objects that wrap our pointers) is built once, by plan_create;
 * run() only points the memory objects at this call's tensors and executes.
 * The blocked copies and the primitives' scratchpad live in the caller's
 * workspace (scratchpad mode "user"), so workspace() creates the same
 * primitive descriptors to learn their sizes.
 *
 * Filters: our KCRS is oneDNN's oihw, and with groups the same memory read
 * as goihw (g, k/g, c/g, r, s). Dilation: oneDNN counts the gaps between
 * taps, so it gets ours minus 1. Padding is the same on both sides. */
#include "onednn.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocked buffers and the scratchpad start on 64-byte lines (one AVX-512
 * vector): oneDNN's kernels load whole vectors from them. */
#define CB_DNNL_ALIGN 64

/* How a variant asks oneDNN for its convolution. */
typedef struct conv_spec {
  const char *name; /* the variant's name, for messages */
  dnnl_alg_kind_t alg;
  bool blocked; /* format_tag any: oneDNN picks the layouts, run() reorders */
} conv_spec;

/* One of a run's three tensors, in cb_args order (src0, src1, dst). */
typedef struct conv_tensor {
  const char *label;          /* "x", "w", "dy", ... for plan_info */
  int arg;                    /* its DNNL_ARG_* for the convolution */
  dnnl_memory_desc_t user_md; /* our layout: nchw, oihw or goihw, dense */
  dnnl_memory_desc_t prim_md; /* the layout the convolution uses */
  bool reorder;               /* prim_md differs from user_md: a copy in the workspace */
  size_t offset, bytes;       /* where that copy sits in the (aligned) workspace */
  /* user -> prim for the inputs, prim -> user for dst */
  dnnl_primitive_desc_t reorder_pd;
  dnnl_primitive_t reorder_prim;
  dnnl_memory_t user_mem, prim_mem; /* handles set per run / per workspace */
} conv_tensor;

/* What plan_create builds, and what workspace() and supports() build part
 * of (the descriptors and the layout, no primitives). run() rebinds its
 * memory objects, so one plan runs on one thread at a time. */
typedef struct conv_plan {
  const conv_spec *spec;
  cb_op op;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  int threads; /* the thread count the primitives were created for */
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  conv_tensor t[3];
  size_t scratch_offset, scratch_bytes; /* shared by the convolution and the reorders */
  dnnl_memory_t scratch_mem;
  size_t ws_bytes; /* the workspace this layout needs, alignment slack included */
  void *own_ws;    /* a workspace of our own when the caller's is too small (see plan_create) */
  char *bound_ws;  /* the aligned workspace prim_mem and scratch_mem point into */
  char info[256];
} conv_plan;

static size_t round_up(size_t v, size_t to) {
  return (v + to - 1) / to * to;
}

/* "onednn conv_fwd/direct_blocked" into buf, for messages. */
static const char *who(const conv_spec *spec, cb_op op, char *buf, size_t len) {
  snprintf(buf, len, "onednn %s/%s", cb_op_name(op), spec->name);
  return buf;
}

/* A dense f32 descriptor with dims and tag, or format_tag any for a
 * blocked variant (oneDNN then chooses the layout). */
static dnnl_status_t md_init(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                             dnnl_format_tag_t tag, bool any) {
  return dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, any ? dnnl_format_tag_any : tag);
}

/* The three descriptors of a convolution in oneDNN's logical dims: x and y
 * as nchw, the filter as oihw, or goihw when grouped. */
static dnnl_status_t conv_mds(const cb_conv *cv, bool any, dnnl_memory_desc_t *x,
                              dnnl_memory_desc_t *w, dnnl_memory_desc_t *y) {
  dnnl_dims_t xd = {cv->n, cv->c, cv->h, cv->w};
  dnnl_dims_t yd = {cv->n, cv->k, cb_conv_out_h(cv), cb_conv_out_w(cv)};
  dnnl_status_t s = md_init(x, 4, xd, dnnl_nchw, any);
  if (s == dnnl_success) s = md_init(y, 4, yd, dnnl_nchw, any);
  if (s != dnnl_success) return s;
  if (cv->groups == 1) {
    dnnl_dims_t wd = {cv->k, cv->c, cv->r, cv->s};
    return md_init(w, 4, wd, dnnl_oihw, any);
  }
  dnnl_dims_t wd = {cv->groups, cv->k / cv->groups, cv->c / cv->groups, cv->r, cv->s};
  return md_init(w, 5, wd, dnnl_goihw, any);
}

/* The convolution descriptor of op (bias off: our layers add it). */
static dnnl_status_t conv_desc(cb_op op, dnnl_alg_kind_t alg, const cb_conv *cv,
                               const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *w,
                               const dnnl_memory_desc_t *y, dnnl_convolution_desc_t *d) {
  dnnl_dims_t strides = {cv->stride_h, cv->stride_w};
  dnnl_dims_t dilates = {cv->dil_h - 1, cv->dil_w - 1};
  dnnl_dims_t pad = {cv->pad_h, cv->pad_w};
  switch (op) {
  case CB_OP_CONV_FWD:
    return dnnl_dilated_convolution_forward_desc_init(d, dnnl_forward_training, alg, x, w, NULL, y,
                                                      strides, dilates, pad, pad);
  case CB_OP_CONV_BWD_DATA:
    return dnnl_dilated_convolution_backward_data_desc_init(d, alg, x, w, y, strides, dilates, pad,
                                                            pad);
  case CB_OP_CONV_BWD_FILTER:
    return dnnl_dilated_convolution_backward_weights_desc_init(d, alg, x, w, NULL, y, strides,
                                                               dilates, pad, pad);
  default:
    return dnnl_invalid_arguments;
  }
}

/* Which tensor of op plays which part, in cb_args order. */
static void conv_roles(cb_op op, conv_tensor t[3], dnnl_query_t q[3]) {
  static const struct {
    const char *label;
    int arg;
    dnnl_query_t query;
  } roles[3][3] = {
      [CB_OP_CONV_FWD] = {{"x", DNNL_ARG_SRC, dnnl_query_src_md},
                          {"w", DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                          {"y", DNNL_ARG_DST, dnnl_query_dst_md}},
      [CB_OP_CONV_BWD_DATA] = {{"dy", DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
                               {"w", DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                               {"dx", DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md}},
      [CB_OP_CONV_BWD_FILTER] = {{"x", DNNL_ARG_SRC, dnnl_query_src_md},
                                 {"dy", DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
                                 {"dw", DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md}},
  };
  for (int i = 0; i < 3; i++) {
    t[i].label = roles[op][i].label;
    t[i].arg = roles[op][i].arg;
    q[i] = roles[op][i].query;
  }
}

/* Frees whatever describe() and instantiate() made; safe on a partial plan. */
static void conv_release(conv_plan *pl) {
  for (int i = 0; i < 3; i++) {
    conv_tensor *t = &pl->t[i];
    if (t->reorder_prim) dnnl_primitive_destroy(t->reorder_prim);
    if (t->reorder_pd) dnnl_primitive_desc_destroy(t->reorder_pd);
    if (t->user_mem) dnnl_memory_destroy(t->user_mem);
    if (t->prim_mem) dnnl_memory_destroy(t->prim_mem);
    t->reorder_prim = NULL, t->reorder_pd = NULL, t->user_mem = t->prim_mem = NULL;
  }
  if (pl->scratch_mem) dnnl_memory_destroy(pl->scratch_mem);
  if (pl->prim) dnnl_primitive_destroy(pl->prim);
  if (pl->pd) dnnl_primitive_desc_destroy(pl->pd);
  pl->scratch_mem = NULL, pl->prim = NULL, pl->pd = NULL;
  free(pl->own_ws);
  pl->own_ws = NULL;
}

/* The convolution's primitive descriptor: for the backward ops, oneDNN
 * wants the forward one as a hint (its layouts steer the backward's), made
 * with the same algorithm and descriptors. */
static cb_status create_conv_pd(conv_plan *pl, const cb_problem *p, const dnnl_memory_desc_t *x,
                                const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *y,
                                const_dnnl_primitive_attr_t attr, const char *me) {
  const cb_conv *cv = &p->conv;
  char key[CB_KEY_MAX];
  cb_problem_key(p, key, sizeof key);
  dnnl_primitive_desc_t hint = NULL;
  dnnl_convolution_desc_t d;
  dnnl_status_t s;
  if (pl->op != CB_OP_CONV_FWD) {
    s = conv_desc(CB_OP_CONV_FWD, pl->spec->alg, cv, x, w, y, &d);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&hint, &d, NULL, pl->engine, NULL);
    if (s != dnnl_success)
      return cb_error(CB_ERR_UNSUPPORTED,
                      "%s: oneDNN has no forward convolution to hint the backward for %s (%s)", me,
                      key, dnnl_status2str(s));
  }
  s = conv_desc(pl->op, pl->spec->alg, cv, x, w, y, &d);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(&pl->pd, &d, attr, pl->engine, hint);
  if (hint) dnnl_primitive_desc_destroy(hint);
  if (s != dnnl_success)
    return cb_error(CB_ERR_UNSUPPORTED, "%s: oneDNN has no implementation for %s (%s)", me, key,
                    dnnl_status2str(s));
  return CB_OK;
}

/* The bytes of scratchpad a primitive descriptor asks for (0: none). */
static size_t scratch_size(const_dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  return md ? dnnl_memory_desc_get_size(md) : 0;
}

/* Creates the primitive descriptors of pl (the convolution and, for the
 * tensors whose layout oneDNN changed, the reorders) on engine, for the
 * calling thread's OpenMP thread count, and lays out the workspace:
 *   [blocked copies of the reordered tensors][scratchpad], 64-byte aligned,
 * plus 63 bytes of slack to align a workspace that malloc gave us. */
static cb_status describe(conv_plan *pl, const cb_problem *p, const char *me) {
  dnnl_query_t query[3];
  conv_roles(pl->op, pl->t, query);

  dnnl_memory_desc_t user[3], any[3];
  dnnl_status_t s = conv_mds(&p->conv, false, &user[0], &user[1], &user[2]);
  if (s == dnnl_success) s = conv_mds(&p->conv, pl->spec->blocked, &any[0], &any[1], &any[2]);
  if (s != dnnl_success)
    return cb_error(CB_ERR_UNSUPPORTED, "%s: oneDNN refuses the tensor shapes (%s)", me,
                    dnnl_status2str(s));
  /* conv_mds fills (x, w, y); order[i] is the one in cb_args slot i */
  int order[3] = {0, 1, 2};
  if (pl->op == CB_OP_CONV_BWD_DATA) order[0] = 2, order[2] = 0;
  if (pl->op == CB_OP_CONV_BWD_FILTER) order[1] = 2, order[2] = 1;

  dnnl_primitive_attr_t attr;
  cb_status rc = cb_dnnl_check(dnnl_primitive_attr_create(&attr), CB_ERR_INTERNAL, me,
                               "creating primitive attributes");
  if (rc != CB_OK) return rc;
  rc = cb_dnnl_check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                     CB_ERR_INTERNAL, me, "asking for a user scratchpad");
  if (rc == CB_OK) rc = create_conv_pd(pl, p, &any[0], &any[1], &any[2], attr, me);

  size_t scratch = rc == CB_OK ? scratch_size(pl->pd) : 0, off = 0;
  for (int i = 0; i < 3 && rc == CB_OK; i++) {
    conv_tensor *t = &pl->t[i];
    t->user_md = user[order[i]];
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pl->pd, query[i], 0);
    if (!md) {
      rc = cb_error(CB_ERR_INTERNAL, "%s: oneDNN gives no layout for %s", me, t->label);
      break;
    }
    t->prim_md = *md;
    t->reorder = !dnnl_memory_desc_equal(&t->user_md, &t->prim_md);
    if (!t->reorder) continue;
    t->bytes = dnnl_memory_desc_get_size(&t->prim_md);
    t->offset = off;
    off += round_up(t->bytes, CB_DNNL_ALIGN);
    bool out = i == 2;
    s = dnnl_reorder_primitive_desc_create(&t->reorder_pd, out ? &t->prim_md : &t->user_md,
                                           pl->engine, out ? &t->user_md : &t->prim_md, pl->engine,
                                           attr);
    if (s != dnnl_success) {
      rc = cb_error(CB_ERR_UNSUPPORTED, "%s: oneDNN cannot reorder %s to its layout (%s)", me,
                    t->label, dnnl_status2str(s));
      break;
    }
    size_t rs = scratch_size(t->reorder_pd);
    if (rs > scratch) scratch = rs;
  }
  dnnl_primitive_attr_destroy(attr);
  if (rc != CB_OK) {
    conv_release(pl);
    return rc;
  }
  pl->scratch_offset = off;
  pl->scratch_bytes = scratch;
  off += round_up(scratch, CB_DNNL_ALIGN);
  pl->ws_bytes = off ? off + CB_DNNL_ALIGN - 1 : 0;
  return CB_OK;
}

/* A memory object for md with no buffer yet (run() sets it). */
static dnnl_status_t unbound_memory(dnnl_memory_t *m, const dnnl_memory_desc_t *md,
                                    dnnl_engine_t engine) {
  return dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE);
}

/* The primitives and memory objects of a described plan. */
static cb_status instantiate(conv_plan *pl, const char *me) {
  dnnl_status_t s = dnnl_primitive_create(&pl->prim, pl->pd);
  if (s != dnnl_success) return cb_dnnl_check(s, CB_ERR_INTERNAL, me, "creating the convolution");
  for (int i = 0; i < 3; i++) {
    conv_tensor *t = &pl->t[i];
    s = unbound_memory(&t->user_mem, &t->user_md, pl->engine);
    if (s == dnnl_success && t->reorder) s = unbound_memory(&t->prim_mem, &t->prim_md, pl->engine);
    if (s == dnnl_success && t->reorder) s = dnnl_primitive_create(&t->reorder_prim, t->reorder_pd);
    if (s != dnnl_success)
      return cb_dnnl_check(s, CB_ERR_INTERNAL, me, "creating memory objects and reorders");
  }
  if (pl->scratch_bytes) {
    /* one flat byte buffer serves every primitive's scratchpad: they run
     * one after another */
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)pl->scratch_bytes};
    s = dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_u8, dnnl_a);
    if (s == dnnl_success) s = unbound_memory(&pl->scratch_mem, &md, pl->engine);
    if (s != dnnl_success) return cb_dnnl_check(s, CB_ERR_INTERNAL, me, "creating the scratchpad");
  }
  return CB_OK;
}

/* What oneDNN chose, e.g. "brgconv:avx512_core" or, with reorders,
 * "jit:avx512_core +reorders(x:jit:uni w:jit:uni y:jit:uni)". */
static void describe_choice(conv_plan *pl) {
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pl->pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
      !impl)
    impl = "?";
  size_t len = sizeof pl->info, n = (size_t)snprintf(pl->info, len, "%s", impl);
  int reorders = 0;
  for (int i = 0; i < 3 && n < len; i++) {
    const conv_tensor *t = &pl->t[i];
    if (!t->reorder) continue;
    const char *r = NULL;
    if (dnnl_primitive_desc_query(t->reorder_pd, dnnl_query_impl_info_str, 0, &r) != dnnl_success ||
        !r)
      r = "?";
    n += (size_t)snprintf(pl->info + n, len - n, "%s%s:%s", reorders++ ? " " : " +reorders(",
                          t->label, r);
  }
  if (reorders && n < len) snprintf(pl->info + n, len - n, ")");
}

/* Our own limits, before asking oneDNN: f32 NCHW conv problems. */
static cb_status check_problem(const conv_spec *spec, const cb_problem *p) {
  char me[64];
  if (p->op != CB_OP_CONV_FWD && p->op != CB_OP_CONV_BWD_DATA && p->op != CB_OP_CONV_BWD_FILTER)
    return cb_error(CB_ERR_INVALID, "%s: not a convolution problem",
                    who(spec, p->op, me, sizeof me));
  if (p->dtype != CB_DTYPE_F32 || p->layout != CB_LAYOUT_NCHW)
    return cb_error(CB_ERR_UNSUPPORTED, "%s: only f32 NCHW is supported",
                    who(spec, p->op, me, sizeof me));
  return CB_OK;
}

/* Describes p on a throwaway CPU engine (supports() and workspace() get no
 * context), with the calling thread's OpenMP thread count; fills *ws_bytes
 * when it is not NULL. */
static cb_status probe(const conv_spec *spec, const cb_problem *p, size_t *ws_bytes) {
  cb_status rc = check_problem(spec, p);
  if (rc != CB_OK) return rc;
  char me[64];
  who(spec, p->op, me, sizeof me);
  conv_plan pl = {.spec = spec, .op = p->op};
  rc = cb_dnnl_check(dnnl_engine_create(&pl.engine, dnnl_cpu, 0), CB_ERR_UNAVAILABLE, me,
                     "creating a CPU engine");
  if (rc != CB_OK) return rc;
  rc = describe(&pl, p, me);
  if (rc == CB_OK && ws_bytes) *ws_bytes = pl.ws_bytes;
  conv_release(&pl);
  dnnl_engine_destroy(pl.engine);
  return rc;
}

/* supports() = oneDNN can create the primitive descriptor (and reorders). */
static cb_status conv_supports(const conv_spec *spec, const cb_problem *p) {
  return probe(spec, p, NULL);
}

/* The blocked copies plus the scratchpad plus alignment slack. Exact for a
 * plan made with the caller's OpenMP thread count; see plan_create. */
static cb_status conv_workspace(const conv_spec *spec, const cb_problem *p, size_t *bytes) {
  *bytes = 0;
  return probe(spec, p, bytes);
}

/* Builds everything once, with ctx->threads threads: oneDNN sizes its
 * blocking and per-thread scratch by the thread count it sees at creation.
 * workspace() had no context and saw the caller's own thread count; when
 * that differs from ctx->threads and this plan needs more workspace than it
 * was told, the plan carries a workspace of its own rather than overrun the
 * caller's. */
static cb_status conv_plan_create(const conv_spec *spec, cb_ctx *ctx, const cb_problem *p,
                                  void **out) {
  *out = NULL;
  cb_status rc = check_problem(spec, p);
  if (rc != CB_OK) return rc;
  const cb_dnnl_state *st = ctx->state;
  char me[64];
  who(spec, p->op, me, sizeof me);
  conv_plan *pl = calloc(1, sizeof *pl);
  if (!pl) return cb_error(CB_ERR_NOMEM, "%s: out of memory for a plan", me);
  *pl = (conv_plan){.spec = spec,
                    .op = p->op,
                    .engine = st->engine,
                    .stream = st->stream,
                    .threads = ctx->threads};

  int saved = cb_dnnl_threads_enter(ctx->threads);
  rc = describe(pl, p, me);
  if (rc == CB_OK) rc = instantiate(pl, me);
  cb_dnnl_threads_leave(saved);

  if (rc == CB_OK && saved != ctx->threads && pl->ws_bytes) {
    size_t told = 0;
    if (probe(spec, p, &told) != CB_OK) {
      told = 0; /* then workspace() failed too: the caller gave us none */
      cb_error_clear();
    }
    if (pl->ws_bytes > told && !(pl->own_ws = malloc(pl->ws_bytes)))
      rc = cb_error(CB_ERR_NOMEM, "%s: cannot allocate %zu workspace bytes", me, pl->ws_bytes);
  }
  if (rc != CB_OK) {
    conv_release(pl);
    free(pl);
    return rc;
  }
  describe_choice(pl);
  *out = pl;
  return CB_OK;
}

static void conv_plan_destroy(void *plan) {
  if (!plan) return;
  conv_release(plan);
  free(plan);
}

static void conv_plan_info(const void *plan, char *buf, size_t len) {
  const conv_plan *pl = plan;
  snprintf(buf, len, "%s", pl ? pl->info : "");
}

/* Points the blocked copies and the scratchpad into the aligned workspace
 * ws. Only when it moved: for a padded blocked layout oneDNN zeroes the
 * padding on every dnnl_memory_set_data_handle, which is work we do not
 * want to time on each run. */
static dnnl_status_t bind_workspace(conv_plan *pl, char *ws) {
  if (ws == pl->bound_ws) return dnnl_success;
  dnnl_status_t s = dnnl_success;
  for (int i = 0; i < 3 && s == dnnl_success; i++)
    if (pl->t[i].reorder) s = dnnl_memory_set_data_handle(pl->t[i].prim_mem, ws + pl->t[i].offset);
  if (s == dnnl_success && pl->scratch_mem)
    s = dnnl_memory_set_data_handle(pl->scratch_mem, ws + pl->scratch_offset);
  pl->bound_ws = s == dnnl_success ? ws : NULL;
  return s;
}

/* Executes prim with args plus the shared scratchpad. */
static dnnl_status_t execute(const conv_plan *pl, dnnl_primitive_t prim, int nargs,
                             dnnl_exec_arg_t *args) {
  if (pl->scratch_mem) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pl->scratch_mem};
  return dnnl_primitive_execute(prim, pl->stream, nargs, args);
}

/* The inputs (src0, src1) reordered into the workspace where oneDNN wants
 * another layout, the convolution, then dst reordered back. The primitives
 * run with the thread count they were created for (the plan's ctx's). */
static cb_status conv_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                          const cb_args *args, void *workspace) {
  (void)ctx, (void)params;
  conv_plan *pl = plan;
  char me[64];
  if (!pl) return cb_error(CB_ERR_INVALID, "onednn %s: run without a plan", cb_op_name(p->op));
  who(pl->spec, pl->op, me, sizeof me);
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "%s: a tensor pointer is NULL", me);
  char *ws = pl->own_ws ? pl->own_ws : workspace;
  if (pl->ws_bytes && !ws) return cb_error(CB_ERR_INVALID, "%s: no workspace given", me);
  if (ws) ws = (char *)round_up((size_t)(uintptr_t)ws, CB_DNNL_ALIGN);

  /* oneDNN takes non-const handles; it only reads the inputs */
  void *ptr[3] = {(void *)args->src0, (void *)args->src1, args->dst};
  dnnl_status_t s = bind_workspace(pl, ws);
  for (int i = 0; i < 3 && s == dnnl_success; i++)
    s = dnnl_memory_set_data_handle(pl->t[i].user_mem, ptr[i]);
  if (s != dnnl_success) return cb_dnnl_check(s, CB_ERR_INTERNAL, me, "binding the tensors");

  int saved = cb_dnnl_threads_enter(pl->threads);
  dnnl_exec_arg_t a[4];
  for (int i = 0; i < 2 && s == dnnl_success; i++) {
    const conv_tensor *t = &pl->t[i];
    if (!t->reorder) continue;
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, t->user_mem};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, t->prim_mem};
    s = execute(pl, t->reorder_prim, 2, a);
  }
  if (s == dnnl_success) {
    for (int i = 0; i < 3; i++)
      a[i] =
          (dnnl_exec_arg_t){pl->t[i].arg, pl->t[i].reorder ? pl->t[i].prim_mem : pl->t[i].user_mem};
    s = execute(pl, pl->prim, 3, a);
  }
  if (s == dnnl_success && pl->t[2].reorder) {
    a[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, pl->t[2].prim_mem};
    a[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, pl->t[2].user_mem};
    s = execute(pl, pl->t[2].reorder_prim, 2, a);
  }
  if (s == dnnl_success) s = dnnl_stream_wait(pl->stream);
  cb_dnnl_threads_leave(saved);
  return cb_dnnl_check(s, CB_ERR_INTERNAL, me, "executing");
}

/* ---- the variants ---------------------------------------------------------- */

static const conv_spec direct_nchw = {"direct_nchw", dnnl_convolution_direct, false};
static const conv_spec direct_blocked = {"direct_blocked", dnnl_convolution_direct, true};
static const conv_spec winograd_blocked = {"winograd_blocked", dnnl_convolution_winograd, true};
static const conv_spec auto_nchw = {"auto_nchw", dnnl_convolution_auto, false};
static const conv_spec auto_blocked = {"auto_blocked", dnnl_convolution_auto, true};

/* cb_variant's functions are not told which variant they belong to, so
 * each spec gets three one-line wrappers that pass it on (the op comes
 * with the problem); run, plan_destroy and plan_info read it from the plan. */
#define CB_DNNL_SPEC_FNS(spec)                                                                     \
  static cb_status spec##_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {    \
    (void)ctx;                                                                                     \
    (void)params;                                                                                  \
    return conv_supports(&spec, p);                                                                \
  }                                                                                                \
  static cb_status spec##_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,     \
                                    size_t *bytes) {                                               \
    (void)ctx;                                                                                     \
    (void)params;                                                                                  \
    return conv_workspace(&spec, p, bytes);                                                        \
  }                                                                                                \
  static cb_status spec##_plan_create(cb_ctx *ctx, const cb_problem *p, const int *params,         \
                                      void **plan) {                                               \
    (void)params;                                                                                  \
    return conv_plan_create(&spec, ctx, p, plan);                                                  \
  }

CB_DNNL_SPEC_FNS(direct_nchw)
CB_DNNL_SPEC_FNS(direct_blocked)
CB_DNNL_SPEC_FNS(winograd_blocked)
CB_DNNL_SPEC_FNS(auto_nchw)
CB_DNNL_SPEC_FNS(auto_blocked)

/* 0 = exact: with small-integer data every partial sum of a direct (or
 * im2col + GEMM) convolution is an integer below 2^24, so any summation
 * order gives the exact result. */
#define CB_DNNL_TOL_EXACT 0.0
/* Winograd (oneDNN's F(4x4, 3x3) on AVX-512) transforms tiles with
 * fractional constants, so results are rounded. Measured with oneDNN 2.6.3
 * on small-integer data, max |got - ref| / max(1, max |ref|) was at most
 * 2.9e-6 over the test shapes and over c = k = 64..512 at 13x13..56x56
 * (fwd, bwd_data and bwd_filter alike); 5e-5 leaves a margin of over 15x
 * while a real bug (errors of order 1) still fails by far. The auto
 * variants may pick Winograd, so they get the same threshold. */
#define CB_DNNL_TOL_WINOGRAD 5e-5

#define CB_DNNL_VARIANT(opname, OP, spec, tol, description)                                        \
  const cb_variant cb_dnnl_##opname##_##spec = {                                                   \
      .name = #spec,                                                                               \
      .op = OP,                                                                                    \
      .desc = description,                                                                         \
      .tolerance = tol,                                                                            \
      .supports = spec##_supports,                                                                 \
      .workspace = spec##_workspace,                                                               \
      .plan_create = spec##_plan_create,                                                           \
      .plan_destroy = conv_plan_destroy,                                                           \
      .plan_info = conv_plan_info,                                                                 \
      .run = conv_run,                                                                             \
  }

#define CB_DNNL_OP_VARIANTS(opname, OP)                                                            \
  CB_DNNL_VARIANT(opname, OP, direct_nchw, CB_DNNL_TOL_EXACT,                                      \
                  "oneDNN direct convolution on plain nchw/oihw (oneDNN 2.6 runs im2col + "        \
                  "sgemm), no reorders");                                                          \
  CB_DNNL_VARIANT(opname, OP, direct_blocked, CB_DNNL_TOL_EXACT,                                   \
                  "oneDNN direct convolution on its blocked layouts, reorders timed");             \
  CB_DNNL_VARIANT(opname, OP, winograd_blocked, CB_DNNL_TOL_WINOGRAD,                              \
                  "oneDNN Winograd convolution on its blocked layouts, reorders timed");           \
  CB_DNNL_VARIANT(opname, OP, auto_nchw, CB_DNNL_TOL_WINOGRAD,                                     \
                  "oneDNN's own choice of algorithm on plain nchw/oihw tensors");                  \
  CB_DNNL_VARIANT(opname, OP, auto_blocked, CB_DNNL_TOL_WINOGRAD,                                  \
                  "oneDNN's own choice of algorithm and layouts, reorders timed")

CB_DNNL_OP_VARIANTS(conv_fwd, CB_OP_CONV_FWD);
CB_DNNL_OP_VARIANTS(conv_bwd_data, CB_OP_CONV_BWD_DATA);
CB_DNNL_OP_VARIANTS(conv_bwd_filter, CB_OP_CONV_BWD_FILTER);
