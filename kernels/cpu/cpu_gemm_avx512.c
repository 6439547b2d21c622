/* cpu_gemm_avx512.c: the AVX-512 SGEMM micro-kernels and packing.
 *
 * A micro-kernel keeps an mr x nr tile of C in zmm accumulators (nr = 16
 * nv floats, nv vectors per row) and, for each l of the kc slice, loads
 * nv vectors of the packed B row and broadcasts the mr values of the
 * packed A column: mr nv FMAs per step. Zen 4 retires one zmm FMA per
 * cycle (two 256-bit halves) with 4 cycles of latency, so any tile of more
 * than 4 accumulators can keep the FMA unit busy; what decides between
 * shapes is the loads per FMA (nv + mr per mr nv) and the cache traffic of
 * the panels, so several shapes are compiled and the driver's default was
 * chosen by measurement (see cb_cpu_gemm_avx512_kernels).
 *
 * Edge tiles run the full loop on zero-padded panels and clip the
 * write-back with lane masks (columns) and a row count (rows).
 *
 * Everything here is compiled for AVX-512 by target attributes and only
 * called after cb_cpu_isa_runs(CB_CPU_AVX512). */
#include "cpu_gemm.h"

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define AVX512_INLINE                                                                              \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq")))

/* The largest tile any shape below uses: rows, and zmm vectors per row. */
enum { MAX_MR = 16, MAX_NV = 4 };

/* The low `count` lanes of 16 (count clipped to [0, 16]). */
AVX512_INLINE __mmask16 lanes(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return 0xffff;
  return (__mmask16)((1u << count) - 1);
}

/* ---- micro-kernels ------------------------------------------------------- */

/* The tile loop for every shape: the first `rows` rows of an mr-row A
 * panel times nv vectors of B. rows, mr and nv are compile-time constants
 * at each call, so the loops unroll fully and acc lives in registers
 * (rows nv accumulators + nv B vectors + 1 broadcast <= 32 zmm). */
AVX512_INLINE void ukernel(const int rows, const int mr, const int nv, int64_t kc,
                           const float *restrict a, const float *restrict b, float *c, int64_t ldc,
                           int m, int n, float alpha, float beta) {
  __m512 acc[MAX_MR][MAX_NV];
#pragma GCC unroll 16
  for (int i = 0; i < rows; i++)
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();

  /* The tile of C is read or written only after the whole kc loop: ask
   * for its lines now so they arrive while the FMAs run. (Asking late,
   * some 32 steps before the end, measured the same.) */
  for (int i = 0; i < m; i++) {
    const float *row = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) _mm_prefetch((const char *)(row + 16 * v), _MM_HINT_T0);
    _mm_prefetch((const char *)(row + 16 * nv - 1), _MM_HINT_T0);
  }
  for (int64_t l = 0; l < kc; l++) {
    __m512 bv[MAX_NV];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) bv[v] = _mm512_load_ps(b + l * 16 * nv + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++) {
      __m512 ai = _mm512_set1_ps(a[l * mr + i]);
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }

  __mmask16 mask[MAX_NV];
#pragma GCC unroll 4
  for (int v = 0; v < nv; v++) mask[v] = lanes(n - 16 * v);
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  /* beta 0 never reads C (it may hold NaN); beta 1 (every kc slice after
   * the first) adds alpha ab in one rounding. */
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++) {
      if (i >= m) break;
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++)
        _mm512_mask_storeu_ps(c + i * ldc + 16 * v, mask[v], _mm512_mul_ps(acc[i][v], va));
    }
  } else {
    /* The test is loop-invariant: GCC unswitches it (-O3), and the two
     * forms round differently, so neither may replace the other. */
    bool one = beta == 1.0f;
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++) {
      if (i >= m) break;
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) {
        float *p = c + i * ldc + 16 * v;
        __m512 old = _mm512_maskz_loadu_ps(mask[v], p);
        __m512 r = one ? _mm512_fmadd_ps(acc[i][v], va, old)
                       : _mm512_fmadd_ps(vb, old, _mm512_mul_ps(acc[i][v], va));
        _mm512_mask_storeu_ps(p, mask[v], r);
      }
    }
  }
}

/* A full tile computes all MR rows; an edge tile of m < MR rows only the
 * first m rounded up to a multiple of 4 (the panel keeps its MR stride),
 * so the last row strip of a block wastes at most 3 rows of FMAs instead
 * of up to MR - 1 (256 = 18 x 14 + 4: 3.9% of the product otherwise). */
#define UKERNEL(MR, NV)                                                                            \
  static AVX512 void ukernel_##MR##x##NV(int64_t kc, const float *a, const float *b, float *c,     \
                                         int64_t ldc, int m, int n, float alpha, float beta) {     \
    if (m > 12)                                                                                    \
      ukernel(MR, MR, NV, kc, a, b, c, ldc, m, n, alpha, beta);                                    \
    else if (m > 8)                                                                                \
      ukernel(MR < 12 ? MR : 12, MR, NV, kc, a, b, c, ldc, m, n, alpha, beta);                     \
    else if (m > 4)                                                                                \
      ukernel(MR < 8 ? MR : 8, MR, NV, kc, a, b, c, ldc, m, n, alpha, beta);                       \
    else                                                                                           \
      ukernel(MR < 4 ? MR : 4, MR, NV, kc, a, b, c, ldc, m, n, alpha, beta);                       \
  }
