/* runs.c: the rows a run hangs from: its machine and build (inserted
 * once per fingerprint), the run itself (begun 'running', ended with a
 * status), and problems (one row per problem key, shared by results,
 * measurements and the tune cache). */
#include "db_internal.h"

#include <string.h>
#include <unistd.h>

/* Parameters are named so that a binding can never land in the wrong
 * column; cb_bind_*() fails loudly on a name that is not in the statement. */
// clang-format off
static const char machine_put_sql[] =
    "INSERT INTO machines (fingerprint, hostname, os, cpu_vendor, cpu_model, isa, isa_level,"
        " packages, numa_nodes, cores, pus, l1d_bytes, l2_bytes, l3_bytes, l2_count, l3_count,"
        " mem_bytes, topology, first_seen)"
        " VALUES (:fingerprint, :hostname, :os, :cpu_vendor, :cpu_model, :isa, :isa_level,"
        " :packages, :numa_nodes, :cores, :pus, :l1d_bytes, :l2_bytes, :l3_bytes, :l2_count,"
        " :l3_count, :mem_bytes, :topology, :first_seen)"
        " ON CONFLICT (fingerprint) DO NOTHING";

static const char machine_get_sql[] =
    "SELECT id FROM machines WHERE fingerprint = :fingerprint";

static const char build_put_sql[] =
    "INSERT INTO builds (fingerprint, git_rev, git_dirty, compiler, flags, build_type, libs,"
        " kernel_hash, first_seen)"
        " VALUES (:fingerprint, :git_rev, :git_dirty, :compiler, :flags, :build_type, :libs,"
        " :kernel_hash, :first_seen)"
        " ON CONFLICT (fingerprint, git_rev, git_dirty, compiler, flags) DO NOTHING";

static const char build_get_sql[] =
    "SELECT id FROM builds WHERE fingerprint = :fingerprint AND git_rev = :git_rev"
                     " AND git_dirty = :git_dirty AND compiler = :compiler AND flags = :flags";

static const char run_begin_sql[] =
    "INSERT INTO runs (machine_id, build_id, kind, command, seed, threads, hostname, pid,"
        " started, status)"
        " VALUES (:machine_id, :build_id, :kind, :command, :seed, :threads, :hostname, :pid,"
        " :started, 'running')";

static const char run_end_sql[] =
    "UPDATE runs SET ended = :ended, status = :status, error = :error WHERE id = :id";

static const char problem_put_sql[] =
    "INSERT INTO problems (key, op, flops) VALUES (:key, :op, :flops)"
                       " ON CONFLICT (key) DO NOTHING";

static const char problem_get_sql[] =
    "SELECT id FROM problems WHERE key = :key";
// clang-format on

cb_status cb_db_put_machine(cb_db *db, const cb_machine *m, int64_t *id) {
  cb_binder b = cb_db_stmt(db, ST_MACHINE_PUT, machine_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":fingerprint", m->fingerprint);
  cb_bind_text(&b, ":hostname", m->hostname);
  cb_bind_text(&b, ":os", m->os);
  cb_bind_text(&b, ":cpu_vendor", m->cpu_vendor);
  cb_bind_text(&b, ":cpu_model", m->cpu_model);
  cb_bind_text(&b, ":isa", m->isa);
  cb_bind_text(&b, ":isa_level", m->isa_level);
  cb_bind_int(&b, ":packages", m->packages);
  cb_bind_int(&b, ":numa_nodes", m->numa_nodes);
  cb_bind_int(&b, ":cores", m->cores);
  cb_bind_int(&b, ":pus", m->pus);
  cb_bind_int(&b, ":l1d_bytes", m->l1d_bytes);
  cb_bind_int(&b, ":l2_bytes", m->l2_bytes);
  cb_bind_int(&b, ":l3_bytes", m->l3_bytes);
  cb_bind_int(&b, ":l2_count", m->l2_count);
  cb_bind_int(&b, ":l3_count", m->l3_count);
  cb_bind_int(&b, ":mem_bytes", m->mem_bytes);
  cb_bind_text(&b, ":topology", m->topology);
  cb_bind_now(&b, ":first_seen");
  cb_status st = cb_db_exec(&b, "cannot record the machine");
  if (st != CB_OK) return st;

  b = cb_db_stmt(db, ST_MACHINE_GET, machine_get_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":fingerprint", m->fingerprint);
  return cb_db_query_id(&b, "cannot find the machine", id);
}

