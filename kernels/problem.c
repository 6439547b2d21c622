/* problem.c: what to compute. Problem constructors, validation, the
 * canonical key (format and strict parse), FLOP and element counts.
 *
 * The key is what every result, cache entry and failure is filed under, so
 * it must be unambiguous and parse back to exactly the problem it came from;
 * the parser is deliberately strict (every field, no signs, no trailing
 * junk) and a parsed key always passes cb_problem_check(). */
#include "kernels.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- op names ------------------------------------------------------------ */

static const char *const op_names[CB_OP_COUNT] = {
    [CB_OP_CONV_FWD] = "conv_fwd",
    [CB_OP_CONV_BWD_DATA] = "conv_bwd_data",
    [CB_OP_CONV_BWD_FILTER] = "conv_bwd_filter",
    [CB_OP_GEMM] = "gemm",
};

/* The op's key and CLI name, or "unknown" for a value outside cb_op. */
const char *cb_op_name(cb_op op) {
  if ((int)op < 0 || op >= CB_OP_COUNT) return "unknown";
  return op_names[op];
}

/* Looks an op up by its cb_op_name(); CB_ERR_INVALID listing the names when
 * there is none. */
cb_status cb_op_from_name(const char *name, cb_op *out) {
  for (int i = 0; i < CB_OP_COUNT; i++) {
    if (strcmp(name, op_names[i]) == 0) {
      *out = (cb_op)i;
      return CB_OK;
    }
  }
  return cb_error(CB_ERR_INVALID,
                  "unknown op \"%s\" (conv_fwd, conv_bwd_data, conv_bwd_filter, gemm)", name);
}

static bool is_conv_op(cb_op op) {
  return op == CB_OP_CONV_FWD || op == CB_OP_CONV_BWD_DATA || op == CB_OP_CONV_BWD_FILTER;
}

/* ---- output size --------------------------------------------------------- */

/* Floor division for b > 0; C's '/' truncates toward zero, which would turn
 * a slightly negative numerator (an input too small for the filter) into a
 * valid-looking output of size 1. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* One output dimension, (in + 2 pad - dil (taps - 1) - 1) / stride + 1 with
 * floor division. False when the arithmetic would overflow int64 or the
 * stride is not positive: huge parsed values must not reach signed overflow. */
static bool out_dim(int64_t in, int64_t pad, int64_t taps, int64_t stride, int64_t dil,
                    int64_t *out) {
  int64_t twice_pad, gaps, span, num;
  if (stride < 1) return false;
  return !__builtin_mul_overflow(pad, 2, &twice_pad) &&
         !__builtin_add_overflow(in, twice_pad, &num) && !__builtin_sub_overflow(taps, 1, &gaps) &&
         !__builtin_mul_overflow(dil, gaps, &span) && !__builtin_sub_overflow(num, span, &num) &&
         !__builtin_sub_overflow(num, 1, &num) &&
         !__builtin_add_overflow(floor_div(num, stride), 1, out);
}

/* Output height p; 0 or less for a shape with no output (or one whose size
 * arithmetic overflows, which cb_problem_check reports). */
int64_t cb_conv_out_h(const cb_conv *c) {
  int64_t p;
  return out_dim(c->h, c->pad_h, c->r, c->stride_h, c->dil_h, &p) ? p : 0;
}

/* Output width q; see cb_conv_out_h. */
int64_t cb_conv_out_w(const cb_conv *c) {
  int64_t q;
  return out_dim(c->w, c->pad_w, c->s, c->stride_w, c->dil_w, &q) ? q : 0;
}

/* ---- constructors -------------------------------------------------------- */

/* A conv problem from a cb_conv usually written with designated
 * initializers: a stride, dilation or groups left at 0 means 1, so callers
 * name only what differs from a plain convolution. */
cb_problem cb_problem_conv(cb_op op, cb_conv conv) {
  cb_problem p;
  memset(&p, 0, sizeof p);
  p.op = op;
  p.dtype = CB_DTYPE_F32;
  p.layout = CB_LAYOUT_NCHW;
  if (conv.stride_h == 0) conv.stride_h = 1;
  if (conv.stride_w == 0) conv.stride_w = 1;
  if (conv.dil_h == 0) conv.dil_h = 1;
  if (conv.dil_w == 0) conv.dil_w = 1;
  if (conv.groups == 0) conv.groups = 1;
  p.conv = conv;
  return p;
}

