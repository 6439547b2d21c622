/* cudnn_backend.c: the cudnn backend: every cuDNN convolution algorithm
 * of the three directions as a variant, plus cuDNN's own choice (Find) as
 * a baseline, on one device.
 *
 * The legacy (v7) convolution API is still in cuDNN 9 (cudnn_cnn.h:
 * descriptors, cudnnGet*WorkspaceSize, cudnnFind*Algorithm and the three
 * cudnnConvolution* calls), deprecated beside the graph API but complete
 * for this; cuDNN 9 removed only the v6 cudnnGet*Algorithm calls, which
 * this backend does not use.
 *
 * Precision. Every per-algorithm variant and "find" set CUDNN_FMA_MATH on
 * the convolution descriptor: kernels restricted to FMA instructions, so
 * no tensor cores and no TF32, true fp32 (CUDNN_DEFAULT_MATH allows TF32
 * on Ampere and later). "find_tf32" sets CUDNN_TENSOR_OP_MATH and lets
 * Find pick TF32 tensor-core kernels: its inputs are rounded to 10
 * mantissa bits, about 1e-3 relative on real data (small integers are
 * exact in TF32, so validation still compares exactly; its tolerance
 * states what real data gets).
 *
 * supports() is the algorithm's workspace query: cuDNN answers NOT
 * SUPPORTED (or BAD PARAM) for shapes an algorithm cannot do. A few
 * algorithms accept the query and refuse at run time; that shows as the
 * candidate's error, never as a silent substitute. */
#include "../cuda/cuda_rt.h"

#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Workspace Find may use, and the most "find" asks for: the largest of
 * the algorithms' workspaces below this. */
#define CB_CUDNN_FIND_WS_CAP ((size_t)256 << 20)

static cb_status dnn_check(cudnnStatus_t s, const char *what) {
  if (s == CUDNN_STATUS_SUCCESS) return CB_OK;
  cb_status st;
  switch ((int)s / 1000) {
  case 1: /* not initialised: no driver or library */
    st = CB_ERR_UNAVAILABLE;
    break;
  case 2: /* bad parameter */
  case 3: /* not supported */
    st = CB_ERR_UNSUPPORTED;
    break;
  default:
    st = CB_ERR_INTERNAL;
    break;
  }
  char detail[256] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  return cb_error(st, "%s: %s%s%s", what, cudnnGetErrorString(s), detail[0] ? ": " : "", detail);
}

static void handle_fini(void *h) {
  cudnnStatus_t s = cudnnDestroy((cudnnHandle_t)h);
  if (s != CUDNN_STATUS_SUCCESS) cb_log(CB_LOG_WARN, "cudnnDestroy: %s", cudnnGetErrorString(s));
}

static cb_status dnn_init(cb_ctx *ctx) {
  cb_status st = cb_cuda_open(ctx);
  if (st != CB_OK) return st;
  cb_cuda_state *s = cb_cuda_of(ctx);
  cudnnHandle_t h = NULL;
  if ((st = dnn_check(cudnnCreate(&h), "cudnnCreate")) == CB_OK) {
    s->lib = h;
    s->lib_fini = handle_fini;
    st = dnn_check(cudnnSetStream(h, s->stream), "cudnnSetStream");
  }
  if (st != CB_OK) cb_cuda_close(ctx);
  return st;
}

