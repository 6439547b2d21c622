/* ob.h: private to the openblas backend (kernels/openblas/). The variants,
 * the convolution geometry they share, the im2col / col2im unfolding, the
 * work split between threads and the thin wrapper around cblas_sgemm.
 *
 * Every convolution here is lowered to row-major GEMMs on a "col" matrix:
 * row (c, r, s) of col holds, for every output position (i, p, q) (image,
 * output row, output column) a column j = i*PQ + p*Q + q, the input value
 * filter tap (r, s) of channel c multiplies there (0 in the padding). With
 * the filters w[k, c/g, r, s] read as a [K, C/G*R*S] matrix, group g's
 * output is W_g col_g, where W_g is rows g*K/G.. of W and col_g is rows
 * g*(C/G*R*S).. of col, so a grouped convolution is one GEMM per group on
 * sub-matrices, with no copies.
 *
 * Threads. The conv variants run ONE OpenMP team per call and split each
 * GEMM between its threads themselves (by columns of the output, or by
 * rows of col), every thread calling a single-threaded cblas_sgemm on its
 * own share right after unfolding that share. Letting OpenBLAS's own
 * thread pool run the GEMMs between OpenMP-threaded im2col steps was
 * measured 1.5x to 3x slower on two cores: the two pools' idle threads
 * spin (libgomp for a while after each region, OpenBLAS for up to 0.1 s
 * after each GEMM) and take the cores from each other. Only the GEMM
 * variant "sgemm" uses OpenBLAS's pool. Single-threaded calls leave
 * OpenBLAS's thread count at 1 after a run (it is global library state),
 * so every run sets it before its first call.
 *
 * The variants' run() trusts its problem to have passed cb_problem_check()
 * and the variant's supports() (cb_variant_exec and the layers check both
 * first), so sizes are positive and every GEMM dimension fits in an int. */
#ifndef CB_OB_H
#define CB_OB_H

#include "conv_geom.h"
#include "im2col.h"
#include "kernels.h"

#include <cblas.h>
#include <stdbool.h>

#ifdef _OPENMP
#include <omp.h>
#endif

extern const cb_variant cb_ob_conv_fwd_gemm_1x1;
extern const cb_variant cb_ob_conv_fwd_im2col_per_image;
extern const cb_variant cb_ob_conv_fwd_im2col_batched;
extern const cb_variant cb_ob_conv_bwd_data_gemm_1x1;
extern const cb_variant cb_ob_conv_bwd_data_im2col_per_image;
extern const cb_variant cb_ob_conv_bwd_data_im2col_batched;
extern const cb_variant cb_ob_conv_bwd_filter_gemm_1x1;
extern const cb_variant cb_ob_conv_bwd_filter_im2col_per_image;
extern const cb_variant cb_ob_conv_bwd_filter_im2col_batched;
extern const cb_variant cb_ob_gemm_sgemm;
extern const cb_variant cb_ob_gemm_sgemm_split;

/* The geometry is cb_conv_geom (conv_geom.h). */

/* How a conv variant lays out its work, for the support and workspace
 * rules the variants share. */
typedef enum cb_ob_lowering {
  CB_OB_GEMM_1X1,  /* GEMMs on the tensors themselves, no col matrix */
  CB_OB_PER_IMAGE, /* one image's col matrix [CRS, PQ] at a time */
  CB_OB_BATCHED,   /* b images' col [CRS, b PQ] and a [K, b PQ] copy of y or dy per step */
} cb_ob_lowering;

/* Images per step: 0 for gemm_1x1 (no col), 1 per image; batched, the
 * "images" parameter (capped at N) or, when it is 0, an automatic choice:
 * one image when it alone makes wide enough GEMMs (L1), else enough images
 * for wide GEMMs within a workspace budget (the whole batch of 13x13 images
 * in L5 at batch 16). */
int64_t cb_ob_step_images(const cb_problem *p, cb_ob_lowering how, int images);

