/* report.c: `convbench report`'s library side: selects the runs, builds
 * the document (header here, sections in report_nets.c, report_tune.c,
 * report_device.c, report_train.c, which report.c calls and which never
 * call back) and writes plots, report.md and index.html into the output
 * directory. */
#include "report_section.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

/* Fills temp.report_runs with the chosen runs (every run without --run);
 * an id that is not in the database is an error naming it. */
static cb_status select_runs(rp_ctx *c, const cb_report_opts *o) {
  if (sqlite3_exec(c->h,
                   "CREATE TEMP TABLE IF NOT EXISTS report_runs (id INTEGER PRIMARY KEY);"
                   "DELETE FROM temp.report_runs;",
                   NULL, NULL, NULL) != SQLITE_OK)
    return cb_error(CB_ERR_DB, "report: selecting runs: %s", sqlite3_errmsg(c->h));
  if (o->nruns == 0) {
    if (sqlite3_exec(c->h, "INSERT INTO temp.report_runs SELECT id FROM runs", NULL, NULL, NULL) !=
        SQLITE_OK)
      return cb_error(CB_ERR_DB, "report: selecting runs: %s", sqlite3_errmsg(c->h));
    return CB_OK;
  }
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "runs",
                           "INSERT OR IGNORE INTO temp.report_runs"
                           " SELECT id FROM runs WHERE id = ?1",
                           &st);
  for (int i = 0; s == CB_OK && i < o->nruns; i++) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, o->runs[i]);
    bool row;
    s = rp_step(c->h, "runs", st, &row);
    if (s == CB_OK && sqlite3_changes(c->h) == 0) {
      /* Either absent or given twice: only absence is an error. */
      sqlite3_stmt *q;
      bool there = false;
      if (sqlite3_prepare_v2(c->h, "SELECT 1 FROM runs WHERE id = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, o->runs[i]);
        there = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
      }
      if (!there)
        s = cb_error(CB_ERR_INVALID, "--run %lld: no such run in %s", (long long)o->runs[i],
                     o->db_label ? o->db_label : "the database");
    }
  }
  sqlite3_finalize(st);
  return s;
}

/* Machines and builds of the chosen runs, the runs themselves, the date. */
static cb_status header(rp_ctx *c, const cb_report_opts *o) {
  rp_section_add(c->doc, 2, "Setup");
  char now[32];
  if (o->generated) {
    snprintf(now, sizeof now, "%s", o->generated);
  } else {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S UTC", &tm);
  }
  sqlite3_stmt *st;
  cb_status s = rp_prepare(c->h, "run range",
                           "SELECT count(*), min(r.started), max(COALESCE(r.ended, r.started)),"
                           " (SELECT user_version FROM pragma_user_version)"
                           " FROM runs r JOIN temp.report_runs s ON s.id = r.id",
                           &st);
  bool row;
  if (s == CB_OK) s = rp_step(c->h, "run range", st, &row);
  if (s == CB_OK && row)
    s = rp_text(c->doc, "Generated %s from %s (schema %d): %d run%s, %s to %s.", now,
                o->db_label ? o->db_label : "the database", sqlite3_column_int(st, 3),
                sqlite3_column_int(st, 0), sqlite3_column_int(st, 0) == 1 ? "" : "s",
                rp_col_text(st, 1)[0] ? rp_col_text(st, 1) : "-",
                rp_col_text(st, 2)[0] ? rp_col_text(st, 2) : "-");
  sqlite3_finalize(st);
  if (s != CB_OK) return s;

  static const char *const mh[] = {"Host", ">Cores",    ">PUs",          "CPU",
                                   "ISA",  ">L3 (MiB)", ">Memory (GiB)", "OS"};
  rp_table *t = rp_table_add(c->doc, "Machines", 8, mh);
  if (!t) return rp_nomem();
  s = rp_prepare(c->h, "machines",
                 "SELECT hostname, cores, pus, cpu_model, isa_level, l3_bytes * l3_count,"
                 " mem_bytes, os FROM machines WHERE id IN (SELECT r.machine_id FROM runs r"
                 " JOIN temp.report_runs s ON s.id = r.id) ORDER BY id",
                 &st);
  while (s == CB_OK && (s = rp_step(c->h, "machines", st, &row)) == CB_OK && row) {
    char cores[16], pus[16], l3[32], mem[32];
    snprintf(cores, sizeof cores, "%d", sqlite3_column_int(st, 1));
    snprintf(pus, sizeof pus, "%d", sqlite3_column_int(st, 2));
    snprintf(l3, sizeof l3, "%.1f", sqlite3_column_double(st, 5) / 1048576.0);
    snprintf(mem, sizeof mem, "%.1f", sqlite3_column_double(st, 6) / 1073741824.0);
    const char *cells[] = {rp_col_text(st, 0), cores, pus, rp_col_text(st, 3),
                           rp_col_text(st, 4), l3,    mem, rp_col_text(st, 7)};
    s = rp_row(t, cells);
  }
  sqlite3_finalize(st);
  if (s != CB_OK) return s;

  static const char *const bh[] = {"Build", "Git", "Compiler", "Type", "Libraries"};
  if (!(t = rp_table_add(c->doc, "Builds", 5, bh))) return rp_nomem();
  s = rp_prepare(c->h, "builds",
                 "SELECT id, git_rev || CASE git_dirty WHEN 1 THEN '-dirty' ELSE '' END,"
                 " compiler, build_type, libs FROM builds WHERE id IN (SELECT r.build_id FROM"
                 " runs r JOIN temp.report_runs s ON s.id = r.id) ORDER BY id",
                 &st);
  while (s == CB_OK && (s = rp_step(c->h, "builds", st, &row)) == CB_OK && row) {
    const char *cells[] = {rp_col_text(st, 0), rp_col_text(st, 1), rp_col_text(st, 2),
                           rp_col_text(st, 3), rp_col_text(st, 4)};
    s = rp_row(t, cells);
  }
  sqlite3_finalize(st);
  if (s != CB_OK) return s;

  static const char *const rh[] = {">Run", "Kind",   "Status", "Started",
                                   ">Thr", ">Build", "Command"};
  if (!(t = rp_table_add(c->doc, "Runs", 7, rh))) return rp_nomem();
  s = rp_prepare(c->h, "runs",
                 "SELECT r.id, r.kind, r.status, r.started, r.threads, r.build_id, r.command"
                 " FROM runs r JOIN temp.report_runs s ON s.id = r.id ORDER BY r.id",
                 &st);
  while (s == CB_OK && (s = rp_step(c->h, "runs", st, &row)) == CB_OK && row) {
    const char *cells[] = {rp_col_text(st, 0), rp_col_text(st, 1), rp_col_text(st, 2),
                           rp_col_text(st, 3), rp_col_text(st, 4), rp_col_text(st, 5),
                           rp_col_text(st, 6)};
    s = rp_row(t, cells);
  }
  sqlite3_finalize(st);
  return s;
}