static void dnn_version(char *buf, size_t len) {
  size_t v = cudnnGetVersion();
  snprintf(buf, len, "cuDNN %zu.%zu.%zu (built with %d.%d.%d)", v / 10000, v % 10000 / 100, v % 100,
           CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
}

static cudnnHandle_t handle_of(const cb_ctx *ctx) {
  return (cudnnHandle_t)cb_cuda_of(ctx)->lib;
}

/* ---- descriptors ------------------------------------------------------------------- */

typedef struct dnn_desc {
  cudnnTensorDescriptor_t x, y; /* input and output activations (dx and dy alike) */
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
} dnn_desc;

static void desc_free(dnn_desc *d) {
  if (d->x) cudnnDestroyTensorDescriptor(d->x);
  if (d->y) cudnnDestroyTensorDescriptor(d->y);
  if (d->w) cudnnDestroyFilterDescriptor(d->w);
  if (d->conv) cudnnDestroyConvolutionDescriptor(d->conv);
  memset(d, 0, sizeof *d);
}

static bool all_fit_int(const cb_conv *c) {
  const int64_t v[] = {c->n,
                       c->c,
                       c->h,
                       c->w,
                       c->k,
                       c->r,
                       c->s,
                       c->pad_h,
                       c->pad_w,
                       c->stride_h,
                       c->stride_w,
                       c->dil_h,
                       c->dil_w,
                       c->groups,
                       cb_conv_out_h(c),
                       cb_conv_out_w(c)};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    if (!cb_cuda_fits_int(v[i])) return false;
  return true;
}

/* Descriptors of p with the given math type; checks that cuDNN computes
 * the same output size as we do. */
static cb_status desc_make(const cb_problem *p, cudnnMathType_t math, dnn_desc *d) {
  memset(d, 0, sizeof *d);
  const cb_conv *c = &p->conv;
  if (!all_fit_int(c)) return cb_error(CB_ERR_UNSUPPORTED, "cudnn: sizes must fit an int");
  int pp = (int)cb_conv_out_h(c), qq = (int)cb_conv_out_w(c);
  cb_status st = dnn_check(cudnnCreateTensorDescriptor(&d->x), "cudnnCreateTensorDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnCreateTensorDescriptor(&d->y), "cudnnCreateTensorDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnCreateFilterDescriptor(&d->w), "cudnnCreateFilterDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnCreateConvolutionDescriptor(&d->conv), "cudnnCreateConvolutionDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)c->n,
                                              (int)c->c, (int)c->h, (int)c->w),
                   "cudnnSetTensor4dDescriptor (x)");
  if (st == CB_OK)
    st = dnn_check(cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)c->n,
                                              (int)c->k, pp, qq),
                   "cudnnSetTensor4dDescriptor (y)");
  if (st == CB_OK)
    st = dnn_check(cudnnSetFilter4dDescriptor(d->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)c->k,
                                              (int)(c->c / c->groups), (int)c->r, (int)c->s),
                   "cudnnSetFilter4dDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnSetConvolution2dDescriptor(
                       d->conv, (int)c->pad_h, (int)c->pad_w, (int)c->stride_h, (int)c->stride_w,
                       (int)c->dil_h, (int)c->dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                   "cudnnSetConvolution2dDescriptor");
  if (st == CB_OK)
    st = dnn_check(cudnnSetConvolutionGroupCount(d->conv, (int)c->groups),
                   "cudnnSetConvolutionGroupCount");
  if (st == CB_OK)
    st = dnn_check(cudnnSetConvolutionMathType(d->conv, math), "cudnnSetConvolutionMathType");
  int on, oc, oh, ow;
  if (st == CB_OK)
    st = dnn_check(cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &on, &oc, &oh, &ow),
                   "cudnnGetConvolution2dForwardOutputDim");
  if (st == CB_OK && (on != c->n || oc != c->k || oh != pp || ow != qq))
    st = cb_error(CB_ERR_INTERNAL, "cudnn: output %dx%dx%dx%d, expected %lldx%lldx%dx%d", on, oc,
                  oh, ow, (long long)c->n, (long long)c->k, pp, qq);
  if (st != CB_OK) desc_free(d);
  return st;
}

/* ---- algorithms ------------------------------------------------------------------------ */

/* A variant's choice: a fixed algorithm, or Find with a math type. */
typedef enum dnn_kind { DNN_ALGO, DNN_FIND, DNN_FIND_TF32 } dnn_kind;

