/* cpu_gemm.h: private to the cpu backend's SGEMM: what each ISA file
 * (cpu_gemm_avx512.c, cpu_gemm_avx2.c, cpu_gemm_scalar.c) gives the
 * blocked driver in cpu_sgemm.c: a register-blocked micro-kernel of mr x nr
 * floats and the packing routine that lays operands out for it.
 *
 * The driver (BLIS / GotoBLAS structure) cuts C into nc-wide column
 * blocks, k into kc-deep slices and the rows into mc-tall blocks, packs
 * the kc x nc slice of op(B) into panels of nr columns and the mc x kc
 * block of op(A) into panels of mr rows, and calls the micro-kernel once
 * per mr x nr tile of C. Panels are zero-padded to full width, so the
 * micro-kernel always runs its full loop and only the write-back of an
 * edge tile is clipped (masked or per row): a tail costs no slow path. */
#ifndef CB_CPU_GEMM_H
#define CB_CPU_GEMM_H

#include "cpu.h"

/* Packs a strip of op(X): w entries of the wide dimension (rows of op(A),
 * or columns of op(B)) by kc entries of the shared dimension, into
 * ceil(w / width) panels of width x kc floats. Panel p starts at
 * dst + p width kc and is stored l-major:
 *   dst[p width kc + l width + i] = X(p width + i, l), 0 where p width + i >= w,
 * where X(i, l) = src[i ld + l] when k_contig (the shared dimension is the
 * contiguous one: A not transposed, B transposed), src[l ld + i]
 * otherwise. dst needs no alignment. */
typedef void (*cb_cpu_pack_fn)(const float *src, int64_t ld, bool k_contig, int64_t w, int64_t kc,
                               int width, float *dst);

/* One tile: C[0:m, 0:n] = alpha (a b) + beta C, where a is a packed mr x kc
 * panel of A and b a packed kc x nr panel of B (64-byte aligned), m <= mr,
 * n <= nr, C row-major with ldc floats per row. beta == 0: C is not read;
 * beta == 1: one rounding (C + alpha ab in one FMA), which the driver uses
 * to add every kc slice after the first. */
typedef void (*cb_cpu_ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                  int m, int n, float alpha, float beta);

typedef struct cb_cpu_gemm_kernel {
  const char *name; /* "avx512_14x32": ISA and mr x nr */
  cb_cpu_isa isa;
  int mr, nr;
  cb_cpu_pack_fn pack;
  cb_cpu_ukernel_fn ukernel;
} cb_cpu_gemm_kernel;

/* Each ISA's micro-kernel shapes, the first being the default
 * (NULL-terminated). */
extern const cb_cpu_gemm_kernel *const cb_cpu_gemm_avx512_kernels[];
extern const cb_cpu_gemm_kernel *const cb_cpu_gemm_avx2_kernels[];
extern const cb_cpu_gemm_kernel *const cb_cpu_gemm_scalar_kernels[];

/* The portable packing routine (cpu_gemm_scalar.c), which the scalar
 * kernel uses and the others may too. */
void cb_cpu_pack_scalar(const float *src, int64_t ld, bool k_contig, int64_t w, int64_t kc,
                        int width, float *dst);

/* cb_cpu_sgemm with an explicit micro-kernel (cfg->isa is ignored), for
 * measuring shapes against each other; cb_cpu_sgemm picks the ISA's
 * default. */
void cb_cpu_sgemm_with(const cb_cpu_gemm_kernel *kern, const cb_cpu_gemm_cfg *cfg, bool trans_a,
                       bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                       void *ws);
size_t cb_cpu_sgemm_workspace_with(const cb_cpu_gemm_kernel *kern, const cb_cpu_gemm_cfg *cfg,
                                   int64_t m, int64_t n, int64_t k);

#endif
