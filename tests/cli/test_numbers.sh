#!/usr/bin/env bash
# test_numbers.sh: numbers a user can trust: the context block of bench and
# gemm JSON and the '# key: value' header of their CSV, the noise column,
# the load line and the Reproduce line of the tables, and the peak: a
# stored one drives % of peak, a brief or impossible one is never used.
#   test_numbers.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"
need_sqlite3
net="$root/netdefs/lenet.net"
ctx_keys='["hostname","cpu_model","cores","git_revision","compiler","flags","libraries","date",
  "run_id","command_line","threads","seed","batch","iters","warmup","peak_gflops","peak_threads",
  "peak_stored","load1_before","load1_after","cpu_mhz_before","cpu_mhz_after"]'

# ---- the peak: too few repeats are shown, never recorded -------------------------
run 0 peak --seconds 0.01 --repeats 1 --threads 1 --db p.db
has out "not recorded: 1 repeat, fewer than the 5 a peak needs"
has out "theoretical"
sql p.db "select count(*) from peaks" "0"

# A peak planted as if measured properly drives % of peak.
mid=$(sqlite3 p.db "select id from machines")
sqlite3 p.db "insert into peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,
  measured, gflops_min, gflops_median, repeats) values (1, $mid, 'avx2', 1, 10.0, 10.0, 2, 'planted',
  9, 9.5, 8)"
run 0 bench "$net" --batch 2 --iters 3 --threads 1 --db p.db --format json
checks=$((checks + 1))
python3 -c "
import json; d = json.load(open('out')); c = d['context']
missing = [k for k in json.loads('''$ctx_keys''') if k not in c]
assert not missing, missing
assert c['peak_gflops'] == 10.0 and c['peak_threads'] == 1 and c['peak_stored'] == 'planted', c
assert c['threads'] == 1 and c['iters'] == 3 and c['batch'] == 2 and c['seed'] == 1, c
assert '--threads 1' in c['command_line'] and '--seed 1' in c['command_line'], c
assert d['total_definition'].startswith('median of the per-iteration')
t = d['results'][0]['layers'][0]['fwd']
assert t['samples'] == 3 and t['noise'] in ('ok', 'noisy', 'preempted') and 'mad_ms' in t, t
" || fail "bench json: context, peak or noise fields wrong: $(head -c 600 out)"
lacks err "measuring it once"
run 0 bench "$net" --batch 2 --iters 3 --threads 1 --db p.db
has out "of the 10 GFLOP/s peak"
has out "noise"
has out "| Noise (total)"
has out "during the measurements: load (1 min)"
has out "Reproduce with: convbench bench $net --batch 2 --iters 3 --threads 1 --db p.db --warmup 1 --seed 1 --backend tuned"

# A brief peak (1 repeat) recorded later is never used.
sqlite3 p.db "insert into peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,
  measured, repeats) values (1, $mid, 'avx2', 1, 0.2, 0.2, 0.1, 'brief', 1)"
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --db p.db --format json --quiet
checks=$((checks + 1))
python3 -c "import json; c = json.load(open('out'))['context']; assert c['peak_gflops'] == 10.0, c" ||
  fail "a brief peak was used"
# ---- CSV: the context as a commented header, noise columns --------------------------
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --db p.db --format csv --quiet
has out "# git_revision: "
has out "# command_line: convbench bench"
has out "# peak_gflops: 10.000"
has out "# load1_before: "
has out "# total: median of the per-iteration fwd+bwd sums"
has out ",fwd_mad_ms,fwd_samples,fwd_noise,bwd_mad_ms,bwd_samples,bwd_noise,over_peak"
checks=$((checks + 1))
python3 -c "
import csv
rows = list(csv.DictReader(l for l in open('out') if not l.startswith('#')))
assert rows and all(r['fwd_noise'] in ('ok', 'noisy', 'preempted') for r in rows), rows[:2]
assert all(int(r['fwd_samples']) == 2 for r in rows), rows[:2]
" || fail "bench csv rows lack the noise columns"

# ---- --no-db: no % of peak, and it says so; never a brief estimate ------------------
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --no-db --quiet
has out "no % of peak: --no-db reads no recorded peak"
lacks out "% of the"
lacks err "measuring"

# ---- gemm and run: the same context, noise column and load line -----------------------
run 0 gemm 32 32 32 --backend ref --iters 3 --threads 1 --db p.db --format json
checks=$((checks + 1))
python3 -c "
import json; d = json.load(open('out')); c = d['context']
missing = [k for k in json.loads('''$ctx_keys''') if k not in c]
assert not missing, missing
assert c['peak_gflops'] == 10.0 and d['results'][0]['noise'] in ('ok', 'noisy', 'preempted'), d
" || fail "gemm json: context or noise missing: $(head -c 600 out)"
run 0 gemm 32 32 32 --backend ref --iters 3 --threads 1 --db p.db
has out "noise"
has out "during the measurements: load (1 min)"
run 0 gemm 32 32 32 --backend ref --iters 3 --threads 1 --db p.db --format csv
has out "# threads: 1"
has out "median_ms,min_ms,mad_ms,samples"
# An impossible peak (far above any core's rate, planted without a
# theoretical rate) recorded later is never used either.
sqlite3 p.db "insert into peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,
  measured, repeats) values (1, $mid, 'avx2', 1, 1000000, 1000000, 2, 'impossible', 8)"
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --db p.db --format json --quiet
has err "exceeds this machine's theoretical"
checks=$((checks + 1))
python3 -c "import json; c = json.load(open('out'))['context']; assert c['peak_gflops'] != 1000000, c" ||
  fail "an impossible peak was used"

# A rate over 100% of the peak is marked with its reason (ref's direct
# convolution: a measurement fault, here the planted peak's).
sqlite3 p.db "insert into peaks (run_id, machine_id, isa, threads, gflops, gflops_per_core, seconds,
  measured, repeats) values (1, $mid, 'avx2', 1, 0.001, 0.001, 2, 'tiny', 8)"
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --db p.db --quiet
has out "! over 100% of peak with a direct kernel: a measurement fault"
has out "%!"
run 0 bench "$net" --batch 2 --iters 2 --threads 1 --db p.db --quiet --format csv
has out ",measurement fault"
finish
