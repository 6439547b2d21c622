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
# With --convbench PATH (another build, e.g. main's before a change), step 1
# also times `tune` with that binary, net by net beside this one (which goes
# first alternates), each into a fresh database of its own (OUT/tune_other.db;
# this build's is OUT/results.db), and tune_diff.py counts the winners that
# differ between the two by more than 5% (OUT/tune_diff.txt). --tune-only
# stops after step 1.
#
#   scripts/bench/tuned.sh [--batch 16] [--threads 2] [--rounds 3] [--iters 3]
#                          [--nets "alexnet-owt overfeat-fast vgg-a googlenet-v1 layers"]
#                          [--convbench PATH] [--tune-only] [--out DIR]
set -euo pipefail
batch=16 threads=2 rounds=3 iters=3 out=""
nets="alexnet-owt overfeat-fast vgg-a googlenet-v1 layers"
usage_lines=25
other="" tune_only=0
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rest=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --convbench)
      [[ $# -ge 2 && -x $2 ]] || { echo "$(basename "$0"): --convbench needs an executable convbench, got '${2:-}'" >&2; exit 2; }
      other=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --tune-only) tune_only=1; shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
bench_args ${rest[@]+"${rest[@]}"}
bench_setup tuned
lock="flock -x /tmp/cb-bench.lock"
netfile() { if [[ $1 == layers ]]; then echo "$root/netdefs/layers.shapes"; else echo "$root/netdefs/$1.net"; fi; }
log "backends $backends; batch $batch; $threads threads; $rounds rounds of $iters iterations; out $out"

log "peak"
$lock "$cb" peak --threads "$threads" --db "$out/results.db" >"$out/peak.txt"
: >"$out/tune_times.txt"
# tune_one LABEL BINARY DB NET PASS: one timed tune, its line in tune_times.txt
tune_one() {
  local label=$1 bin=$2 db=$3 net=$4 pass=$5 t0 t1 secs
  log "tune $net ($label, $pass)"
  t0=$(date +%s.%N)
  $lock "$bin" tune "$(netfile "$net")" --batch "$batch" --threads "$threads" \
    --db "$db" --quiet >"$out/tune_${label}_${net}_${pass}.txt"
  t1=$(date +%s.%N)
  # the tune's own report of its time excludes waiting for the lock
  secs=$(grep -o 'in [0-9.]* s$' "$out/tune_${label}_${net}_${pass}.txt" | tail -1 | awk '{print $2}')
  echo "$label $net ${secs:-?}" >>"$out/tune_compare.txt"
  log "  $(tail -1 "$out/tune_${label}_${net}_${pass}.txt") (wall with lock wait $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
}
if [[ -n $other ]]; then
  : >"$out/tune_compare.txt"
  log "before/after: $other against $cb"
  rm -f "$out/tune_other.db"
  i=0
  for net in $nets; do
    # the same session, alternating which binary goes first
    if (( i++ % 2 )); then
      tune_one this "$cb" "$out/results.db" "$net" first
      tune_one other "$other" "$out/tune_other.db" "$net" first
    else
      tune_one other "$other" "$out/tune_other.db" "$net" first
      tune_one this "$cb" "$out/results.db" "$net" first
    fi
  done
  $py "$root/scripts/bench/tune_diff.py" "$out/tune_other.db" "$out/results.db" >"$out/tune_diff.txt"
  log "winners: $(head -1 "$out/tune_diff.txt")"
fi
for pass in first second; do
  # with --convbench this build's first tune is done above
  [[ -n $other && $pass == first ]] && continue
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

if (( tune_only )); then
  $py "$root/scripts/bench/summarize_tuned.py" "$out" >"$out/summary.md"
  log "done (tune only): $out/summary.md"
  exit 0
fi
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
