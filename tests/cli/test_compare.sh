#!/usr/bin/env bash
# test_compare.sh: convbench compare's intervals and test, end to end, on a
# database made by `convbench db init` and filled with stored samples drawn
# here from fixed seeds (a timing-like distribution: 10 ms plus an
# exponential tail):
#   run 1 (bench): lenet onednn ~ D, ref ~ 2 D
#   run 2 (bench): lenet onednn ~ D again (new draws: the same distribution)
#   run 3 (peer):  lenet pytorch ~ 2 D
#   run 4 (bench): lenet onednn with no samples (a row from before they were kept)
#   run 5 (bench): lenet onednn with 2 samples
#   layers conv1 (alike) and fc1 (2x in pytorch) of run 1's onednn and run 3's pytorch
# Then two tiny real bench runs, to see bench store what compare reads.
#   test_compare.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"
need_sqlite3

"$cb" db init --db fx.db >/dev/null || fail "db init"
python3 - >fixture.sql <<'EOF'
import random

def draws(seed, scale, n=15):
    r = random.Random(seed)
    fwd = [scale * (4 + r.expovariate(4)) for _ in range(n)]
    bwd = [scale * (6 + r.expovariate(3)) for _ in range(n)]
    return fwd, bwd, [f + b for f, b in zip(fwd, bwd)]

def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])

def text(v):
    return "'[" + ",".join("%.6g" % x for x in v) + "]'" if v else "NULL"

print("INSERT INTO machines (id, fingerprint, hostname, os, cpu_vendor, cpu_model, isa,"
      " isa_level, packages, numa_nodes, cores, pus, l1d_bytes, l2_bytes, l3_bytes, l2_count,"
      " l3_count, mem_bytes, topology, first_seen) VALUES (1, 'fp', 'cmphost', 'Linux', 'AMD',"
      " 'Compare CPU', 'avx2', 'avx2', 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, '{}', '2026-01-01');")
print("INSERT INTO builds (id, fingerprint, git_rev, git_dirty, compiler, flags, build_type,"
      " libs, kernel_hash, first_seen) VALUES (1, 'b', 'r', 0, 'cc', '', 'Release', '', '',"
      " '2026-01-01');")
for run, kind in ((1, "bench"), (2, "bench"), (3, "peer"), (4, "bench"), (5, "bench")):
    print("INSERT INTO runs (id, machine_id, build_id, kind, command, seed, threads, hostname,"
          " pid, started, status) VALUES (%d, 1, 1, '%s', 'run %d', 1, 2, 'cmphost', 1,"
          " '2026-01-01', 'ok');" % (run, kind, run))
rows = [(1, "onednn", draws(1, 1.0), True), (1, "ref", draws(2, 2.0), True),
        (2, "onednn", draws(3, 1.0), True), (3, "pytorch", draws(4, 2.0), True),
        (4, "onednn", draws(5, 1.0), False), (5, "onednn", draws(6, 1.0, n=2), True)]
for run, backend, (fwd, bwd, total), keep in rows:
    n = len(fwd)
    print("INSERT INTO net_results (run_id, net, backend, single_layer, batch, threads, iters,"
          " warmup, input_grad, fwd_median_ms, fwd_samples, bwd_median_ms, bwd_samples,"
          " total_median_ms, total_samples, fwd_flops, bwd_flops, created, fwd_samples_ms,"
          " bwd_samples_ms, total_samples_ms) VALUES (%d, 'lenet', '%s', 0, 2, 2, %d, 1, 0,"
          " %r, %d, %r, %d, %r, %d, 1e6, 2e6, '2026-01-01', %s, %s, %s);" %
          (run, backend, n, median(fwd), n, median(bwd), n, median(total), n,
           text(fwd if keep else []), text(bwd if keep else []), text(total if keep else [])))
# Layers of run 1's onednn net (id 1) and run 3's pytorch net (id 4): conv1
# alike on both, fc1 twice as slow in pytorch.
for net_id, seed, fc_scale in ((1, 11, 1.0), (4, 12, 2.0)):
    for idx, name, scale in ((0, "conv1", 0.5), (1, "fc1", 0.2 * fc_scale)):
        fwd, bwd, _ = draws(seed * 10 + idx, scale)
        print("INSERT INTO layer_results (net_result_id, idx, name, kind, fallback,"
              " fwd_median_ms, fwd_samples, bwd_median_ms, bwd_samples, bwd_data_samples,"
              " bwd_filter_samples, fwd_samples_ms, bwd_samples_ms, fwd_flops, bwd_flops)"
              " VALUES (%d, %d, '%s',"
              " 'conv', 0, %r, 15, %r, 15, 0, 0, %s, %s, 1e6, 2e6);" %
              (net_id, idx, name, median(fwd), median(bwd), text(fwd), text(bwd)))
EOF
sqlite3 -bail fx.db <fixture.sql || fail "loading the fixture"

# json_check FILE PYTHON: the expression holds of j, compare's JSON output
# (rows[0] is lenet's only row).
json_check() {
  checks=$((checks + 1))
  python3 -c "import json, sys; j = json.load(open(sys.argv[1])); r = j['rows'][0]
sys.exit(0 if ($2) else 1)" "$1" || fail "$1: not ($2): $(head -c 1500 "$1")"
}