/* Binds the columns that identify a build row. */
static void bind_build_key(cb_binder *b, const cb_build *bi) {
  cb_bind_text(b, ":fingerprint", bi->fingerprint);
  cb_bind_text(b, ":git_rev", bi->git_rev);
  cb_bind_int(b, ":git_dirty", bi->git_dirty);
  cb_bind_text(b, ":compiler", bi->compiler);
  cb_bind_text(b, ":flags", bi->flags);
}

cb_status cb_db_put_build(cb_db *db, const cb_build *bi, int64_t *id) {
  cb_binder b = cb_db_stmt(db, ST_BUILD_PUT, build_put_sql);
  if (b.st != CB_OK) return b.st;
  bind_build_key(&b, bi);
  cb_bind_text(&b, ":build_type", bi->build_type);
  cb_bind_text(&b, ":libs", bi->libs);
  cb_bind_text(&b, ":kernel_hash", bi->kernel_hash);
  cb_bind_now(&b, ":first_seen");
  cb_status st = cb_db_exec(&b, "cannot record the build");
  if (st != CB_OK) return st;

  b = cb_db_stmt(db, ST_BUILD_GET, build_get_sql);
  if (b.st != CB_OK) return b.st;
  bind_build_key(&b, bi);
  return cb_db_query_id(&b, "cannot find the build", id);
}

cb_status cb_db_run_begin(cb_db *db, const cb_run_rec *r, int64_t *run_id) {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  cb_binder b = cb_db_stmt(db, ST_RUN_BEGIN, run_begin_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_int(&b, ":machine_id", r->machine_id);
  cb_bind_int(&b, ":build_id", r->build_id);
  cb_bind_text(&b, ":kind", r->kind);
  cb_bind_text(&b, ":command", r->command);
  cb_bind_int(&b, ":seed", (int64_t)r->seed); /* the bit pattern; see the runs table */
  cb_bind_int(&b, ":threads", r->threads);
  cb_bind_text(&b, ":hostname", host);
  cb_bind_int(&b, ":pid", (int64_t)getpid());
  cb_bind_now(&b, ":started");
  return cb_db_insert(&b, "cannot record the start of a run", run_id);
}

cb_status cb_db_run_end(cb_db *db, int64_t run_id, const char *status, const char *error) {
  if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0 &&
                  strcmp(status, "interrupted") != 0))
    return cb_error(CB_ERR_INVALID,
                    "run %lld: a run ends 'ok', 'failed' or 'interrupted', not '%s'",
                    (long long)run_id, status ? status : "(null)");
  cb_binder b = cb_db_stmt(db, ST_RUN_END, run_end_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_now(&b, ":ended");
  cb_bind_text(&b, ":status", status);
  cb_bind_text(&b, ":error", error);
  cb_bind_int(&b, ":id", run_id);
  cb_status st = cb_db_exec(&b, "cannot record the end of a run");
  if (st == CB_OK && sqlite3_changes(db->h) != 1)
    st = cb_error(CB_ERR_DB, "database '%s': there is no run %lld to end", db->path,
                  (long long)run_id);
  return st;
}

cb_status cb_db_put_problem(cb_db *db, const cb_problem *p, int64_t *id) {
  if (!p || p->op < 0 || p->op >= CB_OP_COUNT)
    return cb_error(CB_ERR_INVALID, "cb_db_put_problem: not a problem");
  char key[CB_KEY_MAX];
  int n = cb_problem_key(p, key, sizeof key);
  if (n < 0 || (size_t)n >= sizeof key)
    return cb_error(CB_ERR_INVALID, "problem key of %d bytes does not fit in %d", n, CB_KEY_MAX);
  cb_binder b = cb_db_stmt(db, ST_PROBLEM_PUT, problem_put_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":key", key);
  cb_bind_text(&b, ":op", cb_op_name(p->op));
  cb_bind_double(&b, ":flops", cb_problem_flops(p));
  cb_status st = cb_db_exec(&b, "cannot record a problem");
  if (st != CB_OK) return st;

  b = cb_db_stmt(db, ST_PROBLEM_GET, problem_get_sql);
  if (b.st != CB_OK) return b.st;
  cb_bind_text(&b, ":key", key);
  return cb_db_query_id(&b, "cannot find a problem", id);
}
