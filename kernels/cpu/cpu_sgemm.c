/* cpu_sgemm.c: the cpu backend's SGEMM, C = alpha op(A) op(B) + beta C
 * (row-major), and its GEMM variant `sgemm`.
 *
 * The BLIS / GotoBLAS structure (see cpu_gemm.h for the micro-kernels):
 *
 *   for jc in n, step nc              B slice kc x nc: in L3, shared by the threads
 *     for pc in k, step kc
 *       pack op(B)[pc:, jc:] into kc x nr panels        (all threads, then a barrier)
 *       for ic in this thread's rows, step mc            A block mc x kc: in L2
 *         pack op(A)[ic:, pc:] into mr x kc panels       (this thread's own buffer)
 *         for jr in this thread's B panels               B panel kc x nr: in L1
 *           for ir in the A panels                       A panel streams from L2
 *             micro-kernel: the mr x nr tile of C
 *
 * The first kc slice applies beta to C (or ignores C when beta is 0);
 * later slices add to it. Threads split the rows (the ic loop) or, when
 * that balances worse (few rows), the B panels of each slice (the jc loop),
 * choosing the grid with the smallest share of tiles per thread. Transposes
 * are absorbed by packing: the micro-kernel always sees the same panels. */
#include "cpu_gemm.h"

#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cache sizes when hwloc reported none (or no state was given): a small
 * modern x86 core. */
#define DEFAULT_L1D ((int64_t)32 << 10)
#define DEFAULT_L2  ((int64_t)1 << 20)
#define DEFAULT_L3  ((int64_t)8 << 20)

/* Below this many flops per thread an extra thread costs more than it
 * saves (waking the team and two barriers: a few microseconds, the time
 * of about 0.5 MFLOP on one core). */
#define PAR_MIN_FLOPS 1e6

/* Bounds of the derived depth slice: below 64 the C tile's load and store
 * per slice costs more than a few per cent; above 512 the kc x nr panel of
 * B outgrows L2's share of it and nothing more is gained. */
#define KC_MIN 64
#define KC_MAX 512

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}

static int64_t round_up(int64_t x, int64_t to) {
  return (x + to - 1) / to * to;
}

/* The ISA's default micro-kernel. An ISA this CPU cannot run (a caller's
 * bug: the variant's supports() refuses it) falls back to the widest it
 * can, rather than dying on an illegal instruction. */
static const cb_cpu_gemm_kernel *kernel_for(cb_cpu_isa isa) {
  if (!cb_cpu_isa_runs(isa)) isa = CB_CPU_ISA_AUTO;
  switch (cb_cpu_isa_resolve(isa)) {
  case CB_CPU_AVX512:
    return cb_cpu_gemm_avx512_kernels[0];
  case CB_CPU_AVX2:
    return cb_cpu_gemm_avx2_kernels[0];
  default:
    return cb_cpu_gemm_scalar_kernels[0];
  }
}

/* ---- blocking ------------------------------------------------------------ */

typedef struct blocks {
  int64_t mc, kc, nc; /* mc a multiple of mr, nc of nr, all >= 1 */
} blocks;

/* The largest blocks a configuration allows, whatever the problem:
 * cfg's values where given (mc and nc rounded up to whole panels),
 * otherwise from the cache sizes:
 *   kc: as deep as an mr x kc panel of A in 7/8 of L1 allows, within
 *       [KC_MIN, KC_MAX]: the deeper the slice, the more FMAs share each
 *       load and store of the C tile (on Zen 4, 1024^3 on one core: kc
 *       512 runs 5% faster than 256, 2% faster than 384);
 *   mc: the mc x kc block of A fills half of L2;
 *   nc: the kc x nc slice of B fills half of L3.
 * They depend on the caches and cfg only, never on m, n or k: a call's
 * blocks are these clipped to its problem (block_for), so the packing
 * space of a problem covers every smaller one (see workspace). */
