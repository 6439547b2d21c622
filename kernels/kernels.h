/* kernels.h: the kernel interface of convbench.
 *
 * Everything that computes a convolution or a GEMM sits behind this header:
 * a problem (what to compute), a variant (one way to compute it), a backend
 * (a family of variants sharing a library or a device) and the registry of
 * backends compiled into this build. Nothing here knows about nets, SQLite
 * or the command line; harness/ and autotune/ build on it.
 *
 * Conventions. Tensors are dense and packed, fp32, NCHW for activations and
 * KCRS (out channels, in channels per group, filter height, filter width)
 * for filters; GEMM matrices are row-major. Every function returns a
 * cb_status; on failure cb_errmsg() holds a one-line reason. Library code
 * never prints and never exits: messages go through cb_log().
 */
#ifndef CB_KERNELS_H
#define CB_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when cb_backend or cb_variant change shape; a backend built
 * against another version is refused at registration. */
#define CB_API_VERSION 2

/* ---- status and errors ------------------------------------------------- */

typedef enum cb_status {
  CB_OK = 0,
  CB_ERR_INVALID,     /* a bad argument, flag, shape or value */
  CB_ERR_UNSUPPORTED, /* this variant cannot compute this problem */
  CB_ERR_UNAVAILABLE, /* the backend's library or device is missing */
  CB_ERR_NOMEM,       /* an allocation failed or would not fit in memory */
  CB_ERR_IO,          /* a file could not be opened, read or written */
  CB_ERR_PARSE,       /* a netdef, shapes file or problem key does not parse */
  CB_ERR_DB,          /* the database failed, is corrupt or is not ours */
  CB_ERR_INTERRUPTED, /* the user asked to stop (SIGINT) */
  CB_ERR_MISMATCH,    /* a result differs from the reference beyond its threshold */
  CB_ERR_INTERNAL,    /* a bug: an invariant did not hold */
} cb_status;

/* A short constant name for a status ("invalid argument", ...). */
const char *cb_status_str(cb_status s);

/* Records a formatted one-line reason for the calling thread and returns s,
 * so a failing function can `return cb_error(CB_ERR_INVALID, "...", ...)`. */
