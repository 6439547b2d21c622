/* fftw_impl.h: private to the fftw backend (kernels/fftw/). FFT convolution
 * on the host: the problem geometry (transform sizes, tiles, chunks and the
 * workspace layout), the per-problem plan (FFTW plans, per-thread buffers,
 * DFT tables for the filters), the batched complex GEMM that does the
 * per-frequency multiply-accumulate, and the transforms.
 *
 * The method, for all three ops. Every image plane (or, in the tiled
 * variant, every tile of one) is zero-padded into an F_h x F_w buffer and
 * real-to-complex transformed by FFTW. The spectra are stored
 * frequency-major and split (real and imaginary parts in separate arrays):
 * bin b of a frequency buffer holds one [rows x channels] matrix, so the
 * multiply-accumulate over channels is one small complex GEMM per bin:
 *
 *   fwd:        Y[m, k]  = sum_c  X[m, c]  conj(W[c, k])   (correlation)
 *   bwd_data:   DX[m, c] = sum_k  DY[m, k] W[k, c]         (convolution)
 *   bwd_filter: DW[c, k] = sum_m  X[m, c]  conj(DY[m, k])  (correlation)
 *
 * with m = (image, tile) and c, k the channels of one group.
 *
 * Filters never get a full F_h x F_w spectrum in memory (for a 9x9 filter
 * in a 64x64 transform that would be 50 times the filter, and streaming it
 * would cost more than the GEMMs). Their DFT is separable and exact, done
 * as matrix products: the row DFT T[r][fw] = sum_s w[r][s] e^{-2 pi i fw s / F_w}
 * is computed once per weight chunk (taps_h / F_h of the spectrum's size),
 * and the column DFT W[fh][fw] = sum_r D[fh][r] T[r][fw] is computed for a
 * few bins (fh_block values of fh, one fw, col_block weight channels) at a
 * time into a per-thread buffer that stays in L2, right before the per-bin
 * GEMMs of those bins use it. bwd_filter runs the same in reverse: per-bin
 * GEMMs into the buffer, then the inverse column DFT accumulates into
 * U[r][fw] (again taps_h / F_h of a spectrum), and the inverse row DFT of
 * U gives dw. Activations go back through FFTW complex-to-real and a crop.
 * The 1/(F_h F_w) of the inverse transforms is folded into D (fwd,
 * bwd_data) or the inverse row DFT (bwd_filter).
 *
 * Batches are processed in chunks of images and the weight side (output
 * channels of fwd and bwd_filter, input channels of bwd_data) in chunks of
 * channels, so the workspace stays under CB_FFTW_BUDGET when it can. */
#ifndef CB_FFTW_IMPL_H
#define CB_FFTW_IMPL_H

#include "conv_geom.h"
#include "kernels.h"

#include <fftw3.h>

/* Workspace the chunking aims to stay under. A chunk never drops below one
 * image and one weight channel, so a huge problem may still exceed it.
 * Tests build with a tiny budget to exercise the chunk loops. */
#ifndef CB_FFTW_BUDGET
#define CB_FFTW_BUDGET ((int64_t)256 << 20)
#endif

/* Complex numbers of filter spectra a thread makes per step (512 KiB);
 * tests shrink it to exercise several column blocks. */
#ifndef CB_FFTW_WBUF
#define CB_FFTW_WBUF 65536
#endif

/* Every buffer in the workspace and every plane in a per-thread buffer
 * starts on a 64-byte boundary: FFTW's new-array execute functions need
 * the alignment the plan was made with, and vector loads like it too. */
#define CB_FFTW_ALIGN 64

/* Largest tile length the tiled variant offers. */
#define CB_FFTW_TILE_MAX 64

/* Where the source indices of one axis land in a transform buffer:
 * index i in [lo, hi) goes to position i - off (0 <= i - off < F), every
 * other position is zero. */
typedef struct cb_fftw_place {
  int64_t off, lo, hi;
} cb_fftw_place;

/* Which outputs of one axis a transform buffer yields: destination index
 * d0 + j, for j < n, comes from position (b0 + j) mod F. */