static blocks block_caps(const cb_cpu_gemm_kernel *kr, const cb_cpu_gemm_cfg *cfg) {
  const cb_cpu_state *st = cfg->state;
  int64_t l1 = st && st->l1d > 0 ? st->l1d : DEFAULT_L1D;
  int64_t l2 = st && st->l2 > 0 ? st->l2 : DEFAULT_L2;
  int64_t l3 = st && st->l3 > 0 ? st->l3 : DEFAULT_L3;
  int64_t mr = kr->mr, nr = kr->nr, f = (int64_t)sizeof(float);
  blocks b;
  b.kc = cfg->kc > 0 ? cfg->kc : max64(KC_MIN, min64(KC_MAX, l1 * 7 / 8 / (mr * f) / 16 * 16));
  b.mc = cfg->mc > 0 ? round_up(cfg->mc, mr) : max64(mr, l2 / 2 / (b.kc * f) / mr * mr);
  b.nc = cfg->nc > 0 ? round_up(cfg->nc, nr) : max64(nr, l3 / 2 / (b.kc * f) / nr * nr);
  return b;
}

/* The blocks of one m x n x k call: the caps clipped to the problem, and
 * k cut into even slices (k = 600 with a cap of 512 gets two of 304, not
 * 512 and a sliver of 88), each at most the cap. */
static blocks derive_blocks(const cb_cpu_gemm_kernel *kr, const cb_cpu_gemm_cfg *cfg, int64_t m,
                            int64_t n, int64_t k) {
  blocks b = block_caps(kr, cfg);
  k = max64(k, 1);
  if (k > b.kc) {
    int64_t slices = (k + b.kc - 1) / b.kc, even = round_up((k + slices - 1) / slices, 16);
    b.kc = min64(b.kc, even);
  } else {
    b.kc = k;
  }
  b.mc = min64(b.mc, round_up(max64(m, 1), kr->mr));
  b.nc = min64(b.nc, round_up(max64(n, 1), kr->nr));
  return b;
}

static int64_t align64(int64_t bytes) {
  return round_up(bytes, 64);
}

/* Bytes of one thread's A block, and of the shared B slice (whole 64-byte
 * lines each, so threads never share a line). */
static int64_t a_block_bytes(const blocks *b) {
  return align64(b->mc * b->kc * (int64_t)sizeof(float));
}

static int64_t b_slice_bytes(const blocks *b) {
  return align64(b->kc * b->nc * (int64_t)sizeof(float));
}

size_t cb_cpu_sgemm_workspace_with(const cb_cpu_gemm_kernel *kern, const cb_cpu_gemm_cfg *cfg,
                                   int64_t m, int64_t n, int64_t k) {
  /* The caps clipped to the problem bound every block a call of at most
   * m x n x k uses (its kc slices never exceed min(cap, k)), so the size
   * grows with m, n and k and serves smaller calls too. */
  blocks b = block_caps(kern, cfg);
  int64_t kc = min64(b.kc, max64(k, 1));
  int64_t mc = min64(b.mc, round_up(max64(m, 1), kern->mr));
  int64_t nc = min64(b.nc, round_up(max64(n, 1), kern->nr));
  int64_t threads = cfg->threads > 1 ? cfg->threads : 1, a_bytes, b_bytes, total;
  /* 64 bytes of slack let the buffers start on a line whatever ws is. */
  if (__builtin_mul_overflow(mc * kc, (int64_t)sizeof(float), &a_bytes) ||
      __builtin_mul_overflow(kc * nc, (int64_t)sizeof(float), &b_bytes) ||
      __builtin_mul_overflow(align64(a_bytes), threads, &a_bytes) ||
      __builtin_add_overflow(a_bytes, align64(b_bytes) + 64, &total) || (uint64_t)total > SIZE_MAX)
    return SIZE_MAX;
  return (size_t)total;
}

size_t cb_cpu_sgemm_workspace(const cb_cpu_gemm_cfg *cfg, int64_t m, int64_t n, int64_t k) {
  return cb_cpu_sgemm_workspace_with(kernel_for(cfg->isa), cfg, m, n, k);
}

/* ---- the blocked loops ------------------------------------------------------ */

/* One call's operands and blocking, shared read-only by its threads. */
typedef struct job {
  const cb_cpu_gemm_kernel *kr;
  blocks bl;
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha, beta;
  const float *a, *b;
  float *c;
  int64_t lda, ldb, ldc;
  float *b_slice;  /* kc x nc, shared */
  float *a_blocks; /* one mc x kc block per thread, a_stride floats apart */
  int64_t a_stride;
} job;

/* [lo, hi) of `total` items for part `idx` of `parts`, sizes differing by
 * at most one. */
static void share(int64_t total, int64_t parts, int64_t idx, int64_t *lo, int64_t *hi) {
  *lo = total * idx / parts;
  *hi = total * (idx + 1) / parts;
}

