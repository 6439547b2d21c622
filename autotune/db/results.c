/* results.c: what bench records: a net result with its layer results (each
 * timing with its per-iteration samples, for compare's tests) and the
 * device samples around it (one transaction), and the measured FMA peak
 * per machine and thread count. */
#include "db_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The column and parameter lists of one timed series (TIMING_COLS in
 * migrations.c made the columns). */
#define TIMING_VALS(p)                                                                             \
  ":" p "_median_ms, :" p "_min_ms, :" p "_max_ms, :" p "_mad_ms, :" p "_samples, "
#define TIMING_NAMES(p) p "_median_ms, " p "_min_ms, " p "_max_ms, " p "_mad_ms, " p "_samples, "

// clang-format off
static const char net_put_sql[] =
    "INSERT INTO net_results (run_id, net, netdef, netdef_sha256, backend, single_layer,"
        " batch, threads, iters, warmup, input_grad, "
        TIMING_NAMES("fwd") TIMING_NAMES("bwd") TIMING_NAMES("total")
        " fwd_samples_ms, bwd_samples_ms, total_samples_ms,"
        " fwd_flops, bwd_flops, created)"
        " VALUES (:run_id, :net, :netdef, :netdef_sha256, :backend, :single_layer,"
        " :batch, :threads, :iters, :warmup, :input_grad, "
        TIMING_VALS("fwd") TIMING_VALS("bwd") TIMING_VALS("total")
        " :fwd_samples_ms, :bwd_samples_ms, :total_samples_ms,"
        " :fwd_flops, :bwd_flops, :created)";

static const char layer_put_sql[] =
    "INSERT INTO layer_results (net_result_id, idx, name, kind, in_shape, out_shape,"
        " backend, variants, fallback, fwd_problem_id, bwd_data_problem_id,"
        " bwd_filter_problem_id, "
        TIMING_NAMES("fwd") TIMING_NAMES("bwd") TIMING_NAMES("bwd_data") TIMING_NAMES("bwd_filter")
        " fwd_samples_ms, bwd_samples_ms, bwd_data_samples_ms, bwd_filter_samples_ms,"
        " fwd_flops, bwd_flops, impl)"
        " VALUES (:net_result_id, :idx, :name, :kind, :in_shape, :out_shape,"
        " :backend, :variants, :fallback, :fwd_problem_id, :bwd_data_problem_id,"
        " :bwd_filter_problem_id, "
        TIMING_VALS("fwd") TIMING_VALS("bwd") TIMING_VALS("bwd_data") TIMING_VALS("bwd_filter")
        " :fwd_samples_ms, :bwd_samples_ms, :bwd_data_samples_ms, :bwd_filter_samples_ms,"
        " :fwd_flops, :bwd_flops, :impl)";

static const char peak_put_sql[] =
    "INSERT INTO peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,"
        " measured, gflops_min, gflops_median, repeats, theoretical_gflops, clock_mhz,"
        " theoretical_how, load1_before, load1_after)"
        " SELECT :run_id, machine_id, :isa, :threads, :gflops, :gflops_per_core,"
        " :seconds, :measured, :gflops_min, :gflops_median, :repeats, :theoretical_gflops,"
        " :clock_mhz, :theoretical_how, :load1_before, :load1_after FROM runs WHERE id = :run_id";

/* Only peaks measured with their spread, from enough repeats, and not
 * above their own theoretical rate: a brief or faulty row is never used. */
static const char peak_get_sql[] =
    "SELECT p.isa, p.threads, p.gflops, p.gflops_per_core, p.seconds, p.gflops_min,"
        " p.gflops_median, p.repeats, p.theoretical_gflops, p.clock_mhz, p.theoretical_how,"
        " p.load1_before, p.load1_after, p.measured FROM peaks p"
        " JOIN machines m ON m.id = p.machine_id"
        " WHERE m.fingerprint = :fingerprint AND p.threads = :threads"
        " AND p.repeats >= :min_repeats"
        " AND (p.theoretical_gflops IS NULL OR p.theoretical_gflops <= 0"
        "      OR p.gflops <= p.theoretical_gflops * :fault)"
        " ORDER BY p.id DESC LIMIT 1";

