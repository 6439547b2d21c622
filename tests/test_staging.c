/* test_staging.c: the paths that move data to and from a device backend,
 * checked on the CPU with a fake device (label unit).
 *
 * "fakedev" is a backend of device kind CUDA whose memory is a registry of
 * malloc'd blocks and whose variants are ref's, wrapped to refuse any
 * pointer that is not one of its blocks: a caller that hands it host
 * memory, or forgets to upload or download, fails here exactly as it would
 * on a GPU. Checked: validation against ref (cb_validate), interleaved
 * timing with the device timer and flush hooks, and a conv layer's
 * forward and backward through layer-level staging (cb_layer_run_binding)
 * against the same layer on ref. */
#include "cb_test.h"
#include "layer_fixture.h"
#include "measure.h"
#include "validate.h"

#define MAX_BLOCKS 64

static struct {
  void *p[MAX_BLOCKS];
  size_t bytes[MAX_BLOCKS];
  int uploads, downloads, flushes, timers, syncs;
} dev;

static bool is_dev(const void *ptr) {
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (dev.p[i] == ptr) return true;
  return false;
}

static cb_status fd_alloc(cb_ctx *ctx, size_t bytes, void **ptr) {
  (void)ctx;
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (!dev.p[i]) {
      /* Garbage, as device memory holds: NaN bytes. */
      dev.p[i] = malloc(bytes ? bytes : 1);
      memset(dev.p[i], 0xff, bytes);
      dev.bytes[i] = bytes;
      *ptr = dev.p[i];
      return CB_OK;
    }
  return cb_error(CB_ERR_NOMEM, "fakedev: out of blocks");
}

static void fd_free(cb_ctx *ctx, void *ptr) {
  (void)ctx;
  for (int i = 0; i < MAX_BLOCKS; i++)
    if (dev.p[i] == ptr) {
      free(ptr);
      dev.p[i] = NULL;
      return;
    }
  CHECK_MSG(false, "fakedev: freeing a pointer it never allocated");
}

static cb_status fd_upload(cb_ctx *ctx, void *dst, const void *src, size_t bytes) {
  (void)ctx;
  if (!is_dev(dst) || is_dev(src)) return cb_error(CB_ERR_INVALID, "fakedev: bad upload");
  memcpy(dst, src, bytes);
  dev.uploads++;
  return CB_OK;
}

static cb_status fd_download(cb_ctx *ctx, void *dst, const void *src, size_t bytes) {
  (void)ctx;
  if (is_dev(dst) || !is_dev(src)) return cb_error(CB_ERR_INVALID, "fakedev: bad download");
  memcpy(dst, src, bytes);
  dev.downloads++;
  return CB_OK;
}

static cb_status fd_sync(cb_ctx *ctx) {
  (void)ctx;
  dev.syncs++;
  return CB_OK;
}
static cb_status fd_flush(cb_ctx *ctx) {
  (void)ctx;
  dev.flushes++;
  return CB_OK;
}
static cb_status fd_time_begin(cb_ctx *ctx) {
  (void)ctx;
  return CB_OK;
}
static cb_status fd_time_end(cb_ctx *ctx, double *ms) {
  (void)ctx;
  dev.timers++;
  *ms = 0.5;
  return CB_OK;
}

/* ref's variant for the op, on device pointers only. */
static cb_status fd_run(cb_ctx *ctx, const cb_problem *p, const int *params, void *plan,
                        const cb_args *args, void *ws) {
  if (!is_dev(args->src0) || !is_dev(args->src1) || !is_dev(args->dst))
    return cb_error(CB_ERR_INVALID, "fakedev: a tensor is not in device memory");
  return cb_backend_find("ref")->variants[p->op][0]->run(ctx, p, params, plan, args, ws);
}

static const cb_variant fd_fwd = {.name = "wrapped_ref", .op = CB_OP_CONV_FWD, .run = fd_run};
static const cb_variant fd_bwd_data = {
    .name = "wrapped_ref", .op = CB_OP_CONV_BWD_DATA, .run = fd_run};