/* The thread grid: tm row groups x tn panel groups, tm tn = threads, with
 * the fewest tiles for the busiest thread; ties go to more row groups,
 * which share one packed B slice and pack A once. */
static void thread_grid(const job *j, int threads, int *tm, int *tn) {
  int64_t row_panels = (j->m + j->kr->mr - 1) / j->kr->mr;
  int64_t col_panels = (min64(j->n, j->bl.nc) + j->kr->nr - 1) / j->kr->nr;
  int64_t best = INT64_MAX;
  *tm = threads;
  *tn = 1;
  for (int d = threads; d >= 1; d--) {
    if (threads % d) continue;
    int64_t e = threads / d;
    int64_t tiles = ((row_panels + d - 1) / d) * ((col_panels + e - 1) / e);
    if (tiles < best) {
      best = tiles;
      *tm = d;
      *tn = (int)e;
    }
  }
}

/* Packs rows [i0, i0 + rows) x columns [l0, l0 + depth) of op(A) into
 * mr-row panels. */
static void pack_a(const job *j, int64_t i0, int64_t rows, int64_t l0, int64_t depth, float *dst) {
  if (j->trans_a) /* op(A)(i, l) = a[l lda + i] */
    j->kr->pack(j->a + l0 * j->lda + i0, j->lda, false, rows, depth, j->kr->mr, dst);
  else
    j->kr->pack(j->a + i0 * j->lda + l0, j->lda, true, rows, depth, j->kr->mr, dst);
}

/* Packs rows [l0, l0 + depth) x columns [j0, j0 + cols) of op(B) into
 * nr-column panels. */
static void pack_b(const job *j, int64_t l0, int64_t depth, int64_t j0, int64_t cols, float *dst) {
  if (j->trans_b) /* op(B)(l, j) = b[j ldb + l] */
    j->kr->pack(j->b + j0 * j->ldb + l0, j->ldb, true, cols, depth, j->kr->nr, dst);
  else
    j->kr->pack(j->b + l0 * j->ldb + j0, j->ldb, false, cols, depth, j->kr->nr, dst);
}

/* Everything thread tid of nthreads does. Every thread runs the same jc
 * and pc loops, so all meet at the same barriers. */
static void sgemm_thread(const job *j, int tid, int nthreads) {
  const cb_cpu_gemm_kernel *kr = j->kr;
  const int64_t mr = kr->mr, nr = kr->nr;
  int tm, tn;
  thread_grid(j, nthreads, &tm, &tn);
  int64_t p0, p1, r0, r1;
  share((j->m + mr - 1) / mr, tm, tid / tn, &p0, &p1);
  r0 = min64(p0 * mr, j->m);
  r1 = min64(p1 * mr, j->m);
  float *a_block = j->a_blocks + tid * j->a_stride;
  /* With one row group every thread packs exactly the B panels it uses
   * (the same share of the same count), so nobody waits for the packing.
   * Everybody still waits at the end of each slice: where a panel of the
   * next slice lies depends on its depth, and which thread owns it on the
   * panel count of its column block, so a thread packing ahead would
   * overwrite a panel another thread is still reading. */
  bool wait_packed = nthreads > 1 && tm > 1, wait_done = nthreads > 1;

  for (int64_t jc = 0; jc < j->n; jc += j->bl.nc) {
    int64_t cols = min64(j->bl.nc, j->n - jc);
    int64_t panels = (cols + nr - 1) / nr, q0, q1, b0, b1;
    share(panels, tn, tid % tn, &q0, &q1);
    share(panels, nthreads, tid, &b0, &b1);
    for (int64_t pc = 0; pc < j->k; pc += j->bl.kc) {
      int64_t depth = min64(j->bl.kc, j->k - pc);
      if (b1 > b0)
        pack_b(j, pc, depth, jc + b0 * nr, min64(cols, b1 * nr) - b0 * nr,
               j->b_slice + b0 * nr * depth);
      if (wait_packed) {
#pragma omp barrier
      }
      float beta = pc == 0 ? j->beta : 1.0f;
      for (int64_t ic = r0; ic < r1 && q1 > q0; ic += j->bl.mc) {
        int64_t rows = min64(j->bl.mc, r1 - ic);
        pack_a(j, ic, rows, pc, depth, a_block);
        for (int64_t q = q0; q < q1; q++) {
          const float *b_panel = j->b_slice + q * nr * depth;
          float *c_col = j->c + jc + q * nr;
          int n_tile = (int)min64(nr, cols - q * nr);
          for (int64_t ir = 0; ir < rows; ir += mr)
            kr->ukernel(depth, a_block + ir * depth, b_panel, c_col + (ic + ir) * j->ldc, j->ldc,
                        (int)min64(mr, rows - ir), n_tile, j->alpha, beta);
        }
      }
      /* The next slice overwrites b_slice: wait until everyone is done
       * with this one (the last needs no wait: the region ends). */
      bool last = jc + j->bl.nc >= j->n && pc + j->bl.kc >= j->k;
      if (wait_done && !last) {
#pragma omp barrier
      }
    }
  }
}

