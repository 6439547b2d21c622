#!/usr/bin/env bash
# test_gpu_cli.sh: the GPU-facing parts of the CLI, on any machine: how
# devices, run, tune and bench report GPUs and GPU backends, their usage
# errors, and (with no GPU) the driver's reason. With a GPU it checks the
# GPU listing instead.
#   test_gpu_cli.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"

run 0 devices
cp out devices.txt
has out "backends:"
gpu_built=0
grep -q "^  cuda " devices.txt && gpu_built=1
if grep -q "^gpus:" devices.txt; then
  has out "device fingerprint: gpu:"
  has out "compute capability"
else
  # No GPU: one line with the reason, and every GPU backend unavailable.
  has out "cuda: unavailable ("
fi
if [[ $gpu_built == 1 ]]; then
  # Every GPU backend is listed with its variants, available or not.
  has out "im2col_gemm, direct"
  has out "find, implicit_gemm, implicit_precomp_gemm"
  has out "sgemm_tiled"
fi

# JSON: "cuda" is "ok" with a GPU list, or the reason with an empty one.
run 0 devices --format json
checks=$((checks + 1))
python3 -c '
import json, sys
d = json.load(open("out"))
assert (d["cuda"] == "ok") == (len(d["gpus"]) > 0), d["cuda"]
for g in d["gpus"]:
    assert g["fingerprint"].startswith("gpu:"), g
' || fail "devices --format json: bad cuda/gpus fields: $(head -c 600 out)"

# Usage errors exit 2 and name the flag.
run 2 tune "$root/netdefs/lenet.net" --device gpu0 --db t.db
has err "--device: device 'gpu0': expected cpu or cuda:N"
run 2 bench "$root/netdefs/lenet.net" --device cpu --no-db
has err "--device: expected cuda:N, got 'cpu'"
run 0 run --help
has out "CUDA events"
run 0 tune --help
has out "--device D"
run 0 bench --help
has out "layer and net times INCLUDE"

if [[ $gpu_built == 1 ]]; then
  run 2 tune "$root/netdefs/lenet.net" --backends cudnn,openblas --db t.db
  has err "tune the host and GPU backends separately"
  if grep -q "^cuda: unavailable" devices.txt; then
    # Without a GPU: the reason, a failure exit, nothing half-written.
    run 1 tune "$root/netdefs/lenet.net" --backends cuda --db t.db --quiet
    has err "cuda:0: unavailable (cuda: "
    run 1 bench "$root/netdefs/lenet.net" --backend cudnn --no-db --quiet
    has err "backend cudnn: cuda: "
    has err "layer-level staging"
    run 1 run "conv_fwd:f32:nchw:n1c3h8w8_k4r3s3_p1x1_u1x1_d1x1_g1" --backend cufft
    has out "cufft     unavailable: cuda: "
  fi
fi

finish
