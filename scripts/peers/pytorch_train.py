#!/usr/bin/python3
"""pytorch_train.py: trains a convbench netdef with PyTorch, the "pytorch"
peer of `convbench train`.

The model is never re-typed: it is built by pytorch_bench.py's Net from
`convbench show NET --format json` (every layer with convbench's shapes,
checked before training), and the solver is the one that JSON reports
(the netdef's `solver` line with convbench's defaults). The data, its
normalisation (pixels / 255, then the training set's mean and deviation),
the batch, the shuffling rule (a new order every epoch, the last
incomplete batch left out), the learning-rate policy (fixed, step, inv,
cosine, per update), weight decay as an L2 term in the gradient, and the
evaluation of the test set after every epoch all follow convbench train.
Differences that remain: PyTorch initialises the weights its own way,
draws its own shuffle from the seed, and its SGD applies the learning rate
after the momentum (v = m v + g; w -= lr v) where Caffe and convbench put
it inside (v = m v + lr g; w -= v): the same for a constant rate.

Threads: torch.set_num_threads(T), OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and MKL_NUM_THREADS (set before torch loads). Results go into convbench's
database as backend "pytorch" (train_epochs per epoch, train_steps every
--log-every steps, in batched transactions), in a run of kind "peer", with
the machine row convbench writes and a build row describing PyTorch.

Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or
input (nothing run, nothing recorded), 130 interrupted (recorded epochs
kept, the run marked interrupted).
"""

import argparse
import gzip
import math
import os
import shlex
import sqlite3
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cbpeer  # noqa: E402
import pytorch_bench as pb  # noqa: E402  (the model, the database, the torch setup)

PROG = "pytorch_train.py"
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
STEP_FLUSH = 256


def parse_args(argv):
    cores = pb.physical_cores()
    p = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Trains a convbench netdef with PyTorch (the 'pytorch' peer of 'convbench\n"
            "train'): the model from 'convbench show NET --format json', the solver of\n"
            "the netdef's solver line, the same data, normalisation, batch, shuffling\n"
            "rule, learning-rate policy and threads. Prints a line per epoch (test\n"
            "accuracy, images/s) and records epochs and steps in convbench's database\n"
            "as backend 'pytorch'."),
        epilog=(
            "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or\n"
            "input (nothing run, nothing recorded), 130 interrupted (recorded epochs\n"
            "kept, run marked interrupted)."))
    p.add_argument("netdef", metavar="NET.net", help="the netdef to train")
    p.add_argument("--data", metavar="D", default="fashion-mnist",
                   help="fashion-mnist (default: %s) or a directory of IDX files "
                   "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]" % FASHION_MNIST_DIR)
    p.add_argument("--epochs", metavar="E", type=cbpeer.int_in(1, 100000), default=1,
                   help="epochs (default 1)")
    p.add_argument("--batch", metavar="N", type=cbpeer.int_in(1, 2**31 - 1),
                   help="batch size (default: the netdef's batch=)")
    p.add_argument("--lr", metavar="X", type=float, help="base learning rate (default: the "
                   "solver line's lr=)")
    p.add_argument("--seed", metavar="S", type=cbpeer.int_in(0, 2**63 - 1), default=1,
                   help="seed for weights and shuffle (default 1)")
    p.add_argument("--threads", metavar="T", type=cbpeer.int_in(1, 4096), default=cores,
                   help="threads (default: physical cores, %d here)" % cores)
    p.add_argument("--limit", metavar="N", type=cbpeer.int_in(1, 2**62),
                   help="train on the first N training images only")
    p.add_argument("--test-limit", metavar="N", type=cbpeer.int_in(1, 2**62),
                   help="evaluate the first N test images only")
    p.add_argument("--log-every", metavar="N", type=cbpeer.int_in(1, 2**31 - 1), default=10,
                   help="record every Nth step (default 10)")
    cbpeer.add_db_args(p)
    cbpeer.add_convbench_args(p, "the convbench binary (default: %s)" % cbpeer.default_convbench())
    a = p.parse_args(argv)
    if a.lr is not None and not (0 < a.lr <= 10):
        p.error("--lr: expected a number above 0 and at most 10, got '%s'" % a.lr)
    cbpeer.check_db_arg(p, a)
    return a