static const cb_variant fd_bwd_filter = {
    .name = "wrapped_ref", .op = CB_OP_CONV_BWD_FILTER, .run = fd_run};
static const cb_variant fd_gemm = {.name = "wrapped_ref", .op = CB_OP_GEMM, .run = fd_run};
static const cb_variant *const fd_fwd_list[] = {&fd_fwd, NULL};
static const cb_variant *const fd_bwd_data_list[] = {&fd_bwd_data, NULL};
static const cb_variant *const fd_bwd_filter_list[] = {&fd_bwd_filter, NULL};
static const cb_variant *const fd_gemm_list[] = {&fd_gemm, NULL};

static const cb_backend fakedev = {.api_version = CB_API_VERSION,
                                   .name = "fakedev",
                                   .desc = "ref on fake device memory",
                                   .device = CB_DEVICE_CUDA,
                                   .alloc = fd_alloc,
                                   .free = fd_free,
                                   .upload = fd_upload,
                                   .download = fd_download,
                                   .sync = fd_sync,
                                   .flush = fd_flush,
                                   .time_begin = fd_time_begin,
                                   .time_end = fd_time_end,
                                   .variants = {[CB_OP_CONV_FWD] = fd_fwd_list,
                                                [CB_OP_CONV_BWD_DATA] = fd_bwd_data_list,
                                                [CB_OP_CONV_BWD_FILTER] = fd_bwd_filter_list,
                                                [CB_OP_GEMM] = fd_gemm_list}};

static int live_blocks(void) {
  int n = 0;
  for (int i = 0; i < MAX_BLOCKS; i++) n += dev.p[i] != NULL;
  return n;
}

static void test_validate_and_time(cb_ctx *fd, cb_ctx *ref) {
  cb_conv c = {.n = 2,
               .c = 3,
               .h = 7,
               .w = 7,
               .k = 4,
               .r = 3,
               .s = 3,
               .pad_h = 1,
               .pad_w = 1,
               .stride_h = 1,
               .stride_w = 1,
               .dil_h = 1,
               .dil_w = 1,
               .groups = 1};
  for (int op = CB_OP_CONV_FWD; op <= CB_OP_CONV_BWD_FILTER; op++) {
    cb_problem p = cb_problem_conv((cb_op)op, c);
    cb_check chk;
    dev.uploads = dev.downloads = 0;
    CHECK_EQ_INT(cb_validate(fd, fakedev.variants[op][0], NULL, &p, ref, 42, &chk), CB_OK);
    CHECK_MSG(chk.pass, "%s through fake device memory: max error %g", cb_op_name((cb_op)op),
              chk.max_abs);
    CHECK(dev.uploads >= 4 && dev.downloads == 2); /* inputs, dst twice; two runs */
    CHECK_EQ_INT(live_blocks(), 0);
  }
  cb_problem g = cb_problem_gemm(5, 6, 7, true, false);
  g.gemm.beta = 1; /* C is read: it must be uploaded */
  cb_check chk;
  CHECK_EQ_INT(cb_validate(fd, &fd_gemm, NULL, &g, ref, 3, &chk), CB_OK);
  CHECK(chk.pass);

  /* Timing: device timer and flush per sample, never the host clock. */
  cb_candidate k[2] = {{.ctx = fd, .variant = &fd_fwd}, {.ctx = fd, .variant = &fd_fwd}};
  cb_timing t[2];
  dev.flushes = dev.timers = 0;
  cb_problem p = cb_problem_conv(CB_OP_CONV_FWD, c);
  CHECK_EQ_INT(cb_time_interleaved(k, 2, &p, 1, 3, 0, t), CB_OK);
  CHECK_EQ_INT(dev.timers, 2 * 4);
  CHECK_EQ_INT(dev.flushes, 2 * 4);
  CHECK_NEAR(t[0].median, 0.5, 0);
  CHECK_EQ_INT(t[1].samples, 3);
  CHECK_EQ_INT(live_blocks(), 0);

  /* A host candidate and a device candidate never share a session. */
  cb_candidate mixed[2] = {{.ctx = fd, .variant = &fd_fwd},
                           {.ctx = ref, .variant = cb_backend_find("ref")->variants[0][0]}};
  CHECK_EQ_INT(cb_time_interleaved(mixed, 2, &p, 0, 1, 0, t), CB_ERR_INVALID);
}

