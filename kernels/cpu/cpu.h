/* cpu.h: internals of the hand-written CPU backend ("cpu"): ISA dispatch,
 * the SGEMM every GEMM-based convolution builds on, and the backend state
 * (cache sizes for blocking, pinned threads).
 *
 * Every kernel exists in three versions, AVX-512, AVX2+FMA and scalar,
 * compiled in one build with GCC target attributes and chosen at run time.
 * The ISA is a variant parameter (CB_CPU_PARAM_ISA), so the autotuner and
 * the cross-backend test can run every path this machine supports, not
 * only the widest. */
#ifndef CB_CPU_H
#define CB_CPU_H

#include "kernels.h"

typedef enum cb_cpu_isa {
  CB_CPU_ISA_AUTO = -1, /* parameter value: the widest this machine runs */
  CB_CPU_SCALAR = 0,
  CB_CPU_AVX2 = 1, /* AVX2 + FMA */
  CB_CPU_AVX512 = 2,
} cb_cpu_isa;

/* The widest ISA this CPU runs. */
cb_cpu_isa cb_cpu_best_isa(void);
/* Whether this CPU runs isa (CB_CPU_ISA_AUTO: always). */
bool cb_cpu_isa_runs(cb_cpu_isa isa);
/* CB_CPU_ISA_AUTO resolved to the best ISA; others unchanged. */
cb_cpu_isa cb_cpu_isa_resolve(cb_cpu_isa isa);
const char *cb_cpu_isa_name(cb_cpu_isa isa);

/* What cb_ctx.state holds for this backend. */
typedef struct cb_cpu_state {
  int64_t l1d, l2, l3; /* cache sizes per core / per L3 domain (hwloc), for blocking */
  int cores;
  bool pinned; /* OpenMP threads were bound to cores at init (restored at fini) */
} cb_cpu_state;

/* ---- SGEMM --------------------------------------------------------------- */

/* Cache blocking and ISA of one GEMM call. 0 for mc, kc or nc means
 * "derive from the cache sizes in state"; isa may be CB_CPU_ISA_AUTO. */
typedef struct cb_cpu_gemm_cfg {
  cb_cpu_isa isa;
  int mc, kc, nc;
  int threads; /* >= 1: OpenMP threads this call may use */
  const cb_cpu_state *state;
} cb_cpu_gemm_cfg;

/* Bytes of packing buffers one cb_cpu_sgemm call with this configuration
 * needs for an m x n x k product (all cfg->threads threads together).
 * The size grows with m, n, k and cfg->threads and serves every smaller
 * call with the same isa, mc, kc, nc and state: a caller whose calls
 * vary in size (the last piece of a column range, a shallower depth)
 * sizes one workspace for the largest. SIZE_MAX when it overflows. */
size_t cb_cpu_sgemm_workspace(const cb_cpu_gemm_cfg *cfg, int64_t m, int64_t n, int64_t k);

/* C[m,n] = alpha op(A) op(B) + beta C, row-major, with leading dimensions
 * in elements: A is m x k (k x m when trans_a), B is k x n (n x k when
 * trans_b). beta == 0 means C is not read (NaN in C does not leak);
 * k == 0 or alpha == 0 scales C by beta without reading A or B. ws holds
 * cb_cpu_sgemm_workspace bytes (any alignment); nothing is allocated per
 * call. Any m, n, k >= 0 and any pointer alignment.
 *
 * Threads: with cfg->threads > 1 the call opens its own OpenMP team (fewer
 * threads for small products). It is thread-safe: it keeps no state
 * between calls and writes only C and ws, so several threads may call it
 * at once, e.g. the conv variants from inside their own parallel region
 * with cfg->threads = 1, provided each call has its own ws (per-thread
 * packing space) and its own part of C. cfg->state is only read. */
void cb_cpu_sgemm(const cb_cpu_gemm_cfg *cfg, bool trans_a, bool trans_b, int64_t m, int64_t n,
                  int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc, void *ws);

/* ---- the variant tables ----------------------------------------------------------- */

/* The conv variants, NULL-terminated per op (cpu_conv_list.c). */
extern const cb_variant *const cb_cpu_conv_fwd_variants[];
extern const cb_variant *const cb_cpu_conv_bwd_data_variants[];
extern const cb_variant *const cb_cpu_conv_bwd_filter_variants[];
/* The GEMM variants, NULL-terminated (cpu_sgemm.c). */
extern const cb_variant *const cb_cpu_gemm_variants[];

#endif