# ---- data ------------------------------------------------------------------------------


def read_idx(path, rank):
    """The elements and dimensions of an IDX file of unsigned bytes (gzip or
    plain), with convbench's errors: each names the file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise cbpeer.PeerError("%s: cannot open: %s" % (path, e.strerror), cbpeer.EXIT_USAGE)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise cbpeer.PeerError("%s: truncated or corrupt gzip data (%s)" % (path, e),
                               cbpeer.EXIT_USAGE)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise cbpeer.PeerError("%s: not an IDX file" % path, cbpeer.EXIT_USAGE)
    if raw[2] != 8 or raw[3] != rank:
        raise cbpeer.PeerError("%s: IDX type 0x%02x rank %d, expected 0x08 (unsigned bytes) rank %d"
                           % (path, raw[2], raw[3], rank), cbpeer.EXIT_USAGE)
    if len(raw) < 4 + 4 * rank:
        raise cbpeer.PeerError("%s: truncated IDX header" % path, cbpeer.EXIT_USAGE)
    dims = struct.unpack(">%dI" % rank, raw[4:4 + 4 * rank])
    need = 4 + 4 * rank + math.prod(dims)
    if len(raw) < need:
        raise cbpeer.PeerError("%s: truncated: needs %d bytes, has %d" % (path, need, len(raw)),
                           cbpeer.EXIT_USAGE)
    return raw[4 + 4 * rank:need], dims


def idx_path(d, name):
    p = os.path.join(d, name + ".gz")
    return p if os.path.exists(p) else os.path.join(d, name)


def load_set(data, prefix, limit):
    """(images as uint8 N x 28 x 28 tensor, labels as int64 N) of one set."""
    d = FASHION_MNIST_DIR if data == "fashion-mnist" else data
    ipath = idx_path(d, "%s-images-idx3-ubyte" % prefix)
    lpath = idx_path(d, "%s-labels-idx1-ubyte" % prefix)
    pixels, (n, h, w) = read_idx(ipath, 3)
    labels, (nl,) = read_idx(lpath, 1)
    if nl != n:
        raise cbpeer.PeerError("%s: %d labels, but %s holds %d images" % (lpath, nl, ipath, n),
                           cbpeer.EXIT_USAGE)
    torch = pb.torch
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, 1, h, w)
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y, ipath


def normalise(x, mean, sd):
    return (x.to(pb.torch.float32) / 255.0 - mean) / sd


# ---- training ----------------------------------------------------------------------------


def lr_at(s, base, it, total):
    """convbench's cb_solver_lr: the rate of update `it` (from 0) of `total`."""
    if s["policy"] == "step":
        return base * s["gamma"] ** (it // s["step"])
    if s["policy"] == "inv":
        return base * (1.0 + s["gamma"] * it) ** (-s["power"])
    if s["policy"] == "cosine":
        t = min(it, total) / total if total > 1 else 0.0
        return base * 0.5 * (1.0 + math.cos(math.pi * t))
    return base


def make_optimizer(net, s, lr):
    torch = pb.torch
    params = [p for p in net.parameters() if p.requires_grad]
    if s["type"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(s["beta1"], s["beta2"]), eps=s["eps"],
                                weight_decay=s["weight_decay"])
    return torch.optim.SGD(params, lr=lr, momentum=s["momentum"],
                           weight_decay=s["weight_decay"])


def forward(net, x, labels):
    """(loss, scores): the whole net as Net.forward runs it, keeping the
    loss layer's input (the class scores) for the accuracy."""
    outs = [None] * len(net.layers)
    net.layers[-1].labels = labels
    scores = None
    for i, l in enumerate(net.layers):
        xs = [x if s < 0 else outs[s] for s in net.in_slots[i]]
        if i == len(net.layers) - 1:
            scores = pb.torch.flatten(xs[0], 1)
        outs[i] = l(*xs)
    return outs[-1], scores


def evaluate(net, x, y, mean, sd, batch):
    torch = pb.torch
    net.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            xb = normalise(x[start:start + batch], mean, sd)
            yb = y[start:start + batch]
            _, scores = forward(net, xb, yb)
            loss_sum += float(torch.nn.functional.cross_entropy(scores, yb, reduction="sum"))
            correct += int((scores.argmax(1) == yb).sum())
    net.train()
    return correct / len(y), loss_sum / len(y)


class Recorder:
    """train_steps and train_epochs rows, each batch of steps and each epoch
    one transaction."""

    def __init__(self, store, run_id, net, dataset, batch, threads):
        self.store, self.run_id = store, run_id
        self.common = {"run_id": run_id, "net": net, "backend": pb.BACKEND}
        self.dataset, self.batch, self.threads = dataset, batch, threads
        self.steps = []

    def step(self, row):
        if self.store:
            self.steps.append(dict(self.common, **row))
            if len(self.steps) >= STEP_FLUSH:
                self.flush()

    def flush(self):
        if not self.store or not self.steps:
            return
        c = self.store.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for row in self.steps:
                pb.insert(c, "train_steps", row)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        self.steps = []

    def epoch(self, row):
        self.flush()
        if not self.store:
            return
        c = self.store.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            pb.insert(c, "train_epochs", dict(self.common, dataset=self.dataset, batch=self.batch,
                                               threads=self.threads, created=pb.iso_now(), **row))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise


def train(a, net, desc, data, rec):
    torch = pb.torch
    xtr, ytr, xte, yte, mean, sd = data
    s = desc["solver"]
    base = a.lr if a.lr else s["lr"]
    batch = desc["nets"][0]["batch"]
    steps = len(ytr) // batch
    if steps < 1:
        raise cbpeer.PeerError("%d training images, fewer than one batch of %d" % (len(ytr), batch),
                           cbpeer.EXIT_USAGE)
    total = steps * a.epochs
    opt = make_optimizer(net, s, base)
    g = torch.Generator().manual_seed(a.seed)
    net.train()
    t0 = time.monotonic()
    last_progress = t0
    tty = sys.stderr.isatty()
    it = 0
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(ytr), generator=g)
        loss_sum = acc_sum = 0.0
        train_s = 0.0
        lr = base
        for k in range(steps):
            idx = order[k * batch:(k + 1) * batch]
            lr = lr_at(s, base, it, total)
            for group in opt.param_groups:
                group["lr"] = lr
            t = time.monotonic()
            xb = normalise(xtr[idx], mean, sd)
            yb = ytr[idx]
            opt.zero_grad(set_to_none=True)
            loss, scores = forward(net, xb, yb)
            loss.backward()
            opt.step()
            dt = time.monotonic() - t
            train_s += dt
            loss_v = float(loss)
            acc = float((scores.argmax(1) == yb).float().mean())
            loss_sum += loss_v
            acc_sum += acc
            it += 1
            if not math.isfinite(loss_v):
                raise cbpeer.PeerError("the loss is %g: training diverged (lower --lr)" % loss_v)
            if (it - 1) % a.log_every == 0:
                rec.step({"epoch": epoch, "step": it, "loss": loss_v, "accuracy": acc, "lr": lr,
                          "images_per_s": batch / dt if dt > 0 else None,
                          "seconds": time.monotonic() - t0})
            now = time.monotonic()
            if not a.quiet and now - last_progress >= (0.25 if tty else 5.0):
                last_progress = now
                sys.stderr.write("%strain %s [pytorch]: epoch %d/%d, step %d/%d, loss %.4f, "
                                 "%.0f images/s [%.0f s]%s" %
                                 ("\r\033[K" if tty else "", desc["name"], epoch, a.epochs,
                                  k + 1, steps, loss_v, batch / dt if dt > 0 else 0,
                                  now - t0, "" if tty else "\n"))
                sys.stderr.flush()
        test_acc, test_loss = evaluate(net, xte, yte, mean, sd, batch)
        if not a.quiet and tty:
            sys.stderr.write("\r\033[K")
        ips = steps * batch / train_s if train_s > 0 else 0.0
        rec.epoch({"epoch": epoch, "steps": steps, "train_loss": loss_sum / steps,
                   "train_accuracy": acc_sum / steps, "test_loss": test_loss,
                   "test_accuracy": test_acc, "lr": lr, "images_per_s": ips,
                   "epoch_seconds": train_s, "seconds": time.monotonic() - t0})
        print("epoch %d/%d: train loss %.4f accuracy %.2f%%, test loss %.4f accuracy %.2f%% "
              "(%d images), %.0f images/s, %.1f s (lr %.3g)" %
              (epoch, a.epochs, loss_sum / steps, 100 * acc_sum / steps, test_loss,
               100 * test_acc, len(yte), ips, train_s, lr))
        sys.stdout.flush()


