/* fftw_cgemm.c: the split-complex GEMM behind the per-frequency
 * multiply-accumulate and the filters' matrix DFTs, in plain C that the
 * compiler vectorises.
 *
 * Register blocking: an MR x NR tile of C is accumulated in local arrays
 * over the whole reduction, then stored once. Each step broadcasts MR
 * elements of A and loads NR elements of B, so B streams through vector
 * registers and A is read as scalars (any strides). Every complex
 * multiply-add is four real (possibly negated) multiply-adds of a
 * broadcast scalar and a vector; the mode (conj(B), real B, real part of C
 * only) is a compile-time choice that only changes which of them run.
 *
 * The kernels are compiled three times with GCC target attributes (AVX-512,
 * AVX2 + FMA, baseline x86-64) and the widest one the CPU runs is picked
 * once at run time, because the build does not use -march=native. MR and
 * NR per ISA keep the 2 MR NR / width accumulators within the register
 * file with room for B and the broadcasts: 4 x 32 is 16 zmm of 32, 2 x 16
 * is 8 ymm of 16. Measured on the Zen 5 host, the AVX-512 tile runs at 94%
 * of a plain FMA loop's throughput (110 of 117 GFLOP/s per core) when its
 * operands are in cache. */
#include "fftw_impl.h"

#include <math.h>
#include <pthread.h>

#define CB_MR_MAX 4
#define CB_NR_MAX 32

/* What a tile computes, fixed at compile time per instance. */
enum {
  MODE_MUL,      /* C = A B */
  MODE_MUL_CONJ, /* C = A conj(B) */
  MODE_REAL_B,   /* C = A B with B real (b_im unused) */
  MODE_REAL_C,   /* Re C = Re(A B) (c_im unused) */
};

/* One reduction step l of a tile: sr, si (+)= A(i0 + i, l) op(B[l][j0 + j]).
 * first: set the accumulators instead of adding, so nothing has to zero
 * them beforehand (a zeroing loop compiles to a memset of both arrays,
 * which costs as much as a three-step reduction). use_fma: fmaf() is one
 * instruction when the target has FMA; without it, it would be a library
 * call, so the baseline build multiplies and adds. fmaf(-x, b, acc)
 * compiles to a negated multiply-add (vfnmadd), so the signs of the
 * complex product cost nothing. */
static inline __attribute__((always_inline)) void
step(float sr[CB_MR_MAX][CB_NR_MAX], float si[CB_MR_MAX][CB_NR_MAX], const cb_fftw_gemm *gm,
     int64_t i0, int64_t j0, int64_t l, const int mr, const int nr, const int mode,
     const int use_fma, const int first) {
  const float *restrict a_re = gm->a_re + i0 * gm->a_rs + l * gm->a_cs;
  const float *restrict a_im = gm->a_im + i0 * gm->a_rs + l * gm->a_cs;
  const float *restrict br = gm->b_re + l * gm->ldb + j0;
  const float *restrict bi = mode == MODE_REAL_B ? br : gm->b_im + l * gm->ldb + j0;
  for (int i = 0; i < mr; i++) {
    const float xr = a_re[i * gm->a_rs], xi = a_im[i * gm->a_rs];
    /* a b       = (xr br - xi bi) + i (xi br + xr bi)
     * a conj(b) = (xr br + xi bi) + i (xi br - xr bi) */
    const float xi_r = mode == MODE_MUL_CONJ ? xi : -xi;
    const float xr_i = mode == MODE_MUL_CONJ ? -xr : xr;
    for (int j = 0; j < nr; j++) {
      float r = first ? 0.0f : sr[i][j], m = first ? 0.0f : si[i][j];
      if (use_fma) {
        r = fmaf(xr, br[j], r);
        if (mode != MODE_REAL_B) r = fmaf(xi_r, bi[j], r);
        if (mode != MODE_REAL_C) m = fmaf(xi, br[j], m);
        if (mode == MODE_MUL || mode == MODE_MUL_CONJ) m = fmaf(xr_i, bi[j], m);
      } else {
        r += xr * br[j];
        if (mode != MODE_REAL_B) r += xi_r * bi[j];
        if (mode != MODE_REAL_C) m += xi * br[j];
        if (mode == MODE_MUL || mode == MODE_MUL_CONJ) m += xr_i * bi[j];
      }
      sr[i][j] = r;
      si[i][j] = m;
    }
  }
}

/* mr x nr tile of C at (i0, j0), accumulated in local arrays over the whole
 * reduction and stored once. mr, nr and mode are constants at every
 * full-tile call site, so the loops unroll and the accumulators live in
 * registers; edge tiles pass run-time sizes and get slower generic code.
 * pf_line: the first of this tile's share of prefetch lines (see
 * cb_fftw_gemm). */
