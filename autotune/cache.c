/* cache.c: the per-shape kernel cache (cache.h): device fingerprints and
 * generations, the lookup order, and export / import of winners as JSON
 * lines. The rows live in the tune_cache table (db/cache_rows.c); this file
 * decides which row answers a lookup and what a file must hold.
 *
 * An export is one header line, then one flat object per entry:
 *   {"format": "convbench-cache", "version": 1, "exported": "...", "hostname": "...",
 *    "cpu_model": "...", "isa_level": "...", "cores": 2, "device": "...", "entries": 1}
 *   {"key": "gemm:f32:nt:m64n64k64", "device": "cpu:X:avx2:2c:2t", ..., "params": "16,4",
 *    "median_ms": 0.125, ..., "git_rev": "0123abc"}
 * The header's entry count makes a file cut at a line boundary an error
 * too; a line cut anywhere else lacks its newline. Import checks every
 * line before it stores anything, and stores in one transaction. */
#include "cache.h"

#include "jsonl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The export format this build writes and reads. */
#define CB_CACHE_FORMAT  "convbench-cache"
#define CB_CACHE_VERSION 1

/* ---- fingerprints ---------------------------------------------------------------- */

void cb_device_fingerprint(const cb_machine *m, int threads, char *buf, size_t len) {
  snprintf(buf, len, "%s:%dt", m->fingerprint, threads);
}

void cb_gpu_fingerprint(const cb_gpu_info *g, char *buf, size_t len) {
  char name[sizeof g->name];
  snprintf(name, sizeof name, "%s", g->name);
  for (char *c = name; *c; c++)
    if (*c == ':') *c = ' ';
  snprintf(buf, len, "gpu:%s:sm_%d%d:%dsm", name, g->cc_major, g->cc_minor, g->sms);
}

/* The rule: a device fingerprint is ':'-separated fields, the first its
 * kind. For "cpu" and "gpu" the generation is the first three fields:
 *   cpu:<model>:<isa level>:<cores>c:<threads>t  ->  cpu:<model>:<isa level>
 *   gpu:<name>:sm_<cc>:<SMs>sm...                ->  gpu:<name>:sm_<cc>
 * so core, SM and thread counts may differ within a generation while the
 * silicon and the code paths compiled for it may not (machine.c keeps ':'
 * out of model names). A fingerprint of another kind, or with fewer
 * fields, is a generation of its own: nothing is borrowed for it. */
void cb_device_generation(const char *device_fp, char *buf, size_t len) {
  size_t keep = strlen(device_fp);
  if (strncmp(device_fp, "cpu:", 4) == 0 || strncmp(device_fp, "gpu:", 4) == 0) {
    int seps = 0;
    for (const char *c = device_fp; *c; c++)
      if (*c == ':' && ++seps == 3) {
        keep = (size_t)(c - device_fp);
        break;
      }
  }
  snprintf(buf, len, "%.*s", (int)keep, device_fp);
}

const char *cb_cache_source_name(cb_cache_source s) {
  switch (s) {
  case CB_CACHE_MISS:
    return "miss";
  case CB_CACHE_EXACT:
    return "exact";
  case CB_CACHE_IMPORTED:
    return "imported";
  case CB_CACHE_BORROWED:
    return "borrowed";
  }
  return "unknown";
}

/* ---- checks shared by put and import ------------------------------------------------- */

