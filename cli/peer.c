/* peer.c: runs the PyTorch peer as a child process for bench --compare
 * (see peer.h). The two pipes carry only the pause handshake and the
 * one-line summary; the peer's messages and progress go to our stderr. */
#include "peer.h"

#include "jsonl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CB_SOURCE_DIR
#define CB_SOURCE_DIR ""
#endif

static bool executable(const char *path) {
  return path[0] && access(path, X_OK) == 0;
}

bool cli_peer_find(char *python, size_t plen, char *script, size_t slen, char *note, size_t nlen) {
  const char *py = getenv("CB_PEER_PYTHON");
  snprintf(python, plen, "%s", py && py[0] ? py : "/usr/bin/python3");
  if (!executable(python)) {
    snprintf(note, nlen, "no Python at %s (Debian's python3-torch runs the PyTorch peer)", python);
    return false;
  }
  /* The source tree this binary was built from, then the folder above the
   * binary's (build/convbench -> scripts/peers/), for a moved tree. */
  snprintf(script, slen, "%s/scripts/peers/pytorch_bench.py", CB_SOURCE_DIR);
  if (CB_SOURCE_DIR[0] && access(script, R_OK) == 0) return true;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(script, slen, "%s/../scripts/peers/pytorch_bench.py", exe);
    if (access(script, R_OK) == 0) return true;
  }
  snprintf(note, nlen, "the PyTorch peer script is missing (looked in %s/scripts/peers/)",
           CB_SOURCE_DIR[0] ? CB_SOURCE_DIR : "the source tree");
  return false;
}

bool cli_peer_start(const cli_peer_args *a, const char *python, const char *script,
                    const char *convbench, cli_peer *p, char *note, size_t nlen) {
  memset(p, 0, sizeof *p);
  p->to_child = -1;
  char batch[32], iters[32], warmup[32], threads[32], seed[32], pause[32];
  snprintf(batch, sizeof batch, "%lld", (long long)a->batch);
  snprintf(iters, sizeof iters, "%d", a->iters);
  snprintf(warmup, sizeof warmup, "%d", a->warmup);
  snprintf(threads, sizeof threads, "%d", a->threads);
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)a->seed);
  snprintf(pause, sizeof pause, "%d", a->pause_at);
  const char *argv[32];
  int n = 0;
  argv[n++] = python;
  argv[n++] = script;
  argv[n++] = a->netdef;
  if (a->batch > 0) argv[n++] = "--batch", argv[n++] = batch;
  argv[n++] = "--iters", argv[n++] = iters;
  argv[n++] = "--warmup", argv[n++] = warmup;
  argv[n++] = "--threads", argv[n++] = threads;
  argv[n++] = "--seed", argv[n++] = seed;
  if (a->pause_at > 0) argv[n++] = "--pause-at", argv[n++] = pause;
  if (a->db)
    argv[n++] = "--db", argv[n++] = a->db;
  else
    argv[n++] = "--no-db";
  if (a->input_grad) argv[n++] = "--input-grad";
  if (a->quiet) argv[n++] = "--quiet";
  argv[n++] = "--format", argv[n++] = "summary";
  argv[n++] = "--convbench", argv[n++] = convbench;
  argv[n] = NULL;

  int in[2], out[2];
  if (pipe(in) != 0) {
    snprintf(note, nlen, "pipe: %s", strerror(errno));
    return false;
  }
  if (pipe(out) != 0) {
    snprintf(note, nlen, "pipe: %s", strerror(errno));
    close(in[0]), close(in[1]);
    return false;
  }
  fflush(NULL); /* nothing buffered here may be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(note, nlen, "fork: %s", strerror(errno));
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return false;
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execv(python, (char *const *)argv);
    fprintf(stderr, "convbench bench: cannot run %s: %s\n", python, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  p->pid = pid;
  p->to_child = in[1];
  p->from_child = fdopen(out[0], "r");
  if (!p->from_child) {
    close(out[0]);
    snprintf(note, nlen, "fdopen: %s", strerror(errno));
    cli_peer_result r;
    char ignored[8];
    cli_peer_finish(p, &r, ignored, sizeof ignored);
    return false;
  }
  return true;
}

/* Reaps the child and describes how it ended when that was not exit 0. */
static bool reap(cli_peer *p, char *note, size_t nlen) {
  if (p->to_child >= 0) close(p->to_child);
  p->to_child = -1;
  if (p->from_child) fclose(p->from_child);
  p->from_child = NULL;
  if (p->pid <= 0) return false;
  int status = 0;
  pid_t got;
  while ((got = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR) {
  }
  p->pid = 0;
  if (got < 0) {
    snprintf(note, nlen, "waitpid: %s", strerror(errno));
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status))
    snprintf(note, nlen, "the PyTorch peer exited with status %d%s", WEXITSTATUS(status),
             WEXITSTATUS(status) == 127 ? "" : " (its message is above)");
  else
    snprintf(note, nlen, "the PyTorch peer was killed by signal %d", WTERMSIG(status));
  return false;
}