/* C[m,n] = op(A) op(B) with alpha 1 and beta 0; set p.gemm.alpha/beta after. */
cb_problem cb_problem_gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b) {
  cb_problem p;
  memset(&p, 0, sizeof p);
  p.op = CB_OP_GEMM;
  p.dtype = CB_DTYPE_F32;
  p.layout = CB_LAYOUT_NCHW;
  p.gemm.m = m;
  p.gemm.n = n;
  p.gemm.k = k;
  p.gemm.trans_a = trans_a;
  p.gemm.trans_b = trans_b;
  p.gemm.alpha = 1.0f;
  p.gemm.beta = 0.0f;
  return p;
}

/* ---- element counts ------------------------------------------------------ */

/* a * b * c * d, false on int64 overflow. */
static bool mul4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out) {
  int64_t ab, abc;
  return !__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, &abc) &&
         !__builtin_mul_overflow(abc, d, out);
}

/* The three conv tensors' element counts: x[n,c,h,w], w[k,c/g,r,s], y[n,k,p,q]. */
static bool conv_counts(const cb_conv *c, int64_t *nx, int64_t *nw, int64_t *ny) {
  if (c->groups < 1) return false;
  return mul4(c->n, c->c, c->h, c->w, nx) && mul4(c->k, c->c / c->groups, c->r, c->s, nw) &&
         mul4(c->n, c->k, cb_conv_out_h(c), cb_conv_out_w(c), ny);
}

/* Element count of src0 (which 0), src1 (1) or dst (2) as listed at
 * cb_args; -1 for a bad op or which, or a count that overflows int64 (a
 * problem cb_problem_check rejects). */
int64_t cb_problem_elems(const cb_problem *p, int which) {
  if (which < 0 || which > 2) return -1;
  if (p->op == CB_OP_GEMM) {
    const cb_gemm *g = &p->gemm;
    int64_t a, b, c;
    if (!mul4(g->m, g->k, 1, 1, &a) || !mul4(g->k, g->n, 1, 1, &b) || !mul4(g->m, g->n, 1, 1, &c))
      return -1;
    const int64_t counts[3] = {a, b, c};
    return counts[which];
  }
  if (!is_conv_op(p->op)) return -1;
  int64_t nx, nw, ny;
  if (!conv_counts(&p->conv, &nx, &nw, &ny)) return -1;
  /* src0, src1, dst of fwd, bwd_data and bwd_filter, in cb_op order. */
  const int64_t counts[3][3] = {{nx, nw, ny}, {ny, nw, nx}, {nx, ny, nw}};
  return counts[p->op][which];
}

/* ---- validation ---------------------------------------------------------- */

/* A field and its least allowed value, so the checks below are a table. */
typedef struct field_min {
  const char *name;
  int64_t value;
  int64_t min;
} field_min;

static cb_status check_mins(const char *what, const field_min *f, int nf) {
  for (int i = 0; i < nf; i++)
    if (f[i].value < f[i].min)
      return cb_error(CB_ERR_INVALID, "%s: %s %" PRId64 " must be >= %" PRId64, what, f[i].name,
                      f[i].value, f[i].min);
  return CB_OK;
}

static cb_status conv_check(const cb_conv *c) {
  const field_min mins[] = {
      {"n", c->n, 1},
      {"c", c->c, 1},
      {"h", c->h, 1},
      {"w", c->w, 1},
      {"k", c->k, 1},
      {"r", c->r, 1},
      {"s", c->s, 1},
      {"pad_h", c->pad_h, 0},
      {"pad_w", c->pad_w, 0},
      {"stride_h", c->stride_h, 1},
      {"stride_w", c->stride_w, 1},
      {"dil_h", c->dil_h, 1},
      {"dil_w", c->dil_w, 1},
      {"groups", c->groups, 1},
  };
  cb_status st = check_mins("conv", mins, (int)(sizeof mins / sizeof mins[0]));
  if (st != CB_OK) return st;
  if (c->c % c->groups != 0)
    return cb_error(CB_ERR_INVALID, "conv: groups %" PRId64 " does not divide c %" PRId64,
                    c->groups, c->c);
  if (c->k % c->groups != 0)
    return cb_error(CB_ERR_INVALID, "conv: groups %" PRId64 " does not divide k %" PRId64,
                    c->groups, c->k);

  int64_t p, q;
  if (!out_dim(c->h, c->pad_h, c->r, c->stride_h, c->dil_h, &p) ||
      !out_dim(c->w, c->pad_w, c->s, c->stride_w, c->dil_w, &q))
    return cb_error(CB_ERR_INVALID,
                    "conv: output size overflows int64 (pad %" PRId64 "x%" PRId64
                    ", dilation %" PRId64 "x%" PRId64 ")",
                    c->pad_h, c->pad_w, c->dil_h, c->dil_w);
  if (p < 1 || q < 1) {
    /* Name the dimension that came out empty, with everything that made it. */
    bool tall = p < 1;
    return cb_error(CB_ERR_INVALID,
                    "conv: output would be %" PRId64 "x%" PRId64 " (%s %" PRId64 ", %s %" PRId64
                    ", pad %" PRId64 ", stride %" PRId64 ", dilation %" PRId64 ")",
                    p < 0 ? 0 : p, q < 0 ? 0 : q, tall ? "h" : "w", tall ? c->h : c->w,
                    tall ? "r" : "s", tall ? c->r : c->s, tall ? c->pad_h : c->pad_w,
                    tall ? c->stride_h : c->stride_w, tall ? c->dil_h : c->dil_w);
  }

  int64_t n_elems;
  if (!mul4(c->n, c->c, c->h, c->w, &n_elems))
    return cb_error(CB_ERR_INVALID, "conv: x[n,c,h,w] element count overflows int64");
  if (!mul4(c->k, c->c / c->groups, c->r, c->s, &n_elems))
    return cb_error(CB_ERR_INVALID, "conv: w[k,c/g,r,s] element count overflows int64");
  if (!mul4(c->n, c->k, p, q, &n_elems))
    return cb_error(CB_ERR_INVALID,
                    "conv: y[n,k,p,q] element count overflows int64 (p %" PRId64 ", q %" PRId64 ")",
                    p, q);
  return CB_OK;
}