/* A conv layer on ref, then the same layer replanned on fakedev: forward
 * output and every gradient must match exactly. */
static void test_layer_staging(cb_ctx *fd) {
  cb_fixture f;
  cb_fx_init(&f, "conv", "c1", "out=4 k=3 pad=1 stride=2");
  cb_fx_input(&f, 0, 2, 3, 9, 9);
  CHECK(cb_fx_build(&f) == CB_OK);
  int64_t nx = cb_tensor_count(&f.in[0]), ny = cb_tensor_count(&f.out);
  int64_t nw = cb_tensor_count(&f.l.params[0]);
  for (int64_t i = 0; i < nx; i++) f.in[0].data[i] = (float)((i * 7) % 5 - 2);
  CHECK(cb_fx_forward(&f) == CB_OK);
  for (int64_t i = 0; i < ny; i++) f.out.grad[i] = (float)((i * 3) % 5 - 2);
  CHECK(cb_fx_backward(&f) == CB_OK);
  float *y = malloc((size_t)ny * sizeof *y), *dx = malloc((size_t)nx * sizeof *dx);
  float *dw = malloc((size_t)nw * sizeof *dw);
  memcpy(y, f.out.data, (size_t)ny * sizeof *y);
  memcpy(dx, f.in[0].grad, (size_t)nx * sizeof *dx);
  memcpy(dw, f.l.params[0].grad, (size_t)nw * sizeof *dw);

  cb_layer_unplan(&f.l);
  size_t ws = 0;
  cb_bind_first_ctx first = {fd, NULL};
  CHECK(cb_layer_plan(&f.l, cb_bind_first, &first, &ws) == CB_OK);
  CHECK_EQ_INT(ws, 0); /* a device binding's workspace is its own */
  for (int64_t i = 0; i < ny; i++) f.out.data[i] = NAN;
  for (int64_t i = 0; i < nx; i++) f.in[0].grad[i] = NAN;
  for (int64_t i = 0; i < nw; i++) f.l.params[0].grad[i] = NAN;
  dev.downloads = 0;
  CHECK(cb_fx_forward(&f) == CB_OK);
  CHECK(cb_fx_backward(&f) == CB_OK);
  CHECK_EQ_INT(dev.downloads, 3); /* y, dx, dw */
  int bad = 0;
  for (int64_t i = 0; i < ny; i++) bad += !(f.out.data[i] == y[i]);
  for (int64_t i = 0; i < nx; i++) bad += !(f.in[0].grad[i] == dx[i]);
  for (int64_t i = 0; i < nw; i++) bad += !(f.l.params[0].grad[i] == dw[i]);
  CHECK_MSG(bad == 0, "%d values differ between ref and the staged fake device", bad);
  cb_layer_unplan(&f.l);
  CHECK_EQ_INT(live_blocks(), 0);
  free(y), free(dx), free(dw);
  cb_fx_free(&f);
}

int main(void) {
  cb_ctx *fd, *ref;
  if (cb_ctx_open(&fakedev, 1, &fd) != CB_OK || cb_ctx_open(cb_backend_find("ref"), 1, &ref)) {
    fprintf(stderr, "cannot open: %s\n", cb_errmsg());
    return 1;
  }
  test_validate_and_time(fd, ref);
  test_layer_staging(fd);
  cb_ctx_close(fd);
  cb_ctx_close(ref);
  return cb_test_result();
}