# ---- identical distributions: no significant difference -------------------------
run 0 compare 1 2 --db fx.db
has out "A: run 1 in fx.db (bench"
has out "B ms [95% CI]"
has out "no significant difference"
lacks out "B slower ("
lacks out "B faster ("
has out "Mann-Whitney U, two-sided, alpha 0.05: 0 B slower, 0 B faster, 3 no significant difference"
run 0 compare 1 2 --db fx.db --format json
json_check out "r['backend_a'] == 'onednn' and r['total']['verdict'] == 'no significant difference'"
json_check out "r['total']['p_value'] >= 0.05 and r['total']['ratio_ci'][0] < 1 < r['total']['ratio_ci'][1]"
json_check out "r['total']['a']['samples'] == 15 and r['total']['a']['ci'][0] < r['total']['a']['median_ms'] < r['total']['a']['ci'][1]"
json_check out "j['rows'][1]['backend_a'] == 'ref' and j['rows'][1]['total']['verdict'] == 'only A'"

# ---- a 2x shift, across backends and runs: significant, 2 inside the interval ----
run 0 compare 1 3 --db fx.db --a onednn --b pytorch
has out "B: run 3 in fx.db, backend pytorch (peer"
has out "onednn/pytorch"
has out "B slower (+"
has out "note: A and B ran at different times"
has out "alpha 0.05: 3 B slower, 0 B faster, 0 no significant difference, 0 no test"
run 0 compare 1 3 --db fx.db --a onednn --b pytorch --format json
json_check out "len(j['rows']) == 1 and j['rows'][0]['backend_b'] == 'pytorch'"
json_check out "all(r[p]['verdict'].startswith('B slower') and r[p]['p_value'] < 0.001 for p in ('total', 'fwd', 'bwd'))"
json_check out "1.8 < r['total']['ratio'] < 2.2 and r['total']['ratio_ci'][0] < 2 < r['total']['ratio_ci'][1]"
json_check out "1.8 < j['geomean']['total']['ratio'] < 2.2 and j['geomean']['total']['rows'] == 1"
# The other way round, B faster; one run against itself (two backends of run 1).
run 0 compare 3 1 --db fx.db --a pytorch --b onednn --format csv
has out "lenet,,,pytorch,onednn,2,2,2,total,"
has out ",B faster (-"
run 0 compare 1 --db fx.db --a onednn --b ref
has out "onednn/ref"
has out "B slower (+"
lacks out "note: A and B ran at different times"
# The database alone (the latest result of each backend): ref (2 D, run 1)
# against pytorch (2 D, run 3) are alike; onednn's latest is run 5's, of 2
# samples.
run 0 compare --db fx.db --a ref --b pytorch --format json
json_check out "r['total']['verdict'] == 'no significant difference'"
run 0 compare --db fx.db --a onednn --b pytorch
has out "no test: 2 samples"

# --layers: each layer of the nets too, matched by name, not in the geometric mean.
run 0 compare 1 3 --db fx.db --a onednn --b pytorch --layers --format json
json_check out "[x['layer'] for x in j['rows']] == [None, 0, 1] and j['rows'][1]['entry'] == 'conv1'"
json_check out "j['rows'][1]['fwd']['verdict'] == 'no significant difference' and j['rows'][1]['total']['verdict'] == '-'"
json_check out "j['rows'][2]['fwd']['verdict'].startswith('B slower') and 1.8 < j['rows'][2]['fwd']['ratio'] < 2.2 and j['rows'][2]['fwd']['ratio_ci'][0] > 1.5"
json_check out "j['geomean']['total']['rows'] == 1 and j['geomean']['fwd']['rows'] == 1"
run 0 compare 1 3 --db fx.db --a onednn --b pytorch --layers
has out "conv1"
has out "fc1"
has out "1 matched of 1; geometric mean of B/A (total): 2.026"

# ---- no test: rows without samples, too few samples --------------------------------
run 0 compare 1 4 --db fx.db --a onednn --b onednn
has out "no test: no samples"
run 0 compare 1 5 --db fx.db --a onednn --b onednn
has out "no test: 2 samples"
run 0 compare 1 5 --db fx.db --a onednn --b onednn --format json
json_check out "r['total']['p_value'] is None and r['total']['b']['samples'] == 2 and r['total']['ratio'] > 0"

# ---- machine against machine: two databases ---------------------------------------
cp fx.db other.db
run 0 compare fx.db other.db --any-threads
has out "A: fx.db, latest results of 5 runs (cmphost: Compare CPU)"
has out "no significant difference"
# --alpha changes the verdict's threshold and the intervals' level.
run 0 compare 1 2 --db fx.db --alpha 0.2
has out "B ms [80% CI]"
has out "alpha 0.2:"

# ---- bad input ---------------------------------------------------------------------
run 2 compare 1 2 --db fx.db --a onednn
has err "--a and --b go together"
run 2 compare 1 2 --db fx.db --alpha 0.7
has err "--alpha: expected a number above 0 and below 0.5, got '0.7'"
run 2 compare 1 2 --db fx.db --alpha x
has err "--alpha: expected a number"
run 2 compare 1 --db fx.db --a bogus --b ref
has err "A (--a bogus): no results of backend 'bogus' in 1"
run 2 compare 1 --db fx.db --a onednn --b ""
has err "--b: empty backend name"
sqlite3 other.db "UPDATE net_results SET total_samples_ms = '[1,2' WHERE run_id = 2"
run 2 compare 1 2 --db other.db
has err "B: net_results row 3, total_samples_ms: samples: expected ',' or ']'"

# ---- real bench runs store their samples -------------------------------------------
for i in 1 2; do
  run 0 bench "$root/netdefs/lenet.net" --batch 1 --iters 5 --warmup 1 --backend ref --db b.db --quiet
done
sql b.db "SELECT count(*) FROM net_results WHERE total_samples = 5 AND total_samples_ms LIKE '[%,%,%,%,%]'" "2"
sql b.db "SELECT count(*) = sum(fwd_samples_ms IS NOT NULL) FROM layer_results" "1"
run 0 compare 1 2 --db b.db --format json
json_check out "r['total']['a']['samples'] == 5 and r['total']['b']['samples'] == 5 and r['total']['p_value'] is not None"
finish