typedef struct cb_fftw_crop {
  int64_t d0, n, b0;
} cb_fftw_crop;

/* One spatial axis of the convolution and how it is transformed. */
typedef struct cb_fftw_axis {
  int64_t in, out;        /* x length (h or w) and y length (p or q) */
  int64_t pad, dil, taps; /* padding, dilation, filter taps (r or s) */
  int64_t span;           /* dil (taps - 1) + 1, the dilated filter's extent */
  int64_t f;              /* transform length */
  int64_t tile;           /* tile length along the op's tiled side (y for fwd and
                             bwd_filter, x for bwd_data); the whole side when untiled */
  int64_t ntiles;
} cb_fftw_axis;

/* The workspace of one op, buffers named by role:
 *   a:  the batch side with all channels of the chunk's groups (fwd and
 *       bwd_filter: X[m, c], bwd_data: DY[m, k]), frequency-major;
 *   o:  the batch side restricted to the weight chunk (fwd: Y[m, k],
 *       bwd_data: DX[m, c], bwd_filter: DY[m, k]), frequency-major;
 *   t:  the filters' row DFT T[taps_h][bins_w][planes] (fwd, bwd_data), or
 *       the dw accumulator U of the same shape (bwd_filter);
 *   wt: the filter chunk transposed to [taps_h][taps_w][planes] (fwd and
 *       bwd_data only).
 * planes = bank_rows x the weight chunk, ordered by column block (see
 * cb_fftw_block). Bins of a and o are cb_fftw_bin_stride apart. Offsets
 * are in floats from the aligned workspace base; each complex buffer holds
 * its real parts, then its imaginary parts, the *_n (complex count,
 * rounded up to whole cache lines) apart. */
typedef struct cb_fftw_layout {
  int64_t a, o, t, wt;   /* offsets (floats) */
  int64_t a_n, o_n, t_n; /* complex elements of each complex buffer */
  int64_t total;         /* floats, all buffers */
} cb_fftw_layout;

/* Everything sizes depend on, computed once from the problem and the
 * variant's parameters, identically in supports, workspace, plan_create
 * and run. */
typedef struct cb_fftw_geom {
  cb_op op;
  bool tiled;
  cb_conv_geom conv;  /* the problem and its per-group channel counts */
  cb_fftw_axis ax[2]; /* [0] height, [1] width */
  int64_t bins_w;     /* f_w / 2 + 1: the half spectrum r2c keeps */
  int64_t bins;       /* f_h * bins_w */
  int64_t tiles;      /* tiles per image */
  int64_t wtotal;     /* channels on the weight side: k (fwd, bwd_filter) or c (bwd_data) */
  int64_t wgroup;     /* of them per group: kg or cg */
  int64_t wchunk;     /* weight channels per chunk */
  int64_t nchunk;     /* images per chunk */
  int64_t aspan;      /* most batch-side channels a weight chunk needs */
  int64_t bank_rows;  /* rows of the filter matrix per bin: cg (fwd, bwd_filter) or kg */
  int64_t fh_block;   /* values of fh whose filter spectra are made (or used) at once */
  int64_t col_block;  /* weight channels per column block */
  int group_planes;   /* planes per FFTW call (howmany) */
  int scatter_planes; /* planes per scatter or gather task, a multiple of group_planes */
  int64_t plane_real; /* floats per real plane in a per-thread buffer (padded) */
  int64_t plane_cplx; /* complex numbers per spectrum plane (padded) */
  cb_fftw_layout ws;
  size_t ws_bytes; /* what workspace() reports: layout plus alignment slack */
} cb_fftw_geom;

/* Fills g for problem p (already cb_problem_check'ed) with tiled = false
 * for the whole-image variant, or the requested tile length; returns
 * CB_ERR_UNSUPPORTED with the reason when the method cannot compute p
 * (stride > 1, a tiled problem that fits one tile, sizes too large). */
cb_status cb_fftw_geom_init(const cb_problem *p, bool tiled, int64_t tile, cb_fftw_geom *g);

/* Smallest n' >= n whose prime factors are all 2, 3, 5 or 7: the lengths
 * FFTW's codelets handle without a slow generic pass. */