cb_status cb_error(cb_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last reason, or "" when none was recorded. */
const char *cb_errmsg(void);

/* Prefixes the calling thread's last reason with a formatted context
 * ("layer conv1: " + reason) and returns s unchanged. */
cb_status cb_error_wrap(cb_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forgets the calling thread's last reason. */
void cb_error_clear(void);

/* ---- logging: the one way library code talks to the user --------------- */

typedef enum cb_log_level { CB_LOG_DEBUG, CB_LOG_INFO, CB_LOG_WARN, CB_LOG_ERROR } cb_log_level;
typedef void (*cb_log_fn)(cb_log_level level, const char *msg, void *user);

/* Installs the log hook (NULL silences everything). Not thread-safe: call
 * it once at start-up. */
void cb_log_set(cb_log_fn fn, void *user);
void cb_log(cb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- problems ------------------------------------------------------------ */

typedef enum cb_op {
  CB_OP_CONV_FWD,        /* y[n,k,p,q]   = conv(x[n,c,h,w], w[k,c/g,r,s]) */
  CB_OP_CONV_BWD_DATA,   /* dx[n,c,h,w]  = conv_transpose(dy[n,k,p,q], w) */
  CB_OP_CONV_BWD_FILTER, /* dw[k,c/g,r,s] = correlate(x, dy) */
  CB_OP_GEMM,            /* C[m,n] = alpha op(A) op(B) + beta C */
  CB_OP_COUNT
} cb_op;

typedef enum cb_dtype { CB_DTYPE_F32 } cb_dtype;
typedef enum cb_layout { CB_LAYOUT_NCHW } cb_layout;

/* A 2-D convolution, the same description for all three directions.
 * Output size p x q follows the floor rule:
 *   p = (h + 2 pad_h - dil_h (r - 1) - 1) / stride_h + 1. */
typedef struct cb_conv {
  int64_t n, c, h, w; /* input: batch, channels, height, width */
  int64_t k, r, s;    /* filters: output channels, height, width */
  int64_t pad_h, pad_w;
  int64_t stride_h, stride_w;
  int64_t dil_h, dil_w; /* 1 = no dilation */
  int64_t groups;       /* c and k are multiples of groups */
} cb_conv;

/* A row-major GEMM: A is m x k (k x m when trans_a), B is k x n (n x k when
 * trans_b), C is m x n. */
typedef struct cb_gemm {
  int64_t m, n, k;
  bool trans_a, trans_b;
  float alpha, beta;
} cb_gemm;

/* What to compute: an op and its shape. conv is read for the three conv
 * ops, gemm for CB_OP_GEMM. */
typedef struct cb_problem {
  cb_op op;
  cb_dtype dtype;
  cb_layout layout;
  union {
    cb_conv conv;
    cb_gemm gemm;
  };
} cb_problem;

/* Output height and width of a convolution (may be <= 0 for a bad shape). */
int64_t cb_conv_out_h(const cb_conv *c);
int64_t cb_conv_out_w(const cb_conv *c);

/* A conv or gemm problem with every field set to its neutral default
 * (stride, dilation and groups 1, alpha 1, beta 0, no padding). */
cb_problem cb_problem_conv(cb_op op, cb_conv conv);
cb_problem cb_problem_gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b);

/* Checks that a problem is well formed: positive sizes, groups dividing c
 * and k, a non-empty output, element counts that fit in int64. */
cb_status cb_problem_check(const cb_problem *p);

/* The problem's canonical key, e.g.
 *   conv_fwd:f32:nchw:n128c3h224w224_k64r11s11_p2x2_u4x4_d1x1_g1
 *   gemm:f32:nt:m1024n1024k1024            (alpha 1, beta 0)
 *   gemm:f32:nn:m64n64k64_a0.5b1           (other alpha, beta)
 * Writes at most len bytes including the NUL; returns the length the full
 * key needs, like snprintf. Keys parse back to the same problem. */
int cb_problem_key(const cb_problem *p, char *buf, size_t len);
/* Enough for any key, even with every field at the int64 maximum. */
#define CB_KEY_MAX 384

/* Parses a canonical key; CB_ERR_PARSE with the offending position. */
cb_status cb_problem_parse(const char *key, cb_problem *out);

/* Floating-point operations of one run, counting a multiply-add as 2 and
 * padded taps as work (the convnet-benchmarks and DeepBench convention). */
double cb_problem_flops(const cb_problem *p);

/* Element counts of the three tensors a problem touches, in cb_args order:
 * which = 0 (src0), 1 (src1), 2 (dst). */
int64_t cb_problem_elems(const cb_problem *p, int which);

const char *cb_op_name(cb_op op); /* "conv_fwd", "conv_bwd_data", ... */
cb_status cb_op_from_name(const char *name, cb_op *out);

/* ---- variants and backends ----------------------------------------------- */

/* The tensors of one run. src0, src1 and dst per op:
 *   CONV_FWD:        x[n,c,h,w],  w[k,c/g,r,s], y[n,k,p,q]
 *   CONV_BWD_DATA:   dy[n,k,p,q], w[k,c/g,r,s], dx[n,c,h,w]
 *   CONV_BWD_FILTER: x[n,c,h,w],  dy[n,k,p,q],  dw[k,c/g,r,s]
 *   GEMM:            A,           B,            C (read when beta != 0)
 * The conv ops overwrite dst. Pointers are device pointers for a device
 * backend. */
typedef struct cb_args {
  const void *src0;
  const void *src1;
  void *dst;
} cb_args;

#define CB_MAX_PARAMS 8

/* One tunable integer parameter of a variant and the values worth trying. */
typedef struct cb_param_def {
  const char *name;
  const int *values;
  int nvalues;
  int def; /* the value used when nobody tuned it */
} cb_param_def;

typedef struct cb_backend cb_backend;
typedef struct cb_ctx cb_ctx;

/* One way to compute one op. Functions other than run may be NULL:
 * supports NULL = supports everything, workspace NULL = needs none,
 * plan_create NULL = stateless, plan_info NULL = nothing to add. */
typedef struct cb_variant {
  const char *name; /* unique within its backend and op, e.g. "direct" */
  cb_op op;
  const char *desc;
  /* Largest relative error against ref allowed on small-integer data;
   * 0 means the result must match ref exactly. */
  double tolerance;
  int nparams;
  const cb_param_def *params;

  /* CB_OK, or CB_ERR_UNSUPPORTED with a reason. ctx is the opened backend
   * the variant would run on (its thread count, its library handles). */
  cb_status (*supports)(const cb_ctx *ctx, const cb_problem *p, const int *params);
  /* Scratch bytes run() needs beside the tensors, on ctx (per-thread
   * buffers depend on ctx->threads; library scratchpads on its handles). */
  cb_status (*workspace)(const cb_ctx *ctx, const cb_problem *p, const int *params, size_t *bytes);
  /* Work done once per problem (plans, primitives), released by
   * plan_destroy. A plan serves one run at a time: variants may keep
   * per-run state (bound buffers, per-thread scratch) in it. */
  cb_status (*plan_create)(cb_ctx *ctx, const cb_problem *p, const int *params, void **plan);
  void (*plan_destroy)(void *plan);
  /* What the library chose for this plan, recorded with every measurement
   * (oneDNN's "brgconv:avx512_core", OpenBLAS's core "Haswell"). plan may
   * be NULL for a stateless variant. */
  void (*plan_info)(const void *plan, char *buf, size_t len);
  cb_status (*run)(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                   const cb_args *args, void *workspace);
} cb_variant;

/* A parameter point of a variant as text, "16,4" ("" for none): how the
 * database and cache exports write it. format returns the length the
 * whole text needs, like snprintf; parse takes exactly that form
 * (integers, commas, at most CB_MAX_PARAMS) and fails with CB_ERR_PARSE
 * otherwise. */
int cb_params_format(const int *params, int n, char *buf, size_t len);
cb_status cb_params_parse(const char *text, int *params, int *n);

typedef enum cb_device_kind { CB_DEVICE_HOST, CB_DEVICE_CUDA } cb_device_kind;

/* A backend: a static const table, one per library or device family. */
struct cb_backend {
  int api_version; /* CB_API_VERSION */
  const char *name;
  const char *desc;
  cb_device_kind device;
  /* Opens the library or device for ctx; CB_ERR_UNAVAILABLE with the
   * reason when it is missing. May set ctx->state. */
  cb_status (*init)(cb_ctx *ctx);
  void (*fini)(cb_ctx *ctx);
  /* Library version for build records ("OpenBLAS 0.3.21 Haswell"); may be NULL. */
  void (*version)(char *buf, size_t len);
  /* Device memory, NULL for host backends (plain malloc'd memory works). */
  cb_status (*alloc)(cb_ctx *ctx, size_t bytes, void **ptr);
  void (*free)(cb_ctx *ctx, void *ptr);
  cb_status (*upload)(cb_ctx *ctx, void *dst, const void *src, size_t bytes);
  cb_status (*download)(cb_ctx *ctx, void *dst, const void *src, size_t bytes);
  cb_status (*sync)(cb_ctx *ctx);
  /* Device timing, NULL for host backends (timed with the host clock
   * around run + sync). flush evicts the device's caches (a memset bigger
   * than the GPU's L2) before a sample; time_begin and time_end bracket one
   * sample with device events on the backend's stream, time_end waiting
   * for the work and giving its elapsed milliseconds. */
  cb_status (*flush)(cb_ctx *ctx);
  cb_status (*time_begin)(cb_ctx *ctx);
  cb_status (*time_end)(cb_ctx *ctx, double *ms);
  /* Per op, a NULL-terminated list; a NULL list means the op is not offered. */
  const cb_variant *const *variants[CB_OP_COUNT];
};

/* A backend's per-op variant lists in op order (.variants = CB_VARIANTS(...)):
 * the four ops are the same for every backend, so each table names only
 * its lists; NULL for an op the backend does not offer. */
#define CB_VARIANTS(FWD, BWD_DATA, BWD_FILTER, GEMM)                                               \
  {                                                                                                \
    [CB_OP_CONV_FWD] = (FWD), [CB_OP_CONV_BWD_DATA] = (BWD_DATA),                                  \
    [CB_OP_CONV_BWD_FILTER] = (BWD_FILTER), [CB_OP_GEMM] = (GEMM)                                  \
  }

/* An opened backend: what variants run with. */
struct cb_ctx {
  const cb_backend *backend;
  int threads; /* host threads the variants may use (>= 1) */
  int device;  /* device index for device backends */
  void *state; /* owned by the backend */
};

/* ---- registry -------------------------------------------------------------- */

/* Every backend compiled into this build, NULL-terminated, ref first. */
const cb_backend *const *cb_backends(void);

/* The backend called name, or NULL. */
const cb_backend *cb_backend_find(const char *name);

/* The variant of backend b for op called name, or NULL. */
const cb_variant *cb_variant_find(const cb_backend *b, cb_op op, const char *name);

/* Opens backend b with the given thread count; CB_ERR_UNAVAILABLE (with
 * the reason in cb_errmsg()) when its library or device is missing. */
cb_status cb_ctx_open(const cb_backend *b, int threads, cb_ctx **out);
/* cb_ctx_open on device index `device` (cuda:N for a device backend;
 * ignored by host backends). cb_ctx_open is device 0. */
cb_status cb_ctx_open_on(const cb_backend *b, int threads, int device, cb_ctx **out);
void cb_ctx_close(cb_ctx *ctx);

/* Default parameter point of a variant (each parameter's def); out has
 * CB_MAX_PARAMS entries. */
void cb_variant_default_params(const cb_variant *v, int *out);

/* Runs variant v once: checks support, allocates the workspace, makes and
 * frees a plan. For tests and one-off runs; layers keep plans and
 * workspaces of their own. params NULL means the defaults. */
cb_status cb_variant_exec(cb_ctx *ctx, const cb_variant *v, const cb_problem *p, const int *params,
                          const cb_args *args);

#ifdef __cplusplus
}
#endif

#endif /* CB_KERNELS_H */
