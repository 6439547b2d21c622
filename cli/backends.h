/* backends.h: the --backend option of the commands that build nets
 * (bench, train, infer, check): backend names, 'all', and 'tuned' with
 * the tune cache it plans from, and the net options each backend builds
 * with. */
#ifndef CB_CLI_BACKENDS_H
#define CB_CLI_BACKENDS_H

#include "choose.h"
#include "net.h"
#include "tuning.h"

#define CLI_MAX_BACKENDS 16

typedef struct cli_backends {
  const char *arg;                     /* --backend as given, or the command's default */
  bool given;                          /* --backend was on the command line */
  const char *names[CLI_MAX_BACKENDS]; /* resolved; "tuned" plans from the cache */
  int n;
  cb_cache_chooser chooser; /* for "tuned": the cache, this device and build */
  char device_fp[160];
  cb_build build;
  char list[512]; /* arg split into names */
} cli_backends;

/* How the ops of a tuned net were chosen: cache hits for this device
 * and build (exact, or imported for it), hits borrowed from the same
 * device generation, and heuristic picks (misses, or cached choices this
 * build cannot run). */
typedef struct cli_plan_counts {
  int exact, generation, heuristic;
} cli_plan_counts;

/* Resolves b->arg into b->names: names must exist in this build (or be
 * 'tuned'); 'all' is every backend but ref that opens here. Prints the
 * usage error and returns CLI_USAGE for a bad list. */
int cli_backends_resolve(const cli_command *c, cli_backends *b);

/* For 'tuned' (which is also the default, when --backend was not given,
 * once the database's cache knows this kind of machine): probes this
 * device and build and opens the cache of database db (NULL: --no-db).
 * tune_missing says whether the command will tune what the cache lacks.
 * When 'tuned' is the command's own default (bench: b->arg "tuned" and
 * not given), a missing database or --no-db is no error: the plan is then
 * the heuristic one, every op a miss. Returns CLI_OK or the exit code,
 * after printing why. */
int cli_backends_setup_tuned(const cli_command *c, cli_backends *b, const char *db, int threads,
                             bool tune_missing);

/* Replaces b's list with what `bench --compare` times: 'tuned', then
 * every host backend of this build but ref that opens here (the others
 * are skipped with a note on stderr). */
void cli_backends_compare_set(const cli_command *c, cli_backends *b);

/* Adds to *pc how net's ops were chosen (a net built on 'tuned'). */
void cli_plan_count(const cb_net *net, cli_plan_counts *pc);

/* The options a net is built with on backend name (one of b->names). */
cb_net_opts cli_backends_net_opts(const cli_backends *b, const char *name, int64_t batch,
                                  int threads, uint64_t seed);

/* For run and tune, which take a plain list of backend names: the first
 * name in the comma-separated list that this build has no backend of (or
 * that is ref, when ref_ok is false), copied into bad. False when every
 * name is good, or the list is NULL or 'all'. */
bool cli_backend_list_bad(const char *list, bool ref_ok, char *bad, size_t len);

/* Closes the cache opened for 'tuned'. */
void cli_backends_close(cli_backends *b);

#endif
