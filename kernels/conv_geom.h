/* conv_geom.h: a convolution's derived sizes (output plane, channels per
 * group, filter and col-matrix extents), computed in one place for every
 * backend. The ref, cpu, openblas and cuda backends use cb_conv_geom as it
 * is; ref, cufft and fftw embed or read it beside their own extras.
 *
 * A plain C struct of int64_t with the problem held by value, so a copy
 * can be passed to a CUDA kernel and this header compiles as C and under
 * nvcc (host and device code read the fields; only the host fills them). */
#ifndef CB_CONV_GEOM_H
#define CB_CONV_GEOM_H

#include "kernels.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_conv_geom {
  cb_conv cv;       /* the problem's sizes, copied */
  int64_t p, q, pq; /* output height, width and plane size */
  int64_t hw;       /* input plane size */
  int64_t cg, kg;   /* input and output channels per group */
  int64_t rs;       /* taps per filter plane: r s */
  int64_t cgrs;     /* one filter's length c/g r s: the depth of a forward GEMM, the
                       rows of one group's col matrix */
  int64_t crs;      /* rows of the col matrix over all groups: c r s */
} cb_conv_geom;

/* Fills g from cv (p and q by cb_conv_out_h/w's floor rule). */
void cb_conv_geom_init(cb_conv_geom *g, const cb_conv *cv);

/* A half-open range [lo, hi) of output indices along one dimension. */
typedef struct cb_range {
  int64_t lo, hi;
} cb_range;

/* floor(a / b) for b > 0 (C's '/' truncates toward zero). */
static inline int64_t cb_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* v clamped to [lo, hi]. */
static inline int64_t cb_clamp64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* The outputs o < out whose input index o * stride - pad + tap * dil lies
 * in [0, in): where filter tap `tap` reads real data rather than padding.
 * Both ends lie in [0, out], so callers may also use them to size the
 * padding around the range. Computed once per tap, it keeps the bounds
 * tests out of the inner loops. */
static inline cb_range cb_tap_range(int64_t tap, int64_t in, int64_t out, int64_t stride,
                                    int64_t pad, int64_t dil) {
  int64_t off = tap * dil - pad; /* input index = o * stride + off */
  int64_t lo = -cb_floor_div(off, stride);
  int64_t hi = cb_floor_div(in - 1 - off, stride) + 1;
  cb_range rg = {cb_clamp64(lo, 0, out), cb_clamp64(hi, 0, out)};
  if (rg.hi < rg.lo) rg.hi = rg.lo;
  return rg;
}

#ifdef __cplusplus
}
#endif

#endif /* CB_CONV_GEOM_H */
