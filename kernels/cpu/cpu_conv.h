/* cpu_conv.h: private to the cpu backend's convolutions (cpu_conv_*.c):
 * the variants, the geometry and parameters they share, ISA dispatch of
 * their loops, workspace carving, the work split between threads and the
 * data movement around the GEMMs (im2col, col2im, padded planes).
 *
 * Variants (the lists in cpu_conv_list.c):
 *   im2col         every shape: im2col / col2im + cb_cpu_sgemm
 *   direct         1x1 convolutions as GEMMs on the tensors (strided ones
 *                  through a gather), and a register-blocked direct kernel
 *                  for small images with many channels (cpu_conv_direct.c)
 *   winograd_f2x3, winograd_f4x3
 *                  Winograd F(2x2,3x3) and F(4x4,3x3) for 3x3 stride-1
 *                  undilated filters, all three ops (cpu_conv_winograd.c)
 *   depthwise      groups == c, k = c m: direct loops vectorised over the
 *                  output row, any filter, stride, padding and dilation,
 *                  all three ops (cpu_conv_depthwise.c)
 * Every variant's first parameter is the ISA (cpu.h): its loops exist in
 * three versions, compiled from one body with GCC target attributes.
 *
 * Threads. Every run opens ONE OpenMP team and splits the work itself;
 * every cb_cpu_sgemm call is single-threaded on the calling thread's share
 * (cfg.threads = 1), with packing space of its own in the workspace, so
 * GEMMs and the loops around them never wait for each other's pools.
 *
 * The variants' run() trusts its problem to have passed cb_problem_check()
 * and the variant's supports() (cb_variant_exec and the layers check both
 * first). */
#ifndef CB_CPU_CONV_H
#define CB_CPU_CONV_H

#include "cpu.h"
#include "im2col.h" /* cb_conv_geom, cb_tap_range, the shared im2col */

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

extern const cb_variant cb_cpu_conv_fwd_depthwise;
extern const cb_variant cb_cpu_conv_bwd_data_depthwise;
extern const cb_variant cb_cpu_conv_bwd_filter_depthwise;
extern const cb_variant cb_cpu_conv_fwd_im2col;
extern const cb_variant cb_cpu_conv_bwd_data_im2col;
extern const cb_variant cb_cpu_conv_bwd_filter_im2col;
extern const cb_variant cb_cpu_conv_fwd_direct;
extern const cb_variant cb_cpu_conv_bwd_data_direct;
extern const cb_variant cb_cpu_conv_bwd_filter_direct;
extern const cb_variant cb_cpu_conv_fwd_winograd_f2x3;
extern const cb_variant cb_cpu_conv_fwd_winograd_f4x3;
extern const cb_variant cb_cpu_conv_bwd_data_winograd_f2x3;
extern const cb_variant cb_cpu_conv_bwd_data_winograd_f4x3;
extern const cb_variant cb_cpu_conv_bwd_filter_winograd_f2x3;
extern const cb_variant cb_cpu_conv_bwd_filter_winograd_f4x3;

/* ---- ISA-specific code ------------------------------------------------------ */

/* The target attributes every ISA-specific function of the conv code
 * carries. GCC vectorises the loop bodies for the widest registers the
 * attribute allows; prefer-vector-width=512 asks for zmm, which GCC's
 * generic tuning would otherwise avoid. */
#define CB_CPU_TARGET_AVX512                                                                       \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,prefer-vector-width=512")))
#define CB_CPU_TARGET_AVX2 __attribute__((target("avx2,fma")))

/* A loop body written once in portable C (a static function marked
 * CB_CPU_BODY) and compiled three times: CB_CPU_CLONES(name, (params),
 * (args)) defines name_scalar, name_avx2 and name_avx512, each inlining
 * name_body under its ISA, so the compiler vectorises each for its
 * registers; cb_cpu_pick() chooses one at run time. */
