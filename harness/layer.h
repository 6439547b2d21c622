/* layer.h: the layer interface (Caffe's layer, kept small) and the table
 * of layer kinds.
 *
 * A layer kind is a static const cb_layer_ops. The net drives every layer
 * through the same steps:
 *   configure  read the statement's keys into the layer's private state
 *   reshape    set the output shape (and parameter shapes) from the inputs
 *   (the net sums memory, refuses what will not fit, allocates)
 *   setup      initialise parameters, make kernel plans
 *   forward / backward, many times
 *   fini       free what configure and setup made
 *
 * Gradient convention: backward writes in[i]->grad when it is non-NULL,
 * adding to it when accum[i] is set (the input also feeds a later layer
 * whose backward already wrote), overwriting it otherwise. Parameter
 * gradients are overwritten each backward. An in-place layer (out == in[0])
 * transforms out->grad into in[0]->grad where it lies. */
#ifndef CB_LAYER_H
#define CB_LAYER_H

#include "netdef.h"
#include "tensor.h"

#define CB_MAX_INPUTS       8
#define CB_MAX_LAYER_PARAMS 4

typedef struct cb_layer cb_layer;

/* Which pass a flop count or timing refers to. */
typedef enum cb_pass { CB_PASS_FWD, CB_PASS_BWD } cb_pass;

/* The kernel one layer op runs: an opened backend, a variant, its
 * parameter point, its plan. Conv layers hold three (fwd, bwd_data,
 * bwd_filter); fc layers hold three GEMMs. */
typedef struct cb_binding {
  cb_problem problem;
  cb_ctx *ctx;
  const cb_variant *variant;
  int params[CB_MAX_PARAMS];
  void *plan;
  bool fallback;   /* the requested backend could not run it; ref did */
  char impl[128];  /* variant->plan_info's answer, "" when it has none */
  char source[48]; /* how it was chosen when tuned: "exact", "borrowed", "heuristic", ... */
  /* Layer-level staging for a device backend (a GPU): device copies of
   * src0, src1, dst and the workspace, allocated on the first run and
   * freed by cb_layer_unplan. Each run uploads the inputs and downloads
   * the output, so a layer's time on a GPU includes those copies. */
  void *dev[4];
  size_t dev_ws; /* the variant's workspace bytes on the device */
} cb_binding;

/* State shared by every layer of a net while it runs. */
typedef struct cb_exec {
  bool train;            /* dropout drops, batch norm uses batch statistics */
  int threads;           /* threads a layer's own loops may use (>= 1) */
  uint64_t seed;         /* base seed; layers derive their own streams from it */
  uint64_t step;         /* forward passes so far, so dropout masks differ per step */
  const int32_t *labels; /* n labels for a loss layer, or NULL */
  void *workspace;       /* shared scratch, sized for the largest binding */
  size_t workspace_bytes;
} cb_exec;

/* configure, problems, setup, flops and fini may be NULL: nothing to do.
 * A kind's table leaves out what it does not have, as inplace when false:
 * designated initialisers zero the rest. */
typedef struct cb_layer_ops {
  const char *kind;           /* the netdef word, "conv" */
  const char *summary;        /* one line for --help */
  const char *const *keys;    /* NULL-terminated; name= and in= are the net's */
  int min_inputs, max_inputs; /* how many in= names it takes */
  bool inplace;               /* may run in place on its input (relu, dropout) */
  size_t priv_size;           /* bytes of private state, zeroed, at l->priv */

  cb_status (*configure)(cb_layer *l, const cb_stmt *st);
  /* Sets l->out's n,c,h,w (unless in place), the params' shapes and
   * scratch_bytes from the inputs and accum[]. Errors name the layer (use
   * cb_stmt_error with l->stmt). Allocates nothing. */
  cb_status (*reshape)(cb_layer *l);
  /* The kernel problems the layer needs, in binding order (0..3). NULL for
   * layers that call no backend kernel. */
  int (*problems)(const cb_layer *l, cb_problem out[3]);
  /* After the net allocated in/out/params (data and grad): initialise
   * parameters from exec->seed, allocate private buffers. */
  cb_status (*setup)(cb_layer *l);
  cb_status (*forward)(cb_layer *l);
  cb_status (*backward)(cb_layer *l);
  /* Floating-point operations of one pass at the current shape. */
  double (*flops)(const cb_layer *l, cb_pass pass);
  void (*fini)(cb_layer *l);
} cb_layer_ops;

struct cb_layer {
  const cb_layer_ops *ops;
  const cb_stmt *stmt; /* where it was defined, for messages */
  char name[CB_NAME_MAX];

  int nin;
  cb_tensor *in[CB_MAX_INPUTS];
  bool accum[CB_MAX_INPUTS]; /* add into in[i]->grad rather than overwrite */
  cb_tensor *out;            /* == in[0] when running in place */

  int nparams; /* weights, biases, batch-norm scale/shift/statistics */
  cb_tensor params[CB_MAX_LAYER_PARAMS];
  bool learnable[CB_MAX_LAYER_PARAMS]; /* false for running statistics */

  int nbind;
  cb_binding bind[3];

  cb_exec *exec;
  void *priv;
  /* Bytes of private buffers setup() will allocate (max-pool indices, a
   * scratch gradient for accum, ...), set by reshape so the net's memory
   * check before allocation counts them. */
  int64_t scratch_bytes;

  /* Sub-timings a layer may report for its last backward (ms), e.g. a
   * conv's bwd_data and bwd_filter; negative when not measured. */
  double sub_ms[3];
};

/* Every layer kind, NULL-terminated. */
const cb_layer_ops *const *cb_layer_kinds(void);
const cb_layer_ops *cb_layer_kind_find(const char *kind);

/* Chooses the kernel of one problem: sets bd->ctx, bd->variant,
 * bd->params (and fallback / source). */
typedef cb_status (*cb_bind_fn)(void *user, const cb_problem *p, cb_binding *bd);

/* The plain choice, the chooser's fixed rule (cb_choose_fixed): the first
 * variant of ctx's backend that supports the problem (at its default
 * parameters), else the first of ref's, marked fallback. user is a
 * cb_bind_first_ctx. */
typedef struct cb_bind_first_ctx {
  cb_ctx *ctx, *ref;
} cb_bind_first_ctx;
cb_status cb_bind_first(void *user, const cb_problem *p, cb_binding *bd);

/* The tuned choice, the chooser's tuned rule (cb_choose): user is a
 * cb_chooser; bd->source says where the answer came from. */
cb_status cb_bind_chosen(void *user, const cb_problem *p, cb_binding *bd);

/* Chooses the kernels for l's problems (ops->problems) with bind, and
 * makes their plans. *workspace is raised to the largest workspace a
 * binding needs. Call after reshape. */
cb_status cb_layer_plan(cb_layer *l, cb_bind_fn bind, void *user, size_t *workspace);

/* Destroys the plans cb_layer_plan made. */
void cb_layer_unplan(cb_layer *l);

/* Runs binding b of layer l on the given tensors (host memory), with the
 * net's workspace. A binding on a device backend stages: it copies the
 * inputs (and a GEMM's C when beta != 0) to the device, runs there with a
 * device workspace, waits, and copies dst back. */
cb_status cb_layer_run_binding(cb_layer *l, int b, const void *src0, const void *src1, void *dst);

/* Deterministic initialisation helpers (seeded, portable). */
uint64_t cb_rng_seed(uint64_t seed, const char *stream);
float cb_rng_uniform(uint64_t *state); /* [0, 1) */
float cb_rng_normal(uint64_t *state);  /* mean 0, sd 1 */

#endif
