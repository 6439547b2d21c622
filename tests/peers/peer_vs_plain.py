#!/usr/bin/python3
"""peer_vs_plain.py: checks that the PyTorch peer (scripts/peers/pytorch_bench.py)
times a conv layer of a .shapes file as a plain F.conv2d timing loop does.

The peer once reported a floor of 25-30 ms forward and 72 ms backward per
layer whatever its size (0.2 / 0.5 ms from a plain loop), because a full
gc.collect() of the whole interpreter (~100 ms with torch loaded) ran
right before every timed forward: the first parallel call after such a
pause is slow on a loaded machine. This test would catch that again.

  peer_vs_plain.py CONVBENCH PEER_SCRIPT THREADS

Writes a .shapes file of a few sizes, runs the peer on it (--format json,
--no-db) several times, and in this process (same thread settings: the
environment variables the peer sets and torch.set_num_threads) times the
same layers with a plain loop: y = F.conv2d(x, w, b, ...) timed, then
y.backward(dy) timed, the weight and bias gradients cleared between
iterations as the peer does. Each side: the minimum over iterations after
warm-up and over repeats (a loaded machine only adds time, so the minimum
is what both sides can reach; a floor like the issue's, a pause before
every timed call, raises every sample and so the minimum too), with
repeats added while a layer disagrees, up to a budget.
Fails (exit 1) when a peer minimum is outside [LOW, FACTOR] times the
plain loop's, with the table of both. Exit 77 when torch cannot be imported.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

FACTOR = 2.0
# A peer faster than the plain loop is not the floor this test guards
# against, and the plain loop's 1x1 forward has come out 2.3x slower than
# the peer's on every repeat in two CI runs here (not load: every repeat;
# the cause is not found); a peer that times nothing would be far faster
# still, so the lower bound is looser.
LOW = 0.25
# At least MIN_REPEATS repeats of each side, more (up to MAX_REPEATS) while
# some layer disagrees: minima only fall, so load spikes on either side wash
# out, while a peer that is slow on every repeat (the floor) stays slow.
MIN_REPEATS = 3
MAX_REPEATS = 8
ITERS = 11
WARMUP = 3
# name, C, H, W, K, R, stride, pad: a stride-3 layer (the issue's), a few
# sizes from 0.1 to a few ms at batch 4.
LAYERS = [
    ("s3", 32, 48, 48, 64, 3, 3, 0),
    ("k3", 64, 28, 28, 64, 3, 1, 1),
    ("k1", 64, 28, 28, 128, 1, 1, 0),
    ("k5", 32, 24, 24, 48, 5, 1, 2),
]
BATCH = 4


def plain_loop(torch, F, layer):
    """Minimum ms (forward, backward) of one plain timing loop."""
    _, c, h, w, k, r, stride, pad = layer
    g = torch.Generator().manual_seed(1)
    x = torch.rand((BATCH, c, h, w), generator=g) * 2 - 1
    weight = (torch.rand((k, c, r, r), generator=g) - 0.5).requires_grad_(True)
    bias = torch.zeros(k).requires_grad_(True)
    dy = None
    fwd, bwd = [], []
    for i in range(WARMUP + ITERS):
        weight.grad = bias.grad = None
        t0 = time.perf_counter()
        y = F.conv2d(x, weight, bias, stride=stride, padding=pad)
        t1 = time.perf_counter()
        if dy is None:
            dy = torch.rand(y.shape, generator=g) * 2 - 1
        t2 = time.perf_counter()
        y.backward(dy)
        t3 = time.perf_counter()
        if i >= WARMUP:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t3 - t2) * 1e3)
    return min(fwd), min(bwd)


def ratios(peer_best, plain_best, name):
    """(forward, backward) peer / plain ratios of a layer; inf when the peer
    did not report it."""
    if name not in peer_best:
        return float("inf"), float("inf")
    return tuple(p / q for p, q in zip(peer_best[name], plain_best[name]))


def disagreeing(peer_best, plain_best):
    """Names of the layers whose ratios are outside [LOW, FACTOR]."""
    return [layer[0] for layer in LAYERS
            if not all(LOW <= x <= FACTOR for x in ratios(peer_best, plain_best, layer[0]))]


def main(argv):
    convbench, peer, threads = argv[1], argv[2], int(argv[3])
    # The peer's thread settings (import_torch), before torch loads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print("skip: cannot import torch: %s" % e)
        return 77
    torch.set_num_threads(threads)

    with tempfile.TemporaryDirectory() as tmp:
        shapes = os.path.join(tmp, "sizes.shapes")
        with open(shapes, "w") as f:
            f.write("shapes name=sizes batch=%d\n" % BATCH)
            for name, c, h, w, k, r, stride, pad in LAYERS:
                f.write("conv name=%s input=%dx%dx%d out=%d k=%d stride=%d pad=%d\n" %
                        (name, c, h, w, k, r, stride, pad))
        peer_best = {}
        plain_best = {}
        # Peer and plain loop alternate, so that load drifts fall on both.
        for rep in range(MAX_REPEATS):
            r = subprocess.run(
                [sys.executable, peer, shapes, "--iters", str(ITERS), "--warmup", str(WARMUP),
                 "--threads", str(threads), "--no-db", "--quiet", "--format", "json",
                 "--convbench", convbench], capture_output=True, text=True, check=False)
            if r.returncode != 0:
                print("FAIL: the peer exited %d: %s" % (r.returncode, r.stderr[-2000:]))
                return 1
            for row in json.loads(r.stdout)["results"][0]["layers"]:
                t = (row["fwd"]["min_ms"], row["bwd"]["min_ms"])
                old = peer_best.get(row["name"], (float("inf"),) * 2)
                peer_best[row["name"]] = tuple(min(a, b) for a, b in zip(old, t))
            for layer in LAYERS:
                t = plain_loop(torch, F, layer)
                old = plain_best.get(layer[0], (float("inf"),) * 2)
                plain_best[layer[0]] = tuple(min(a, b) for a, b in zip(old, t))
            if rep + 1 >= MIN_REPEATS and not disagreeing(peer_best, plain_best):
                break
        print("%d repeats of each side" % (rep + 1))

    bad = 0
    print("%-4s %12s %12s %7s %12s %12s %7s" % ("name", "peer fwd ms", "plain fwd ms", "ratio",
                                               "peer bwd ms", "plain bwd ms", "ratio"))
    for layer in LAYERS:
        name = layer[0]
        if name not in peer_best:
            print("FAIL: the peer reported no layer %s" % name)
            return 1
        pf, pb = peer_best[name]
        qf, qb = plain_best[name]
        rf, rb = pf / qf, pb / qb
        ok = all(LOW <= x <= FACTOR for x in (rf, rb))
        bad += not ok
        print("%-4s %12.3f %12.3f %7.2f %12.3f %12.3f %7.2f%s" %
              (name, pf, qf, rf, pb, qb, rb, "" if ok else "  <- outside [%g, %g]" % (LOW, FACTOR)))
    if bad:
        print("FAIL: %d of %d layers: the peer's minima are not within [%g, %g] times a plain "
              "F.conv2d loop's" % (bad, len(LAYERS), LOW, FACTOR))
        return 1
    print("ok: %d layers within [%g, %g] times a plain loop" % (len(LAYERS), LOW, FACTOR))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
