/* ref.h: private to the ref backend (kernels/ref/). The variants, the
 * scratch allocator they share and the index arithmetic that maps output
 * positions to the input positions a filter tap reads.
 *
 * The variants' run() trusts its problem to have passed cb_problem_check()
 * (cb_variant_exec and the layers check it first), so sizes are positive,
 * groups divide c and k, and every index fits int64. */
#ifndef CB_REF_H
#define CB_REF_H

#include "conv_geom.h"
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

/* CB_OK, or CB_ERR_INVALID naming who ("ref conv_fwd") when a tensor
 * pointer of args is NULL: what every run() checks first. */
cb_status cb_ref_check_args(const char *who, const cb_args *args);

/* One independent task of a run (an output row, plane or filter plane)
 * with data (the run's geometry) and acc, this thread's scratch. */
typedef void (*cb_ref_task)(const void *data, const cb_args *args, int64_t task, double *acc);

/* Runs task(data, args, t, acc) for t in [0, tasks) on ctx->threads
 * threads, statically split, each with its own scratch of per_thread
 * doubles (cb_ref_scratch, who in its error). Every task writes its own
 * part of the output, so the result does not depend on the split. */
cb_status cb_ref_run_tasks(const char *who, const cb_ctx *ctx, const cb_args *args,
                           const void *data, int64_t tasks, int64_t per_thread, cb_ref_task task);

/* A convolution's sizes unpacked once per run, with the output range of
 * every filter row and column (rows[r] is the range of p that tap r of the
 * filter reads inside x, cols[s] the range of q), so the loops never
 * divide. */
typedef struct cb_ref_geom {
  cb_conv_geom geom; /* the shared sizes (conv_geom.h) */
  cb_range *rows, *cols;
} cb_ref_geom;

/* Fills g for cv; CB_ERR_NOMEM when the range
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
