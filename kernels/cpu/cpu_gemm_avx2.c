/* cpu_gemm_avx2.c: the AVX2 + FMA SGEMM micro-kernel (6 x 16 floats) and
 * packing.
 *
 * The classic Haswell tile: 6 rows of 2 ymm vectors = 12 accumulators, 2
 * B vectors and one broadcast, 15 of the 16 ymm registers. Zen 4 runs two
 * ymm FMAs per cycle with 4 cycles of latency, so 12 independent
 * accumulators cover the 8 FMAs in flight.
 *
 * AVX2 has no cheap masked store (vmaskmovps stores are slow on AMD), so
 * an edge tile is computed in full into a small buffer and its valid part
 * copied to C; interior tiles write C directly. Packing transposes 8 x 8
 * blocks in registers where the panel is gathered along k.
 *
 * Compiled for AVX2 + FMA by target attributes; only called after
 * cb_cpu_isa_runs(CB_CPU_AVX2). */
#include "cpu_gemm.h"

#include <immintrin.h>
#include <string.h>

#define AVX2        __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

enum { MR = 6, NV = 2, NR = 8 * NV };

/* ---- micro-kernel ---------------------------------------------------------- */

/* Writes the 6 x 16 accumulator tile to C (ldc) with alpha and beta,
 * every row and column (see cb_cpu_ukernel_fn for beta 0 and 1). */
AVX2_INLINE void store_tile(__m256 acc[MR][NV], float *c, int64_t ldc, float alpha, float beta) {
  __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
      float *p = c + i * ldc + 8 * v;
      __m256 x;
      if (beta == 0.0f)
        x = _mm256_mul_ps(acc[i][v], va);
      else if (beta == 1.0f)
        x = _mm256_fmadd_ps(acc[i][v], va, _mm256_loadu_ps(p));
      else
        x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), _mm256_mul_ps(acc[i][v], va));
      _mm256_storeu_ps(p, x);
    }
}

static AVX2 void ukernel_6x16(int64_t kc, const float *restrict a, const float *restrict b,
                              float *c, int64_t ldc, int m, int n, float alpha, float beta) {
  __m256 acc[MR][NV];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();

  for (int i = 0; i < m; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  for (int64_t l = 0; l < kc; l++) {
    __m256 b0 = _mm256_load_ps(b + l * NR), b1 = _mm256_load_ps(b + l * NR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      __m256 ai = _mm256_broadcast_ss(a + l * MR + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }

  if (m == MR && n == NR) {
    store_tile(acc, c, ldc, alpha, beta);
    return;
  }
  /* An edge tile: through a buffer holding the valid part of C (zeros
   * elsewhere, and not read at all when beta is 0). */
  float tile[MR * NR];
  if (beta != 0.0f) {
    memset(tile, 0, sizeof tile);
    for (int i = 0; i < m; i++) memcpy(tile + i * NR, c + i * ldc, (size_t)n * sizeof(float));
  }
  store_tile(acc, tile, NR, alpha, beta);
  for (int i = 0; i < m; i++) memcpy(c + i * ldc, tile + i * NR, (size_t)n * sizeof(float));
}

/* ---- packing ----------------------------------------------------------------- */

/* Transposes 8 rows of 8 floats in place: r[j] lane i <- r[i] lane j. */
AVX2_INLINE void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int p = 0; p < 4; p++) {
    t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
    t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
  }
  /* u[4q + j], 128-bit lane L: column 4L + j of rows 4q .. 4q + 3. */
#pragma GCC unroll 2
  for (int q = 0; q < 2; q++) {
    __m256d t0 = _mm256_castps_pd(t[4 * q]), t1 = _mm256_castps_pd(t[4 * q + 1]);
    __m256d t2 = _mm256_castps_pd(t[4 * q + 2]), t3 = _mm256_castps_pd(t[4 * q + 3]);
    u[4 * q] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
    u[4 * q + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
    u[4 * q + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
    u[4 * q + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
  }
  /* Row j (lane 0) joins lane 0 of u[j] and u[4 + j]; row 4 + j lane 1. */
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

/* X(i, l) = src[i ld + l] (see cb_cpu_pack_fn): full 8 x 8 blocks through
 * registers, the ragged edges (rows past w, l past a multiple of 8, panel
 * widths that are not multiples of 8) element by element. */
static AVX2 void pack_transpose(const float *src, int64_t ld, int64_t w, int64_t kc, int width,
                                float *dst) {
  int64_t kc8 = kc / 8 * 8;
  for (int64_t p0 = 0; p0 < w; p0 += width) {
    float *panel = dst + p0 * kc;
    int64_t rows = w - p0 < width ? w - p0 : width;
    int64_t rows8 = rows / 8 * 8;
    for (int64_t i0 = 0; i0 < rows8; i0 += 8)
      for (int64_t l0 = 0; l0 < kc8; l0 += 8) {
        __m256 r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (p0 + i0 + i) * ld + l0);
        transpose8(r);
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) _mm256_storeu_ps(panel + (l0 + l) * width + i0, r[l]);
      }
    /* The rest: columns i >= rows8 of the first kc8 rows, then the last
     * kc - kc8 rows whole. */
    for (int64_t l = 0; l < kc; l++)
      for (int64_t i = l < kc8 ? rows8 : 0; i < width; i++)
        panel[l * width + i] = i < rows ? src[(p0 + i) * ld + l] : 0.0f;
  }
}

static AVX2 void pack_avx2(const float *src, int64_t ld, bool k_contig, int64_t w, int64_t kc,
                           int width, float *dst) {
  if (k_contig)
    pack_transpose(src, ld, w, kc, width, dst);
  else
    cb_cpu_pack_scalar(src, ld, false, w, kc, width, dst);
}

static const cb_cpu_gemm_kernel avx2_6x16 = {
    .name = "avx2_6x16",
    .isa = CB_CPU_AVX2,
    .mr = MR,
    .nr = NR,
    .pack = pack_avx2,
    .ukernel = ukernel_6x16,
};

const cb_cpu_gemm_kernel *const cb_cpu_gemm_avx2_kernels[] = {&avx2_6x16, NULL};