/* A time in the store's form, 2024-05-01T12:00:00.123Z. */
static bool is_iso_time(const char *t) {
  static const char form[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (strlen(t) != sizeof form - 1) return false;
  for (size_t i = 0; form[i]; i++)
    if (form[i] == 'd' ? t[i] < '0' || t[i] > '9' : t[i] != form[i]) return false;
  return true;
}

static bool nonneg(double v) {
  return isfinite(v) && v >= 0;
}

/* Whether e can be stored; CB_ERR_INVALID naming the field as exports
 * name it. The key must be a problem key in canonical form, so one
 * problem never has two spellings in the cache. */
static cb_status check_entry(const cb_cache_entry *e) {
  cb_problem p;
  if (cb_problem_parse(e->key, &p) != CB_OK) return CB_ERR_INVALID; /* its reason names the key */
  char canon[CB_KEY_MAX];
  cb_problem_key(&p, canon, sizeof canon);
  if (strcmp(canon, e->key) != 0)
    return cb_error(CB_ERR_INVALID, "key \"%.100s\" is not in canonical form (\"%s\")", e->key,
                    canon);
  const struct {
    const char *name, *value;
  } required[] = {{"device", e->device_fp},
                  {"build", e->build_fp},
                  {"backend", e->backend},
                  {"variant", e->variant}};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if (!required[i].value[0]) return cb_error(CB_ERR_INVALID, "%s is empty", required[i].name);
  if (e->nparams < 0 || e->nparams > CB_MAX_PARAMS)
    return cb_error(CB_ERR_INVALID, "%d parameters (at most %d)", e->nparams, CB_MAX_PARAMS);
  const cb_timing *t = &e->timing;
  if (!nonneg(t->median) || !nonneg(t->min) || !nonneg(t->max) || !nonneg(t->mad) ||
      !nonneg(e->runner_up_median))
    return cb_error(CB_ERR_INVALID, "the timings must be finite and >= 0");
  if (t->samples < 1) return cb_error(CB_ERR_INVALID, "samples is %d (at least 1)", t->samples);
  if (!(t->min <= t->median && t->median <= t->max))
    return cb_error(CB_ERR_INVALID, "min_ms %g, median_ms %g, max_ms %g are out of order", t->min,
                    t->median, t->max);
  if (e->confidence[0] && strcmp(e->confidence, "high") != 0 && strcmp(e->confidence, "low") != 0)
    return cb_error(CB_ERR_INVALID, "confidence \"%s\" is not \"high\" or \"low\"", e->confidence);
  if (e->measured[0] && !is_iso_time(e->measured))
    return cb_error(CB_ERR_INVALID,
                    "measured \"%s\" is not a UTC time like 2024-05-01T12:00:00.123Z", e->measured);
  return CB_OK;
}

/* ---- lookup, put, clear, each ---------------------------------------------------------- */

cb_status cb_cache_lookup(cb_db *db, const cb_problem *p, const char *device_fp,
                          const char *build_fp, cb_cache_entry *out, cb_cache_source *source) {
  memset(out, 0, sizeof *out);
  *source = CB_CACHE_MISS;
  if (!db || !p || !device_fp || !build_fp)
    return cb_error(CB_ERR_INVALID, "cb_cache_lookup: missing arguments");
  char key[CB_KEY_MAX];
  int n = cb_problem_key(p, key, sizeof key);
  if (n < 0 || (size_t)n >= sizeof key)
    return cb_error(CB_ERR_INVALID, "cb_cache_lookup: not a problem");

  /* The order of cache.h: exact local, exact imported, then borrowed. */
  bool found = false;
  cb_status st = cb_db_cache_get(db, key, device_fp, build_fp, false, out, &found);
  if (st == CB_OK && found) *source = CB_CACHE_EXACT;
  if (st == CB_OK && !found) {
    st = cb_db_cache_get(db, key, device_fp, build_fp, true, out, &found);
    if (st == CB_OK && found) *source = CB_CACHE_IMPORTED;
  }
  if (st == CB_OK && !found) {
    /* Exact rows were ruled out above, so whatever the generation gives
     * has another device or build. */
    char gen[sizeof out->device_fp];
    cb_device_generation(device_fp, gen, sizeof gen);
    st = cb_db_cache_newest(db, key, gen, out, &found);
    if (st == CB_OK && found) *source = CB_CACHE_BORROWED;
  }
  if (st != CB_OK || !found) {
    memset(out, 0, sizeof *out);
    *source = CB_CACHE_MISS;
  }
  return st;
}

cb_status cb_cache_put(cb_db *db, const cb_cache_entry *e) {
  if (!db || !e) return cb_error(CB_ERR_INVALID, "cb_cache_put: missing arguments");
  cb_status st = check_entry(e);
  if (st != CB_OK) return cb_error_wrap(st, "cache entry for %.100s: ", e->key);
  char gen[sizeof e->device_fp];
  cb_device_generation(e->device_fp, gen, sizeof gen);
  return cb_db_cache_put(db, e, gen, false, NULL);
}

cb_status cb_cache_clear(cb_db *db, int64_t *deleted) {
  if (!db) return cb_error(CB_ERR_INVALID, "cb_cache_clear: no database");
  return cb_db_cache_clear(db, deleted);
}

typedef struct each_ctx {
  int (*fn)(const cb_cache_entry *e, void *user);
  void *user;
} each_ctx;

static int each_row(const cb_cache_entry *e, bool imported, const cb_cache_prov *prov, void *user) {
  (void)imported, (void)prov;
  const each_ctx *x = user;
  return x->fn(e, x->user);
}

cb_status cb_cache_each(cb_db *db, int (*fn)(const cb_cache_entry *e, void *user), void *user) {
  if (!db || !fn) return cb_error(CB_ERR_INVALID, "cb_cache_each: missing arguments");
  each_ctx x = {fn, user};
  return cb_db_cache_each(db, each_row, &x);
}

/* ---- export ---------------------------------------------------------------------------- */

typedef struct export_ctx {
  FILE *f;
  int64_t n;
  cb_status st;
} export_ctx;

/* One entry's line, keys in the order the format lists them. */
static int export_row(const cb_cache_entry *e, bool imported, const cb_cache_prov *prov,
                      void *user) {
  export_ctx *x = user;
  char gen[sizeof e->device_fp], params[256];
  cb_device_generation(e->device_fp, gen, sizeof gen);
  cb_params_format(e->params, e->nparams, params, sizeof params);
  cb_json_writer w;
  cb_json_begin(&w, x->f);
  cb_json_put_string(&w, "key", e->key);
  cb_json_put_string(&w, "device", e->device_fp);
  cb_json_put_string(&w, "device_generation", gen);
  cb_json_put_string(&w, "build", e->build_fp);
  cb_json_put_string(&w, "backend", e->backend);
  cb_json_put_string(&w, "variant", e->variant);
  cb_json_put_string(&w, "params", params);
  const struct {
    const char *name;
    double v;
  } nums[] = {{"median_ms", e->timing.median},
              {"min_ms", e->timing.min},
              {"max_ms", e->timing.max},
              {"mad_ms", e->timing.mad}};
  cb_status st = CB_OK;
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    cb_status s = cb_json_put_number(&w, nums[i].name, nums[i].v);
    if (st == CB_OK) st = s;
  }
  cb_json_put_int(&w, "samples", e->timing.samples);
  cb_json_put_string(&w, "runner_up", e->runner_up);
  cb_status s = cb_json_put_number(&w, "runner_up_median_ms", e->runner_up_median);
  if (st == CB_OK) st = s;
  cb_json_put_string(&w, "measured", e->measured);
  cb_json_put_string(&w, "source", imported ? "imported" : "local");
  cb_json_put_string(&w, "origin", e->origin);
  cb_json_put_string(&w, "hostname", prov->hostname);
  cb_json_put_string(&w, "cpu_model", prov->cpu_model);
  cb_json_put_string(&w, "isa_level", prov->isa_level);
  cb_json_put_int(&w, "cores", prov->cores);
  cb_json_put_string(&w, "git_rev", prov->git_rev);
  /* The confidence (migration 8), only when known: an entry from an
   * older database or file is exported as it was imported. */
  if (e->confidence[0]) {
    s = cb_json_put_number(&w, "estimate_ms", e->estimate);
    if (st == CB_OK) st = s;
    s = cb_json_put_number(&w, "spread", e->spread >= 0 ? e->spread : 0);
    if (st == CB_OK) st = s;
    cb_json_put_string(&w, "confidence", e->confidence);
    cb_json_put_string(&w, "confidence_why", e->confidence_why);
    if (e->load >= 0) {
      s = cb_json_put_number(&w, "load", e->load);
      if (st == CB_OK) st = s;
    }
  }
  cb_json_end(&w);
  x->n++;
  if (st != CB_OK) {
    x->st = cb_error_wrap(st, "entry %.100s on %s: ", e->key, e->device_fp);
    return 1;
  }
  return 0;
}