/* C = beta C, for k == 0 or alpha == 0 (A and B are then not read, as in
 * BLAS). beta 0 writes zeros without reading C. */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < m; i++)
    for (int64_t jj = 0; jj < n; jj++)
      c[i * ldc + jj] = beta == 0.0f ? 0.0f : beta * c[i * ldc + jj];
}

/* Threads worth waking for this product (at least 1, at most asked). */
static int threads_for(const cb_cpu_gemm_cfg *cfg, int64_t m, int64_t n, int64_t k) {
  int threads = cfg->threads > 1 ? cfg->threads : 1;
  double per = 2.0 * (double)m * (double)n * (double)k / PAR_MIN_FLOPS;
  if (per < threads) threads = per < 1 ? 1 : (int)per;
  return threads;
}

void cb_cpu_sgemm_with(const cb_cpu_gemm_kernel *kern, const cb_cpu_gemm_cfg *cfg, bool trans_a,
                       bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                       void *ws) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  job j = {
      .kr = kern,
      .bl = derive_blocks(kern, cfg, m, n, k),
      .trans_a = trans_a,
      .trans_b = trans_b,
      .m = m,
      .n = n,
      .k = k,
      .alpha = alpha,
      .beta = beta,
      .a = a,
      .b = b,
      .c = c,
      .lda = lda,
      .ldb = ldb,
      .ldc = ldc,
  };
  char *base = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
  j.b_slice = (float *)base;
  j.a_blocks = (float *)(base + b_slice_bytes(&j.bl));
  j.a_stride = a_block_bytes(&j.bl) / (int64_t)sizeof(float);

  int threads = threads_for(cfg, m, n, k);
  if (threads == 1) {
    sgemm_thread(&j, 0, 1);
    return;
  }
  /* The team may come out smaller than asked (nested regions, thread
   * limits): the grid is made from the real count. */
#pragma omp parallel num_threads(threads)
  sgemm_thread(&j, omp_get_thread_num(), omp_get_num_threads());
}

void cb_cpu_sgemm(const cb_cpu_gemm_cfg *cfg, bool trans_a, bool trans_b, int64_t m, int64_t n,
                  int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc, void *ws) {
  cb_cpu_sgemm_with(kernel_for(cfg->isa), cfg, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                    beta, c, ldc, ws);
}

/* ---- the variant ------------------------------------------------------------- */

static const int isa_values[] = {CB_CPU_ISA_AUTO, CB_CPU_AVX512, CB_CPU_AVX2, CB_CPU_SCALAR};
/* 0 = derived from the caches (mc 252, kc 512, nc 8192 on Zen 4);
 * the others bracket it, small enough that block loops iterate. */
static const int mc_values[] = {0, 56, 112, 504};
static const int kc_values[] = {0, 128, 256, 384};
static const int nc_values[] = {0, 256, 1024};
#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))
static const cb_param_def sgemm_params[] = {
    {"isa", isa_values, COUNT(isa_values), CB_CPU_ISA_AUTO},
    {"mc", mc_values, COUNT(mc_values), 0},
    {"kc", kc_values, COUNT(kc_values), 0},
    {"nc", nc_values, COUNT(nc_values), 0},
};

static cb_cpu_gemm_cfg cfg_from(const cb_ctx *ctx, const int *params) {
  return (cb_cpu_gemm_cfg){
      .isa = (cb_cpu_isa)params[0],
      .mc = params[1],
      .kc = params[2],
      .nc = params[3],
      .threads = ctx->threads,
      .state = ctx->state,
  };
}

