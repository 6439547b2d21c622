#!/usr/bin/env bash
# scripts/bench/backends.sh: the CPU backends against each other and against
# PyTorch 1.13, on convnet-benchmarks' L1..L5 (each layer alone, with its
# input gradient as convnet-benchmarks' Caffe runs do) and AlexNet (whole
# net, first conv without input gradient as Torch's runs do).
#
# For each thread count, R rounds; each round runs convbench (the backends
# interleaved inside one process, default variants) and the PyTorch peer,
# alternating which goes first, so slow drift of the shared machine falls on
# both. Then every variant of every backend on every conv problem of those
# layers (`convbench run --no-check`: correctness is the tests' job).
# Everything lands in OUT/results.db and CSV files; summarize_backends.py
# turns them into OUT/summary.md (medians over rounds).
#
#   scripts/bench/backends.sh [--batch 16] [--threads "1 2"] [--rounds 3] [--iters 5]
#                             [--nets "shapes alexnet"] [--no-variants] [--out DIR]
set -euo pipefail
batch=16 threads="1 2" rounds=3 iters=5 out="" nets="shapes alexnet" variants=1
usage_lines=16
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_option() { [[ $1 == --no-variants ]] && variants=0; }
bench_args "$@"
bench_setup backends
echo "backends: $backends; batch $batch; threads $threads; $rounds rounds of $iters iterations; out $out" >&2

for t in $threads; do
  for r in $(seq 1 "$rounds"); do
    for what in $nets; do
      if [[ $what == shapes ]]; then net=$root/netdefs/layers.shapes grad=--input-grad
      else net=$root/netdefs/alexnet-owt.net grad=""; fi
      common=(--batch "$batch" --threads "$t" --iters "$iters" --warmup 1 --db "$out/results.db" --quiet --format csv $grad)
      run_cb() { log "convbench $what t=$t round $r"; "$cb" bench "$net" --backend "$backends" "${common[@]}" >"$out/${what}_cb_t${t}_r${r}.csv"; }
      run_pt() { log "pytorch $what t=$t round $r"; $py "$peer" "$net" --convbench "$cb" "${common[@]}" >"$out/${what}_pytorch_t${t}_r${r}.csv"; }
      if (( r % 2 )); then run_cb; run_pt; else run_pt; run_cb; fi
    done
  done
  [[ $variants == 1 ]] || continue
  log "variants t=$t"
  keys=$( { "$cb" show "$root/netdefs/layers.shapes" --batch "$batch" --format json
            "$cb" show "$root/netdefs/alexnet-owt.net" --batch "$batch" --format json; } |
          $py -c 'import json,sys
dec=json.JSONDecoder(); s=sys.stdin.read(); i=0; seen=[]
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    d, i = dec.raw_decode(s, i)
    for n in d["nets"]:
        for l in n["layers"]:
            if l["kind"] == "conv":
                seen += [k for k in l["problems"] if k not in seen]
print("\n".join(seen))')
  echo "key,backend,variant,params,check,threads,median_ms,min_ms,mad_ms,samples,gflops,peak_gflops,impl,noise,over_peak" >"$out/variants_t${t}.csv"
  for key in $keys; do
    for b in ${backends//,/ }; do
      "$cb" run "$key" --backend "$b" --threads "$t" --iters "$iters" --warmup 1 --no-check --format csv 2>/dev/null |
        grep -v '^#' | tail -n +2 >>"$out/variants_t${t}.csv" || true
    done
  done
done
$py "$root/scripts/bench/summarize_backends.py" "$out" >"$out/summary.md"
log "done: $out/summary.md"
