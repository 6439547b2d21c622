/* peer.h: the PyTorch peer (scripts/peers/pytorch_bench.py) as a child of
 * `convbench bench --compare`: started with bench's settings, paused half
 * way (--pause-at) while convbench times its own backends, resumed, and
 * its totals read back from its one-line summary (--format summary). */
#ifndef CB_CLI_PEER_H
#define CB_CLI_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "backends.h"
#include "cli.h"
#include "util.h"

/* What the peer is asked to do: bench's own options. */
typedef struct cli_peer_args {
  const char *netdef;
  int64_t batch; /* 0: the netdef's */
  int iters, warmup, threads;
  uint64_t seed;
  const char *db; /* NULL: --no-db */
  bool input_grad, quiet;
  int pause_at; /* > 0: time this many iterations, then wait for cli_peer_resume */
} cli_peer_args;

/* The peer's totals (ms per batch): the whole net as model(x) and
 * loss.backward() (native), or for a .shapes file the sum over entries. */
typedef struct cli_peer_result {
  cb_timing fwd, bwd, total;
  char torch[64];   /* torch.__version__ */
  char measure[32]; /* "native" or "sum of layers" */
  int64_t run_id;   /* its run in the database; 0 with --no-db */
} cli_peer_result;

typedef struct cli_peer {
  pid_t pid; /* 0: not running */
  int to_child;
  FILE *from_child;
} cli_peer;

/* What bench --compare prints beside convbench's own results. */
typedef struct cli_compare_info {
  cli_plan_counts plan; /* how the 'tuned' row's ops were chosen */
  bool have_peer;       /* peer holds PyTorch's totals */
  cli_peer_result peer;
  char note[512];              /* why there is no pytorch row */
  int peer_before, peer_after; /* PyTorch's iterations before and after convbench's block */
  int64_t run_id;              /* convbench's run in the database; 0 with --no-db */
} cli_compare_info;

/* The --compare table: convbench's results (r) and PyTorch's as one
 * convnet-benchmarks table, rows sorted by total, with ratios to PyTorch
 * and notes on fallbacks to ref. */
void cli_compare_print(FILE *f, const cli_report *r, const cli_compare_info *ci);

/* The Python and the script bench --compare runs: $CB_PEER_PYTHON, else
 * /usr/bin/python3; the script of this source tree (CB_SOURCE_DIR), else
 * scripts/peers/ beside the executable's build folder. False with the
 * reason in note when either is missing. */
bool cli_peer_find(char *python, size_t plen, char *script, size_t slen, char *note, size_t nlen);

/* Starts the peer on a (stdout a pipe to us, stdin a pipe from us, stderr
 * shared). convbench is this executable's path, which the peer asks for
 * the net's description. False with the reason in note. */
bool cli_peer_start(const cli_peer_args *a, const char *python, const char *script,
                    const char *convbench, cli_peer *p, char *note, size_t nlen);

/* Waits until the peer says it paused (after its first half). False with
 * the reason in note when it ended instead (then it has been reaped). */
bool cli_peer_wait_paused(cli_peer *p, char *note, size_t nlen);

/* Lets a paused peer time its second half. */
void cli_peer_resume(cli_peer *p);

/* Waits for the peer to finish and reads its summary. False with the
 * reason in note (exit status, or no summary). Always reaps it. */
bool cli_peer_finish(cli_peer *p, cli_peer_result *r, char *note, size_t nlen);

#endif