static const char sample_put_sql[] =
    "INSERT INTO device_samples (run_id, net_result_id, phase, t, t_unix,"
                      " cpu_mhz_reported, cpu_mhz_measured, load1, busy, temp_c, gpu_index,"
                      " gpu_name, gpu_sm_mhz, gpu_mem_mhz, gpu_temp_c, gpu_power_w, gpu_util,"
                      " gpu_throttle)"
                      " VALUES (:run_id, :net_result_id, :phase, :t, :t_unix, :cpu_mhz_reported,"
                      " :cpu_mhz_measured, :load1, :busy, :temp_c, :gpu_index, :gpu_name,"
                      " :gpu_sm_mhz, :gpu_mem_mhz, :gpu_temp_c, :gpu_power_w, :gpu_util,"
                      " :gpu_throttle)";
// clang-format on

static cb_status put_net_row(cb_db *db, const cb_net_rec *n, int64_t *id) {
  cb_binder b = cb_db_stmt(db, ST_NET_PUT, net_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":run_id", n->run_id);
  cb_bind_text(&b, ":net", n->net);
  cb_bind_text(&b, ":netdef", n->netdef);
  cb_bind_text(&b, ":netdef_sha256", n->netdef_sha256);
  cb_bind_text(&b, ":backend", n->backend);
  cb_bind_int(&b, ":single_layer", n->single_layer);
  cb_bind_int(&b, ":batch", n->batch);
  cb_bind_int(&b, ":threads", n->threads);
  cb_bind_int(&b, ":iters", n->iters);
  cb_bind_int(&b, ":warmup", n->warmup);
  cb_bind_int(&b, ":input_grad", n->input_grad);
  cb_bind_timing(&b, "fwd", &n->fwd);
  cb_bind_timing(&b, "bwd", &n->bwd);
  cb_bind_timing(&b, "total", &n->total);
  cb_bind_samples(&b, ":fwd_samples_ms", n->fwd_samples, n->fwd.samples);
  cb_bind_samples(&b, ":bwd_samples_ms", n->bwd_samples, n->bwd.samples);
  cb_bind_samples(&b, ":total_samples_ms", n->total_samples, n->total.samples);
  cb_bind_double(&b, ":fwd_flops", n->fwd_flops);
  cb_bind_double(&b, ":bwd_flops", n->bwd_flops);
  cb_bind_now(&b, ":created");
  return cb_db_insert(&b, "cannot record the net result", id);
}

static cb_status put_layer_row(cb_db *db, int64_t net_id, const cb_layer_rec *l) {
  static const char *const pnames[3] = {":fwd_problem_id", ":bwd_data_problem_id",
                                        ":bwd_filter_problem_id"};
  int64_t pid[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    if (!l->problem[i]) continue;
    cb_status st = cb_db_put_problem(db, l->problem[i], &pid[i]);
    if (st != CB_OK) return st;
  }
  cb_binder b = cb_db_stmt(db, ST_LAYER_PUT, layer_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":net_result_id", net_id);
  cb_bind_int(&b, ":idx", l->index);
  cb_bind_text(&b, ":name", l->name);
  cb_bind_text(&b, ":kind", l->kind);
  cb_bind_text(&b, ":in_shape", l->in_shape);
  cb_bind_text(&b, ":out_shape", l->out_shape);
  cb_bind_text(&b, ":backend", l->backend);
  cb_bind_text(&b, ":variants", l->variants);
  cb_bind_int(&b, ":fallback", l->fallback);
  for (int i = 0; i < 3; i++) {
    if (l->problem[i])
      cb_bind_int(&b, pnames[i], pid[i]);
    else
      cb_bind_null(&b, pnames[i]);
  }
  cb_bind_timing(&b, "fwd", &l->fwd);
  cb_bind_timing(&b, "bwd", &l->bwd);
  cb_bind_timing(&b, "bwd_data", &l->bwd_data);
  cb_bind_timing(&b, "bwd_filter", &l->bwd_filter);
  cb_bind_samples(&b, ":fwd_samples_ms", l->fwd_samples, l->fwd.samples);
  cb_bind_samples(&b, ":bwd_samples_ms", l->bwd_samples, l->bwd.samples);
  cb_bind_samples(&b, ":bwd_data_samples_ms", l->bwd_data_samples, l->bwd_data.samples);
  cb_bind_samples(&b, ":bwd_filter_samples_ms", l->bwd_filter_samples, l->bwd_filter.samples);
  cb_bind_double(&b, ":fwd_flops", l->fwd_flops);
  cb_bind_double(&b, ":bwd_flops", l->bwd_flops);
  cb_bind_opt_text(&b, ":impl", l->impl);
  return cb_db_exec(&b, "cannot record a layer result");
}