/* CB_OK when every GEMM dimension and leading dimension the lowering uses
 * fits in OpenBLAS's int and its workspace in size_t; else
 * CB_ERR_UNSUPPORTED naming who and why. gemm_1x1 also needs a 1x1
 * filter, stride 1 and no padding. images is the batched variants'
 * parameter (else ignored). */
cb_status cb_ob_conv_supports(const char *who, const cb_problem *p, cb_ob_lowering how, int images);

/* Workspace bytes of a lowering: the col matrix of one step (none for
 * gemm_1x1), plus for steps of more than one image the [K, b PQ] matrix of
 * y or dy. CB_ERR_UNSUPPORTED when the count overflows size_t. */
cb_status cb_ob_conv_workspace(const char *who, const cb_problem *p, cb_ob_lowering how, int images,
                               size_t *bytes);

/* The tunable parameters (ob_common.c). "images" (batched only): images
 * per step, 0 for the automatic choice. "chunk" (variants that unfold x):
 * columns of col each thread unfolds and multiplies in one step, 0 for its
 * whole share at once. A chunk small enough to stay in the core's cache
 * between im2col and the GEMM saves writing col to memory and reading it
 * back, but every step makes OpenBLAS pack W again, so chunks pay where W
 * is small next to a chunk of col (few output channels, as in L1). */
extern const cb_param_def cb_ob_fwd_per_image_params[1];        /* chunk */
extern const cb_param_def cb_ob_fwd_batched_params[2];          /* images, chunk */
extern const cb_param_def cb_ob_bwd_data_batched_params[1];     /* images */
extern const cb_param_def cb_ob_bwd_filter_per_image_params[1]; /* chunk */
extern const cb_param_def cb_ob_bwd_filter_batched_params[2];   /* images, chunk */

/* Parameter i, or its default when params is NULL (run() called without
 * cb_variant_exec's defaults). */
static inline int cb_ob_param(const int *params, int i, const cb_param_def *defs) {
  return params ? params[i] : defs[i].def;
}

/* The "images" parameter of a batched variant (its parameter 0); 0 for
 * the other lowerings, which have none (defs may then be NULL). */
static inline int cb_ob_images(const int *params, cb_ob_lowering how, const cb_param_def *defs) {
  return how == CB_OB_BATCHED ? cb_ob_param(params, 0, defs) : 0;
}

/* Defines the table sym of an openblas conv variant: op_ (opname in
 * messages, "opname/name_"), lowering how, nparams_ parameters pdefs (a
 * batched variant's "images" first), run prefix##_run (defined before);
 * and its supports() and workspace(), prefix##_supports and
 * prefix##_workspace, the rules every lowering shares
 * (cb_ob_conv_supports, cb_ob_conv_workspace). The tolerance is 0 (left
 * out): with small-integer data every product and partial sum is an
 * integer below 2^24, exact in float in any order. */
#define CB_OB_CONV_VARIANT(sym, prefix, op_, opname, name_, how, desc_, nparams_, pdefs)           \
  static cb_status prefix##_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {  \
    (void)ctx;                                                                                     \
    return cb_ob_conv_supports(opname "/" name_, p, how, cb_ob_images(params, how, pdefs));        \
  }                                                                                                \
  static cb_status prefix##_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,   \
                                      size_t *bytes) {                                             \
    (void)ctx;                                                                                     \
    return cb_ob_conv_workspace(opname "/" name_, p, how, cb_ob_images(params, how, pdefs),        \
                                bytes);                                                            \
  }                                                                                                \
  const cb_variant sym = {                                                                         \
      .name = name_,                                                                               \
      .op = op_,                                                                                   \
      .desc = desc_,                                                                               \
      .nparams = nparams_,                                                                         \
      .params = pdefs,                                                                             \
      .supports = prefix##_supports,                                                               \
      .workspace = prefix##_workspace,                                                             \
      .plan_info = cb_ob_plan_info,                                                                \
      .run = prefix##_run,                                                                         \
  }