#define CB_CPU_BODY static inline __attribute__((always_inline))
#define CB_CPU_CLONES(name, params, args)                                                          \
  static void name##_scalar params {                                                               \
    name##_body args;                                                                              \
  }                                                                                                \
  CB_CPU_TARGET_AVX2 static void name##_avx2 params {                                              \
    name##_body args;                                                                              \
  }                                                                                                \
  CB_CPU_TARGET_AVX512 static void name##_avx512 params {                                          \
    name##_body args;                                                                              \
  }

/* The clone of an ISA (already resolved, not AUTO). */
#define cb_cpu_pick(name, isa)                                                                     \
  ((isa) == CB_CPU_AVX512 ? name##_avx512 : (isa) == CB_CPU_AVX2 ? name##_avx2 : name##_scalar)

/* ---- parameters -------------------------------------------------------------- */

/* The "isa" parameter every variant has first: -1 (auto), 2 (avx512),
 * 1 (avx2), 0 (scalar). */
extern const int cb_cpu_isa_values[4];
#define CB_CPU_ISA_PARAM                                                                           \
  { "isa", cb_cpu_isa_values, 4, CB_CPU_ISA_AUTO }

/* Parameter i, or its default when params is NULL (run() called without
 * cb_variant_exec's defaults). */
static inline int cb_cpu_param(const int *params, int i, const cb_param_def *defs) {
  return params ? params[i] : defs[i].def;
}

/* The ISA parameter (params[0]) resolved: AUTO becomes the best this CPU
 * runs. */
static inline cb_cpu_isa cb_cpu_conv_isa(const int *params) {
  return cb_cpu_isa_resolve((cb_cpu_isa)(params ? params[0] : CB_CPU_ISA_AUTO));
}

/* What every conv variant requires: op (the variant's own), f32 NCHW, and
 * an ISA parameter this CPU runs; CB_ERR_UNSUPPORTED naming who otherwise. */
cb_status cb_cpu_conv_check(const char *who, const cb_problem *p, cb_op op, const int *params);

/* ---- geometry ------------------------------------------------------------------- */

/* The geometry is cb_conv_geom and the tap ranges cb_tap_range (conv_geom.h). */

/* ---- workspace ------------------------------------------------------------------ */

/* Carves one workspace into 64-byte aligned parts. The same code sizes the
 * workspace (base NULL: only counts) and splits it in run(), so the two
 * can never disagree. The caller's workspace may be unaligned (it comes
 * from malloc); the count includes the slack to align it. */
typedef struct cb_cpu_ws {
  char *base;  /* NULL while counting */
  size_t used; /* bytes so far, slack included */
  bool overflow;
} cb_cpu_ws;

/* Starts carving base (NULL to count). */
cb_cpu_ws cb_cpu_ws_begin(void *base);
/* The next part of bytes bytes, 64-byte aligned (NULL while counting, or
 * for 0 bytes). */
void *cb_cpu_ws_bytes(cb_cpu_ws *ws, size_t bytes);
/* The next part of count floats, 64-byte aligned (NULL while counting, or
 * for count 0). */
float *cb_cpu_ws_floats(cb_cpu_ws *ws, int64_t count);
/* Packing space for single-threaded cb_cpu_sgemm calls of at most m rows
 * and n columns and of any depth among ks[0..nk), carved as one part (NULL
 * while counting). cb_cpu_sgemm_workspace now serves every smaller call
 * (cpu.h), so the largest depth alone would do; the list dates from when
 * it did not (the depth slice was evened out per k: k = 1540 got slices
 * of 528, k = 2048 of 512, and the im2col and Winograd backward-filter
 * runs overran their workspace) and costs nothing to keep. */
void *cb_cpu_ws_gemm(cb_cpu_ws *ws, const cb_cpu_gemm_cfg *cfg, int64_t m, int64_t n,
                     const int64_t *ks, int nk);
/* The total, or CB_ERR_UNSUPPORTED naming who when it overflowed. */
cb_status cb_cpu_ws_total(const cb_cpu_ws *ws, const char *who, size_t *bytes);

/* The single-threaded GEMM configuration a thread of a conv run uses:
 * ISA isa, blocking derived from the context's cache sizes. */
cb_cpu_gemm_cfg cb_cpu_conv_gemm_cfg(const cb_ctx *ctx, cb_cpu_isa isa);

/* ---- threads ---------------------------------------------------------------------- */

/* This thread's share [*lo, *hi) of n items split between nt threads, in
 * whole multiples of align (except the last share). */
void cb_cpu_share(int64_t n, int64_t align, int t, int nt, int64_t *lo, int64_t *hi);

/* Threads worth starting for a run of this many flops: all of ctx's,
 * except for a problem so small that waking a team costs more than it
 * saves. */
int cb_cpu_conv_threads(const cb_ctx *ctx, double flops);

/* The calling thread's index and its team's size inside an OpenMP
 * parallel region (0 and 1 without OpenMP). The team may be smaller than
 * asked for (nested regions, thread limits), so shares use these. */
static inline int cb_cpu_thread(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
static inline int cb_cpu_team(void) {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

/* ---- data movement (cpu_conv_unfold.c); each call runs on the calling
 * thread at ISA isa ----------------------------------------------------------------- */

/* The col matrix of a convolution: row (c, r, s) = c R S + r S + s (c over
 * all groups) holds for every output position j = i P Q + p Q + q (image
 * i) the input value tap (r, s) of channel c multiplies there, 0 in the
 * padding. cb_cpu_im2col fills the block rows [row0, row1) x columns
 * [j0, j1) into dst (dst[(row - row0) ld + j - j0]) from the images x
 * (NCHW, image 0 at x). */
void cb_cpu_im2col(cb_cpu_isa isa, const cb_conv_geom *g, const float *x, int64_t row0,
                   int64_t row1, int64_t j0, int64_t j1, float *dst, int64_t ld);

/* The adjoint of im2col for one image and the channels [c0, c1), over the
 * output rows [p0, p1): adds every entry of the col block src (rows
 * (c, r, s) from c0 R S, ld floats apart; column (p - p0) Q + q) to the
 * element of dx (one image, NCHW) im2col would have copied it from. dx
 * must hold the sum so far (zero it before the first block). */
void cb_cpu_col2im_add(cb_cpu_isa isa, const cb_conv_geom *g, const float *src, int64_t ld,
                       int64_t c0, int64_t c1, int64_t p0, int64_t p1, float *dx);

/* The copies between NCHW planes and [K, columns] matrices are
 * cb_planes_to_matrix / cb_matrix_to_planes (im2col.h). */

/* ---- Winograd transforms (cpu_conv_winograd.c), exposed for tests ------------------ */

/* Lanes the transforms work on at once. A lane buffer holds element e of
 * lane l at buf[e * CB_CPU_WINO_LANES + l]; each call transforms lanes
 * [0, nl), nl <= CB_CPU_WINO_LANES, of tiles of F(m x m, 3x3), m = 2 or 4,
 * a = m + 2, tiles row-major (element (u, v) of an n x n tile is u n + v). */
#define CB_CPU_WINO_LANES 64

/* v = B^T d B: d a x a (input tile), v a x a. */
void cb_cpu_wino_input(cb_cpu_isa isa, int m, const float *d, float *v, int nl);
/* y = A^T v A: v a x a, y m x m (output tile). */
void cb_cpu_wino_output(cb_cpu_isa isa, int m, const float *v, float *y, int nl);
/* u = G g G^T: g 3 x 3 (filter), u a x a. */
void cb_cpu_wino_filter(cb_cpu_isa isa, int m, const float *g, float *u, int nl);
/* z = A e A^T: e m x m (output-gradient tile), z a x a. */
void cb_cpu_wino_grad(cb_cpu_isa isa, int m, const float *e, float *z, int nl);
/* dg = G^T s G: s a x a, dg 3 x 3 (filter gradient). */
void cb_cpu_wino_filter_grad(cb_cpu_isa isa, int m, const float *s, float *dg, int nl);

#endif /* CB_CPU_CONV_H */