/* The GPU columns of a device sample: all NULL when no GPU was sampled. */
static void bind_gpu(cb_binder *b, const cb_devstate *s) {
  bool g = s->has_gpu;
  cb_bind_reading(b, ":gpu_index", s->gpu_index, g);
  cb_bind_text(b, ":gpu_name", g && s->gpu.name[0] ? s->gpu.name : NULL);
  cb_bind_reading(b, ":gpu_sm_mhz", s->gpu.sm_mhz, g && !isnan(s->gpu.sm_mhz));
  cb_bind_reading(b, ":gpu_mem_mhz", s->gpu.mem_mhz, g && !isnan(s->gpu.mem_mhz));
  cb_bind_reading(b, ":gpu_temp_c", s->gpu.temp_c, g && !isnan(s->gpu.temp_c));
  cb_bind_reading(b, ":gpu_power_w", s->gpu.power_w, g && !isnan(s->gpu.power_w));
  cb_bind_reading(b, ":gpu_util", s->gpu.util, g && !isnan(s->gpu.util));
  cb_bind_text(b, ":gpu_throttle", g && s->gpu.throttle[0] ? s->gpu.throttle : NULL);
}

/* A device sample; readings the sampler could not take (0 MHz, busy -1,
 * NAN temperature) are stored as NULL. */
static cb_status put_sample(cb_db *db, int64_t run_id, int64_t net_id, const char *phase,
                            const cb_devstate *s) {
  char t[32];
  cb_iso_time(s->t, t, sizeof t);
  cb_binder b = cb_db_stmt(db, ST_SAMPLE_PUT, sample_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":run_id", run_id);
  cb_bind_int(&b, ":net_result_id", net_id);
  cb_bind_text(&b, ":phase", phase);
  cb_bind_text(&b, ":t", t);
  cb_bind_double(&b, ":t_unix", s->t);
  cb_bind_reading(&b, ":cpu_mhz_reported", s->cpu_mhz_reported, s->cpu_mhz_reported > 0);
  cb_bind_reading(&b, ":cpu_mhz_measured", s->cpu_mhz_measured, s->cpu_mhz_measured > 0);
  cb_bind_reading(&b, ":load1", s->load1, s->load1 >= 0);
  cb_bind_reading(&b, ":busy", s->busy, s->busy >= 0);
  cb_bind_reading(&b, ":temp_c", s->temp_c, !isnan(s->temp_c));
  bind_gpu(&b, s);
  return cb_db_exec(&b, "cannot record a device sample");
}

/* The body of cb_db_put_net_result, inside its transaction. */
static cb_status put_net_result_tx(cb_db *db, const cb_net_rec *net, int nlayers,
                                   const cb_layer_rec *layers, const cb_devstate *before,
                                   const cb_devstate *after, int64_t *id) {
  cb_status st = put_net_row(db, net, id);
  for (int i = 0; st == CB_OK && i < nlayers; i++) {
    st = put_layer_row(db, *id, &layers[i]);
    if (st != CB_OK)
      cb_error_wrap(st, "layer %d (%s): ", layers[i].index, layers[i].name ? layers[i].name : "?");
  }
  if (st == CB_OK && before) st = put_sample(db, net->run_id, *id, "before", before);
  if (st == CB_OK && after) st = put_sample(db, net->run_id, *id, "after", after);
  return st;
}