static cb_status gemm_check(const cb_gemm *g) {
  const field_min mins[] = {{"m", g->m, 1}, {"n", g->n, 1}, {"k", g->k, 1}};
  cb_status st = check_mins("gemm", mins, 3);
  if (st != CB_OK) return st;
  /* A non-finite scale makes every output NaN or inf, and its key would not
   * parse back. */
  if (!isfinite(g->alpha))
    return cb_error(CB_ERR_INVALID, "gemm: alpha %g is not finite", (double)g->alpha);
  if (!isfinite(g->beta))
    return cb_error(CB_ERR_INVALID, "gemm: beta %g is not finite", (double)g->beta);
  int64_t n_elems;
  if (!mul4(g->m, g->k, 1, 1, &n_elems))
    return cb_error(CB_ERR_INVALID, "gemm: A element count m*k overflows int64");
  if (!mul4(g->k, g->n, 1, 1, &n_elems))
    return cb_error(CB_ERR_INVALID, "gemm: B element count k*n overflows int64");
  if (!mul4(g->m, g->n, 1, 1, &n_elems))
    return cb_error(CB_ERR_INVALID, "gemm: C element count m*n overflows int64");
  return CB_OK;
}

/* CB_OK when p is well formed, else CB_ERR_INVALID naming the first field
 * that is wrong and its value. */
cb_status cb_problem_check(const cb_problem *p) {
  if (p->dtype != CB_DTYPE_F32)
    return cb_error(CB_ERR_INVALID, "problem: dtype %d is not f32", (int)p->dtype);
  if (p->layout != CB_LAYOUT_NCHW)
    return cb_error(CB_ERR_INVALID, "problem: layout %d is not nchw", (int)p->layout);
  if (p->op == CB_OP_GEMM) return gemm_check(&p->gemm);
  if (is_conv_op(p->op)) return conv_check(&p->conv);
  return cb_error(CB_ERR_INVALID, "problem: unknown op %d", (int)p->op);
}

/* ---- FLOPs --------------------------------------------------------------- */

/* 2 * (multiply-adds), padded taps included: for all three conv directions
 * 2 n k (c/g) r s p q, for GEMM 2 m n k. 0 for a shape with no output. */
double cb_problem_flops(const cb_problem *p) {
  if (p->op == CB_OP_GEMM) return 2.0 * (double)p->gemm.m * (double)p->gemm.n * (double)p->gemm.k;
  if (!is_conv_op(p->op)) return 0.0;
  const cb_conv *c = &p->conv;
  int64_t oh = cb_conv_out_h(c), ow = cb_conv_out_w(c);
  if (oh < 1 || ow < 1 || c->groups < 1) return 0.0;
  return 2.0 * (double)c->n * (double)c->k * (double)(c->c / c->groups) * (double)c->r *
         (double)c->s * (double)oh * (double)ow;
}

/* ---- key format ---------------------------------------------------------- */

/* Writes the canonical key (see kernels.h) into buf like snprintf: at most
 * len bytes, NUL-terminated when len > 0, returning the full length. An op
 * outside cb_op gives -1. Floats use %.9g, enough digits for any float to
 * parse back bit-exactly. */
