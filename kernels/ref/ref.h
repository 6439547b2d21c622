/* ref.h: private to the ref backend (kernels/ref/). The variants, the
 * scratch allocator they share and the index arithmetic that maps output
 * positions to the input positions a filter tap reads.
 *
 * The variants' run() trusts its problem to have passed cb_problem_check()
 * (cb_variant_exec and the layers check it first), so sizes are positive,
 * groups divide c and k, and every index fits int64. */
#ifndef CB_REF_H
#define CB_REF_H

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

extern const cb_variant cb_ref_conv_fwd_direct;
extern const cb_variant cb_ref_conv_bwd_data_direct;
extern const cb_variant cb_ref_conv_bwd_filter_direct;
extern const cb_variant cb_ref_gemm_naive;

/* Allocates a buffer of at least per_thread doubles for each of threads
 * threads, so each thread accumulates into one of its own: thread t uses
 * *out + t * *stride. The stride is rounded up to whole cache lines and the
 * buffer is cache-line aligned, because threads that write neighbouring
 * lines of one buffer slow each other down (false sharing). CB_ERR_NOMEM
 * with who named when it does not fit. Release with free(). */
cb_status cb_ref_scratch(const char *who, int64_t per_thread, int threads, double **out,
                         int64_t *stride);

/* A half-open range [lo, hi) of output indices along one dimension. */
typedef struct cb_ref_range {
  int64_t lo, hi;
} cb_ref_range;

/* floor(a / b) for b > 0 (C's '/' truncates toward zero). */
static inline int64_t cb_ref_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The outputs o (of out) whose input index i = o * stride - pad + tap * dil
 * lies in [0, in): the outputs that filter tap `tap` reads real data for.
 * Looping over this range instead of testing every output keeps the
 * padding logic out of the innermost loops. */
static inline cb_ref_range cb_ref_tap_range(int64_t tap, int64_t in, int64_t out, int64_t stride,
                                            int64_t pad, int64_t dil) {
  int64_t off = tap * dil - pad; /* i = o * stride + off */
  /* smallest o with o * stride + off >= 0, largest with it <= in - 1 */
  int64_t lo = -cb_ref_floor_div(off, stride);
  int64_t hi = cb_ref_floor_div(in - 1 - off, stride) + 1;
  cb_ref_range r = {lo < 0 ? 0 : lo, hi > out ? out : hi};
  if (r.hi < r.lo) r.hi = r.lo;
  return r;
}

/* A convolution's sizes unpacked once per run, with the output range of
 * every filter row and column (rows[r] is the range of p that tap r of the
 * filter reads inside x, cols[s] the range of q), so the loops never
 * divide. */
typedef struct cb_ref_geom {
  const cb_conv *cv;
  int64_t p, q;   /* output height and width */
  int64_t cg, kg; /* input and output channels per group */
  cb_ref_range *rows, *cols;
} cb_ref_geom;

/* Fills g for cv (which must outlive g); CB_ERR_NOMEM when the range
 * tables cannot be allocated. */
cb_status cb_ref_geom_init(const cb_conv *cv, cb_ref_geom *g);
/* Releases g's range tables. */
void cb_ref_geom_free(cb_ref_geom *g);

/* The thread's index inside an OpenMP parallel region (0 without OpenMP). */
static inline int cb_ref_thread(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

#endif /* CB_REF_H */
