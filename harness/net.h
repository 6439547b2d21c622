/* net.h: a net built from a netdef: layers in order, the tensors between
 * them, the kernels each layer runs, and forward / backward over all.
 *
 * Building is checked before anything is allocated: every shape is
 * computed first, the memory the net will need is summed, and a net that
 * does not fit is refused naming the layer where it runs out. */
#ifndef CB_NET_H
#define CB_NET_H

#include "choose.h"
#include "layer.h"

typedef struct cb_net_opts {
  int64_t batch;       /* 0: the netdef's batch */
  const char *backend; /* backend for conv and fc kernels; NULL: "ref" */
  /* Tuned nets: when choose is set, backend is ignored and every problem
   * goes to the chooser's tuned rule (choose.h) with choose as its cache
   * lookup; a miss, or a choice this build cannot run, falls back to the
   * heuristic: the first backend of `heuristic` (NULL-terminated; NULL:
   * the chooser's table) with a variant that supports it. */
  cb_choose_fn choose;
  void *choose_user;
  const char *const *heuristic;
  int threads;       /* >= 1 */
  int device;        /* CUDA device a GPU backend runs on (cuda:N); 0 by default */
  uint64_t seed;     /* parameter initialisation, synthetic data, dropout */
  bool input_grad;   /* also compute the gradient of the data input */
  int64_t mem_limit; /* bytes the net may use; 0: the memory available now */
  int shape_index;   /* .shapes files: which statement to build (one layer alone) */
  bool check_only;   /* stop after shapes, plans and the memory check: allocate nothing */
} cb_net_opts;

typedef struct cb_net {
  char name[CB_NAME_MAX];
  const cb_netdef *def;
  int64_t batch;
  cb_tensor *data; /* the input, n x c x h x w */
  int32_t *labels; /* n labels (for a loss layer; synthetic until data is loaded) */
  int nlayers;
  cb_layer *layers; /* in forward order */
  int ntensors;
  cb_tensor **tensors; /* every tensor the net owns, data first */
  cb_tensor *top;      /* the last layer's output */
  bool has_loss;       /* the last layer is a loss: backward seeds d(loss) = 1 */
  cb_exec exec;
  const cb_backend *backend; /* NULL for a tuned net */
  cb_ctx *ctx;               /* the requested backend (NULL for a tuned net) */
  cb_ctx *ref_ctx;           /* ref, for what the requested backend does not support */
  int npool;
  cb_ctx *pool[16]; /* a tuned net's backends, opened as its choices need them */
  int64_t bytes;    /* tensors + parameters + workspace */
  float *top_seed;  /* the top gradient, kept when an in-place top layer overwrites it */
  int ndead;
  cb_tensor **dead; /* outputs nobody reads: their gradient is zeroed before backward */
} cb_net;

/* Builds the net from nd (for a .shapes file, the single layer
 * o->shape_index with its own input). Parse-level and shape errors come
 * back as CB_ERR_PARSE / CB_ERR_INVALID with "file:line:col: layer NAME:
 * ..."; a net that would not fit in memory as CB_ERR_NOMEM naming the
 * layer and the bytes. Parameters are initialised from o->seed, the data
 * input filled with synthetic values. */
cb_status cb_net_build(const cb_netdef *nd, const cb_net_opts *o, cb_net **out);
void cb_net_free(cb_net *net);

/* One layer's forward / backward (layers run in index order / reverse). */
cb_status cb_net_forward_layer(cb_net *net, int i);
cb_status cb_net_backward_layer(cb_net *net, int i);

/* Zeroes what backward accumulates and seeds the top gradient: 1 for a
 * loss, a fixed pseudo-random tensor otherwise (as convnet-benchmarks
 * feeds a gradOutput). Call before the backward layers. */
void cb_net_backward_begin(cb_net *net);

/* The whole net forward, and backward (backward_begin included). */
cb_status cb_net_forward(cb_net *net);
cb_status cb_net_backward(cb_net *net);

/* The loss after a forward pass of a net with a loss layer, else 0. */
double cb_net_loss(const cb_net *net);

#endif