UKERNEL(14, 2)
UKERNEL(12, 2)
UKERNEL(6, 4)
UKERNEL(8, 3)
UKERNEL(9, 3)

/* ---- packing --------------------------------------------------------------- */

/* Transposes 16 rows of 16 floats in place: r[j] lane i <- r[i] lane j.
 * Three rounds of interleaving: 32-bit pairs, 64-bit pairs (now 4 x 4
 * blocks are transposed within each 128-bit lane), then 128-bit lanes. */
AVX512_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int p = 0; p < 8; p++) {
    t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
    t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
  }
  /* u[4q + j], 128-bit lane L: column 4L + j of rows 4q .. 4q + 3. */
#pragma GCC unroll 4
  for (int q = 0; q < 4; q++) {
    __m512d t0 = _mm512_castps_pd(t[4 * q]), t1 = _mm512_castps_pd(t[4 * q + 1]);
    __m512d t2 = _mm512_castps_pd(t[4 * q + 2]), t3 = _mm512_castps_pd(t[4 * q + 3]);
    u[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  /* Output row 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j]:
   * 0x88 picks lanes 0 and 2 of each source, 0xdd lanes 1 and 3. */
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    __m512 lo04 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
    __m512 hi04 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
    __m512 lo8c = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
    __m512 hi8c = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    r[j] = _mm512_shuffle_f32x4(lo04, lo8c, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(lo04, lo8c, 0xdd);
    r[4 + j] = _mm512_shuffle_f32x4(hi04, hi8c, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(hi04, hi8c, 0xdd);
  }
}

/* X(i, l) = src[l ld + i]: each l is a contiguous run of the strip, so
 * rows of src are read in order (l outer), streaming well from memory, and
 * copied 16 lanes at a time into every panel. */
static AVX512 void pack_copy(const float *src, int64_t ld, int64_t w, int64_t kc, int width,
                             float *dst) {
  int64_t panels = (w + width - 1) / width;
  for (int64_t l = 0; l < kc; l++) {
    const float *row = src + l * ld;
    for (int64_t p = 0; p < panels; p++) {
      float *out = dst + p * width * kc + l * width;
      for (int i0 = 0; i0 < width; i0 += 16) {
        int64_t first = p * width + i0;
        __m512 x = _mm512_maskz_loadu_ps(lanes(w - first), row + first);
        _mm512_mask_storeu_ps(out + i0, lanes(width - i0), x);
      }
    }
  }
}

/* X(i, l) = src[i ld + l]: 16 x 16 blocks are loaded along l (16 rows of
 * src), transposed in registers and stored as 16 panel rows. */
static AVX512 void pack_transpose(const float *src, int64_t ld, int64_t w, int64_t kc, int width,
                                  float *dst) {
  for (int64_t p0 = 0; p0 < w; p0 += width) {
    float *panel = dst + p0 * kc;
    for (int64_t l0 = 0; l0 < kc; l0 += 16) {
      int64_t depth = kc - l0 < 16 ? kc - l0 : 16;
      __mmask16 kmask = lanes(depth);
      for (int i0 = 0; i0 < width; i0 += 16) {
        int64_t rows = w - p0 - i0; /* rows of src this block has, may be <= 0 */
        const float *blk = src + (p0 + i0) * ld + l0;
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          r[i] = i < rows ? _mm512_maskz_loadu_ps(kmask, blk + i * ld) : _mm512_setzero_ps();
        transpose16(r);
        __mmask16 out_mask = lanes(width - i0);
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
          if (l < depth) _mm512_mask_storeu_ps(panel + (l0 + l) * width + i0, out_mask, r[l]);
      }
    }
  }
}

static AVX512 void pack_avx512(const float *src, int64_t ld, bool k_contig, int64_t w, int64_t kc,
                               int width, float *dst) {
  if (k_contig)
    pack_transpose(src, ld, w, kc, width, dst);
  else
    pack_copy(src, ld, w, kc, width, dst);
}

/* ---- the shapes ------------------------------------------------------------- */

#define SHAPE(MR, NV, NR)                                                                          \
  static const cb_cpu_gemm_kernel avx512_##MR##x##NR = {                                           \
      .name = "avx512_" #MR "x" #NR,                                                               \
      .isa = CB_CPU_AVX512,                                                                        \
      .mr = MR,                                                                                    \
      .nr = NR,                                                                                    \
      .pack = pack_avx512,                                                                         \
      .ukernel = ukernel_##MR##x##NV,                                                              \
  };
SHAPE(14, 2, 32)
SHAPE(12, 2, 32)
SHAPE(6, 4, 64)
SHAPE(8, 3, 48)
SHAPE(9, 3, 48)

const cb_cpu_gemm_kernel *const cb_cpu_gemm_avx512_kernels[] = {
    &avx512_14x32, &avx512_12x32, &avx512_6x64, &avx512_8x48, &avx512_9x48, NULL,
};