static void export_header(FILE *f, const cb_machine *m, int64_t entries) {
  char now[32];
  cb_iso_now(now, sizeof now);
  cb_json_writer w;
  cb_json_begin(&w, f);
  cb_json_put_string(&w, "format", CB_CACHE_FORMAT);
  cb_json_put_int(&w, "version", CB_CACHE_VERSION);
  cb_json_put_string(&w, "exported", now);
  cb_json_put_string(&w, "hostname", m->hostname);
  cb_json_put_string(&w, "cpu_model", m->cpu_model);
  cb_json_put_string(&w, "isa_level", m->isa_level);
  cb_json_put_int(&w, "cores", m->cores);
  cb_json_put_string(&w, "device", m->fingerprint);
  cb_json_put_int(&w, "entries", entries);
  cb_json_end(&w);
}

/* Writes the header and body to tmp, flushed to disk, then renames it to
 * path: a reader sees the old file or the whole new one. */
static cb_status write_atomically(const char *path, const cb_machine *m, int64_t entries,
                                  const char *body, size_t body_len) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return cb_error(CB_ERR_IO, "cannot write '%.64s...': the path is too long", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return cb_error(CB_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
  export_header(f, m, entries);
  if (body_len) fwrite(body, 1, body_len, f);
  bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && !ferror(f);
  int err = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    err = errno;
    unlink(tmp);
    return cb_error(CB_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(err));
  }
  if (!ok) {
    unlink(tmp);
    return cb_error(CB_ERR_IO, "cannot write '%s': %s", tmp, strerror(err));
  }
  return CB_OK;
}

