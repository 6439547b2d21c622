/* cufft_backend.c: the cufft backend: FFT convolution on the device, all
 * three directions, for any stride and dilation (groups 1).
 *
 * One run: place input 0's planes in the FFT grid and transform them
 * (cufftExecR2C, batched), the same for input 1, multiply the spectra and
 * sum over the shared dimension (cb_fft_mix), transform back
 * (cufftExecC2R) and crop, scaled by 1 / (hf wf). cufft_geom.h has the
 * geometry. Plans (three batched cuFFT plans, with their own work areas)
 * are made once per problem, on the context's stream.
 *
 * Workspace: the three spectra and one real grid buffer, reused for every
 * placement and for the inverse transform (the stream orders them). */
#include "../cuda/cuda_rt.h"
#include "cufft_kernels.h"

#include <stdio.h>
#include <stdlib.h>

/* Tolerance on max |got - ref| / max(1, max |ref|). The only error is
 * rounding in the transforms and the channel sums, as for the fftw
 * backend (kernels/fftw, 1e-5 from measured errors below 7e-7); twice
 * that here because cuFFT's single-precision twiddles and our fmaf
 * products were not measured on a GPU (none was available). */
#define CB_CUFFT_TOL 2e-5

static const char *fft_result_name(cufftResult r) {
  switch (r) {
  case CUFFT_SUCCESS:
    return "CUFFT_SUCCESS";
  case CUFFT_INVALID_PLAN:
    return "CUFFT_INVALID_PLAN";
  case CUFFT_ALLOC_FAILED:
    return "CUFFT_ALLOC_FAILED";
  case CUFFT_INVALID_TYPE:
    return "CUFFT_INVALID_TYPE";
  case CUFFT_INVALID_VALUE:
    return "CUFFT_INVALID_VALUE";
  case CUFFT_INTERNAL_ERROR:
    return "CUFFT_INTERNAL_ERROR";
  case CUFFT_EXEC_FAILED:
    return "CUFFT_EXEC_FAILED";
  case CUFFT_SETUP_FAILED:
    return "CUFFT_SETUP_FAILED";
  case CUFFT_INVALID_SIZE:
    return "CUFFT_INVALID_SIZE";
  case CUFFT_UNALIGNED_DATA:
    return "CUFFT_UNALIGNED_DATA";
  case CUFFT_INVALID_DEVICE:
    return "CUFFT_INVALID_DEVICE";
  case CUFFT_NO_WORKSPACE:
    return "CUFFT_NO_WORKSPACE";
  case CUFFT_NOT_IMPLEMENTED:
    return "CUFFT_NOT_IMPLEMENTED";
  case CUFFT_NOT_SUPPORTED:
    return "CUFFT_NOT_SUPPORTED";
  default:
    return "unknown cufftResult";
  }
}

static cb_status fft_check(cufftResult r, const char *what) {
  if (r == CUFFT_SUCCESS) return CB_OK;
  cb_status st = r == CUFFT_ALLOC_FAILED                               ? CB_ERR_NOMEM
                 : r == CUFFT_INVALID_SIZE || r == CUFFT_NOT_SUPPORTED ? CB_ERR_UNSUPPORTED
                 : r == CUFFT_INVALID_DEVICE                           ? CB_ERR_UNAVAILABLE
                                                                       : CB_ERR_INTERNAL;
  return cb_error(st, "%s: %s (%d)", what, fft_result_name(r), (int)r);
}

static void fft_version(char *buf, size_t len) {
  int v = 0;
  if (cufftGetVersion(&v) != CUFFT_SUCCESS) v = 0;
  snprintf(buf, len, "cuFFT %d.%d.%d", v / 1000, v % 1000 / 100, v % 100);
}

static int op_index(cb_op op) {
  return op == CB_OP_CONV_FWD ? 0 : op == CB_OP_CONV_BWD_DATA ? 1 : 2;
}