def run(a):
    convbench = a.convbench or cbpeer.default_convbench()
    if not (os.path.isfile(convbench) and os.access(convbench, os.X_OK)):
        raise cbpeer.PeerError("no convbench at %s: build it (cmake --build build) or pass "
                           "--convbench PATH" % convbench)
    show = ["show", a.netdef, "--format", "json"]
    if a.batch:
        show += ["--batch", str(a.batch)]
    desc = pb.convbench_json(convbench, show)
    if desc["shapes"] or "solver" not in desc:
        raise cbpeer.PeerError("%s: %s" % (a.netdef, "a .shapes file, not a net" if desc["shapes"]
                                       else "this convbench's 'show' reports no solver"),
                           cbpeer.EXIT_USAGE)
    machine = pb.convbench_json(convbench, ["devices", "--format", "json"])
    pb.import_torch(a.threads)
    pb.define_modules()
    info = pb.describe_torch()
    torch = pb.torch

    xtr, ytr, ipath = load_set(a.data, "train", a.limit)
    xte, yte, _ = load_set(a.data, "t10k", a.test_limit)
    spec = desc["nets"][0]
    if tuple(spec["input"]) != tuple(xtr.shape[1:]):
        raise cbpeer.PeerError("net %s takes input %s, but the images of %s are %s" %
                           (spec["name"], "x".join(map(str, spec["input"])), ipath,
                            "x".join(map(str, xtr.shape[1:]))), cbpeer.EXIT_USAGE)
    pixels = xtr.to(torch.float64) / 255.0
    mean, sd = float(pixels.mean()), float(pixels.std(unbiased=False))
    del pixels
    net = pb.Net(spec, False, a.seed)
    net.verify()  # every layer's shape against convbench's, before training

    store = None
    if a.db is not None:
        store = pb.Store(a.db, int(machine["schema_version"]), convbench)
    with cbpeer.Recording(store) as rec:
        if store:
            rec.run_id = store.run_begin(store.put_machine(machine), store.put_build(info),
                                         shlex.join([PROG] + sys.argv[1:]), a.seed, a.threads)
        recorder = Recorder(store, rec.run_id, desc["name"], a.data, spec["batch"], a.threads)
        s = desc["solver"]
        print("train %s on %s with PyTorch %s: %d training and %d test images, batch %d, "
              "%d epoch%s, %d thread%s, %s lr %g (policy %s), seed %d" %
              (desc["name"], a.data, info["version"], len(ytr), len(yte), spec["batch"],
               a.epochs, "" if a.epochs == 1 else "s", a.threads, "" if a.threads == 1 else "s",
               s["type"], a.lr or s["lr"], s["policy"], a.seed))
        sys.stdout.flush()
        try:
            train(a, net, desc, (xtr, ytr, xte, yte, mean, sd), recorder)
        finally:
            recorder.flush()
        rec.ok()
    if rec.interrupted:
        sys.stderr.write("%s: interrupted; %s\n" % (
            PROG, "recorded epochs were kept, run marked interrupted"
            if rec.run_id is not None else "nothing recorded"))
        return cbpeer.EXIT_INTERRUPTED
    return cbpeer.EXIT_OK

def main(argv):
    return cbpeer.run_main(PROG, parse_args(argv), run, (sqlite3.Error, RuntimeError, OSError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