static cudnnMathType_t math_of(dnn_kind kind) {
  return kind == DNN_FIND_TF32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

static int algo_count(cb_op op) {
  return op == CB_OP_CONV_FWD        ? CUDNN_CONVOLUTION_FWD_ALGO_COUNT
         : op == CB_OP_CONV_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT
                                     : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

static const char *algo_name(cb_op op, int algo) {
  static const char *const fwd[] = {
      "implicit_gemm", "implicit_precomp_gemm", "gemm", "direct", "fft", "fft_tiling",
      "winograd",      "winograd_nonfused"};
  static const char *const bwd_data[] = {"algo_0",     "algo_1",   "fft",
                                         "fft_tiling", "winograd", "winograd_nonfused"};
  static const char *const bwd_filter[] = {
      "algo_0", "algo_1", "fft", "algo_3", "winograd", "winograd_nonfused", "fft_tiling"};
  if (algo < 0 || algo >= algo_count(op)) return "?";
  return op == CB_OP_CONV_FWD        ? fwd[algo]
         : op == CB_OP_CONV_BWD_DATA ? bwd_data[algo]
                                     : bwd_filter[algo];
}

/* Workspace bytes of algorithm `algo` for p; CB_ERR_UNSUPPORTED when
 * cuDNN says it cannot do p. */
static cb_status algo_workspace(const cb_ctx *ctx, const dnn_desc *d, cb_op op, int algo,
                                size_t *bytes) {
  *bytes = 0;
  cudnnHandle_t h = handle_of(ctx);
  cudnnStatus_t s;
  if (op == CB_OP_CONV_FWD)
    s = cudnnGetConvolutionForwardWorkspaceSize(h, d->x, d->w, d->conv, d->y,
                                                (cudnnConvolutionFwdAlgo_t)algo, bytes);
  else if (op == CB_OP_CONV_BWD_DATA)
    s = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d->w, d->y, d->conv, d->x,
                                                     (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
  else
    s = cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, d->x, d->y, d->conv, d->w, (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
  char what[96];
  snprintf(what, sizeof what, "cudnn %s/%s workspace query", cb_op_name(op), algo_name(op, algo));
  return dnn_check(s, what);
}

/* The workspace a variant asks for: its algorithm's, or for Find the
 * largest among the algorithms that support p within the cap. */
static cb_status kind_workspace(const cb_ctx *ctx, const cb_problem *p, dnn_kind kind, int algo,
                                size_t *bytes) {
  *bytes = 0;
  cb_status st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  dnn_desc d;
  if ((st = desc_make(p, math_of(kind), &d)) != CB_OK) return st;
  if (kind == DNN_ALGO) {
    st = algo_workspace(ctx, &d, p->op, algo, bytes);
  } else {
    int usable = 0;
    for (int a = 0; a < algo_count(p->op); a++) {
      size_t b;
      cb_status as = algo_workspace(ctx, &d, p->op, a, &b);
      if (as == CB_ERR_UNSUPPORTED || (as == CB_OK && b > CB_CUDNN_FIND_WS_CAP)) continue;
      if (as != CB_OK) {
        st = as;
        break;
      }
      usable++;
      if (b > *bytes) *bytes = b;
    }
    if (st == CB_OK && usable == 0)
      st = cb_error(CB_ERR_UNSUPPORTED, "cudnn %s/find: no algorithm supports this problem",
                    cb_op_name(p->op));
  }
  desc_free(&d);
  return st;
}

/* ---- plans ---------------------------------------------------------------------------- */

typedef struct dnn_plan {
  dnn_desc d;
  cb_op op;
  dnn_kind kind;
  int algo;             /* the algorithm run() uses */
  size_t ws_bytes;      /* the workspace the variant asked for */
  cudnnMathType_t math; /* what Find reported for its choice (or the descriptor's) */
} dnn_plan;

static void plan_destroy(void *plan) {
  dnn_plan *pl = plan;
  if (!pl) return;
  desc_free(&pl->d);
  free(pl);
}

/* cuDNN's Find: runs every algorithm on scratch data and ranks them;
 * takes the fastest that succeeded within the workspace. */
static cb_status find_algo(const cb_ctx *ctx, dnn_plan *pl) {
  cudnnHandle_t h = handle_of(ctx);
  int got = 0;
  cb_status st = CB_OK;
  pl->algo = -1;
#define CB_PICK(perf)                                                                              \
  for (int i = 0; i < got && pl->algo < 0; i++)                                                    \
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= pl->ws_bytes) {                \
      pl->algo = (int)perf[i].algo;                                                                \
      pl->math = perf[i].mathType;                                                                 \
    }
  if (pl->op == CB_OP_CONV_FWD) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    st = dnn_check(cudnnFindConvolutionForwardAlgorithm(h, pl->d.x, pl->d.w, pl->d.conv, pl->d.y,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got,
                                                        perf),
                   "cudnnFindConvolutionForwardAlgorithm");
    if (st == CB_OK) CB_PICK(perf)
  } else if (pl->op == CB_OP_CONV_BWD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    st = dnn_check(cudnnFindConvolutionBackwardDataAlgorithm(
                       h, pl->d.w, pl->d.y, pl->d.conv, pl->d.x,
                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf),
                   "cudnnFindConvolutionBackwardDataAlgorithm");
    if (st == CB_OK) CB_PICK(perf)
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    st = dnn_check(cudnnFindConvolutionBackwardFilterAlgorithm(
                       h, pl->d.x, pl->d.y, pl->d.conv, pl->d.w,
                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf),
                   "cudnnFindConvolutionBackwardFilterAlgorithm");
    if (st == CB_OK) CB_PICK(perf)
  }
#undef CB_PICK
  if (st == CB_OK && pl->algo < 0)
    st = cb_error(CB_ERR_UNSUPPORTED, "cudnn %s/find: no algorithm ran within %zu workspace bytes",
                  cb_op_name(pl->op), pl->ws_bytes);
  return st;
}

static cb_status kind_plan(cb_ctx *ctx, const cb_problem *p, dnn_kind kind, int algo, void **plan) {
  *plan = NULL;
  dnn_plan *pl = calloc(1, sizeof *pl);
  if (!pl) return cb_error(CB_ERR_NOMEM, "out of memory for a cudnn plan");
  pl->op = p->op, pl->kind = kind, pl->algo = algo, pl->math = math_of(kind);
  cb_status st = kind_workspace(ctx, p, kind, algo, &pl->ws_bytes);
  if (st == CB_OK) st = desc_make(p, math_of(kind), &pl->d);
  if (st == CB_OK && kind != DNN_ALGO) st = find_algo(ctx, pl);
  if (st != CB_OK) {
    plan_destroy(pl);
    return st;
  }
  *plan = pl;
  return CB_OK;
}

static const char *math_name(cudnnMathType_t m) {
  switch (m) {
  case CUDNN_DEFAULT_MATH:
    return "default math";
  case CUDNN_TENSOR_OP_MATH:
    return "tensor-op math (TF32)";
  case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
    return "tensor-op math, conversions";
  case CUDNN_FMA_MATH:
    return "FMA math (fp32, no TF32)";
  }
  return "unknown math";
}

/* "fft_tiling, FMA math (fp32, no TF32)": what ran, recorded with each
 * measurement; for Find, what it chose. */
static void plan_info(const void *plan, char *buf, size_t len) {
  const dnn_plan *pl = plan;
  if (!pl) {
    snprintf(buf, len, "%s", "");
    return;
  }
  snprintf(buf, len, "%s, %s", algo_name(pl->op, pl->algo), math_name(pl->math));
}

/* ---- running ------------------------------------------------------------------------ */

static cb_status dnn_run(cb_ctx *ctx, const cb_problem *p, void *plan, const cb_args *args,
                         void *ws) {
  dnn_plan *pl = plan;
  cb_status st = cb_cuda_check_args("cudnn", args);
  if (st == CB_OK && !pl) st = cb_error(CB_ERR_INVALID, "cudnn: run without a plan");
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  if (pl->ws_bytes && !ws) return cb_error(CB_ERR_INVALID, "cudnn: no workspace");
  cudnnHandle_t h = handle_of(ctx);
  const float alpha = 1.0f, beta = 0.0f; /* beta 0: dst is not read (it may hold NaN) */
  char what[96];
  snprintf(what, sizeof what, "cudnn %s/%s", cb_op_name(p->op), algo_name(p->op, pl->algo));
  switch (p->op) {
  case CB_OP_CONV_FWD:
    return dnn_check(cudnnConvolutionForward(h, &alpha, pl->d.x, args->src0, pl->d.w, args->src1,
                                             pl->d.conv, (cudnnConvolutionFwdAlgo_t)pl->algo, ws,
                                             pl->ws_bytes, &beta, pl->d.y, args->dst),
                     what);
  case CB_OP_CONV_BWD_DATA:
    return dnn_check(cudnnConvolutionBackwardData(h, &alpha, pl->d.w, args->src1, pl->d.y,
                                                  args->src0, pl->d.conv,
                                                  (cudnnConvolutionBwdDataAlgo_t)pl->algo, ws,
                                                  pl->ws_bytes, &beta, pl->d.x, args->dst),
                     what);
  case CB_OP_CONV_BWD_FILTER:
    return dnn_check(cudnnConvolutionBackwardFilter(h, &alpha, pl->d.x, args->src0, pl->d.y,
                                                    args->src1, pl->d.conv,
                                                    (cudnnConvolutionBwdFilterAlgo_t)pl->algo, ws,
                                                    pl->ws_bytes, &beta, pl->d.w, args->dst),
                     what);
  default:
    return cb_error(CB_ERR_INTERNAL, "cudnn: op %s", cb_op_name(p->op));
  }
}

/* ---- the variants ------------------------------------------------------------------------ */

/* Tolerance of the TF32 variant: TF32 keeps 10 mantissa bits, so each
 * product is off by up to about 2^-10 relative on real data. */
#define CB_CUDNN_TF32_TOL 2e-3

/* Defines variant `var`: op, kind, algorithm, name, description. Each
 * gets its own small functions that forward to the shared ones. */
#define CB_DNN_VARIANT(var, op_, kind, algo, nm, dsc)                                              \
  static cb_status var##_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {     \
    (void)params;                                                                                  \
    size_t bytes;                                                                                  \
    return kind_workspace(ctx, p, kind, algo, &bytes);                                             \
  }                                                                                                \
  static cb_status var##_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,      \
                                   size_t *bytes) {                                                \
    (void)params;                                                                                  \
    return kind_workspace(ctx, p, kind, algo, bytes);                                              \
  }                                                                                                \
  static cb_status var##_plan(cb_ctx *ctx, const cb_problem *p, const int *params, void **plan) {  \
    (void)params;                                                                                  \
    return kind_plan(ctx, p, kind, algo, plan);                                                    \
  }                                                                                                \
  static cb_status var##_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,      \
                             const cb_args *args, void *ws) {                                      \
    (void)params;                                                                                  \
    return dnn_run(ctx, p, plan, args, ws);                                                        \
  }                                                                                                \
  static const cb_variant var = {.name = nm,                                                       \
                                 .op = op_,                                                        \
                                 .desc = dsc,                                                      \
                                 .tolerance = kind == DNN_FIND_TF32 ? CB_CUDNN_TF32_TOL : 0,       \
                                 .supports = var##_supports,                                       \
                                 .workspace = var##_workspace,                                     \
                                 .plan_create = var##_plan,                                        \
                                 .plan_destroy = plan_destroy,                                     \
                                 .plan_info = plan_info,                                           \
                                 .run = var##_run}

#define FMA " (FMA math: fp32, no TF32)"

CB_DNN_VARIANT(fwd_find, CB_OP_CONV_FWD, DNN_FIND, 0, "find",
               "cudnnFindConvolutionForwardAlgorithm's fastest" FMA);
CB_DNN_VARIANT(fwd_implicit_gemm, CB_OP_CONV_FWD, DNN_ALGO,
               CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, "implicit_gemm", "IMPLICIT_GEMM" FMA);
CB_DNN_VARIANT(fwd_implicit_precomp_gemm, CB_OP_CONV_FWD, DNN_ALGO,
               CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, "implicit_precomp_gemm",
               "IMPLICIT_PRECOMP_GEMM" FMA);
CB_DNN_VARIANT(fwd_gemm, CB_OP_CONV_FWD, DNN_ALGO, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, "gemm",
               "GEMM (explicit im2col)" FMA);
CB_DNN_VARIANT(fwd_direct, CB_OP_CONV_FWD, DNN_ALGO, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, "direct",
               "DIRECT" FMA);
CB_DNN_VARIANT(fwd_fft, CB_OP_CONV_FWD, DNN_ALGO, CUDNN_CONVOLUTION_FWD_ALGO_FFT, "fft", "FFT" FMA);
CB_DNN_VARIANT(fwd_fft_tiling, CB_OP_CONV_FWD, DNN_ALGO, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
               "fft_tiling", "FFT_TILING" FMA);
CB_DNN_VARIANT(fwd_winograd, CB_OP_CONV_FWD, DNN_ALGO, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,
               "winograd", "WINOGRAD" FMA);
CB_DNN_VARIANT(fwd_winograd_nonfused, CB_OP_CONV_FWD, DNN_ALGO,
               CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, "winograd_nonfused",
               "WINOGRAD_NONFUSED" FMA);
CB_DNN_VARIANT(fwd_find_tf32, CB_OP_CONV_FWD, DNN_FIND_TF32, 0, "find_tf32",
               "cuDNN Find with CUDNN_TENSOR_OP_MATH: TF32 tensor cores allowed");

CB_DNN_VARIANT(bwd_data_find, CB_OP_CONV_BWD_DATA, DNN_FIND, 0, "find",
               "cudnnFindConvolutionBackwardDataAlgorithm's fastest" FMA);
CB_DNN_VARIANT(bwd_data_algo_0, CB_OP_CONV_BWD_DATA, DNN_ALGO, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
               "algo_0", "ALGO_0 (non-deterministic)" FMA);
CB_DNN_VARIANT(bwd_data_algo_1, CB_OP_CONV_BWD_DATA, DNN_ALGO, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
               "algo_1", "ALGO_1" FMA);
CB_DNN_VARIANT(bwd_data_fft, CB_OP_CONV_BWD_DATA, DNN_ALGO, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
               "fft", "FFT" FMA);
CB_DNN_VARIANT(bwd_data_fft_tiling, CB_OP_CONV_BWD_DATA, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, "fft_tiling", "FFT_TILING" FMA);
CB_DNN_VARIANT(bwd_data_winograd, CB_OP_CONV_BWD_DATA, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, "winograd", "WINOGRAD" FMA);
CB_DNN_VARIANT(bwd_data_winograd_nonfused, CB_OP_CONV_BWD_DATA, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, "winograd_nonfused",
               "WINOGRAD_NONFUSED" FMA);
CB_DNN_VARIANT(bwd_data_find_tf32, CB_OP_CONV_BWD_DATA, DNN_FIND_TF32, 0, "find_tf32",
               "cuDNN Find with CUDNN_TENSOR_OP_MATH: TF32 tensor cores allowed");

CB_DNN_VARIANT(bwd_filter_find, CB_OP_CONV_BWD_FILTER, DNN_FIND, 0, "find",
               "cudnnFindConvolutionBackwardFilterAlgorithm's fastest" FMA);
CB_DNN_VARIANT(bwd_filter_algo_0, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, "algo_0", "ALGO_0 (non-deterministic)" FMA);
CB_DNN_VARIANT(bwd_filter_algo_1, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, "algo_1", "ALGO_1" FMA);
CB_DNN_VARIANT(bwd_filter_fft, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, "fft", "FFT" FMA);
CB_DNN_VARIANT(bwd_filter_algo_3, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, "algo_3", "ALGO_3 (non-deterministic)" FMA);
CB_DNN_VARIANT(bwd_filter_winograd, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, "winograd",
               "WINOGRAD (cuDNN: not implemented; supports nothing)" FMA);
CB_DNN_VARIANT(bwd_filter_winograd_nonfused, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, "winograd_nonfused",
               "WINOGRAD_NONFUSED" FMA);
CB_DNN_VARIANT(bwd_filter_fft_tiling, CB_OP_CONV_BWD_FILTER, DNN_ALGO,
               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, "fft_tiling", "FFT_TILING" FMA);
CB_DNN_VARIANT(bwd_filter_find_tf32, CB_OP_CONV_BWD_FILTER, DNN_FIND_TF32, 0, "find_tf32",
               "cuDNN Find with CUDNN_TENSOR_OP_MATH: TF32 tensor cores allowed");

/* Find first: what an untuned layer gets is cuDNN's own choice. */
static const cb_variant *const conv_fwd_variants[] = {
    &fwd_find,
    &fwd_implicit_gemm,
    &fwd_implicit_precomp_gemm,
    &fwd_gemm,
    &fwd_direct,
    &fwd_fft,
    &fwd_fft_tiling,
    &fwd_winograd,
    &fwd_winograd_nonfused,
    &fwd_find_tf32,
    NULL,
};
static const cb_variant *const conv_bwd_data_variants[] = {
    &bwd_data_find,
    &bwd_data_algo_0,
    &bwd_data_algo_1,
    &bwd_data_fft,
    &bwd_data_fft_tiling,
    &bwd_data_winograd,
    &bwd_data_winograd_nonfused,
    &bwd_data_find_tf32,
    NULL,
};
static const cb_variant *const conv_bwd_filter_variants[] = {
    &bwd_filter_find,
    &bwd_filter_algo_0,
    &bwd_filter_algo_1,
    &bwd_filter_fft,
    &bwd_filter_algo_3,
    &bwd_filter_winograd,
    &bwd_filter_winograd_nonfused,
    &bwd_filter_fft_tiling,
    &bwd_filter_find_tf32,
    NULL,
};

const cb_backend cb_backend_cudnn = CB_CUDA_BACKEND(
    "cudnn", "every cuDNN convolution algorithm (fp32, FMA math), cuDNN Find, and Find with TF32",
    dnn_init, dnn_version, conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants,
    NULL);
