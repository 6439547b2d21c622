/* cpu_gemm_scalar.c: the portable SGEMM micro-kernel (4 x 8 floats) and
 * the portable packing routine, plain C for any x86-64 (the compiler may
 * use the baseline SSE2 on its own; nothing here asks for more).
 *
 * The packing routine is also the reference for what the vector ones must
 * produce (see cb_cpu_pack_fn in cpu_gemm.h). */
#include "cpu_gemm.h"

#include <math.h>

void cb_cpu_pack_scalar(const float *src, int64_t ld, bool k_contig, int64_t w, int64_t kc,
                        int width, float *dst) {
  for (int64_t p0 = 0; p0 < w; p0 += width) {
    int64_t valid = w - p0 < width ? w - p0 : width;
    float *panel = dst + p0 * kc;
    if (k_contig) {
      /* Each of the panel's rows is contiguous in l: read it once,
       * scatter it down the panel's column i. */
      for (int64_t i = 0; i < valid; i++) {
        const float *row = src + (p0 + i) * ld;
        for (int64_t l = 0; l < kc; l++) panel[l * width + i] = row[l];
      }
    } else {
      for (int64_t l = 0; l < kc; l++)
        for (int64_t i = 0; i < valid; i++) panel[l * width + i] = src[l * ld + p0 + i];
    }
    for (int64_t l = 0; l < kc; l++)
      for (int64_t i = valid; i < width; i++) panel[l * width + i] = 0.0f;
  }
}

enum { MR = 4, NR = 8 };

/* C[0:m, 0:n] = alpha (a b) + beta C for a 4 x 8 tile (see cb_cpu_ukernel_fn). */
static void ukernel_4x8(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m,
                        int n, float alpha, float beta) {
  float acc[MR][NR] = {{0}};
  for (int64_t l = 0; l < kc; l++)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[l * MR + i] * b[l * NR + j];
  for (int i = 0; i < m; i++) {
    float *row = c + i * ldc;
    for (int j = 0; j < n; j++) {
      /* beta 0 never reads C (it may hold NaN); beta 1 rounds once. */
      if (beta == 0.0f)
        row[j] = alpha * acc[i][j];
      else if (beta == 1.0f)
        row[j] = fmaf(alpha, acc[i][j], row[j]);
      else
        row[j] = fmaf(beta, row[j], alpha * acc[i][j]);
    }
  }
}

static const cb_cpu_gemm_kernel scalar_4x8 = {
    .name = "scalar_4x8",
    .isa = CB_CPU_SCALAR,
    .mr = MR,
    .nr = NR,
    .pack = cb_cpu_pack_scalar,
    .ukernel = ukernel_4x8,
};

const cb_cpu_gemm_kernel *const cb_cpu_gemm_scalar_kernels[] = {&scalar_4x8, NULL};