int cb_problem_key(const cb_problem *p, char *buf, size_t len) {
  if (p->op == CB_OP_GEMM) {
    const cb_gemm *g = &p->gemm;
    char scale[64] = "";
    if (g->alpha != 1.0f || g->beta != 0.0f)
      snprintf(scale, sizeof scale, "_a%.9gb%.9g", (double)g->alpha, (double)g->beta);
    return snprintf(buf, len, "gemm:f32:%c%c:m%" PRId64 "n%" PRId64 "k%" PRId64 "%s",
                    g->trans_a ? 't' : 'n', g->trans_b ? 't' : 'n', g->m, g->n, g->k, scale);
  }
  if (!is_conv_op(p->op)) {
    if (len > 0) buf[0] = '\0';
    return -1;
  }
  const cb_conv *c = &p->conv;
  return snprintf(buf, len,
                  "%s:f32:nchw:n%" PRId64 "c%" PRId64 "h%" PRId64 "w%" PRId64 "_k%" PRId64
                  "r%" PRId64 "s%" PRId64 "_p%" PRId64 "x%" PRId64 "_u%" PRId64 "x%" PRId64
                  "_d%" PRId64 "x%" PRId64 "_g%" PRId64,
                  op_names[p->op], c->n, c->c, c->h, c->w, c->k, c->r, c->s, c->pad_h, c->pad_w,
                  c->stride_h, c->stride_w, c->dil_h, c->dil_w, c->groups);
}

/* ---- key parse ----------------------------------------------------------- */

/* The key being parsed and how far we got; errors report pos as a 1-based
 * column. */
typedef struct key_cursor {
  const char *key;
  const char *pos;
} key_cursor;

/* Records `bad problem key "<key>": <what> at column N` for column at. */
__attribute__((format(printf, 3, 4))) static cb_status
key_fail(const key_cursor *kc, const char *at, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cb_error(CB_ERR_PARSE, "bad problem key \"%.300s\": %s at column %d", kc->key, what,
                  (int)(at - kc->key) + 1);
}

/* Consumes the literal lit or fails with "expected '<lit>'". */
static cb_status expect(key_cursor *kc, const char *lit) {
  size_t n = strlen(lit);
  if (strncmp(kc->pos, lit, n) != 0) return key_fail(kc, kc->pos, "expected '%s'", lit);
  kc->pos += n;
  return CB_OK;
}

static bool is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

/* Consumes an unsigned decimal integer that fits int64. Signs and leading
 * zeros are not accepted: no key field is negative, and one spelling per
 * value keeps keys usable as database and cache keys. */
static cb_status parse_i64(key_cursor *kc, int64_t *out) {
  const char *start = kc->pos;
  if (!is_digit(*kc->pos)) return key_fail(kc, start, "expected a number");
  if (start[0] == '0' && is_digit(start[1])) return key_fail(kc, start, "leading zero");
  int64_t v = 0;
  while (is_digit(*kc->pos)) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *kc->pos - '0', &v))
      return key_fail(kc, start, "number does not fit int64");
    kc->pos++;
  }
  *out = v;
  return CB_OK;
}

/* Consumes lit then an integer: "_k" 64. */
static cb_status parse_field(key_cursor *kc, const char *lit, int64_t *out) {
  cb_status st = expect(kc, lit);
  return st != CB_OK ? st : parse_i64(kc, out);
}

static const char *skip_digits(const char *s) {
  while (is_digit(*s)) s++;
  return s;
}

/* Consumes a decimal float as %.9g writes it: -?D+(.D+)?([eE][+-]?D+)?.
 * The syntax is checked by hand because strtof also takes "inf", "nan",
 * hex, spaces and '+', none of which belong in a key. */
static cb_status parse_f32(key_cursor *kc, float *out) {
  const char *start = kc->pos, *s = kc->pos;
  if (*s == '-') s++;
  if (!is_digit(*s)) return key_fail(kc, start, "expected a number");
  s = skip_digits(s);
  if (*s == '.') {
    if (!is_digit(s[1])) return key_fail(kc, s + 1, "expected a digit");
    s = skip_digits(s + 1);
  }
  if (*s == 'e' || *s == 'E') {
    const char *e = s + 1;
    if (*e == '+' || *e == '-') e++;
    if (!is_digit(*e)) return key_fail(kc, e, "expected a digit");
    s = skip_digits(e);
  }
  char text[64];
  size_t n = (size_t)(s - start);
  if (n >= sizeof text) return key_fail(kc, start, "number too long");
  memcpy(text, start, n);
  text[n] = '\0';
  errno = 0;
  float v = strtof(text, NULL);
  /* ERANGE also flags harmless underflow to a subnormal or zero; only
   * overflow to infinity is an error. */
  if (errno == ERANGE && isinf(v)) return key_fail(kc, start, "number out of float range");
  *out = v;
  kc->pos = s;
  return CB_OK;
}