cb_status cb_cache_export(cb_db *db, const char *path, const cb_machine *m, int64_t *written) {
  if (written) *written = 0;
  if (!db || !path || !*path || !m)
    return cb_error(CB_ERR_INVALID, "cb_cache_export: missing arguments");
  /* The entries go to memory first: the header, which comes first, says
   * how many there are. */
  char *body = NULL;
  size_t body_len = 0;
  FILE *mem = open_memstream(&body, &body_len);
  if (!mem) return cb_error(CB_ERR_NOMEM, "out of memory exporting the cache to '%s'", path);
  export_ctx x = {mem, 0, CB_OK};
  cb_status st = cb_db_cache_each(db, export_row, &x);
  if (st == CB_OK) st = x.st;
  bool mem_ok = fclose(mem) == 0;
  if (st == CB_OK && !mem_ok)
    st = cb_error(CB_ERR_NOMEM, "out of memory exporting the cache to '%s'", path);
  if (st == CB_OK) st = write_atomically(path, m, x.n, body, body_len);
  free(body);
  if (st != CB_OK) return cb_error_wrap(st, "exporting the cache to '%s': ", path);
  if (written) *written = x.n;
  return CB_OK;
}

/* ---- import ---------------------------------------------------------------------------- */

/* One entry of the file, checked, waiting to be stored. */
typedef struct import_row {
  cb_cache_entry e;
  cb_cache_prov prov;
  int line;
} import_row;

typedef struct import_file {
  const char *path;
  FILE *f;
  char *buf; /* getline's */
  size_t cap;
  int line; /* number of the line in buf */
  import_row *rows;
  int64_t nrows, cap_rows;
} import_file;

/* The next line into in->buf, without its newline; *eof at the end. A
 * line without its newline is the end of a file cut short. */
static cb_status next_line(import_file *in, bool *eof) {
  errno = 0;
  ssize_t n = getline(&in->buf, &in->cap, in->f);
  *eof = n < 0;
  if (n < 0)
    return ferror(in->f) ? cb_error(CB_ERR_IO, "cannot read '%s': %s", in->path, strerror(errno))
                         : CB_OK;
  in->line++;
  if (in->buf[n - 1] != '\n')
    return cb_error(CB_ERR_PARSE, "%s:%d: the line is cut short (no newline at its end)", in->path,
                    in->line);
  in->buf[--n] = '\0';
  if (strlen(in->buf) != (size_t)n)
    return cb_error(CB_ERR_PARSE, "%s:%d: the line holds a NUL byte", in->path, in->line);
  return CB_OK;
}

/* String field key into buf; "" is refused when required. */
static cb_status get_text(const cb_json_object *o, const char *key, bool required, char *buf,
                          size_t len) {
  const char *v;
  cb_status st = cb_json_get_string(o, key, &v);
  if (st != CB_OK) return st;
  if (required && !*v) return cb_error(CB_ERR_PARSE, "\"%s\" is empty", key);
  if (strlen(v) >= len)
    return cb_error(CB_ERR_PARSE, "\"%s\" is longer than %zu bytes", key, len - 1);
  snprintf(buf, len, "%s", v);
  return CB_OK;
}