static void geom_of(const cb_problem *p, cb_fft_geom *g) {
  cb_conv_geom cg;
  cb_conv_geom_init(&cg, &p->conv);
  cb_fft_geom_init(g, op_index(p->op), &cg);
}

static cb_status fft_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  (void)ctx, (void)params;
  if (p->conv.groups != 1)
    return cb_error(CB_ERR_UNSUPPORTED, "cufft: groups %lld (only 1)", (long long)p->conv.groups);
  cb_fft_geom g;
  geom_of(p, &g);
  if (!cb_cuda_fits_int(g.hf) || !cb_cuda_fits_int(g.wf) || !cb_cuda_fits_int(g.b0) ||
      !cb_cuda_fits_int(g.b1) || !cb_cuda_fits_int(g.b2))
    return cb_error(CB_ERR_UNSUPPORTED, "cufft: grid or batch does not fit an int");
  return CB_OK;
}

/* Floats of the workspace's parts: three spectra, then the real grid. */
static void ws_parts(const cb_fft_geom *g, int64_t *c0, int64_t *c1, int64_t *c2, int64_t *real) {
  int64_t f = 2 * g->hf * g->wc;
  *c0 = g->b0 * f, *c1 = g->b1 * f, *c2 = g->b2 * f;
  int64_t b = g->b0 > g->b1 ? g->b0 : g->b1;
  if (g->b2 > b) b = g->b2;
  *real = b * g->hf * g->wf;
}

static cb_status fft_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                               size_t *bytes) {
  (void)ctx, (void)params;
  cb_fft_geom g;
  geom_of(p, &g);
  int64_t c0, c1, c2, real;
  ws_parts(&g, &c0, &c1, &c2, &real);
  *bytes = (size_t)(c0 + c1 + c2 + real) * sizeof(float);
  return CB_OK;
}

typedef struct fft_plan {
  cb_fft_geom g;
  cufftHandle fwd0, fwd1, inv;
  bool have0, have1, have_inv;
} fft_plan;

static void plan_destroy(void *plan) {
  fft_plan *pl = plan;
  if (!pl) return;
  if (pl->have0) cufftDestroy(pl->fwd0);
  if (pl->have1) cufftDestroy(pl->fwd1);
  if (pl->have_inv) cufftDestroy(pl->inv);
  free(pl);
}

/* A batched 2-D transform of hf x wf real planes, packed. */
static cb_status make_plan(const cb_ctx *ctx, const cb_fft_geom *g, cufftType type, int64_t batch,
                           cufftHandle *h, bool *have) {
  int dims[2] = {(int)g->hf, (int)g->wf};
  cb_status st = fft_check(cufftPlanMany(h, 2, dims, NULL, 1, 0, NULL, 1, 0, type, (int)batch),
                           "cufftPlanMany");
  if (st != CB_OK) return st;
  *have = true;
  return fft_check(cufftSetStream(*h, cb_cuda_of(ctx)->stream), "cufftSetStream");
}

static cb_status fft_plan_create(cb_ctx *ctx, const cb_problem *p, const int *params, void **plan) {
  *plan = NULL;
  cb_status st = fft_supports(ctx, p, params);
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  fft_plan *pl = calloc(1, sizeof *pl);
  if (!pl) return cb_error(CB_ERR_NOMEM, "out of memory for a cufft plan");
  geom_of(p, &pl->g);
  st = make_plan(ctx, &pl->g, CUFFT_R2C, pl->g.b0, &pl->fwd0, &pl->have0);
  if (st == CB_OK) st = make_plan(ctx, &pl->g, CUFFT_R2C, pl->g.b1, &pl->fwd1, &pl->have1);
  if (st == CB_OK) st = make_plan(ctx, &pl->g, CUFFT_C2R, pl->g.b2, &pl->inv, &pl->have_inv);
  if (st != CB_OK) {
    plan_destroy(pl);
    return st;
  }
  *plan = pl;
  return CB_OK;
}