/* mkdir -p for the output directory and its plots/. */
static cb_status make_dir(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return cb_error(CB_ERR_IO, "cannot create directory '%s': %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    return cb_error(CB_ERR_IO, "cannot create directory '%s': %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    return cb_error(CB_ERR_IO, "'%s' is not a directory", buf);
  return CB_OK;
}

/* Removes what an earlier report left in plots/ (our extensions only), so
 * that the directory holds exactly the plots of this report. */
static cb_status clear_plots(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return cb_error(CB_ERR_IO, "cannot read directory '%s': %s", dir, strerror(errno));
  static const char *const exts[] = {".svg", ".png", ".dat", ".gp", ".log"};
  struct dirent *e;
  cb_status s = CB_OK;
  while (s == CB_OK && (e = readdir(d))) {
    size_t n = strlen(e->d_name);
    for (int i = 0; i < 5; i++) {
      size_t k = strlen(exts[i]);
      if (n <= k || strcmp(e->d_name + n - k, exts[i]) != 0) continue;
      char path[4400];
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (unlink(path) != 0 && errno != ENOENT)
        s = cb_error(CB_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
      break;
    }
  }
  closedir(d);
  return s;
}

cb_status cb_report_write(cb_db *db, const cb_report_opts *o, cb_report_summary *summary) {
  cb_report_summary sum = {0};
  rp_doc doc = {0};
  rp_ctx c = {.h = cb_db_handle(db), .doc = &doc, .sum = &sum, .all_runs = o->nruns == 0};
  if (strlen(o->out_dir) > 3900)
    return cb_error(CB_ERR_INVALID, "--out: path too long (%zu bytes)", strlen(o->out_dir));
  char plots[4096], path[4096];
  snprintf(plots, sizeof plots, "%s/plots", o->out_dir);

  cb_status s = select_runs(&c, o);
  doc.title = strdup("convbench report");
  if (s == CB_OK && !doc.title) s = rp_nomem();
  /* One read snapshot for the whole report, even while others write. */
  if (s == CB_OK && sqlite3_exec(c.h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    s = cb_error(CB_ERR_DB, "report: %s", sqlite3_errmsg(c.h));
  if (s == CB_OK) s = header(&c, o);
  if (s == CB_OK) s = rp_nets(&c);
  if (s == CB_OK) s = rp_tune(&c);
  if (s == CB_OK) s = rp_device(&c);
  if (s == CB_OK) s = rp_train(&c);
  sqlite3_exec(c.h, "COMMIT", NULL, NULL, NULL);
  if (s == CB_OK) s = make_dir(o->out_dir);
  if (s == CB_OK) s = make_dir(plots);
  if (s == CB_OK) s = clear_plots(plots);
  if (s == CB_OK) s = rp_write_plots(&doc, plots, o->gnuplot);
  if (s == CB_OK) {
    snprintf(path, sizeof path, "%s/report.md", o->out_dir);
    s = rp_write_md(&doc, path);
  }
  if (s == CB_OK) {
    snprintf(path, sizeof path, "%s/index.html", o->out_dir);
    s = rp_write_html(&doc, path);
  }
  sum.tables = doc.ntables;
  sum.plots = doc.nplots;
  rp_doc_free(&doc);
  if (summary) *summary = sum;
  return s;
}
