/* measurements.c: one row per candidate the tuner tried (winners and
 * losers alike), with the device state around its problem's tuning. */
#include "db_internal.h"

#include <math.h>
#include <string.h>

// clang-format off
static const char measurement_put_sql[] =
    "INSERT INTO measurements (run_id, problem_id, device_fp, build_fp, threads, backend,"
        " variant, params, status, max_rel_err, median_ms, min_ms, max_ms, mad_ms, samples,"
        " gflops, impl, error, noisy, mhz_before, mhz_after, load_before, load_after, busy_after,"
        " temp_after, gpu_sm_mhz_after, gpu_temp_after, gpu_power_after, gpu_throttle_after,"
        " created)"
        " VALUES (:run_id, :problem_id, :device_fp, :build_fp, :threads, :backend,"
        " :variant, :params, :status, :max_rel_err, :median_ms, :min_ms, :max_ms, :mad_ms,"
        " :samples, :gflops, :impl, :error, :noisy, :mhz_before, :mhz_after, :load_before,"
        " :load_after, :busy_after, :temp_after, :gpu_sm_mhz_after, :gpu_temp_after,"
        " :gpu_power_after, :gpu_throttle_after, :created)";
// clang-format on

static bool is_cand_status(const char *s) {
  static const char *const names[] = {"ok", "pruned", "mismatch", "error"};
  for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i]) == 0) return true;
  return false;
}

/* Refuses a record the schema would refuse, with a message that says which
 * field, before any SQL runs. */
static cb_status check_measurement(const cb_measurement_rec *m) {
  if (!m->device_fp || !m->build_fp || !m->backend || !m->variant || !m->params)
    return cb_error(CB_ERR_INVALID, "fingerprints, backend, variant and params are required");
  if (!is_cand_status(m->status))
    return cb_error(CB_ERR_INVALID, "status is 'ok', 'pruned', 'mismatch' or 'error', not '%s'",
                    m->status ? m->status : "(null)");
  if (m->threads < 1) return cb_error(CB_ERR_INVALID, "%d threads", m->threads);
  if (m->t.samples < 0) return cb_error(CB_ERR_INVALID, "%d samples", m->t.samples);
  return CB_OK;
}

static cb_status put_measurement_row(cb_db *db, const cb_measurement_rec *m, int64_t *id) {
  int64_t problem_id = 0;
  cb_status st = cb_db_put_problem(db, m->problem, &problem_id);
  if (st != CB_OK) return st;
  const cb_devstate *bf = m->before, *af = m->after;
  cb_binder b = cb_db_stmt(db, ST_MEASUREMENT_PUT, measurement_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":run_id", m->run_id);
  cb_bind_int(&b, ":problem_id", problem_id);
  cb_bind_text(&b, ":device_fp", m->device_fp);
  cb_bind_text(&b, ":build_fp", m->build_fp);
  cb_bind_int(&b, ":threads", m->threads);
  cb_bind_text(&b, ":backend", m->backend);
  cb_bind_text(&b, ":variant", m->variant);
  cb_bind_text(&b, ":params", m->params);
  cb_bind_text(&b, ":status", m->status);
  /* NAN (not validated) is NULL; INFINITY (a NaN in the output) is kept. */
  if (isnan(m->max_rel_err))
    cb_bind_null(&b, ":max_rel_err");
  else
    cb_bind_double(&b, ":max_rel_err", m->max_rel_err);
  cb_bind_timing(&b, "", &m->t);
  cb_bind_reading(&b, ":gflops", m->gflops, m->t.samples > 0);
  cb_bind_opt_text(&b, ":impl", m->impl);
  cb_bind_opt_text(&b, ":error", m->error);
  cb_bind_int(&b, ":noisy", m->noisy);
  cb_bind_reading(&b, ":mhz_before", bf ? bf->cpu_mhz_measured : 0, bf && bf->cpu_mhz_measured > 0);
  cb_bind_reading(&b, ":mhz_after", af ? af->cpu_mhz_measured : 0, af && af->cpu_mhz_measured > 0);
  cb_bind_reading(&b, ":load_before", bf ? bf->load1 : 0, bf && bf->load1 >= 0);
  cb_bind_reading(&b, ":load_after", af ? af->load1 : 0, af && af->load1 >= 0);
  cb_bind_reading(&b, ":busy_after", af ? af->busy : 0, af && af->busy >= 0);
  cb_bind_reading(&b, ":temp_after", af ? af->temp_c : 0, af && !isnan(af->temp_c));
  bool ga = af && af->has_gpu;
  cb_bind_reading(&b, ":gpu_sm_mhz_after", ga ? af->gpu.sm_mhz : 0, ga && !isnan(af->gpu.sm_mhz));
  cb_bind_reading(&b, ":gpu_temp_after", ga ? af->gpu.temp_c : 0, ga && !isnan(af->gpu.temp_c));
  cb_bind_reading(&b, ":gpu_power_after", ga ? af->gpu.power_w : 0, ga && !isnan(af->gpu.power_w));
  cb_bind_text(&b, ":gpu_throttle_after", ga && af->gpu.throttle[0] ? af->gpu.throttle : NULL);
  cb_bind_now(&b, ":created");
  return cb_db_insert(&b, "cannot record a measurement", id);
}

cb_status cb_db_put_measurement(cb_db *db, const cb_measurement_rec *m, int64_t *id) {
  if (!db || !m || !m->problem || !id)
    return cb_error(CB_ERR_INVALID, "cb_db_put_measurement: missing arguments");
  *id = 0;
  cb_status st = check_measurement(m);
  bool owned = false;
  if (st == CB_OK) st = cb_db_tx_enter(db, &owned);
  if (st == CB_OK) st = cb_db_tx_leave(db, owned, put_measurement_row(db, m, id));
  if (st != CB_OK) {
    *id = 0;
    return cb_error_wrap(st, "measurement of %s/%s: ", m->backend ? m->backend : "?",
                         m->variant ? m->variant : "?");
  }
  return CB_OK;
}