/* A number field: finite and >= 0 (whole and >= min_whole when whole). */
static cb_status get_num(const cb_json_object *o, const char *key, bool whole, int min_whole,
                         double *v) {
  cb_status st = cb_json_get_number(o, key, v);
  if (st != CB_OK) return st;
  const char *text = cb_json_find(o, key)->str;
  if (!isfinite(*v) || *v < 0)
    return cb_error(CB_ERR_PARSE, "\"%s\" is %s (must be finite and >= 0)", key, text);
  if (whole && (*v != floor(*v) || *v < min_whole || *v > 1e9))
    return cb_error(CB_ERR_PARSE, "\"%s\" is %s (must be a whole number >= %d)", key, text,
                    min_whole);
  return CB_OK;
}

static cb_status read_header(import_file *in, int64_t *entries) {
  bool eof = false;
  cb_status st = next_line(in, &eof);
  if (st != CB_OK) return st;
  if (eof)
    return cb_error(CB_ERR_PARSE, "%s:1: the file is empty (no convbench-cache header)", in->path);
  cb_json_object o;
  st = cb_json_parse_object(in->buf, &o);
  const char *text = NULL;
  double version = 0, cores = 0, n = 0;
  const cb_json_field *ff = st == CB_OK ? cb_json_find(&o, "format") : NULL;
  if (st == CB_OK && !(ff && ff->type == CB_JSON_STRING && strcmp(ff->str, CB_CACHE_FORMAT) == 0))
    st = cb_error(CB_ERR_PARSE, "not a convbench cache export (no \"format\": \"%s\")",
                  CB_CACHE_FORMAT);
  if (st == CB_OK && (st = cb_json_get_number(&o, "version", &version)) == CB_OK &&
      version != CB_CACHE_VERSION)
    st = cb_error(CB_ERR_PARSE, "format version %s; this convbench reads version %d",
                  cb_json_find(&o, "version")->str, CB_CACHE_VERSION);
  static const char *const known[] = {"format",    "version", "exported", "hostname", "cpu_model",
                                      "isa_level", "cores",   "device",   "entries",  NULL};
  static const char *const texts[] = {"exported", "hostname", "cpu_model", "isa_level", "device"};
  for (size_t i = 0; st == CB_OK && i < sizeof texts / sizeof texts[0]; i++)
    st = cb_json_get_string(&o, texts[i], &text);
  if (st == CB_OK) st = get_num(&o, "cores", true, 0, &cores);
  if (st == CB_OK) st = get_num(&o, "entries", true, 0, &n);
  if (st == CB_OK) st = cb_json_check_keys(&o, known);
  cb_json_object_free(&o);
  *entries = (int64_t)n;
  return st == CB_OK ? CB_OK : cb_error_wrap(st, "%s:%d: ", in->path, in->line);
}

