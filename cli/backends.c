/* backends.c: the --backend option shared by the commands that build nets
 * (resolving names and 'all', opening the tune cache for 'tuned'). */
#include "backends.h"

#include "cache.h"

#include <string.h>
#include <unistd.h>

/* "ref, cpu, ..." : the backends of this build, for messages. */
static void known_backends(char *buf, size_t len) {
  buf[0] = '\0';
  for (const cb_backend *const *b = cb_backends(); *b; b++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", (*b)->name);
  }
}

/* Appends k to b's names when it opens here (its library loads, its
 * device answers); otherwise a note on stderr says why it is skipped. */
static void add_if_available(const cli_command *c, cli_backends *b, const cb_backend *k) {
  cb_ctx *ctx;
  if (cb_ctx_open(k, 1, &ctx) != CB_OK) {
    cli_error(c->name, "note: skipping backend %s: %s", k->name, cb_errmsg());
    return;
  }
  cb_ctx_close(ctx);
  b->names[b->n++] = k->name;
}

int cli_backends_resolve(const cli_command *c, cli_backends *b) {
  b->n = 0;
  if (strcmp(b->arg, "all") == 0) {
    for (const cb_backend *const *k = cb_backends(); *k && b->n < CLI_MAX_BACKENDS; k++) {
      if (strcmp((*k)->name, "ref") != 0) add_if_available(c, b, *k);
    }
    if (b->n == 0)
      return cli_usage_error(c, "--backend all: no backend besides ref is available here");
    return CLI_OK;
  }
  snprintf(b->list, sizeof b->list, "%s", b->arg);
  char *save = NULL;
  for (char *tok = strtok_r(b->list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (strcmp(tok, "tuned") != 0 && !cb_backend_find(tok)) {
      char known[256];
      known_backends(known, sizeof known);
      return cli_usage_error(
          c, "--backend: unknown backend '%s' (this build has: %s; or tuned, or all)", tok, known);
    }
    for (int i = 0; i < b->n; i++)
      if (strcmp(b->names[i], tok) == 0)
        return cli_usage_error(c, "--backend: '%s' given twice", tok);
    if (b->n == CLI_MAX_BACKENDS) return cli_usage_error(c, "--backend: too many backends");
    b->names[b->n++] = tok;
  }
  if (b->n == 0) return cli_usage_error(c, "--backend: empty list");
  return CLI_OK;
}

bool cli_backend_list_bad(const char *list, bool ref_ok, char *bad, size_t len) {
  if (!list || strcmp(list, "all") == 0) return false;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    if (!cb_backend_find(tok) || (!ref_ok && strcmp(tok, "ref") == 0)) {
      snprintf(bad, len, "%s", tok);
      return true;
    }
  return false;
}

int cli_backends_setup_tuned(const cli_command *c, cli_backends *b, const char *db, int threads,
                             bool tune_missing) {
  cb_machine m;
  if (cb_machine_probe(&m) != CB_OK || cb_build_probe(&b->build) != CB_OK) {
    cli_error(c->name, "%s", cb_errmsg());
    return CLI_FAIL;
  }
  cb_device_fingerprint(&m, threads, b->device_fp, sizeof b->device_fp);
  b->chooser.device_fp = b->device_fp;
  b->chooser.build_fp = b->build.fingerprint;
  bool exists = db && access(db, F_OK) == 0;
  if (!b->given && exists) {
    /* tuned is the default once the cache knows this kind of machine. */
    cb_db *h;
    if (cb_db_open(db, &h) == CB_OK) {
      char gen[160];
      bool known = false;
      cb_device_generation(b->device_fp, gen, sizeof gen);
      cb_db_cache_generation_known(h, gen, &known); /* an error reads as unknown: no default */
      cb_db_close(h);
      if (known) {
        b->names[0] = b->arg = "tuned";
        b->n = 1;
      }
    }
  }
  bool tuned = false;
  for (int i = 0; i < b->n; i++) tuned |= strcmp(b->names[i], "tuned") == 0;
  if (!tuned) {
    if (tune_missing) return cli_usage_error(c, "--tune-missing needs --backend tuned");
    return CLI_OK;
  }
  /* The command's default: plan from the cache when there is one, else
   * every op is a heuristic pick (chooser.db stays NULL). */
  if (!b->given && strcmp(b->arg, "tuned") == 0 && (!db || (!exists && !tune_missing)))
    return CLI_OK;
  if (!db)
    return cli_usage_error(c, "--backend tuned reads the tune cache in the database: drop --no-db");
  if (!exists && !tune_missing) {
    cli_error(c->name,
              "--backend tuned: there is no database '%s' with a tune cache (run "
              "'convbench tune NET' first%s)",
              db, strcmp(c->name, "bench") == 0 ? ", or add --tune-missing" : "");
    return CLI_USAGE;
  }
  if (cb_db_open(db, &b->chooser.db) != CB_OK) {
    cli_error(c->name, "%s", cb_errmsg());
    return CLI_FAIL;
  }
  return CLI_OK;
}

/* The cache lookup of a tuned net without a database: every op misses. */
static cb_status choose_nothing(void *user, const cb_problem *p, cb_choice *out) {
  (void)user, (void)p, (void)out;
  return CB_ERR_UNSUPPORTED;
}

void cli_backends_compare_set(const cli_command *c, cli_backends *b) {
  b->names[0] = "tuned";
  b->n = 1;
  for (const cb_backend *const *k = cb_backends(); *k && b->n < CLI_MAX_BACKENDS; k++) {
    if ((*k)->device == CB_DEVICE_HOST && strcmp((*k)->name, "ref") != 0)
      add_if_available(c, b, *k);
  }
}

void cli_plan_count(const cb_net *net, cli_plan_counts *pc) {
  for (int i = 0; i < net->nlayers; i++)
    for (int k = 0; k < net->layers[i].nbind; k++) {
      const char *src = net->layers[i].bind[k].source;
      if (strcmp(src, "exact") == 0 || strcmp(src, "imported") == 0)
        pc->exact++;
      else if (strcmp(src, "borrowed") == 0)
        pc->generation++;
      else
        pc->heuristic++;
    }
}

cb_net_opts cli_backends_net_opts(const cli_backends *b, const char *name, int64_t batch,
                                  int threads, uint64_t seed) {
  bool tuned = strcmp(name, "tuned") == 0;
  return (cb_net_opts){.batch = batch,
                       .backend = tuned ? NULL : name,
                       .choose = !tuned          ? NULL
                                 : b->chooser.db ? cb_choose_cached
                                                 : choose_nothing,
                       .choose_user = tuned ? (void *)&b->chooser : NULL,
                       .threads = threads,
                       .seed = seed};
}

void cli_backends_close(cli_backends *b) {
  cb_db_close(b->chooser.db);
  b->chooser.db = NULL;
}
