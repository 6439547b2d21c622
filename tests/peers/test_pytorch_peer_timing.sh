#!/usr/bin/env bash
# test_pytorch_peer_timing.sh: the PyTorch peer's per-layer times on a
# .shapes file agree (within 2x, medians after warm-up, minimum over
# repeats) with a plain F.conv2d timing loop in the same thread settings,
# at a few sizes (tests/peers/peer_vs_plain.py). Catches a per-layer floor
# such as the one a gc.collect() before every timed layer caused. Skips (77)
# when /usr/bin/python3 cannot import torch.
#   test_pytorch_peer_timing.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/../cli/lib.sh"
peer_init pytorch_bench.py
need_torch

# Two threads where the machine has them: the floor came from waking the
# OpenMP workers, which one thread does not have.
threads=2
checks=$((checks + 1))
"$py" "$root/tests/peers/peer_vs_plain.py" "$cb" "$peer" "$threads" >out 2>&1
rc=$?
cat out
[[ $rc == 0 ]] || fail "the peer's times differ from a plain F.conv2d loop's (exit $rc)"
finish