static cb_status sgemm_supports(const cb_ctx *ctx, const cb_problem *p, const int *params) {
  if (p->dtype != CB_DTYPE_F32) return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: only f32");
  int isa = params[0];
  if (isa < CB_CPU_ISA_AUTO || isa > CB_CPU_AVX512)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: isa %d is not -1, 0, 1 or 2", isa);
  if (!cb_cpu_isa_runs((cb_cpu_isa)isa))
    return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: this CPU does not run %s",
                    cb_cpu_isa_name((cb_cpu_isa)isa));
  for (int i = 1; i < 4; i++)
    if (params[i] < 0)
      return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: %s = %d is negative",
                      sgemm_params[i].name, params[i]);
  cb_cpu_gemm_cfg cfg = cfg_from(ctx, params);
  if (cb_cpu_sgemm_workspace(&cfg, p->gemm.m, p->gemm.n, p->gemm.k) == SIZE_MAX)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: the packing buffers overflow");
  return CB_OK;
}

static cb_status sgemm_workspace(const cb_ctx *ctx, const cb_problem *p, const int *params,
                                 size_t *bytes) {
  cb_cpu_gemm_cfg cfg = cfg_from(ctx, params);
  *bytes = cb_cpu_sgemm_workspace(&cfg, p->gemm.m, p->gemm.n, p->gemm.k);
  if (*bytes == SIZE_MAX)
    return cb_error(CB_ERR_UNSUPPORTED, "cpu gemm/sgemm: the packing buffers overflow");
  return CB_OK;
}

/* The plan only records what the call resolves to, for plan_info: the
 * micro-kernel and the cache blocks (run recomputes them, which costs
 * nothing, so it works without a plan too). */
typedef struct sgemm_plan {
  const cb_cpu_gemm_kernel *kr;
  blocks bl;
} sgemm_plan;

static cb_status sgemm_plan_create(cb_ctx *ctx, const cb_problem *p, const int *params,
                                   void **plan) {
  sgemm_plan *sp = malloc(sizeof *sp);
  if (!sp) return cb_error(CB_ERR_NOMEM, "cpu gemm/sgemm: out of memory for a plan");
  cb_cpu_gemm_cfg cfg = cfg_from(ctx, params);
  sp->kr = kernel_for(cfg.isa);
  sp->bl = derive_blocks(sp->kr, &cfg, p->gemm.m, p->gemm.n, p->gemm.k);
  *plan = sp;
  return CB_OK;
}

static void sgemm_plan_destroy(void *plan) {
  free(plan);
}

/* "avx512_14x32 mc 336 kc 256 nc 2048" */
static void sgemm_plan_info(const void *plan, char *buf, size_t len) {
  const sgemm_plan *sp = plan;
  if (!sp) {
    snprintf(buf, len, "%s", "");
    return;
  }
  snprintf(buf, len, "%s mc %lld kc %lld nc %lld", sp->kr->name, (long long)sp->bl.mc,
           (long long)sp->bl.kc, (long long)sp->bl.nc);
}

/* A (src0), B (src1) -> C (dst), read only when beta != 0; workspace: the
 * packing buffers. */
static cb_status sgemm_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                           const cb_args *args, void *workspace) {
  (void)plan;
  if (!args->src0 || !args->src1 || !args->dst)
    return cb_error(CB_ERR_INVALID, "cpu gemm/sgemm: a tensor pointer is NULL");
  const cb_gemm *g = &p->gemm;
  cb_cpu_gemm_cfg cfg = cfg_from(ctx, params);
  cb_cpu_sgemm(&cfg, g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, args->src0,
               g->trans_a ? g->m : g->k, args->src1, g->trans_b ? g->k : g->n, g->beta, args->dst,
               g->n, workspace);
  return CB_OK;
}

static const cb_variant sgemm_variant = {
    .name = "sgemm",
    .op = CB_OP_GEMM,
    .desc = "blocked SGEMM: packed panels, register-blocked micro-kernel per ISA, OpenMP",
    /* Small-integer products and sums are exact in any order, and so is
     * the result when alpha and beta are dyadic. Otherwise alpha ab and
     * beta C are rounded separately before their sum where ref rounds
     * once (as OpenBLAS does): 1e-6 covers that and some cancellation. */
    .tolerance = 1e-6,
    .nparams = COUNT(sgemm_params),
    .params = sgemm_params,
    .supports = sgemm_supports,
    .workspace = sgemm_workspace,
    .plan_create = sgemm_plan_create,
    .plan_destroy = sgemm_plan_destroy,
    .plan_info = sgemm_plan_info,
    .run = sgemm_run,
};

const cb_variant *const cb_cpu_gemm_variants[] = {&sgemm_variant, NULL};
