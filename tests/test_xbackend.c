/* test_xbackend.c: every variant of every backend against ref, the way
 * ggml's test-backend-ops checks every backend against the CPU.
 *
 * For each backend compiled in (and available here), each op, each variant,
 * each parameter point (the defaults, then each parameter's values one at a
 * time) and each shape below that the variant supports: cb_validate() runs
 * it and ref on the same small-integer data with NaN-prefilled outputs and
 * requires an exact match, or the variant's own tolerance. Every failure
 * prints a line that reproduces it. A planted wrong result checks that the
 * comparison itself can fail. Backends that cannot run here (no library or
 * device) are reported and skipped.
 *
 * Built twice (tests/CMakeLists.txt): test_xbackend checks the host
 * backends (label xbackend); test_xbackend_gpu (CB_XBACKEND_GPU, label
 * gpu) checks the device backends the same way, through the same
 * cb_validate, which stages inputs and outputs through the backend's
 * alloc / upload / download. Without a usable GPU it exits 77 (skipped)
 * with the driver's reason. */
#include "cb_test.h"
#include "gpu.h"
#include "validate.h"

/* L1..L5 scaled down, then the corners every kernel gets wrong once. */
static const conv_case conv_cases[] = {
    {"L1 scaled", {2, 3, 32, 32, 8, 11, 11, 0, 0, 1, 1, 1, 1, 1}},
    {"L2 scaled", {2, 16, 24, 24, 16, 9, 9, 0, 0, 1, 1, 1, 1, 1}},
    {"L3 scaled", {2, 16, 16, 16, 16, 9, 9, 0, 0, 1, 1, 1, 1, 1}},
    {"L4 scaled", {2, 16, 12, 12, 16, 7, 7, 0, 0, 1, 1, 1, 1, 1}},
    {"L5 scaled", {2, 32, 13, 13, 32, 3, 3, 0, 0, 1, 1, 1, 1, 1}},
    {"3x3 pad 1", {2, 16, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"1x1", {2, 16, 7, 7, 24, 1, 1, 0, 0, 1, 1, 1, 1, 1}},
    {"1x1 stride 2", {2, 16, 9, 9, 8, 1, 1, 0, 0, 2, 2, 1, 1, 1}},
    {"stride 2 pad 1", {2, 8, 15, 15, 12, 3, 3, 1, 1, 2, 2, 1, 1, 1}},
    {"alexnet conv1-like, stride 4", {1, 3, 35, 35, 8, 11, 11, 2, 2, 4, 4, 1, 1, 1}},
    {"asymmetric", {2, 4, 9, 11, 6, 3, 5, 1, 2, 1, 2, 1, 1, 1}},
    {"dilation 2", {2, 8, 12, 12, 8, 3, 3, 2, 2, 1, 1, 2, 2, 1}},
    {"groups 2", {2, 8, 10, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2}},
    {"depthwise", {2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8}},
    {"odd sizes", {3, 5, 13, 7, 7, 3, 3, 0, 0, 2, 2, 1, 1, 1}},
    {"5x5 pad 2, batch 1", {1, 6, 11, 11, 10, 5, 5, 2, 2, 1, 1, 1, 1, 1}},
    {"large image, small filter", {1, 4, 70, 66, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"batch 7: partial last step", {7, 6, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    {"big enough to thread", {5, 16, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1}},
    /* Depthwise (groups == c, k = c m): rows of 1-80 pixels put every
     * AVX-512 path (four-vector passes, full and masked vectors) to work. */
    {"depthwise 3x3 s1 p1, 19 channels", {2, 19, 21, 21, 19, 3, 3, 1, 1, 1, 1, 1, 1, 19}},
    {"depthwise 3x3 s2 p1 (MobileNet)", {2, 16, 17, 17, 16, 3, 3, 1, 1, 2, 2, 1, 1, 16}},
    {"depthwise 5x5 s1 p2", {1, 5, 13, 11, 5, 5, 5, 2, 2, 1, 1, 1, 1, 5}},
    {"depthwise dilation 2", {2, 6, 14, 14, 6, 3, 3, 2, 2, 1, 1, 2, 2, 6}},
    {"depthwise multiplier 2", {2, 7, 12, 12, 14, 3, 3, 1, 1, 1, 1, 1, 1, 7}},
    {"depthwise odd sizes, stride 3", {3, 3, 13, 20, 9, 2, 4, 0, 1, 3, 2, 1, 2, 3}},
    {"depthwise wide rows, threaded", {3, 17, 9, 80, 17, 3, 3, 1, 1, 1, 1, 1, 1, 17}},
    {"depthwise 1 pixel", {2, 4, 1, 1, 4, 1, 1, 0, 0, 1, 1, 1, 1, 4}},
    /* Rows of 48 pixels or more run row by row, the rest flat. */
    {"depthwise wide rows, stride 2", {2, 3, 7, 101, 3, 3, 3, 1, 1, 2, 2, 1, 1, 3}},
    {"depthwise wide, stride 2x3, dilation 2x1, m 2", {1, 4, 9, 150, 8, 3, 3, 1, 2, 2, 3, 2, 1, 4}},
};

typedef struct gemm_case {
  int64_t m, n, k;
  float alpha, beta;
} gemm_case;

static const gemm_case gemm_cases[] = {
    {64, 64, 64, 1, 0}, {37, 29, 53, 1, 0}, {1, 17, 9, 1, 0},
    {33, 1, 65, 1, 0},  {16, 48, 7, 2, 1},  {23, 31, 19, -1, 0.5f},
};

typedef struct tally {
  int run, unsupported, failed;
} tally;

static int failures;

/* Validates one (variant, params, problem); prints a repro line on failure. */
static void check_one(cb_ctx *ctx, cb_ctx *ref, const cb_variant *v, const int *params,
                      const cb_problem *p, const char *why, tally *t) {
  if (v->supports && v->supports(ctx, p, params) != CB_OK) {
    t->unsupported++;
    return;
  }
  cb_check chk;
  char repro[512];
  cb_repro_line(ctx, v, params, p, repro, sizeof repro);
  cb_status st = cb_validate(ctx, v, params, p, ref, 42, &chk);
  t->run++;
  if (st == CB_OK && chk.pass) return;
  t->failed++;
  failures++;
  if (st != CB_OK)
    fprintf(stderr, "FAIL %s/%s (%s): %s: %s\n  repro: %s\n", ctx->backend->name, v->name, why,
            cb_status_str(st), cb_errmsg(), repro);
  else
    fprintf(stderr,
            "FAIL %s/%s (%s): max error %.3g (relative %.3g) > tolerance %.3g at element %lld: "
            "got %.9g, ref %.9g\n  repro: %s\n",
            ctx->backend->name, v->name, why, chk.max_abs, chk.max_rel, chk.tolerance,
            (long long)chk.worst, chk.got, chk.want, repro);
}

/* The defaults, then each parameter through its values (others default). */
static void check_params(cb_ctx *ctx, cb_ctx *ref, const cb_variant *v, const cb_problem *p,
                         const char *why, tally *t) {
  int params[CB_MAX_PARAMS];
  cb_variant_default_params(v, params);
  check_one(ctx, ref, v, params, p, why, t);
  for (int i = 0; i < v->nparams; i++) {
    for (int j = 0; j < v->params[i].nvalues; j++) {
      if (v->params[i].values[j] == v->params[i].def) continue;
      cb_variant_default_params(v, params);
      params[i] = v->params[i].values[j];
      check_one(ctx, ref, v, params, p, why, t);
    }
  }
}

/* Threaded paths split work by thread count: 1, 2 and an odd 3 (more
 * threads than this machine's cores) each cut the work differently. */
static void check_backend(const cb_backend *b, cb_ctx *ref, int threads) {
  cb_ctx *ctx;
  if (cb_ctx_open(b, threads, &ctx) != CB_OK) {
    printf("skip %s: unavailable here (%s)\n", b->name, cb_errmsg());
    return;
  }
  for (int op = 0; op < CB_OP_COUNT; op++) {
    for (const cb_variant *const *v = b->variants[op]; v && *v; v++) {
      tally t = {0};
      if (op == CB_OP_GEMM) {
        for (size_t i = 0; i < sizeof gemm_cases / sizeof *gemm_cases; i++)
          for (int tr = 0; tr < 4; tr++) {
            const gemm_case *g = &gemm_cases[i];
            cb_problem p = cb_problem_gemm(g->m, g->n, g->k, tr & 1, tr & 2);
            p.gemm.alpha = g->alpha;
            p.gemm.beta = g->beta;
            check_params(ctx, ref, *v, &p, "gemm", &t);
          }
      } else {
        for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
          cb_problem p = cb_problem_conv((cb_op)op, conv_cases[i].c);
          check_params(ctx, ref, *v, &p, conv_cases[i].why, &t);
        }
      }
      printf("%-8s %d thr %-16s %-24s %3d checked, %2d unsupported, %d failed (tolerance %g)\n",
             b->name, threads, cb_op_name((cb_op)op), (*v)->name, t.run, t.unsupported, t.failed,
             (*v)->tolerance);
      /* A variant that supports nothing in this set is not being tested.
       * cuDNN decides per GPU which shapes each algorithm takes (one,
       * bwd_filter winograd, takes none), so there it is a note. */
      if (t.run == 0 && strcmp(b->name, "cudnn") == 0)
        printf("note: cudnn/%s supports none of the test shapes on this GPU\n", (*v)->name);
      else
        CHECK_MSG(t.run > 0, "%s/%s supports none of the test shapes", b->name, (*v)->name);
    }
  }
  cb_ctx_close(ctx);
}

/* ---- a planted wrong result must fail ----------------------------------- */

static cb_status planted_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                             const cb_args *args, void *ws) {
  const cb_variant *ref = cb_backend_find("ref")->variants[p->op][0];
  cb_status st = ref->run(ctx, p, params, plan, args, ws);
  float *y = args->dst;
  y[cb_problem_elems(p, 2) / 2] += 1.0f; /* one element off by one */
  return st;
}

static const cb_variant planted = {
    .name = "planted_off_by_one", .op = CB_OP_CONV_FWD, .tolerance = 0, .run = planted_run};

static void check_planted(cb_ctx *ref) {
  cb_problem p = cb_problem_conv(CB_OP_CONV_FWD, conv_cases[5].c);
  cb_check chk;
  CHECK(cb_validate(ref, &planted, NULL, &p, ref, 42, &chk) == CB_OK);
  CHECK_MSG(!chk.pass, "a result off by one in one element passed validation");
  CHECK_NEAR(chk.max_abs, 1.0, 0);
  CHECK_EQ_INT(chk.worst, cb_problem_elems(&p, 2) / 2);

  /* The comparison's own edges: NaN never passes, tolerance 0 is exact,
   * a small relative error passes a matching threshold. */
  float want[4] = {1, 2, 3, 100}, got[4] = {1, 2, 3, 100};
  cb_compare(got, want, 4, 0, &chk);
  CHECK(chk.pass);
  got[2] = NAN;
  cb_compare(got, want, 4, 1e30, &chk);
  CHECK(!chk.pass);
  got[2] = 3.0f + 1e-4f;
  cb_compare(got, want, 4, 0, &chk);
  CHECK(!chk.pass);
  cb_compare(got, want, 4, 1e-5, &chk); /* 1e-4 / 100 = 1e-6 relative */
  CHECK(chk.pass);
}

int main(void) {
  cb_ctx *ref;
  if (cb_ctx_open(cb_backend_find("ref"), 2, &ref) != CB_OK) {
    fprintf(stderr, "cannot open ref: %s\n", cb_errmsg());
    return 1;
  }
  check_planted(ref);
#ifdef CB_XBACKEND_GPU
  const cb_device_kind kind = CB_DEVICE_CUDA;
  int gpus = 0;
  if (cb_gpu_count(&gpus) != CB_OK) {
    cb_ctx_close(ref);
    CB_TEST_SKIP("no GPU here: %s", cb_errmsg());
  }
  const int max_threads = 1; /* host threads mean nothing to a device backend */
#else
  const cb_device_kind kind = CB_DEVICE_HOST;
  const int max_threads = 3;
#endif
  int backends = 0;
  for (const cb_backend *const *b = cb_backends(); *b; b++) {
    if (strcmp((*b)->name, "ref") == 0 || (*b)->device != kind) continue;
    backends++;
    for (int threads = 1; threads <= max_threads; threads++) check_backend(*b, ref, threads);
  }
  printf("%d %s backends besides ref\n", backends, kind == CB_DEVICE_CUDA ? "GPU" : "host");
#ifdef CB_XBACKEND_GPU
  CHECK_MSG(backends > 0, "a GPU is here but this build has no GPU backend");
#endif
  cb_ctx_close(ref);
  CHECK_MSG(failures == 0, "%d variant/shape combinations disagree with ref", failures);
  return cb_test_result();
}