cb_status cb_db_put_net_result(cb_db *db, const cb_net_rec *net, int nlayers,
                               const cb_layer_rec *layers, const cb_devstate *before,
                               const cb_devstate *after, int64_t *id) {
  if (!db || !net || nlayers < 0 || (nlayers > 0 && !layers) || !id)
    return cb_error(CB_ERR_INVALID, "cb_db_put_net_result: missing arguments");
  /* IMMEDIATE takes the write lock now, so the busy timeout applies here
   * rather than a deadlock error half-way through. */
  if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return cb_db_fail(db, "cannot start a transaction");
  cb_status st = put_net_result_tx(db, net, nlayers, layers, before, after, id);
  if (st == CB_OK && sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    st = cb_db_fail(db, "cannot commit the net result");
  if (st != CB_OK) {
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    *id = 0;
    return cb_error_wrap(st, "net %s: ", net->net ? net->net : "?");
  }
  return CB_OK;
}

cb_status cb_db_put_peak(cb_db *db, int64_t run_id, const cb_peak *p) {
  cb_binder b = cb_db_stmt(db, ST_PEAK_PUT, peak_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":run_id", run_id);
  cb_bind_text(&b, ":isa", p->isa);
  cb_bind_int(&b, ":threads", p->threads);
  cb_bind_double(&b, ":gflops", p->gflops);
  cb_bind_double(&b, ":gflops_per_core", p->gflops_per_core);
  cb_bind_double(&b, ":seconds", p->seconds);
  cb_bind_now(&b, ":measured");
  cb_bind_double(&b, ":gflops_min", p->gflops_min);
  cb_bind_double(&b, ":gflops_median", p->gflops_median);
  cb_bind_int(&b, ":repeats", p->repeats);
  cb_bind_double(&b, ":theoretical_gflops", p->theoretical_gflops);
  cb_bind_double(&b, ":clock_mhz", p->clock_mhz);
  cb_bind_text(&b, ":theoretical_how", p->theoretical_how);
  cb_bind_double(&b, ":load1_before", p->load1_before);
  cb_bind_double(&b, ":load1_after", p->load1_after);
  cb_status st = cb_db_exec(&b, "cannot record the peak");
  if (st == CB_OK && sqlite3_changes(db->h) != 1)
    st = cb_error(CB_ERR_DB, "database '%s': there is no run %lld to record a peak for", db->path,
                  (long long)run_id);
  return st;
}

cb_status cb_db_get_peak(cb_db *db, const char *machine_fingerprint, int threads, cb_peak *out,
                         bool *found) {
  memset(out, 0, sizeof *out);
  *found = false;
  cb_binder b = cb_db_stmt(db, ST_PEAK_GET, peak_get_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":fingerprint", machine_fingerprint);
  cb_bind_int(&b, ":threads", threads);
  cb_bind_int(&b, ":min_repeats", CB_PEAK_MIN_REPEATS);
  cb_bind_double(&b, ":fault", 1 + CB_PEAK_FAULT_TOLERANCE);
  if (b.st != CB_OK) return b.st;
  int rc = sqlite3_step(b.s);
  cb_status st = CB_OK;
  if (rc == SQLITE_ROW) {
    snprintf(out->isa, sizeof out->isa, "%s", (const char *)sqlite3_column_text(b.s, 0));
    out->threads = sqlite3_column_int(b.s, 1);
    out->gflops = sqlite3_column_double(b.s, 2);
    out->gflops_per_core = sqlite3_column_double(b.s, 3);
    out->seconds = sqlite3_column_double(b.s, 4);
    out->gflops_min = sqlite3_column_double(b.s, 5);
    out->gflops_median = sqlite3_column_double(b.s, 6);
    out->repeats = sqlite3_column_int(b.s, 7);
    out->theoretical_gflops = sqlite3_column_double(b.s, 8);
    out->clock_mhz = sqlite3_column_double(b.s, 9);
    const unsigned char *how = sqlite3_column_text(b.s, 10), *when = sqlite3_column_text(b.s, 13);
    snprintf(out->theoretical_how, sizeof out->theoretical_how, "%s", how ? (const char *)how : "");
    out->load1_before = sqlite3_column_double(b.s, 11);
    out->load1_after = sqlite3_column_double(b.s, 12);
    snprintf(out->measured, sizeof out->measured, "%s", when ? (const char *)when : "");
    *found = true;
  } else if (rc != SQLITE_DONE) {
    st = cb_db_fail(db, "cannot read the peak");
  }
  sqlite3_reset(b.s);
  return st;
}