/* Every field of an entry line into r, checked. */
static cb_status read_entry(const cb_json_object *o, import_row *r) {
  static const char *const known[] = {"key",
                                      "device",
                                      "device_generation",
                                      "build",
                                      "backend",
                                      "variant",
                                      "params",
                                      "median_ms",
                                      "min_ms",
                                      "max_ms",
                                      "mad_ms",
                                      "samples",
                                      "runner_up",
                                      "runner_up_median_ms",
                                      "measured",
                                      "source",
                                      "origin",
                                      "hostname",
                                      "cpu_model",
                                      "isa_level",
                                      "cores",
                                      "git_rev",
                                      "estimate_ms",
                                      "spread",
                                      "load",
                                      "confidence",
                                      "confidence_why",
                                      NULL};
  cb_cache_entry *e = &r->e;
  cb_cache_prov *p = &r->prov;
  memset(e, 0, sizeof *e);
  memset(p, 0, sizeof *p);
  char gen[sizeof e->device_fp], params[256], source[16];
  double samples = 0, cores = 0;
  cb_status st = cb_json_check_keys(o, known);
  if (st == CB_OK) st = get_text(o, "key", true, e->key, sizeof e->key);
  if (st == CB_OK) st = get_text(o, "device", true, e->device_fp, sizeof e->device_fp);
  if (st == CB_OK) st = get_text(o, "device_generation", true, gen, sizeof gen);
  if (st == CB_OK) st = get_text(o, "build", true, e->build_fp, sizeof e->build_fp);
  if (st == CB_OK) st = get_text(o, "backend", true, e->backend, sizeof e->backend);
  if (st == CB_OK) st = get_text(o, "variant", true, e->variant, sizeof e->variant);
  if (st == CB_OK) st = get_text(o, "params", false, params, sizeof params);
  if (st == CB_OK) st = cb_params_parse(params, e->params, &e->nparams);
  if (st == CB_OK) st = get_num(o, "median_ms", false, 0, &e->timing.median);
  if (st == CB_OK) st = get_num(o, "min_ms", false, 0, &e->timing.min);
  if (st == CB_OK) st = get_num(o, "max_ms", false, 0, &e->timing.max);
  if (st == CB_OK) st = get_num(o, "mad_ms", false, 0, &e->timing.mad);
  if (st == CB_OK) st = get_num(o, "samples", true, 1, &samples);
  if (st == CB_OK) st = get_text(o, "runner_up", false, e->runner_up, sizeof e->runner_up);
  if (st == CB_OK) st = get_num(o, "runner_up_median_ms", false, 0, &e->runner_up_median);
  if (st == CB_OK) st = get_text(o, "measured", true, e->measured, sizeof e->measured);
  if (st == CB_OK) st = get_text(o, "source", true, source, sizeof source);
  if (st == CB_OK) st = get_text(o, "origin", true, e->origin, sizeof e->origin);
  if (st == CB_OK) st = get_text(o, "hostname", false, p->hostname, sizeof p->hostname);
  if (st == CB_OK) st = get_text(o, "cpu_model", false, p->cpu_model, sizeof p->cpu_model);
  if (st == CB_OK) st = get_text(o, "isa_level", false, p->isa_level, sizeof p->isa_level);
  if (st == CB_OK) st = get_num(o, "cores", true, 0, &cores);
  if (st == CB_OK) st = get_text(o, "git_rev", false, p->git_rev, sizeof p->git_rev);
  /* The confidence fields are optional: files written before they
   * existed import with it unknown. */
  e->spread = e->load = -1;
  if (st == CB_OK && cb_json_find(o, "estimate_ms"))
    st = get_num(o, "estimate_ms", false, 0, &e->estimate);
  if (st == CB_OK && cb_json_find(o, "spread")) st = get_num(o, "spread", false, 0, &e->spread);
  if (st == CB_OK && cb_json_find(o, "load")) st = get_num(o, "load", false, 0, &e->load);
  if (st == CB_OK && cb_json_find(o, "confidence"))
    st = get_text(o, "confidence", true, e->confidence, sizeof e->confidence);
  if (st == CB_OK && cb_json_find(o, "confidence_why"))
    st = get_text(o, "confidence_why", false, e->confidence_why, sizeof e->confidence_why);
  if (st != CB_OK) return st;
  e->timing.samples = (int)samples;
  p->cores = (int)cores;

  if (strcmp(source, "local") != 0 && strcmp(source, "imported") != 0)
    return cb_error(CB_ERR_PARSE, "\"source\" is \"%s\" (\"local\" or \"imported\")", source);
  char want[sizeof gen];
  cb_device_generation(e->device_fp, want, sizeof want);
  if (strcmp(gen, want) != 0)
    return cb_error(CB_ERR_PARSE, "\"device_generation\" is \"%s\", but device \"%s\" is of \"%s\"",
                    gen, e->device_fp, want);
  /* The same checks as a local put (measured, required above, is
   * checked there too); its reason stands, as a parse error. */
  return check_entry(e) == CB_OK ? CB_OK : CB_ERR_PARSE;
}

/* Reads the entry lines after the header into in->rows. */
static cb_status read_entries(import_file *in) {
  for (;;) {
    bool eof = false;
    cb_status st = next_line(in, &eof);
    if (st != CB_OK || eof) return st;
    if (in->nrows == in->cap_rows) {
      int64_t cap = in->cap_rows ? 2 * in->cap_rows : 64;
      import_row *rows = realloc(in->rows, (size_t)cap * sizeof *rows);
      if (!rows) return cb_error(CB_ERR_NOMEM, "out of memory reading '%s'", in->path);
      in->rows = rows;
      in->cap_rows = cap;
    }
    import_row *r = &in->rows[in->nrows];
    cb_json_object o;
    st = cb_json_parse_object(in->buf, &o);
    if (st == CB_OK) st = read_entry(&o, r);
    cb_json_object_free(&o);
    if (st != CB_OK) return cb_error_wrap(st, "%s:%d: ", in->path, in->line);
    r->line = in->line;
    in->nrows++;
  }
}