static inline __attribute__((always_inline)) void tile(const cb_fftw_gemm *gm, int64_t i0,
                                                       int64_t j0, const int mr, const int nr,
                                                       const int mode, const int use_fma,
                                                       int64_t pf_line) {
  float sr[CB_MR_MAX][CB_NR_MAX], si[CB_MR_MAX][CB_NR_MAX];
  /* this tile's share of the prefetch lines: one per step, while they last */
  const char *pf_re = (const char *)gm->pf_re, *pf_im = (const char *)gm->pf_im;
  int64_t pf_end = gm->pf_bytes / 64, pf = pf_re ? pf_line : pf_end;
  step(sr, si, gm, i0, j0, 0, mr, nr, mode, use_fma, 1); /* len >= 1 (cb_fftw_cgemm) */
  for (int64_t l = 1; l < gm->len; l++) {
    if (pf < pf_end) {
      __builtin_prefetch(pf_re + pf * 64);
      __builtin_prefetch(pf_im + pf * 64);
      pf++;
    }
    step(sr, si, gm, i0, j0, l, mr, nr, mode, use_fma, 0);
  }

  for (int i = 0; i < mr; i++) {
    float *restrict cr = gm->c_re + (i0 + i) * gm->ldc + j0;
    float *restrict ci = mode == MODE_REAL_C ? cr : gm->c_im + (i0 + i) * gm->ldc + j0;
    if (gm->accumulate) {
      for (int j = 0; j < nr; j++) cr[j] += sr[i][j];
      if (mode != MODE_REAL_C)
        for (int j = 0; j < nr; j++) ci[j] += si[i][j];
    } else {
      for (int j = 0; j < nr; j++) cr[j] = sr[i][j];
      if (mode != MODE_REAL_C)
        for (int j = 0; j < nr; j++) ci[j] = si[i][j];
    }
  }
}

/* The whole GEMM in MR x NR tiles, column strips outermost so a strip of B
 * stays in L1 across the row tiles; edge rows get their own unrolled
 * instances (the filter DFTs have m = f_h or taps, rarely a multiple of
 * MR), edge columns the generic tile. */
static inline __attribute__((always_inline)) void
body(const cb_fftw_gemm *gm, const int MR, const int NR, const int mode, const int use_fma) {
  int64_t pf = 0; /* next prefetch line, len per tile */
  for (int64_t j0 = 0; j0 < gm->n; j0 += NR) {
    int64_t nr = gm->n - j0 < NR ? gm->n - j0 : NR;
    for (int64_t i0 = 0; i0 < gm->m; i0 += MR, pf += gm->len) {
      int64_t mr = gm->m - i0 < MR ? gm->m - i0 : MR;
      if (nr == NR && mr == MR) {
        tile(gm, i0, j0, MR, NR, mode, use_fma, pf);
      } else if (nr == NR && mr == 1) {
        tile(gm, i0, j0, 1, NR, mode, use_fma, pf);
      } else if (nr == NR && mr == 2 && MR > 2) {
        tile(gm, i0, j0, 2, NR, mode, use_fma, pf);
      } else if (nr == NR && mr == 3 && MR > 3) {
        tile(gm, i0, j0, 3, NR, mode, use_fma, pf);
      } else {
        tile(gm, i0, j0, (int)mr, (int)nr, mode, use_fma, pf);
      }
    }
  }
}

/* One instance per mode, so each is specialised. */
static inline __attribute__((always_inline)) void by_mode(const cb_fftw_gemm *gm, const int MR,
                                                          const int NR, const int use_fma) {
  if (!gm->b_im)
    body(gm, MR, NR, MODE_REAL_B, use_fma);
  else if (!gm->c_im)
    body(gm, MR, NR, MODE_REAL_C, use_fma);
  else if (gm->conj_b)
    body(gm, MR, NR, MODE_MUL_CONJ, use_fma);
  else
    body(gm, MR, NR, MODE_MUL, use_fma);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define CB_FFTW_X86 1
__attribute__((target("avx512f,avx512vl,fma,prefer-vector-width=512"))) static void
cgemm_avx512(const cb_fftw_gemm *gm) {
  by_mode(gm, 4, 32, 1);
}
__attribute__((target("avx2,fma"))) static void cgemm_avx2(const cb_fftw_gemm *gm) {
  by_mode(gm, 2, 16, 1);
}
#endif

static void cgemm_base(const cb_fftw_gemm *gm) {
  by_mode(gm, 2, 8, 0);
}

typedef void (*cgemm_fn)(const cb_fftw_gemm *);
static cgemm_fn chosen = cgemm_base;
static const char *chosen_name = "baseline 2x8";
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

/* The widest kernel tried: 2 AVX-512, 1 AVX2, 0 baseline. Tests build with
 * lower values to run the narrower kernels on an AVX-512 machine. */
#ifndef CB_FFTW_ISA_MAX
#define CB_FFTW_ISA_MAX 2
#endif

static void choose(void) {
#ifdef CB_FFTW_X86
  __builtin_cpu_init();
  if (CB_FFTW_ISA_MAX >= 2 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512vl")) {
    chosen = cgemm_avx512;
    chosen_name = "avx512 4x32";
  } else if (CB_FFTW_ISA_MAX >= 1 && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma")) {
    chosen = cgemm_avx2;
    chosen_name = "avx2 2x16";
  }
#endif
}

void cb_fftw_cgemm(const cb_fftw_gemm *gm) {
  pthread_once(&choose_once, choose);
  if (gm->m < 1 || gm->n < 1) return;
  if (gm->len < 1) { /* an empty sum: C = 0, or C unchanged */
    for (int64_t i = 0; i < gm->m && !gm->accumulate; i++)
      for (int64_t j = 0; j < gm->n; j++) {
        gm->c_re[i * gm->ldc + j] = 0.0f;
        if (gm->c_im) gm->c_im[i * gm->ldc + j] = 0.0f;
      }
    return;
  }
  chosen(gm);
}

const char *cb_fftw_cgemm_isa(void) {
  pthread_once(&choose_once, choose);
  return chosen_name;
}