int64_t cb_fftw_good_size(int64_t n);

/* Where the source of one axis goes for tile t, by role of the tensor:
 * x read by fwd and bwd_filter, dy read by bwd_data, dy read by
 * bwd_filter. */
typedef enum cb_fftw_role { CB_FFTW_X, CB_FFTW_DY_DATA, CB_FFTW_DY_FILTER } cb_fftw_role;
cb_fftw_place cb_fftw_place_of(const cb_fftw_geom *g, int axis, cb_fftw_role role, int64_t t);

/* The outputs of tile t along one axis: y for fwd, dx for bwd_data. */
cb_fftw_crop cb_fftw_crop_of(const cb_fftw_geom *g, int axis, int64_t t);

/* The variants (fftw_conv.c). */
extern const cb_variant cb_fftw_conv_fwd_fft, cb_fftw_conv_fwd_tiled;
extern const cb_variant cb_fftw_conv_bwd_data_fft, cb_fftw_conv_bwd_data_tiled;
extern const cb_variant cb_fftw_conv_bwd_filter_fft, cb_fftw_conv_bwd_filter_tiled;

/* ---- the plan ------------------------------------------------------------ */

/* A plan: everything run() needs besides the workspace. Its per-thread
 * buffers make it single-user: one run at a time per plan (each layer
 * binding has its own). */
typedef struct cb_fftw_plan {
  cb_fftw_geom g;
  int threads;                   /* per-thread buffers exist for this many */
  fftwf_plan r2c_group, r2c_one; /* group_planes planes / one plane */
  fftwf_plan c2r_group, c2r_one;
  float *rbuf;         /* threads x group_planes real planes */
  fftwf_complex *cbuf; /* threads x scatter_planes spectra */
  float *wbuf;         /* threads x wbuf_floats: filter spectra of a few bins */
  int64_t wbuf_floats;
  /* Filter DFT tables (split complex), scale folded in where it applies:
   *   dh [f_h][taps_h]: forward columns, e^{-2 pi i fh r dil / f_h} / (f_h f_w)
   *   eh [taps_h][f_h]: inverse columns, e^{+2 pi i fh r dil / f_h}
   *   tw [taps_w][bins_w]: rows, e^{-2 pi i fw s dil / f_w} (fwd, bwd_data),
   *      or e^{+2 pi i fw s dil / f_w} weighted by the bin's Hermitian
   *      multiplicity and 1/(f_h f_w) (bwd_filter) */
  float *dh_re, *dh_im, *eh_re, *eh_im, *tw_re, *tw_im;
  char info[96];
} cb_fftw_plan;

/* Makes the FFTW plans (under the planner lock), the per-thread buffers
 * for ctx->threads threads and the filter DFT tables. */
cb_status cb_fftw_plan_make(cb_ctx *ctx, const cb_fftw_geom *g, cb_fftw_plan **out);
void cb_fftw_plan_free(cb_fftw_plan *pl);

/* FFTW's planner is not thread-safe; every plan creation and destruction
 * in this backend holds this lock. */
void cb_fftw_planner_lock(void);
void cb_fftw_planner_unlock(void);

/* ---- complex GEMM ---------------------------------------------------------- */

/* C[i][j] (+)= sum_l A(i, l) * op(B[l][j]) for i < m, j < n, l < len, all
 * split complex: A(i, l) at a_re / a_im + i * a_rs + l * a_cs (any strides:
 * its elements are broadcast), B row-major with leading dimension ldb, C
 * with ldc. op(B) = conj(B) when conj_b. b_im NULL: B is real. c_im NULL:
 * only the real part of C is computed (not with conj_b). C is overwritten
 * unless accumulate. */
typedef struct cb_fftw_gemm {
  int64_t m, n, len;
  const float *a_re, *a_im;
  int64_t a_rs, a_cs;
  const float *b_re, *b_im;
  int64_t ldb;
  float *c_re, *c_im;
  int64_t ldc;
  bool conj_b, accumulate;
  /* Optional: data the next GEMM will read (pf_bytes from each of pf_re
   * and pf_im), prefetched a line per reduction step so that its memory
   * latency hides behind this GEMM's arithmetic. */
  const float *pf_re, *pf_im;
  int64_t pf_bytes;
} cb_fftw_gemm;