/* qsort order of rows by (key, device, build). */
static int row_cmp(const void *a, const void *b) {
  const cb_cache_entry *x = &((const import_row *)a)->e, *y = &((const import_row *)b)->e;
  int c = strcmp(x->key, y->key);
  if (!c) c = strcmp(x->device_fp, y->device_fp);
  if (!c) c = strcmp(x->build_fp, y->build_fp);
  return c;
}

/* Two entries for one (key, device, build) cannot both be imported; the
 * file is refused rather than one of them picked. Sorts in->rows. */
static cb_status check_unique(import_file *in) {
  if (in->nrows < 2) return CB_OK;
  qsort(in->rows, (size_t)in->nrows, sizeof *in->rows, row_cmp);
  for (int64_t i = 1; i < in->nrows; i++) {
    const import_row *a = &in->rows[i - 1], *b = &in->rows[i];
    if (row_cmp(a, b) != 0) continue;
    const import_row *first = a->line < b->line ? a : b, *second = a->line < b->line ? b : a;
    return cb_error(CB_ERR_PARSE,
                    "%s:%d: a second entry for %.100s on %s, build %s (the first is "
                    "on line %d)",
                    in->path, second->line, first->e.key, first->e.device_fp, first->e.build_fp,
                    first->line);
  }
  return CB_OK;
}

/* Stores the checked rows in one transaction: all or nothing. */
static cb_status store_rows(cb_db *db, import_file *in, int64_t *imported, int64_t *kept_local) {
  cb_status st = cb_db_begin(db);
  for (int64_t i = 0; st == CB_OK && i < in->nrows; i++) {
    import_row *r = &in->rows[i];
    cb_cache_entry local;
    bool found = false;
    st = cb_db_cache_get(db, r->e.key, r->e.device_fp, r->e.build_fp, false, &local, &found);
    if (st != CB_OK) break;
    if (found) {
      (*kept_local)++;
      continue;
    }
    /* The origin names where it came from; a long path is cut, the host
     * and date stay readable in hostname and measured. */
    if (snprintf(r->e.origin, sizeof r->e.origin, "imported from %s (host %s, measured %s)",
                 in->path, r->prov.hostname, r->e.measured) >= (int)sizeof r->e.origin)
      r->e.origin[sizeof r->e.origin - 1] = '\0';
    char gen[sizeof r->e.device_fp];
    cb_device_generation(r->e.device_fp, gen, sizeof gen);
    st = cb_db_cache_put(db, &r->e, gen, true, &r->prov);
    if (st != CB_OK)
      cb_error_wrap(st, "%s:%d: ", in->path, r->line);
    else
      (*imported)++;
  }
  if (st == CB_OK) st = cb_db_commit(db);
  if (st != CB_OK) {
    cb_db_rollback(db);
    *imported = *kept_local = 0;
  }
  return st;
}

cb_status cb_cache_import(cb_db *db, const char *path, int64_t *imported, int64_t *kept_local) {
  int64_t dummy_imported, dummy_kept;
  if (!imported) imported = &dummy_imported;
  if (!kept_local) kept_local = &dummy_kept;
  *imported = *kept_local = 0;
  if (!db || !path || !*path) return cb_error(CB_ERR_INVALID, "cb_cache_import: missing arguments");
  import_file in = {.path = path};
  in.f = fopen(path, "r");
  if (!in.f) return cb_error(CB_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
  /* Everything is read and checked before anything is stored. */
  int64_t promised = 0;
  cb_status st = read_header(&in, &promised);
  if (st == CB_OK) st = read_entries(&in);
  if (st == CB_OK && in.nrows != promised)
    st = cb_error(CB_ERR_PARSE,
                  "%s:1: the header promises %lld entries, the file holds %lld (is it cut short?)",
                  path, (long long)promised, (long long)in.nrows);
  if (st == CB_OK) st = check_unique(&in);
  fclose(in.f);
  free(in.buf);
  if (st == CB_OK) st = store_rows(db, &in, imported, kept_local);
  free(in.rows);
  return st;
}
