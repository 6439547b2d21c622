/* onednn.h: private to the onednn backend (kernels/onednn/). The state a
 * context holds (oneDNN's CPU engine and stream), the variants, and the
 * small helpers the conv and gemm files share: turning a dnnl_status_t into
 * a cb_status with a reason, and running oneDNN with our thread count.
 *
 * oneDNN here is Debian's libdnnl 2.6 built with the OpenMP runtime: a
 * primitive reads omp_get_max_threads() of the calling thread, both when
 * its descriptor is created (blocking, per-thread scratch) and when it
 * runs, so every call that creates or executes a primitive is bracketed by
 * cb_dnnl_threads_enter / cb_dnnl_threads_leave with the same count. */
#ifndef CB_ONEDNN_H
#define CB_ONEDNN_H

#include "kernels.h"

#include <oneapi/dnnl/dnnl.h>

/* What cb_backend_onednn's init puts in ctx->state. */
typedef struct cb_dnnl_state {
  dnnl_engine_t engine; /* the CPU engine every primitive and memory lives on */
  dnnl_stream_t stream; /* one in-order stream; execution is synchronous on the CPU */
} cb_dnnl_state;

/* Convolution variants, five per op (see onednn_conv.c). */
extern const cb_variant cb_dnnl_conv_fwd_direct_nchw, cb_dnnl_conv_fwd_direct_blocked,
    cb_dnnl_conv_fwd_winograd_blocked, cb_dnnl_conv_fwd_auto_nchw, cb_dnnl_conv_fwd_auto_blocked;
extern const cb_variant cb_dnnl_conv_bwd_data_direct_nchw, cb_dnnl_conv_bwd_data_direct_blocked,
    cb_dnnl_conv_bwd_data_winograd_blocked, cb_dnnl_conv_bwd_data_auto_nchw,
    cb_dnnl_conv_bwd_data_auto_blocked;
extern const cb_variant cb_dnnl_conv_bwd_filter_direct_nchw, cb_dnnl_conv_bwd_filter_direct_blocked,
    cb_dnnl_conv_bwd_filter_winograd_blocked, cb_dnnl_conv_bwd_filter_auto_nchw,
    cb_dnnl_conv_bwd_filter_auto_blocked;
/* GEMM through dnnl_sgemm (onednn_gemm.c). */
extern const cb_variant cb_dnnl_gemm_sgemm;

/* CB_OK when s is dnnl_success; otherwise records "who: what failed:
 * <oneDNN's status name>" and returns fail, or CB_ERR_NOMEM when oneDNN ran
 * out of memory. */
cb_status cb_dnnl_check(dnnl_status_t s, cb_status fail, const char *who, const char *what);

/* Makes oneDNN use `threads` threads on the calling thread and returns the
 * previous setting, to be handed back to cb_dnnl_threads_leave so callers
 * (and their own OpenMP loops) see no change. */
int cb_dnnl_threads_enter(int threads);
void cb_dnnl_threads_leave(int saved);

#endif /* CB_ONEDNN_H */