/* Columns per step for a chunk parameter: chunk, or the whole share
 * (share columns, at least 1) when it is 0. */
static inline int64_t cb_ob_chunk(int chunk, int64_t share) {
  return chunk > 0 ? chunk : share > 0 ? share : 1;
}

/* ---- data movement (ob_im2col.c); each call runs on the calling thread,
 * the callers split the work between their team's threads ---------------- */

/* im2col and the copies between NCHW planes and [K, columns] matrices are
 * shared with the cpu backend: cb_im2col, cb_planes_to_matrix and
 * cb_matrix_to_planes (im2col.h). */

/* The adjoint of im2col for the dx rows [row0, row1), numbered
 * (i*C + c)*H + h over images 0.. of col (rows ld floats apart): each row
 * dx[i, c, h, :] is overwritten with the sum of every col entry that
 * im2col would copy from it. */
void cb_ob_col2im(const cb_conv_geom *g, const float *col, int64_t ld, int64_t row0, int64_t row1,
                  float *dx);

/* ---- threads ---------------------------------------------------------- */

/* The unit the variants split GEMM columns (or rows of col) in: OpenBLAS
 * computes a row-major C as a column-major C^T, so our columns are its
 * rows, which its AVX-512 micro-kernels take 16 at a time. */
#define CB_OB_ALIGN 16

/* This thread's share [*lo, *hi) of n items split between nt threads, in
 * whole multiples of align (except the last share), so that each GEMM a
 * thread makes keeps OpenBLAS's 16-wide micro-kernel full. */
void cb_ob_share(int64_t n, int64_t align, int t, int nt, int64_t *lo, int64_t *hi);

/* The calling thread's index and its team's size inside an OpenMP
 * parallel region (0 and 1 without OpenMP). The team may be smaller than
 * asked for (nested regions, thread limits), so shares use these. */
static inline int cb_ob_thread(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
static inline int cb_ob_team(void) {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

/* Threads worth starting for a call of this many flops: all of ctx's,
 * except for a problem so small that waking a team costs more than it
 * saves. */
int cb_ob_threads_for(const cb_ctx *ctx, double flops);

/* Makes the GEMMs the calling thread makes single-threaded: the conv
 * variants split them between their own OpenMP threads (see above).
 * OpenBLAS's thread count is global library state, so every run() sets it
 * (to 1 here, to ctx->threads in "sgemm"), and two contexts with different
 * thread counts each get their own. */
void cb_ob_blas_single(void);

/* Row-major C[m,n] = alpha op(A) op(B) + beta C through cblas_sgemm with
 * explicit leading dimensions (sub-matrices of bigger ones). The caller has
 * checked that every size fits in an int (cb_ob_fits_int). An empty share
 * (m or n 0) does nothing. */
static inline void cb_ob_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha, a,
              (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

/* True when v fits in OpenBLAS's integer type (blasint, a 32-bit int in
 * Debian's libopenblas). */
bool cb_ob_fits_int(int64_t v);

/* plan_info of every variant: "sgemm <OpenBLAS core>", e.g.
 * "sgemm Cooperlake" (the core follows OPENBLAS_CORETYPE). */
void cb_ob_plan_info(const void *plan, char *buf, size_t len);

/* CB_OK, or CB_ERR_INVALID naming who when a tensor pointer of args is NULL. */
cb_status cb_ob_check_args(const char *who, const cb_args *args);

/* What every conv run() does first: cb_ob_check_args; then unpacks p's geometry into g, makes
 * the calling thread's GEMMs single-threaded (cb_ob_blas_single) and sets
 * *threads to the team worth starting for p (cb_ob_threads_for). */
cb_status cb_ob_conv_begin(const char *who, const cb_ctx *ctx, const cb_problem *p,
                           const cb_args *args, cb_conv_geom *g, int *threads);

#endif /* CB_OB_H */
