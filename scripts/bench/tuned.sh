#!/usr/bin/env bash
# scripts/bench/tuned.sh: the autotuner's benchmark (issue 5). On each net:
#
#   1. convbench tune (batch B, T threads), timed; then the same tune again,
#      timed, which finds the cache warm;
#   2. R rounds, each running `convbench bench --backend tuned,<every
#      backend>` (interleaved in one process) and the PyTorch peer,
#      alternating which goes first so drift of the shared machine falls on
#      both; totals are medians over rounds of per-round medians.
#
# Each step runs under an exclusive lock on /tmp/cb-bench.lock, so builds and
# tests that take the lock shared never overlap a measurement.
# Everything lands in OUT/results.db, OUT/*.csv and OUT/tune_times.txt;
# summarize_tuned.py writes OUT/summary.md.
#
#   scripts/bench/tuned.sh [--batch 16] [--threads 2] [--rounds 3] [--iters 3]
#                          [--nets "alexnet-owt overfeat-fast vgg-a googlenet-v1 layers"]
#                          [--out DIR]
set -euo pipefail
batch=16 threads=2 rounds=3 iters=3 out=""
nets="alexnet-owt overfeat-fast vgg-a googlenet-v1 layers"
usage_lines=18
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_args "$@"
bench_setup tuned
lock="flock -x /tmp/cb-bench.lock"
netfile() { if [[ $1 == layers ]]; then echo "$root/netdefs/layers.shapes"; else echo "$root/netdefs/$1.net"; fi; }
log "backends $backends; batch $batch; $threads threads; $rounds rounds of $iters iterations; out $out"

log "peak"
$lock "$cb" peak --threads "$threads" --db "$out/results.db" >"$out/peak.txt"
: >"$out/tune_times.txt"
for pass in first second; do
  for net in $nets; do
    log "tune $net ($pass)"
    t0=$(date +%s.%N)
    $lock "$cb" tune "$(netfile "$net")" --batch "$batch" --threads "$threads" \
      --db "$out/results.db" --quiet >"$out/tune_${net}_${pass}.txt"
    t1=$(date +%s.%N)
    # the tune's own report of its time excludes waiting for the lock
    secs=$(grep -o 'in [0-9.]* s$' "$out/tune_${net}_${pass}.txt" | tail -1 | awk '{print $2}')
    echo "$pass $net ${secs:-?} $(tail -1 "$out/tune_${net}_${pass}.txt")" >>"$out/tune_times.txt"
    log "  $(tail -1 "$out/tune_${net}_${pass}.txt") (wall with lock wait $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
  done
done

for r in $(seq 1 "$rounds"); do
  for net in $nets; do
    common=(--batch "$batch" --threads "$threads" --iters "$iters" --warmup 1 --db "$out/results.db"
            --quiet --format csv)
    run_cb() { log "convbench $net round $r"; $lock "$cb" bench "$(netfile "$net")" --backend "tuned,$backends" "${common[@]}" >"$out/${net}_cb_r${r}.csv"; }
    run_pt() { log "pytorch $net round $r"; $lock $py "$peer" "$(netfile "$net")" --convbench "$cb" "${common[@]}" >"$out/${net}_pytorch_r${r}.csv"; }
    if (( r % 2 )); then run_cb; run_pt; else run_pt; run_cb; fi
  done
done
$py "$root/scripts/bench/summarize_tuned.py" "$out" >"$out/summary.md"
log "done: $out/summary.md"