/* Consumes the op name up to the first ':'. */
static cb_status parse_op(key_cursor *kc, cb_op *op) {
  size_t n = strcspn(kc->pos, ":");
  for (int i = 0; i < CB_OP_COUNT; i++) {
    if (strlen(op_names[i]) == n && strncmp(kc->pos, op_names[i], n) == 0) {
      *op = (cb_op)i;
      kc->pos += n;
      return CB_OK;
    }
  }
  return key_fail(kc, kc->pos, "unknown op \"%.*s\"", (int)(n > 40 ? 40 : n), kc->pos);
}

/* n{N}c{C}h{H}w{W}_k{K}r{R}s{S}_p{PH}x{PW}_u{SH}x{SW}_d{DH}x{DW}_g{G} */
static cb_status parse_conv(key_cursor *kc, cb_conv *c) {
  struct {
    const char *lit;
    int64_t *dst;
  } fields[] = {
      {"n", &c->n},     {"c", &c->c},         {"h", &c->h},        {"w", &c->w},
      {"_k", &c->k},    {"r", &c->r},         {"s", &c->s},        {"_p", &c->pad_h},
      {"x", &c->pad_w}, {"_u", &c->stride_h}, {"x", &c->stride_w}, {"_d", &c->dil_h},
      {"x", &c->dil_w}, {"_g", &c->groups},
  };
  cb_status st = expect(kc, "nchw");
  if (st == CB_OK) st = expect(kc, ":");
  if (st != CB_OK) return st;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if ((st = parse_field(kc, fields[i].lit, fields[i].dst)) != CB_OK) return st;
  if (*kc->pos != '\0') return key_fail(kc, kc->pos, "expected end of key");
  return CB_OK;
}

/* {nn|nt|tn|tt}:m{M}n{N}k{K}[_a{alpha}b{beta}] */
static cb_status parse_gemm(key_cursor *kc, cb_gemm *g) {
  const char *t = kc->pos;
  if (!(t[0] == 'n' || t[0] == 't') || !(t[1] == 'n' || t[1] == 't'))
    return key_fail(kc, t, "expected 'nn', 'nt', 'tn' or 'tt'");
  g->trans_a = t[0] == 't';
  g->trans_b = t[1] == 't';
  kc->pos += 2;
  cb_status st;
  if ((st = expect(kc, ":")) != CB_OK || (st = parse_field(kc, "m", &g->m)) != CB_OK ||
      (st = parse_field(kc, "n", &g->n)) != CB_OK || (st = parse_field(kc, "k", &g->k)) != CB_OK)
    return st;
  g->alpha = 1.0f;
  g->beta = 0.0f;
  if (*kc->pos == '\0') return CB_OK;
  if (strncmp(kc->pos, "_a", 2) != 0) return key_fail(kc, kc->pos, "expected '_a' or end of key");
  kc->pos += 2;
  if ((st = parse_f32(kc, &g->alpha)) != CB_OK || (st = expect(kc, "b")) != CB_OK ||
      (st = parse_f32(kc, &g->beta)) != CB_OK)
    return st;
  if (*kc->pos != '\0') return key_fail(kc, kc->pos, "expected end of key");
  return CB_OK;
}

/* Parses a key written by cb_problem_key into *out (untouched on failure).
 * CB_ERR_PARSE with the 1-based column of the first thing that is wrong, or
 * with cb_problem_check's reason when the key reads but the problem is not
 * valid. */
cb_status cb_problem_parse(const char *key, cb_problem *out) {
  key_cursor kc = {key, key};
  cb_problem p;
  memset(&p, 0, sizeof p);
  p.dtype = CB_DTYPE_F32;
  p.layout = CB_LAYOUT_NCHW;
  cb_status st = parse_op(&kc, &p.op);
  if (st == CB_OK) st = expect(&kc, ":");
  if (st == CB_OK) st = expect(&kc, "f32");
  if (st == CB_OK) st = expect(&kc, ":");
  if (st == CB_OK) st = p.op == CB_OP_GEMM ? parse_gemm(&kc, &p.gemm) : parse_conv(&kc, &p.conv);
  if (st != CB_OK) return st;
  if (cb_problem_check(&p) != CB_OK)
    return cb_error_wrap(CB_ERR_PARSE, "bad problem key \"%.300s\": ", key);
  *out = p;
  return CB_OK;
}
