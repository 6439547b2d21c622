#!/usr/bin/env bash
# test_bench_compare.sh: the first command's behaviour. `bench` without --backend
# runs the tuned plan (the heuristic plan with an empty cache or --no-db),
# never ref, and says on stderr how the ops were chosen; `bench --compare`
# prints one table with the plan row, every host library backend of this
# build, and PyTorch (or a note when it cannot run), sorted by total, with
# ratios to PyTorch, and records PyTorch's two halves as one run.
#   test_bench_compare.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"
need_sqlite3
lenet="$root/netdefs/lenet.net"

# ---- bench's default is the tuned plan, not ref ---------------------------------------
run 0 bench "$lenet" --batch 2 --iters 1 --db fresh.db --format json
has err "note: tuned: 0 of 12 ops exact cache hits, 0 from the same device generation, 12 heuristic picks"
has err "the heuristic plan"
checks=$((checks + 1))
python3 -c '
import json
d = json.load(open("out"))
r = d["results"]
assert [x["backend"] for x in r] == ["tuned"], r
ops = [l for l in r[0]["layers"] if l["kernels"] != "-"]
assert len(ops) == 4, ops
bad = [l["kernels"] for l in ops if "ref/" in l["kernels"] or "(heuristic)" not in l["kernels"]]
assert not bad, bad
' || fail "bench without --backend did not run the heuristic tuned plan: $(head -c 800 out)"
sql fresh.db "select group_concat(backend) from net_results" "tuned"
run 0 bench "$lenet" --batch 2 --iters 1 --no-db
has out ", backend tuned"
lacks out "ref/"
# ref only when asked for
run 0 bench "$lenet" --batch 2 --iters 1 --no-db --backend ref
has out ", backend ref"
has out "ref/direct"

# ---- --compare: bad combinations --------------------------------------------------------
run 2 bench "$lenet" --compare --backend ref --no-db
has err "--compare times its own set of backends: drop --backend"
run 2 bench "$lenet" --compare --format json --no-db
has err "--compare prints a table only"
run 0 bench --help
has out "--compare"
has out "half its iterations before that"

# libraries: the host backends of this build, but ref, that are available.
libs=$("$cb" devices --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(b["name"] for b in d["backends"]
               if b["available"] and b["name"] in ("cpu", "openblas", "onednn", "fftw")))')

# check_table FILE: the comparison table's rows (Backend and vs PyTorch
# columns), their order by total, the noise column and the load line.
check_table() {
  has "$1" "| lenet   | tuned (heuristic plan: 0 of 12 ops cached)"
  has "$1" "| Noise (total)"
  has "$1" "during the measurements: load (1 min)"
  for b in $libs; do
    checks=$((checks + 1))
    grep -qE "^\| lenet +\| $b( \*)? +\|" "$1" || fail "no $b row: $(cat "$1")"
  done
  checks=$((checks + 1))
  awk -F'|' '/^\| lenet / {gsub(/ /, "", $4); print $4}' "$1" | sort -c -g ||
    fail "rows are not sorted by total: $(cat "$1")"
}

# ---- --compare without PyTorch: a note, the other rows --------------------------------
CB_PEER_PYTHON=/nonexistent/python3 run 0 bench "$lenet" --compare --batch 2 --iters 2 --no-db --quiet
check_table out
lacks out "| pytorch"
has out "no pytorch row: no Python at /nonexistent/python3"
has err "note: no pytorch row"

# ---- --compare with PyTorch, when /usr/bin/python3 has torch --------------------------
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  run 0 bench "$lenet" --compare --batch 2 --iters 4 --threads 1 --db c.db --quiet
  check_table out
  has out "PyTorch 2 iterations before that block and 2 after"
  checks=$((checks + 1))
  grep -qE "^\| lenet +\| pytorch +\|.*\| +1\.00 \| (ok|noisy|preempted) [^|]*\|$" out || fail "no pytorch row: $(cat out)"
  # every other row has its ratio to PyTorch
  checks=$((checks + 1))
  n=$(grep -E "^\| lenet " out | grep -v pytorch | grep -cvE "\| +[0-9]+\.[0-9]{2}x (faster|slower) \| (ok|noisy|preempted) [^|]*\|$")
  [[ $n == 0 ]] || fail "$n rows without a ratio to PyTorch: $(cat out)"
  # the ratio is PyTorch's total over the row's
  checks=$((checks + 1))
  awk -F'|' '/^\| lenet / {gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $7); t[$3] = $4; r[$3] = $7}
    END {p = t["pytorch"]; for (b in t) if (b != "pytorch") {
      want = p >= t[b] ? sprintf("%.2fxfaster", p / t[b]) : sprintf("%.2fxslower", t[b] / p)
      # totals are printed to 0.1 ms: allow that rounding (0.05 ms on each
      # total, relative to totals of half a millisecond on lenet) and 2%
      split(r[b], x, "x"); split(want, y, "x")
      tol = y[1] * (0.05 / t[b] + 0.05 / p + 0.02) + 0.02
      if (x[2] != y[2] && (x[1] > 1 + tol || y[1] > 1 + tol)) { print b ": " r[b] " vs " want; bad = 1 }
      if (x[2] == y[2] && (x[1] - y[1] > tol || y[1] - x[1] > tol)) {
        print b ": " r[b] " vs " want; bad = 1 } }
      exit bad}' out >ratio.err || fail "ratios do not match the totals: $(cat ratio.err)"
  # one PyTorch run holding all 4 iterations (both halves), beside convbench's run
  sql c.db "select kind, status from runs order by id" "bench|ok
peer|ok"
  sql c.db "select total_samples, iters from net_results where backend = 'pytorch'" "4|4"
  sql c.db "select count(*) from net_results where backend != 'pytorch'" "$((1 + $(wc -w <<<"$libs")))"
  # Ctrl-C while PyTorch times its first half: both runs marked interrupted
  "$cb" bench "$lenet" --compare --batch 2 --iters 4000 --threads 1 --db int.db --quiet >out 2>err &
  interrupt $! "bench --compare" int.db "select count(*) from runs where kind = 'peer'"
  sql int.db "select group_concat(kind || ':' || status) from (select * from runs order by id)" \
    "bench:interrupted,peer:interrupted"
else
  echo "note: /usr/bin/python3 cannot import torch: the pytorch row is not checked"
  run 0 bench "$lenet" --compare --batch 2 --iters 2 --no-db --quiet
  has out "no pytorch row: the PyTorch peer exited with status 1"
fi

finish