bool cli_peer_wait_paused(cli_peer *p, char *note, size_t nlen) {
  char *line = NULL;
  size_t cap = 0;
  bool paused = false;
  for (;;) {
    errno = 0;
    if (getline(&line, &cap, p->from_child) < 0) {
      /* A signal (Ctrl-C's, or one for the progress line) is no end of
       * the peer: wait on, unless convbench is stopping, which
       * interrupts the peer too (it marks its run interrupted). */
      if (errno != EINTR) break;
      clearerr(p->from_child);
      if (cli_stop) kill(p->pid, SIGINT);
      continue;
    }
    if (strcmp(line, "paused\n") == 0) {
      paused = true;
      break;
    }
  }
  free(line);
  if (paused) return true;
  if (reap(p, note, nlen)) snprintf(note, nlen, "the PyTorch peer ended before its pause");
  return false;
}

void cli_peer_resume(cli_peer *p) {
  if (p->to_child < 0) return;
  /* A peer that died meanwhile must not kill us with SIGPIPE. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGPIPE, &ign, &old);
  ssize_t w = write(p->to_child, "\n", 1);
  (void)w; /* a dead peer is reported by cli_peer_finish */
  sigaction(SIGPIPE, &old, NULL);
  close(p->to_child);
  p->to_child = -1;
}

/* Reads "PREFIX_median_ms" etc. of the summary into t. */
static cb_status get_timing(const cb_json_object *o, const char *prefix, cb_timing *t) {
  static const char *const stats[] = {"median_ms", "min_ms", "max_ms", "mad_ms"};
  double *fields[] = {&t->median, &t->min, &t->max, &t->mad};
  char key[64];
  for (int i = 0; i < 4; i++) {
    snprintf(key, sizeof key, "%s_%s", prefix, stats[i]);
    cb_status st = cb_json_get_number(o, key, fields[i]);
    if (st != CB_OK) return st;
  }
  double samples;
  cb_status st = cb_json_get_number(o, "samples", &samples);
  t->samples = (int)samples;
  return st;
}

bool cli_peer_finish(cli_peer *p, cli_peer_result *r, char *note, size_t nlen) {
  memset(r, 0, sizeof *r);
  cli_peer_resume(p);
  char *line = NULL, *summary = NULL;
  size_t cap = 0;
  ssize_t len;
  while (p->from_child && (len = getline(&line, &cap, p->from_child)) >= 0) {
    if (len > 0 && line[0] == '{') {
      free(summary);
      if (line[len - 1] == '\n') line[len - 1] = '\0';
      summary = strdup(line);
    }
  }
  free(line);
  bool ok = reap(p, note, nlen);
  if (ok && !summary) {
    snprintf(note, nlen, "the PyTorch peer printed no summary line");
    ok = false;
  }
  if (ok) {
    cb_json_object o;
    const char *torch = "", *measure = "";
    double run_id = 0;
    cb_status st = cb_json_parse_object(summary, &o);
    if (st == CB_OK) st = get_timing(&o, "total", &r->total);
    if (st == CB_OK) st = get_timing(&o, "fwd", &r->fwd);
    if (st == CB_OK) st = get_timing(&o, "bwd", &r->bwd);
    if (st == CB_OK) st = cb_json_get_string(&o, "torch", &torch);
    if (st == CB_OK) st = cb_json_get_string(&o, "measure", &measure);
    if (st == CB_OK && cb_json_find(&o, "run_id")) st = cb_json_get_number(&o, "run_id", &run_id);
    if (st == CB_OK) {
      snprintf(r->torch, sizeof r->torch, "%s", torch);
      snprintf(r->measure, sizeof r->measure, "%s", measure);
      r->run_id = (int64_t)run_id;
    } else {
      snprintf(note, nlen, "the PyTorch peer's summary does not parse: %s", cb_errmsg());
      ok = false;
    }
    cb_json_object_free(&o);
  }
  free(summary);
  return ok;
}
