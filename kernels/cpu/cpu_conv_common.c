/* cpu_conv_common.c: what the cpu backend's conv variants share: the
 * ISA parameter and support check, the unpacked geometry, workspace
 * carving and the split of work between threads (see cpu_conv.h). */
#include "cpu_conv.h"

const int cb_cpu_isa_values[4] = {CB_CPU_ISA_AUTO, CB_CPU_AVX512, CB_CPU_AVX2, CB_CPU_SCALAR};

cb_status cb_cpu_conv_check(const char *who, const cb_problem *p, cb_op op, const int *params) {
  if (p->op != op)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s computes %s, not %s", who, cb_op_name(op),
                    cb_op_name(p->op));
  if (p->dtype != CB_DTYPE_F32 || p->layout != CB_LAYOUT_NCHW)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: only f32 NCHW", who);
  int isa = params ? params[0] : CB_CPU_ISA_AUTO;
  if (isa < CB_CPU_ISA_AUTO || isa > CB_CPU_AVX512)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: unknown isa %d", who, isa);
  if (!cb_cpu_isa_runs((cb_cpu_isa)isa))
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: this CPU does not run %s", who,
                    cb_cpu_isa_name((cb_cpu_isa)isa));
  return CB_OK;
}

/* ---- workspace ------------------------------------------------------------ */

#define WS_ALIGN 64

cb_cpu_ws cb_cpu_ws_begin(void *base) {
  cb_cpu_ws ws = {base, 0, false};
  /* Counting reserves the worst slack an unaligned base can need. */
  ws.used = base ? (WS_ALIGN - (uintptr_t)base % WS_ALIGN) % WS_ALIGN : WS_ALIGN - 1;
  return ws;
}

void *cb_cpu_ws_bytes(cb_cpu_ws *ws, size_t bytes) {
  size_t rounded;
  if (__builtin_add_overflow(bytes, (size_t)WS_ALIGN - 1, &rounded) ||
      __builtin_add_overflow(ws->used, rounded / WS_ALIGN * WS_ALIGN, &rounded)) {
    ws->overflow = true;
    return NULL;
  }
  void *part = ws->base && bytes ? ws->base + ws->used : NULL;
  ws->used = rounded;
  return part;
}

float *cb_cpu_ws_floats(cb_cpu_ws *ws, int64_t count) {
  size_t bytes;
  if (count < 0 || __builtin_mul_overflow((size_t)count, sizeof(float), &bytes)) {
    ws->overflow = true;
    return NULL;
  }
  return cb_cpu_ws_bytes(ws, bytes);
}

void *cb_cpu_ws_gemm(cb_cpu_ws *ws, const cb_cpu_gemm_cfg *cfg, int64_t m, int64_t n,
                     const int64_t *ks, int nk) {
  size_t bytes = 0;
  for (int i = 0; i < nk; i++) {
    size_t b = cb_cpu_sgemm_workspace(cfg, m, n, ks[i]);
    if (b > bytes) bytes = b;
  }
  return cb_cpu_ws_bytes(ws, bytes);
}

cb_status cb_cpu_ws_total(const cb_cpu_ws *ws, const char *who, size_t *bytes) {
  *bytes = ws->used;
  if (ws->overflow)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu %s: the workspace size overflows", who);
  return CB_OK;
}

cb_cpu_gemm_cfg cb_cpu_conv_gemm_cfg(const cb_ctx *ctx, cb_cpu_isa isa) {
  cb_cpu_gemm_cfg cfg = {.isa = isa, .threads = 1, .state = ctx->state};
  return cfg;
}

/* ---- threads ---------------------------------------------------------------- */

void cb_cpu_share(int64_t n, int64_t align, int t, int nt, int64_t *lo, int64_t *hi) {
  int64_t blocks = (n + align - 1) / align;
  int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
  *lo = b0 * align < n ? b0 * align : n;
  *hi = b1 * align < n ? b1 * align : n;
}

/* Below this many flops a conv runs on one thread: waking a team and
 * splitting the work costs some microseconds, the time of about a
 * megaflop. Kept low so that the cross-backend test's mid-sized shapes
 * still run the threaded paths. */
#define PAR_MIN_FLOPS 2e6

int cb_cpu_conv_threads(const cb_ctx *ctx, double flops) {
  return flops < PAR_MIN_FLOPS || ctx->threads < 1 ? 1 : ctx->threads;
}
