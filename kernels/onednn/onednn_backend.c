/* onednn_backend.c: the onednn backend table: oneDNN (DNNL) convolution
 * primitives for the three conv ops and dnnl_sgemm for GEMM, on the host.
 * Opening the backend creates oneDNN's CPU engine and a stream; the
 * variants live in onednn_conv.c and onednn_gemm.c. */
#include "onednn.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

cb_status cb_dnnl_check(dnnl_status_t s, cb_status fail, const char *who, const char *what) {
  if (s == dnnl_success) return CB_OK;
  if (s == dnnl_out_of_memory) fail = CB_ERR_NOMEM;
  return cb_error(fail, "%s: %s failed: %s", who, what, dnnl_status2str(s));
}

int cb_dnnl_threads_enter(int threads) {
  int saved = omp_get_max_threads();
  if (threads != saved) omp_set_num_threads(threads);
  return saved;
}

void cb_dnnl_threads_leave(int saved) {
  if (omp_get_max_threads() != saved) omp_set_num_threads(saved);
}

/* The engine and stream every plan of this context uses. */
static cb_status onednn_init(cb_ctx *ctx) {
  if (dnnl_engine_get_count(dnnl_cpu) < 1)
    return cb_error(CB_ERR_UNAVAILABLE, "onednn: oneDNN reports no CPU engine");
  cb_dnnl_state *st = calloc(1, sizeof *st);
  if (!st) return cb_error(CB_ERR_NOMEM, "onednn: out of memory opening the backend");
  cb_status rc = cb_dnnl_check(dnnl_engine_create(&st->engine, dnnl_cpu, 0), CB_ERR_UNAVAILABLE,
                               "onednn", "creating the CPU engine");
  if (rc == CB_OK)
    rc = cb_dnnl_check(dnnl_stream_create(&st->stream, st->engine, dnnl_stream_default_flags),
                       CB_ERR_UNAVAILABLE, "onednn", "creating a CPU stream");
  if (rc != CB_OK) {
    if (st->engine) dnnl_engine_destroy(st->engine);
    free(st);
    return rc;
  }
  ctx->state = st;
  return CB_OK;
}

static void onednn_fini(cb_ctx *ctx) {
  cb_dnnl_state *st = ctx->state;
  if (!st) return;
  dnnl_stream_destroy(st->stream);
  dnnl_engine_destroy(st->engine);
  free(st);
  ctx->state = NULL;
}

/* oneDNN's name for the instruction set it dispatches to (its C API has
 * no such function; these are dnnl_cpu_isa_t's names). */
static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
  case dnnl_cpu_isa_sse41:
    return "sse41";
  case dnnl_cpu_isa_avx:
    return "avx";
  case dnnl_cpu_isa_avx2:
    return "avx2";
  case dnnl_cpu_isa_avx2_vnni:
    return "avx2_vnni";
  case dnnl_cpu_isa_avx512_mic:
    return "avx512_mic";
  case dnnl_cpu_isa_avx512_mic_4ops:
    return "avx512_mic_4ops";
  case dnnl_cpu_isa_avx512_core:
    return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni:
    return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16:
    return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx:
    return "avx512_core_amx";
  default:
    return "unknown";
  }
}

/* "oneDNN 2.6.3 (isa avx512_core_bf16)": the library and the instruction
 * set its JIT kernels target on this machine. */
static void onednn_version(char *buf, size_t len) {
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, len, "oneDNN %d.%d.%d (isa %s)", v->major, v->minor, v->patch,
           isa_name(dnnl_get_effective_cpu_isa()));
}

/* Per op, the order is the order a layer tries them in (it takes the first
 * that supports its problem): the blocked direct convolution first, as
 * PyTorch and oneDNN's own benchmarks use it. */
static const cb_variant *const conv_fwd_variants[] = {
    &cb_dnnl_conv_fwd_direct_blocked,   &cb_dnnl_conv_fwd_auto_blocked,
    &cb_dnnl_conv_fwd_winograd_blocked, &cb_dnnl_conv_fwd_direct_nchw,
    &cb_dnnl_conv_fwd_auto_nchw,        NULL};
static const cb_variant *const conv_bwd_data_variants[] = {
    &cb_dnnl_conv_bwd_data_direct_blocked,   &cb_dnnl_conv_bwd_data_auto_blocked,
    &cb_dnnl_conv_bwd_data_winograd_blocked, &cb_dnnl_conv_bwd_data_direct_nchw,
    &cb_dnnl_conv_bwd_data_auto_nchw,        NULL};
static const cb_variant *const conv_bwd_filter_variants[] = {
    &cb_dnnl_conv_bwd_filter_direct_blocked,   &cb_dnnl_conv_bwd_filter_auto_blocked,
    &cb_dnnl_conv_bwd_filter_winograd_blocked, &cb_dnnl_conv_bwd_filter_direct_nchw,
    &cb_dnnl_conv_bwd_filter_auto_nchw,        NULL};
static const cb_variant *const gemm_variants[] = {&cb_dnnl_gemm_sgemm, NULL};

const cb_backend cb_backend_onednn = {
    .api_version = CB_API_VERSION,
    .name = "onednn",
    .desc = "oneDNN (DNNL) convolution primitives and dnnl_sgemm",
    .device = CB_DEVICE_HOST,
    .init = onednn_init,
    .fini = onednn_fini,
    .version = onednn_version,
    .variants = CB_VARIANTS(conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants,
                            gemm_variants),
};
