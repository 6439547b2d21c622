#!/usr/bin/env bash
# scripts/bench/depthwise.sh: our cpu backend's depthwise variant against
# oneDNN (and our im2col/direct, which computed depthwise before) on the 3x3
# depthwise layers of MobileNet v1, all three directions. Each key is one
# `convbench run --backend cpu,onednn` (every variant interleaved round by
# round, checked against ref); OUT/summary.md has per layer and direction
# cpu/depthwise's median, oneDNN's best median, their ratio, im2col's
# median, and depthwise's GB/s against the bytes a layer must move (x, w
# and y, or their gradients, each read or written once: the layers are
# bound by memory, not flops).
#
#   scripts/bench/depthwise.sh [--batch 8] [--threads 2] [--iters 10] [--out DIR]
set -euo pipefail
batch=8 threads=2 rounds=1 iters=10 out="" nets=""
usage_lines=12
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_args "$@"
bench_setup depthwise
[[ $threads =~ ^[0-9]+$ ]] || { echo "depthwise.sh: --threads takes one number" >&2; exit 2; }

# MobileNet v1's depthwise layers (224x224 input): channels, image, stride.
layers="32:112:1 64:112:2 128:56:1 128:56:2 256:28:1 256:28:2 512:14:1 512:14:2 1024:7:1"
csv=$out/runs.csv
: >"$csv"
for l in $layers; do
  IFS=: read -r c hw u <<<"$l"
  for op in conv_fwd conv_bwd_data conv_bwd_filter; do
    key="$op:f32:nchw:n${batch}c${c}h${hw}w${hw}_k${c}r3s3_p1x1_u${u}x${u}_d1x1_g${c}"
    log "$key"
    "$cb" run "$key" --backend cpu,onednn --threads "$threads" --iters "$iters" --no-db \
      --format csv --quiet | grep -v '^#' >>"$csv"
  done
done

$py - "$csv" >"$out/summary.md" <<'EOF'
import csv, re, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r and r[0] != "key"]
by = {}
for r in rows:
    by.setdefault(r[0], []).append(r)
print("| layer | op | cpu/depthwise ms | onednn best ms (variant) | ratio | cpu/im2col ms | depthwise GB/s |")
print("|---|---|---|---|---|---|---|")
for key, rs in by.items():
    op, shape = key.split(":")[0], key.split(":")[3]
    n, c, h, w, k, r, s, ph, pw, uh, uw, dh, dw = map(int, re.findall(r"\d+", shape)[:13])
    p = (h + 2 * ph - dh * (r - 1) - 1) // uh + 1
    q = (w + 2 * pw - dw * (s - 1) - 1) // uw + 1
    nbytes = 4 * (n * c * h * w + k * r * s + n * k * p * q)
    ms = {(x[1], x[2]): float(x[6]) for x in rs}
    dwms = ms.get(("cpu", "depthwise"))
    one = min(((v, var) for (b, var), v in ms.items() if b == "onednn"), default=None)
    im = ms.get(("cpu", "im2col"))
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    ratio = f"{dwms / one[0]:.2f}" if dwms and one else "-"
    gbs = f"{nbytes / dwms / 1e6:.1f}" if dwms else "-"
    print(f"| {shape} | {op} | {fmt(dwms)} | {fmt(one[0] if one else None)} ({one[1] if one else '-'}) "
          f"| {ratio} | {fmt(im)} | {gbs} |")
EOF
cat "$out/summary.md"