static void fft_plan_info(const void *plan, char *buf, size_t len) {
  const fft_plan *pl = plan;
  if (pl)
    snprintf(buf, len, "cuFFT r2c/c2r %lldx%lld grid", (long long)pl->g.hf, (long long)pl->g.wf);
  else
    snprintf(buf, len, "%s", "");
}

static cb_status fft_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                         const cb_args *args, void *ws) {
  (void)p, (void)params;
  fft_plan *pl = plan;
  cb_status st = cb_cuda_check_args("cufft", args);
  if (st == CB_OK && (!pl || !ws)) st = cb_error(CB_ERR_INVALID, "cufft: no plan or workspace");
  if (st == CB_OK) st = cb_cuda_enter(ctx);
  if (st != CB_OK) return st;
  cudaStream_t stream = cb_cuda_of(ctx)->stream;
  const cb_fft_geom *g = &pl->g;
  int64_t n0, n1, n2, nreal;
  ws_parts(g, &n0, &n1, &n2, &nreal);
  cufftComplex *s0 = ws, *s1 = s0 + n0 / 2, *s2 = s1 + n1 / 2;
  float *grid = (float *)(s2 + n2 / 2);

  if ((st = cb_cuda_check(cb_fft_embed(stream, g, &g->in0, g->b0, args->src0, grid),
                          "embed launch")) != CB_OK ||
      (st = fft_check(cufftExecR2C(pl->fwd0, grid, s0), "cufftExecR2C (input 0)")) != CB_OK ||
      (st = cb_cuda_check(cb_fft_embed(stream, g, &g->in1, g->b1, args->src1, grid),
                          "embed launch")) != CB_OK ||
      (st = fft_check(cufftExecR2C(pl->fwd1, grid, s1), "cufftExecR2C (input 1)")) != CB_OK)
    return st;
  const cufftComplex *a = g->mix.a_is_in1 ? s1 : s0, *b = g->mix.a_is_in1 ? s0 : s1;
  if ((st = cb_cuda_check(cb_fft_mix(stream, g, a, b, s2), "spectral product launch")) != CB_OK ||
      (st = fft_check(cufftExecC2R(pl->inv, s2, grid), "cufftExecC2R")) != CB_OK)
    return st;
  float scale = (float)(1.0 / ((double)g->hf * (double)g->wf));
  return cb_cuda_check(cb_fft_crop(stream, g, &g->out, g->b2, grid, scale, args->dst),
                       "crop launch");
}

#define CB_CUFFT_VARIANT(var, op_)                                                                 \
  static const cb_variant var = {                                                                  \
      .name = "fft",                                                                               \
      .op = op_,                                                                                   \
      .desc = "whole-plane r2c transforms (cuFFT), per-frequency products summed on the device",   \
      .tolerance = CB_CUFFT_TOL,                                                                   \
      .supports = fft_supports,                                                                    \
      .workspace = fft_workspace,                                                                  \
      .plan_create = fft_plan_create,                                                              \
      .plan_destroy = plan_destroy,                                                                \
      .plan_info = fft_plan_info,                                                                  \
      .run = fft_run}

CB_CUFFT_VARIANT(conv_fwd_fft, CB_OP_CONV_FWD);
CB_CUFFT_VARIANT(conv_bwd_data_fft, CB_OP_CONV_BWD_DATA);
CB_CUFFT_VARIANT(conv_bwd_filter_fft, CB_OP_CONV_BWD_FILTER);

static const cb_variant *const conv_fwd_variants[] = {&conv_fwd_fft, NULL};
static const cb_variant *const conv_bwd_data_variants[] = {&conv_bwd_data_fft, NULL};
static const cb_variant *const conv_bwd_filter_variants[] = {&conv_bwd_filter_fft, NULL};

const cb_backend cb_backend_cufft = CB_CUDA_BACKEND(
    "cufft", "FFT convolution on the device (cuFFT), any stride and dilation, groups 1",
    cb_cuda_open, fft_version, conv_fwd_variants, conv_bwd_data_variants, conv_bwd_filter_variants,
    NULL);