/* Runs one GEMM on the calling thread with the widest vector ISA the CPU
 * has (AVX-512, AVX2, or baseline). */
void cb_fftw_cgemm(const cb_fftw_gemm *gm);

/* Name of the GEMM kernel in use ("avx512 4x32", ...), for plan_info. */
const char *cb_fftw_cgemm_isa(void);

/* ---- transforms (fftw_xform.c) ------------------------------------------- */

/* A batch-side tensor being transformed to or from a frequency buffer:
 * images [n0, n0 + nimg) of data (channels chans, planes rows x cols),
 * channels [ch_lo, ch_hi), written to / read from frequency buffer columns
 * ch - col0 of rows (image - n0) * tiles + tile, ncols columns per row. */
typedef struct cb_fftw_batch {
  const float *src; /* input tensor (forward transforms) */
  float *dst;       /* output tensor (inverse transforms) */
  int64_t chans, rows, cols;
  int64_t n0, nimg, ch_lo, ch_hi, col0, ncols;
  float *f_re, *f_im; /* the frequency buffer */
  cb_fftw_role role;  /* placement (forward transforms) */
} cb_fftw_batch;

/* Forward-transforms every plane of b into its frequency buffer, threads
 * splitting the planes. */
void cb_fftw_forward(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b);

/* Inverse-transforms every plane of b's frequency buffer and writes the
 * cropped outputs (y for fwd, dx for bwd_data) to b->dst. */
void cb_fftw_inverse(const cb_fftw_plan *pl, int threads, const cb_fftw_batch *b);

/* A column block: weight channels [w0 + js, w0 + je) of the chunk starting
 * at w0, all in group grp, at most col_block of them. Its planes (row,
 * col) sit at p = bank_rows js + row (je - js) + (col - js) in T, U and wt,
 * so a block's slice of every row of T is contiguous. */
typedef struct cb_fftw_block {
  int64_t js, je, grp;
} cb_fftw_block;

/* Fills blocks (wc entries suffice) for weight chunk [w0, w0 + wc);
 * returns how many. */
int64_t cb_fftw_blocks(const cb_fftw_geom *g, int64_t w0, int64_t wc, cb_fftw_block *blocks);

/* The row DFT of the filters of one weight chunk (fwd and bwd_data) into
 * T: plane (row, col) of block b is
 *   fwd:      w[w0 + col][row]
 *   bwd_data: w[grp kg + row][c - grp cg] with c = w0 + col.
 * ws is the aligned workspace base. */
void cb_fftw_filter_rows(const cb_fftw_plan *pl, int threads, const float *w, int64_t w0,
                         int64_t wc, const cb_fftw_block *blocks, int64_t nblocks, float *ws);

/* The inverse row DFT of the accumulated U (bwd_filter) into
 * dw[w0 .. w0 + wc), scale applied. */
void cb_fftw_filter_rows_inverse(const cb_fftw_plan *pl, int threads, float *dw, int64_t w0,
                                 int64_t wc, const cb_fftw_block *blocks, int64_t nblocks,
                                 float *ws);

/* Floats from one bin's [rows x cols] matrix to the next in a frequency
 * buffer: n = rows x cols rounded up to an odd number of cache lines.
 * Plain n is often a power of two (16 images x 64 channels is 4 KiB), and
 * then every bin of a plane falls into the same cache set, so scattering
 * a spectrum evicts itself line by line. */
static inline int64_t cb_fftw_bin_stride(int64_t n) {
  return (((n + 15) / 16) | 1) * 16;
}

/* The calling thread's index in an OpenMP team (0 without OpenMP). */
int cb_fftw_thread_id(void);

/* The aligned workspace base for a workspace pointer. */
static inline float *cb_fftw_ws_base(void *workspace) {
  uintptr_t u = (uintptr_t)workspace;
  return (float *)((u + CB_FFTW_ALIGN - 1) & ~(uintptr_t)(CB_FFTW_ALIGN - 1));
}

#endif /* CB_FFTW_IMPL_H */
