#!/usr/bin/python3
"""pytorch_bench.py: times a convbench netdef with PyTorch, the "pytorch" peer.

The model is never re-typed: `convbench show NET --format json` describes
the net exactly as convbench builds it (every layer with its inputs,
shapes, keys, parameters and kernel problem keys), and this script turns
that description into PyTorch modules, checks that every layer's output
has convbench's shape, and times it the way `convbench bench` does
(harness/bench.c): warm-up iterations, then timed iterations, median and
minimum per layer and per pass, in training mode, the net input without a
gradient unless --input-grad.

Two measurements per net, both reported:
  layerwise  each layer run alone, in order, on detached copies of its
             inputs: forward timed per layer, then backward per layer in
             reverse (torch.autograd.backward on the layer's output with
             the gradient that flowed from later layers). Comparable with
             convbench's per-layer table.
  native     the whole model as users run it: model(x), then
             loss.backward(). The convnet-benchmarks row.
A .shapes file times each entry alone, layerwise only.

Nothing but the layer's own work sits between two timed calls: no
garbage collection (a full gc.collect() before each round once put a
~100 ms single-thread pause, and so a slow first parallel call, into every
layer: a floor of 25-30 ms whatever the layer's size; tests/peers/
peer_vs_plain.py checks the peer against a plain F.conv2d loop). What
PyTorch itself does per iteration stays in: each backward writes new
gradient tensors (zero_grad(set_to_none=True)), and glibc maps and faults
in every block over 32 MB afresh (fc6 of AlexNet: a 151 MB weight
gradient, tens of ms per iteration that convbench's preallocated buffers
do not pay).

--pause-at H and --format summary are how 'convbench bench --compare'
drives this script: half the iterations before convbench times its own
backends, half after, and one line of totals for its table.

Results go into convbench's SQLite database (results.db, --db, --no-db)
as backend "pytorch", beside convbench's own, with the machine row
convbench would write, a build row describing PyTorch, and a run of kind
"peer". Run with Debian's /usr/bin/python3 (python3-torch). Standard
library plus torch only.

Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or
input (nothing run, nothing recorded), 130 interrupted (finished nets kept,
the run marked interrupted).
"""

import argparse
import ctypes
import datetime
import gc
import glob
import hashlib
import json
import math
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cbpeer import (EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE,  # noqa: E402,F401
                    PeerError, add_convbench_args, add_db_args, check_convbench_arg,
                    check_db_arg, default_convbench, int_in, Recording, run_main)
from cbpeer import samples_text  # noqa: E402

# torch is imported by import_torch(), after the thread count is in the
# environment: OpenMP and OpenBLAS read it once, when they load.
torch = None
nn = None
F = None

BACKEND = "pytorch"
# PRAGMA application_id of convbench's databases ("CBNC"; autotune/db/migrations.c).
CB_APPLICATION_ID = 1128418883
PROG = "pytorch_bench.py"


# ---- arguments -------------------------------------------------------------------


def physical_cores():
    """Physical cores, as convbench's default thread count (hwloc cores):
    distinct (package, core) pairs in sysfs, else the CPU count."""
    pairs = set()
    for d in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology"):
        try:
            with open(d + "/physical_package_id") as f:
                pkg = f.read().strip()
            with open(d + "/core_id") as f:
                core = f.read().strip()
        except OSError:
            continue
        pairs.add((pkg, core))
    return len(pairs) or os.cpu_count() or 1


def parse_args(argv):
    """The command line; argparse exits 2 on bad arguments (as convbench)."""
    cores = physical_cores()
    p = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Times a convbench netdef with PyTorch (the 'pytorch' peer), with the\n"
            "options of 'convbench bench'. The model comes from 'convbench show NET\n"
            "--format json', so its shapes are convbench's; every layer's output shape\n"
            "is checked before anything is timed.\n"
            "\n"
            "Two measurements per net: 'layerwise', each layer run alone on detached\n"
            "inputs, forward then backward per layer (comparable with convbench's\n"
            "per-layer table), and 'native', model(x) then loss.backward() as users\n"
            "run it (the convnet-benchmarks row). A .shapes file times each entry\n"
            "alone, layerwise only; its totals are sums over entries. Training mode;\n"
            "the net input gets no gradient unless --input-grad."),
        epilog=(
            "Results are recorded in convbench's database as backend 'pytorch' (run\n"
            "kind 'peer'). A database that does not exist yet is created by\n"
            "'convbench db init --db PATH', so that its schema comes from convbench.\n"
            "\n"
            "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or\n"
            "input (nothing run, nothing recorded), 130 interrupted (finished nets\n"
            "kept, run marked interrupted)."))
    p.add_argument("netdef", metavar="NET.net|LAYERS.shapes", help="the netdef to time")
    p.add_argument("--batch", metavar="N", type=int_in(1, 2**31 - 1),
                   help="batch size (default: the netdef's batch=)")
    p.add_argument("--iters", metavar="K", type=int_in(1, 1000000), default=10,
                   help="timed iterations (default 10)")
    p.add_argument("--warmup", metavar="W", type=int_in(0, 1000000), default=1,
                   help="untimed iterations first (default 1)")
    p.add_argument("--threads", metavar="T", type=int_in(1, 4096), default=cores,
                   help="threads: torch.set_num_threads(T), OMP_NUM_THREADS and "
                   "OPENBLAS_NUM_THREADS (default: physical cores, %d here)" % cores)
    p.add_argument("--seed", metavar="S", type=int_in(0, 2**63 - 1), default=1,
                   help="seed for weights, data and labels (default 1)")
    p.add_argument("--input-grad", action="store_true",
                   help="also compute the gradient of the net input (the first conv's "
                   "bwd_data), as 'convbench bench --input-grad'")
    p.add_argument("--pause-at", metavar="H", type=int_in(1, 1000000), default=None,
                   help="time H iterations of every net (every entry of a .shapes file), "
                   "print the line 'paused' on stdout, wait for a line on stdin, then warm "
                   "up again and time the other iterations; statistics and the database "
                   "cover both halves. How 'convbench bench --compare' times its own "
                   "backends between PyTorch's two halves. H must be less than --iters")
    add_db_args(p)
    p.add_argument("--format", choices=("table", "csv", "json", "summary"), default="table",
                   help="output on stdout: table (default), csv or json, laid out as "
                   "'convbench bench --format'; or summary, one line of a flat JSON object "
                   "with the totals (what 'convbench bench --compare' reads)")
    add_convbench_args(p, "the convbench binary (default: build/convbench of this "
                       "repository, %s)" % default_convbench())
    a = p.parse_args(argv)
    if a.pause_at is not None and a.pause_at >= a.iters:
        p.error("--pause-at %d: must be less than --iters (%d)" % (a.pause_at, a.iters))
    check_db_arg(p, a)
    check_convbench_arg(p, a)
    return a


# ---- convbench ---------------------------------------------------------------------


def run_convbench(binary, args):
    """Runs convbench with args and returns its stdout. Its exit status 2
    (bad input) stays 2; anything else that fails is a failure (1)."""
    try:
        r = subprocess.run([binary] + args, capture_output=True, text=True, check=False)
    except OSError as e:
        raise PeerError("cannot run %s: %s" % (binary, e.strerror))
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise PeerError("'convbench %s' failed (exit %d)" % (" ".join(args), r.returncode),
                        EXIT_USAGE if r.returncode == EXIT_USAGE else EXIT_FAIL)
    return r.stdout


def convbench_json(binary, args):
    text = run_convbench(binary, args)
    try:
        return json.loads(text)
    except ValueError as e:
        raise PeerError("'convbench %s' printed no valid JSON: %s" % (" ".join(args), e))


# ---- torch and its libraries -------------------------------------------------------


def import_torch(threads):
    """Imports torch with `threads` threads everywhere: OpenMP (PyTorch's
    own kernels and oneDNN), OpenBLAS's pthreads pool (fc layers) and MKL,
    whichever is loaded. The variables must be set before the libraries
    load, so before the import; set_num_threads then fixes PyTorch's pool."""
    global torch, nn, F
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        import torch as torch_module
    except ImportError as e:
        raise PeerError("cannot import torch with %s (%s): install Debian's python3-torch "
                        "and run this script with /usr/bin/python3" % (sys.executable, e))
    torch = torch_module
    nn = torch.nn
    F = torch.nn.functional
    torch.set_num_threads(threads)
    if torch.get_num_threads() != threads:
        raise PeerError("torch.set_num_threads(%d) left %d threads" %
                        (threads, torch.get_num_threads()))


def loaded_libraries():
    """Paths of the shared libraries this process has mapped."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and ".so" in fields[5]:
                    paths.add(fields[5])
    except OSError:
        pass
    return paths


def blas_description():
    """The BLAS that torch's fc layers call. torch.__config__.show() only says
    BLAS_INFO=generic on Debian (libblas.so.3, whichever alternative is
    installed), so ask the library that is actually loaded."""
    libs = loaded_libraries()
    for path in sorted(libs):
        if "openblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_config.restype = ctypes.c_char_p
                lib.openblas_get_corename.restype = ctypes.c_char_p
                config = lib.openblas_get_config().decode(errors="replace").strip()
                core = lib.openblas_get_corename().decode(errors="replace").strip()
                return "%s (core %s, %s)" % (config, core, path)
            except (OSError, AttributeError):
                return "OpenBLAS (%s)" % path
    for path in sorted(libs):
        name = os.path.basename(path)
        if name.startswith("libmkl"):
            return "MKL (%s)" % path
        if name.startswith("libblas.so"):
            return "libblas.so (%s)" % os.path.realpath(path)
    return "unknown"


def describe_torch():
    """What goes into the builds row: version, the oneDNN and BLAS in use,
    and a fingerprint that changes when any of them changes."""
    config = torch.__config__.show()
    version = torch.__version__
    m = re.search(r"(?:MKL-DNN|oneDNN) (v[0-9.]+)", config)
    onednn = m.group(1) if m else "none"
    if not torch.backends.mkldnn.is_available():
        onednn += " (not available)"
    m = re.search(r"BLAS_INFO=([^,\s]+)", config)
    blas_info = m.group(1) if m else "unknown"
    blas = blas_description()
    m = re.search(r"BUILD_TYPE=([^,\s]+)", config)
    build_type = m.group(1) if m else ""
    m = re.search(r"CPU capability usage: (\S+)", config)
    capability = m.group(1) if m else "unknown"
    digest = hashlib.sha256((config + "\n" + blas).encode()).hexdigest()[:12]
    return {
        "version": version,
        "onednn": onednn,
        "blas": blas,
        "capability": capability,
        "build_type": build_type,
        "fingerprint": "pytorch-%s-%s" % (version, digest),
        "libs": "torch %s; oneDNN %s; BLAS_INFO=%s: %s; CPU capability %s; Python %s" %
                (version, onednn, blas_info, blas, capability, sys.version.split()[0]),
    }


# ---- problem keys ------------------------------------------------------------------

CONV_KEY = re.compile(r"^(conv_fwd|conv_bwd_data|conv_bwd_filter):f32:nchw:"
                      r"n(\d+)c(\d+)h(\d+)w(\d+)_k(\d+)r(\d+)s(\d+)_p(\d+)x(\d+)"
                      r"_u(\d+)x(\d+)_d(\d+)x(\d+)_g(\d+)$")
GEMM_KEY = re.compile(r"^gemm:f32:([nt])([nt]):m(\d+)n(\d+)k(\d+)(?:_a\S+)?$")


def parse_conv_key(key):
    """A conv problem key (kernels/problem.c) as a dict of its fields."""
    m = CONV_KEY.match(key)
    if not m:
        return None
    v = [int(x) for x in m.groups()[1:]]
    names = ("n", "c", "h", "w", "k", "r", "s", "pad_h", "pad_w", "stride_h", "stride_w",
             "dil_h", "dil_w", "groups")
    d = dict(zip(names, v))
    d["op"] = m.group(1)
    return d


def parse_gemm_key(key):
    m = GEMM_KEY.match(key)
    if not m:
        return None
    return {"op": "gemm", "ta": m.group(1), "tb": m.group(2), "m": int(m.group(3)),
            "n": int(m.group(4)), "k": int(m.group(5))}


def problem_op_and_flops(key):
    """(op, flops) of a problem key, as cb_problem_flops(): 2 m n k for
    GEMM, 2 n k c/g r s p q for the three conv ops."""
    g = parse_gemm_key(key)
    if g:
        return "gemm", 2.0 * g["m"] * g["n"] * g["k"]
    c = parse_conv_key(key)
    if not c:
        raise PeerError("convbench show gave a problem key this script cannot read: %s" % key)

    def out_dim(size, pad, k, stride, dil):
        span = size + 2 * pad - dil * (k - 1) - 1
        return span // stride + 1 if span >= 0 else 0

    p = out_dim(c["h"], c["pad_h"], c["r"], c["stride_h"], c["dil_h"])
    q = out_dim(c["w"], c["pad_w"], c["s"], c["stride_w"], c["dil_w"])
    flops = 2.0 * c["n"] * c["k"] * (c["c"] // c["groups"]) * c["r"] * c["s"] * p * q
    return c["op"], flops


# ---- the model ---------------------------------------------------------------------


def shape_str(shape):
    """convbench's "CxHxW", or "C" for a flat tensor (cb_tensor_shape_str)."""
    c, h, w = shape
    return "%d" % c if h == 1 and w == 1 else "%dx%dx%d" % (c, h, w)


def key_hw(keys, both, h_key, w_key, default):
    """A height/width pair from k= or kh= and kw= (stride=, pad= alike)."""
    if both in keys:
        v = int(keys[both])
        return v, v
    return int(keys.get(h_key, default)), int(keys.get(w_key, default))


def define_modules():
    """Defines the module classes NetLayer and Net (as globals). They
    subclass torch.nn.Module, which exists only after import_torch()."""
    global NetLayer, Net

    class NetLayer(nn.Module):
        """One layer of the netdef: a torch op and how it reads its inputs.

        spec is the layer as 'convbench show' describes it. run() takes the
        input tensors; allow_inplace is False in the layerwise measurement,
        where inputs are detached leaves that PyTorch cannot modify in place."""

        def __init__(self, spec, batch):
            super().__init__()
            self.spec = spec
            self.name = spec["name"]
            self.kind = spec["kind"]
            self.batch = batch
            self.inplace = bool(spec["inplace"])
            self.in_shapes = [tuple(s) for s in spec["in_shapes"]]
            self.labels = None  # softmax: set by Net
            self.impl = ""      # what PyTorch chose for conv, filled in by Net.verify
            keys = spec["keys"]
            builder = getattr(self, "_build_" + self.kind, None)
            if builder is None:
                raise PeerError("layer %s: kind '%s' has no PyTorch equivalent here" %
                                (self.name, self.kind))
            builder(keys)

        def fail(self, message):
            return PeerError("layer %s (%s): %s" % (self.name, self.kind, message))

        # -- construction, one per kind --

        def _build_conv(self, keys):
            # Exact padding, stride, dilation and groups from the forward
            # problem key: what convbench's kernels actually run.
            fwd = [k for k in self.spec["problems"] if k.startswith("conv_fwd:")]
            p = parse_conv_key(fwd[0]) if fwd else None
            if p is None:
                raise self.fail("no conv_fwd problem key in 'convbench show'")
            c, h, w = self.in_shapes[0]
            if (p["n"], p["c"], p["h"], p["w"]) != (self.batch, c, h, w):
                raise self.fail("problem %s does not match the input %dx%dx%dx%d" %
                                (fwd[0], self.batch, c, h, w))
            bias = int(keys.get("bias", "1")) != 0
            self.op = nn.Conv2d(p["c"], p["k"], (p["r"], p["s"]),
                                stride=(p["stride_h"], p["stride_w"]),
                                padding=(p["pad_h"], p["pad_w"]),
                                dilation=(p["dil_h"], p["dil_w"]), groups=p["groups"],
                                bias=bias)

        def _build_fc(self, keys):
            fwd = [parse_gemm_key(k) for k in self.spec["problems"]]
            c, h, w = self.in_shapes[0]
            out = int(keys["out"])
            # fc's forward GEMM is y[N,out] = x[N,in] W^T: m=N n=out k=in.
            if not fwd or fwd[0] is None or (fwd[0]["m"], fwd[0]["n"], fwd[0]["k"]) != (
                    self.batch, out, c * h * w):
                raise self.fail("forward GEMM key %s does not match %d x %d -> %d" %
                                (self.spec["problems"][:1], self.batch, c * h * w, out))
            self.op = nn.Linear(c * h * w, out, bias=int(keys.get("bias", "1")) != 0)

        def _build_relu(self, keys):
            self.op = None

        def _build_pool(self, keys):
            c, h, w = self.in_shapes[0]
            mode = keys.get("mode", "max")
            if int(keys.get("global", "0")):
                # The whole plane, as users write it.
                self.op = nn.AdaptiveMaxPool2d(1) if mode == "max" else nn.AdaptiveAvgPool2d(1)
                return
            k = key_hw(keys, "k", "kh", "kw", 0)
            stride = key_hw(keys, "stride", "stride_h", "stride_w", 1)
            pad = key_hw(keys, "pad", "pad_h", "pad_w", 0)
            ceil = keys.get("round", "floor") == "ceil"
            if pad[0] > k[0] // 2 or pad[1] > k[1] // 2:
                # convbench allows pad < k; PyTorch only pad <= k / 2.
                raise self.fail("pad %dx%d is more than half of k %dx%d, which PyTorch's "
                                "pooling refuses" % (pad + k))
            if mode == "max":
                self.op = nn.MaxPool2d(k, stride, pad, ceil_mode=ceil)
            else:
                # Caffe's AVE divides by the window clipped to the padded
                # image, pads included: count_include_pad=True.
                self.op = nn.AvgPool2d(k, stride, pad, ceil_mode=ceil, count_include_pad=True)

        def _build_lrn(self, keys):
            # PyTorch's formula is Caffe's: x / (k + alpha / size * sum x^2)^beta.
            self.op = nn.LocalResponseNorm(int(keys.get("size", "5")),
                                           alpha=float(keys.get("alpha", "1e-4")),
                                           beta=float(keys.get("beta", "0.75")),
                                           k=float(keys.get("k", "1")))

        def _build_dropout(self, keys):
            self.ratio = float(keys.get("ratio", "0.5"))
            self.op = None

        def _build_bn(self, keys):
            # convbench's momentum is Caffe's, the weight of the running
            # value (running = m running + (1 - m) batch, harness/layers/bn.c);
            # PyTorch's is the weight of the batch value: 1 - m.
            momentum = float(keys.get("momentum", "0.9"))
            self.op = nn.BatchNorm2d(self.in_shapes[0][0], eps=float(keys.get("eps", "1e-5")),
                                     momentum=1.0 - momentum,
                                     affine=int(keys.get("affine", "1")) != 0)

        def _build_concat(self, keys):
            self.op = None

        def _build_add(self, keys):
            self.op = None

        def _build_softmax(self, keys):
            self.op = None

        # -- running --

        def as_4d(self, x, index=0):
            """x as N x C x H x W (an fc output feeding a conv, say)."""
            if x.dim() == 4:
                return x
            return x.reshape((x.shape[0],) + self.in_shapes[index])

        def run(self, xs, allow_inplace):
            kind = self.kind
            if kind in ("conv", "pool", "lrn", "bn"):
                return self.op(self.as_4d(xs[0]))
            if kind == "fc":
                return self.op(torch.flatten(xs[0], 1))
            if kind == "relu":
                # In the layerwise measurement the input is a detached leaf
                # that requires grad, which PyTorch forbids modifying in
                # place: there relu runs out of place (convbench's runs in
                # place when the netdef says so).
                return F.relu(xs[0], inplace=allow_inplace and self.inplace)
            if kind == "dropout":
                # Inverted dropout, as convbench's; out of place on a leaf.
                return F.dropout(xs[0], self.ratio, training=self.training,
                                 inplace=allow_inplace and self.inplace)
            if kind == "concat":
                if len({x.dim() for x in xs}) > 1:
                    xs = [self.as_4d(x, i) for i, x in enumerate(xs)]
                return torch.cat(xs, 1)
            if kind == "add":
                if len({tuple(x.shape) for x in xs}) > 1:
                    xs = [self.as_4d(x, i) for i, x in enumerate(xs)]
                out = xs[0] + xs[1]
                for x in xs[2:]:
                    out = out + x
                return out
            if kind == "softmax":
                # Softmax with cross-entropy, averaged over the batch.
                return F.cross_entropy(torch.flatten(xs[0], 1), self.labels)
            raise self.fail("cannot run")

        def forward(self, *xs):
            return self.run(list(xs), allow_inplace=True)

    class Net(nn.Module):
        """The net of one 'convbench show' entry.

        Tensors are numbered by the layer that wrote them ("slots"; -1 is
        the net input): a layer running in place writes a new slot under
        its input's name, so later readers of that name see the activated
        values, as in convbench."""

        def __init__(self, desc, input_grad, seed):
            super().__init__()
            self.name = desc["name"]
            self.batch = desc["batch"]
            self.input_shape = tuple(desc["input"])
            self.has_loss = bool(desc["has_loss"])
            self.input_grad = input_grad
            torch.manual_seed(seed)
            self.layers = nn.ModuleList(NetLayer(l, self.batch) for l in desc["layers"])
            n = len(self.layers)
            slot_of = {"data": -1}
            self.in_slots = []
            for i, l in enumerate(self.layers):
                try:
                    self.in_slots.append([slot_of[name] for name in l.spec["inputs"]])
                except KeyError as e:
                    raise l.fail("input %s is not an earlier layer" % e)
                slot_of[l.spec["output"]] = i
            read = {s for slots in self.in_slots for s in slots}
            # Outputs nobody reads other than the top: convbench gives them
            # a zero gradient (net.c, find_dead_ends).
            self.dead_ends = [i for i in range(n - 1) if i not in read]

            g = torch.Generator().manual_seed(seed)
            self.x = torch.rand((self.batch,) + self.input_shape, generator=g) * 2 - 1
            # The native measurement computes the input's gradient only when
            # asked, as convbench (the layerwise one asks each leaf).
            self.x.requires_grad_(input_grad)
            if self.has_loss:
                c, h, w = self.layers[-1].in_shapes[0]
                labels = torch.randint(0, c * h * w, (self.batch,), generator=g)
                self.layers[-1].labels = labels
            self.top_grad = None  # set by verify(): the shape of the top output
            self.generator = g

        def forward(self, x):
            """The whole net, as users run it (in place where the netdef says)."""
            outs = [None] * len(self.layers)
            for i, l in enumerate(self.layers):
                outs[i] = l(*[x if s < 0 else outs[s] for s in self.in_slots[i]])
            return outs[-1]

        def learnable_numels(self, layer):
            """Element counts of the layer's learnable parameters per
            'convbench show', in convbench's order."""
            return [math.prod(p["shape"]) for p in layer.spec["params"] if p["learnable"]]

        def verify(self):
            """One forward and backward, as the native measurement runs them:
            every layer's output must have convbench's shape and its
            learnable parameters convbench's sizes. Fails naming the layer."""
            outs = [None] * len(self.layers)
            self.train()
            for i, l in enumerate(self.layers):
                xs = [self.x if s < 0 else outs[s] for s in self.in_slots[i]]
                if l.kind == "conv":
                    l.impl = conv_impl(l, xs[0], self.input_grad or self.in_slots[i][0] >= 0)
                outs[i] = l(*xs)
                check_shape(l, outs[i], self.batch)
                ours = [p.numel() for p in l.parameters()]
                theirs = self.learnable_numels(l)
                if ours != theirs:
                    raise l.fail("PyTorch has parameters of %s elements, convbench %s" %
                                 (ours, theirs))
            top = outs[-1]
            if not self.has_loss:
                # Fixed pseudo-random values, like convbench's top gradient.
                self.top_grad = torch.rand(top.shape, generator=self.generator) * 2 - 1
            if top.requires_grad:
                try:
                    torch.autograd.backward(top, None if self.has_loss else self.top_grad)
                except RuntimeError as e:
                    raise PeerError("net %s: the backward pass fails in PyTorch: %s" %
                                    (self.name, e))
            clear_grads(self)


# Defined by define_modules().
NetLayer = None
Net = None


def check_shape(layer, out, batch):
    """out must be batch x convbench's out_shape (an fc output may be 2-D,
    the loss a scalar)."""
    c, h, w = layer.spec["out_shape"]
    got = tuple(out.shape)
    if layer.kind == "softmax":
        ok = got == () and (c, h, w) == (1, 1, 1)
    else:
        ok = got == (batch, c, h, w) or (got == (batch, c) and h == 1 and w == 1)
    if not ok:
        raise layer.fail("PyTorch's output is %s, convbench's %s at batch %d" %
                         ("x".join(str(d) for d in got) or "a scalar",
                          shape_str((c, h, w)), batch))


def conv_impl(layer, x, input_grad):
    """Which of PyTorch's convolution backends runs this layer ("mkldnn",
    "slow2d", ...), per op as convbench's impl column; "" when this torch
    cannot say."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:
        return ""
    op = layer.op
    try:
        with torch.no_grad():
            b = select(layer.as_4d(x), op.weight, op.bias, list(op.stride), list(op.padding),
                       list(op.dilation), False, [0, 0], op.groups)
    except (RuntimeError, TypeError):
        return ""
    name = str(b).split(".")[-1].lower()
    ops = ["fwd"] + (["bwd_data"] if input_grad else []) + ["bwd_filter"]
    return " ".join("%s=%s" % (o, name) for o in ops)


# ---- statistics ---------------------------------------------------------------------


class Timing:
    """Statistics of one timed series in ms, as cb_timing (autotune/stats.c):
    median (mean of the middle two for an even count), min, max, median
    absolute deviation and the count; samples == 0 means not measured."""

    def __init__(self, samples=()):
        samples = list(samples)
        self.values = samples  # recorded as *_samples_ms (cbpeer.samples_text)
        self.samples = len(samples)
        self.median = self.min = self.max = self.mad = 0.0
        if samples:
            self.min, self.max = min(samples), max(samples)
            self.median = median(samples)
            self.mad = median([abs(v - self.median) for v in samples])

    def as_json(self):
        if not self.samples:
            return None
        return {"median_ms": self.median, "min_ms": self.min, "max_ms": self.max,
                "mad_ms": self.mad, "samples": self.samples}


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


# ---- timing -----------------------------------------------------------------------------


class Progress:
    """convbench's progress line: once the bench has run a second, at most
    every 0.25 s on a terminal (one line, overwritten) or 5 s into a log."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.start = self.last = time.monotonic()
        self.shown = False
        self.what = ""

    def update(self, how, warmup, it, iters, layer, nlayers, lname, pass_name):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        self.shown = True
        sys.stderr.write("%sbench %s [pytorch %s]: %s %d/%d, layer %d/%d %s %s [%.0f s]%s" %
                         ("\r\033[K" if self.tty else "", self.what, how,
                          "warm-up" if warmup else "iteration", it + 1, iters, layer + 1,
                          nlayers, lname, pass_name, now - self.start,
                          "" if self.tty else "\n"))
        sys.stderr.flush()

    def done(self):
        if self.shown and self.tty:
            sys.stderr.write("\r\033[K")
        self.shown = False


def clear_grads(net):
    """Each iteration starts without gradients, as a training step after
    optimizer.zero_grad(set_to_none=True): backward writes them rather than
    adding to last iteration's."""
    for p in net.parameters():
        p.grad = None
    net.x.grad = None


def layerwise_iteration(net, warmup, it, iters, fwd, bwd, progress):
    """One forward + backward of every layer alone. fwd[i] and bwd[i]
    receive layer i's times in ms when they are not None."""
    layers = net.layers
    n = len(layers)
    outs = [None] * n
    leaves = [None] * n
    now = time.perf_counter
    for i, l in enumerate(layers):
        # Untimed set-up: detached copies of the inputs, with a gradient
        # where convbench computes one (everywhere but the net input,
        # unless --input-grad).
        xs = []
        for s in net.in_slots[i]:
            src = net.x if s < 0 else outs[s]
            xs.append(src.detach().requires_grad_(s >= 0 or net.input_grad))
        leaves[i] = xs
        t0 = now()
        outs[i] = l.run(xs, allow_inplace=False)
        t1 = now()
        if fwd is not None:
            fwd[i].append((t1 - t0) * 1e3)
        progress.update("layerwise", warmup, it, iters, i, n, l.name, "forward")

    # The top gradient and the dead ends' zeros are set-up, not the net's
    # work: untimed, as cb_net_backward_begin.
    grads = [None] * n
    grads[n - 1] = torch.ones(()) if net.has_loss else net.top_grad
    for s in net.dead_ends:
        grads[s] = torch.zeros_like(outs[s])
    for i in range(n - 1, -1, -1):
        out, g = outs[i], grads[i]
        if g is None and out.requires_grad:
            g = torch.zeros_like(out)  # no reader passed a gradient back (untimed)
        t0 = now()
        if out.requires_grad:
            torch.autograd.backward(out, g)
        # A tensor read by several layers gets the sum of their gradients
        # (convbench's layers accumulate into it: part of their backward).
        # Out of place: autograd may hand the same tensor to two leaves.
        for s, leaf in zip(net.in_slots[i], leaves[i]):
            if s >= 0 and leaf.grad is not None:
                grads[s] = leaf.grad if grads[s] is None else grads[s] + leaf.grad
        t1 = now()
        if bwd is not None:
            bwd[i].append((t1 - t0) * 1e3)
        outs[i] = leaves[i] = grads[i] = None  # frees the layer's graph (untimed)
        progress.update("layerwise", warmup, it, iters, i, n, layers[i].name, "backward")


def native_iteration(net, warmup, it, iters, samples, progress):
    """model(x) then loss.backward() (or output.backward(top gradient)),
    each timed whole; samples gets (forward ms, backward ms)."""
    now = time.perf_counter
    t0 = now()
    out = net(net.x)
    t1 = now()
    progress.update("native", warmup, it, iters, len(net.layers) - 1, len(net.layers),
                    "(whole net)", "forward")
    t2 = now()
    if out.requires_grad:
        if net.has_loss:
            out.backward()
        else:
            out.backward(net.top_grad)
    t3 = now()
    progress.update("native", warmup, it, iters, 0, len(net.layers), "(whole net)",
                    "backward")
    if samples is not None:
        samples.append(((t1 - t0) * 1e3, (t3 - t2) * 1e3))


class NetTimes:
    """Timings of one net: per layer (layerwise), their per-iteration sums,
    and the whole net (native; None for a .shapes entry)."""

    def __init__(self, layer_fwd, layer_bwd, sum_fwd, sum_bwd, native):
        self.layer_fwd = [Timing(s) for s in layer_fwd]
        self.layer_bwd = [Timing(s) for s in layer_bwd]
        self.sum_fwd = Timing(sum_fwd)
        self.sum_bwd = Timing(sum_bwd)
        self.sum_total = Timing(f + b for f, b in zip(sum_fwd, sum_bwd))
        if native is None:
            self.native = None
        else:
            self.native = (Timing(f for f, _ in native), Timing(b for _, b in native),
                           Timing(f + b for f, b in native))


class RawTimes:
    """The samples of one net in ms, as they come: per layer (layerwise),
    and (forward, backward) pairs of the whole net (native; None for a
    .shapes entry). Several bench_rounds calls may add to one."""

    def __init__(self, nlayers, with_native):
        self.fwd = [[] for _ in range(nlayers)]
        self.bwd = [[] for _ in range(nlayers)]
        self.native = [] if with_native else None

    def times(self):
        n, iters = len(self.fwd), len(self.fwd[0]) if self.fwd else 0
        sum_fwd = [sum(self.fwd[i][k] for i in range(n)) for k in range(iters)]
        sum_bwd = [sum(self.bwd[i][k] for i in range(n)) for k in range(iters)]
        return NetTimes(self.fwd, self.bwd, sum_fwd, sum_bwd, self.native)


def bench_net(net, iters, warmup, with_native, progress):
    """bench_rounds into fresh RawTimes, as NetTimes."""
    raw = RawTimes(len(net.layers), with_native)
    bench_rounds(net, iters, warmup, raw, progress)
    return raw.times()


def bench_rounds(net, iters, warmup, raw, progress):
    """Warm-up rounds, then `iters` timed rounds whose samples are appended
    to raw. With native, each round runs one layerwise and one native
    iteration, starting with the other one each round (as convbench
    interleaves backends), so drift falls on both."""
    with_native = raw.native is not None
    fwd, bwd, native = raw.fwd, raw.bwd, raw.native
    net.train()
    # The collector would pause at random inside timed code, so it is off
    # while the net runs; autograd graphs are freed by reference counting
    # without it. Collect once, before the warm-up, never between rounds: a
    # full collection walks every object of the interpreter (~100 ms with
    # torch loaded), and the first parallel call after such a single-thread
    # pause is slow on a loaded machine (the OpenMP workers have gone to
    # sleep and wait for a core). Collecting before each round put that
    # cold call into every timed forward: a floor of 25-30 ms per layer
    # whatever its size (tests/peers/peer_vs_plain.py).
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(warmup + iters):
            timed = r >= warmup
            it = r - warmup if timed else r
            count = iters if timed else warmup
            order = ["layerwise", "native"] if with_native else ["layerwise"]
            if r % 2:
                order.reverse()
            for what in order:
                clear_grads(net)
                if what == "layerwise":
                    layerwise_iteration(net, not timed, it, count, fwd if timed else None,
                                        bwd if timed else None, progress)
                else:
                    native_iteration(net, not timed, it, count, native if timed else None,
                                     progress)
    finally:
        if gc_was_enabled:
            gc.enable()
        progress.done()


def pause():
    """--pause-at: says 'paused' on stdout and waits for a line on stdin
    (the caller times its own work meanwhile; this process sleeps)."""
    sys.stdout.write("paused\n")
    sys.stdout.flush()
    if not sys.stdin.readline():
        raise PeerError("--pause-at: stdin closed while paused (the caller went away)")


# ---- device samples -------------------------------------------------------------------


def read_number(path):
    try:
        with open(path) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def device_sample():
    """What convbench's sampler reports that a script can read cheaply: the
    kernel's clock (cpufreq, else the mean "cpu MHz" of /proc/cpuinfo) and
    the 1-minute load. The measured clock, busy fraction and temperature
    stay unknown (NULL)."""
    t = time.time()
    khz = [read_number(p) for p in
           glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")]
    khz = [v for v in khz if v]
    mhz = sum(khz) / len(khz) / 1000 if khz else None
    if mhz is None:
        values = []
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("cpu MHz"):
                        values.append(float(line.split(":", 1)[1]))
        except (OSError, ValueError):
            pass
        mhz = sum(values) / len(values) if values else None
    return {"t": t, "cpu_mhz": mhz, "load1": read_number("/proc/loadavg")}


def iso_time(t):
    """ISO-8601 UTC with milliseconds, convbench's timestamp format."""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % min(999, d.microsecond // 1000)


def iso_now():
    return iso_time(time.time())


# ---- the database -----------------------------------------------------------------------

TIMING_STATS = ("median_ms", "min_ms", "max_ms", "mad_ms", "samples")


def timing_columns(prefix, t):
    """{prefix_median_ms: ..., prefix_samples: n}: NULL statistics when
    nothing was measured, as convbench's store."""
    cols = {}
    for stat in TIMING_STATS[:4]:
        cols["%s_%s" % (prefix, stat)] = getattr(t, stat.split("_")[0]) if t.samples else None
    cols["%s_samples" % prefix] = t.samples
    cols["%s_samples_ms" % prefix] = samples_text(t.values)
    return cols


def insert(conn, table, values, conflict=""):
    """INSERT of a dict, every value bound; column names are ours."""
    names = list(values)
    sql = "INSERT INTO %s (%s) VALUES (%s)%s" % (table, ", ".join(names),
                                                ", ".join(":" + n for n in names), conflict)
    return conn.execute(sql, values)


class Store:
    """convbench's results database, written with the same rows and
    conventions as autotune/db/results.c. The schema is convbench's
    (autotune/db/migrations.c): this class never creates or migrates it,
    and refuses a file at another version."""

    def __init__(self, path, schema_version, convbench):
        self.path = path
        # A missing or empty file is a new database (convbench treats an
        # empty file the same way).
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            self._create(path, convbench)
        try:
            # mode=rw: never let sqlite3 create an empty file here.
            uri = Path(path).absolute().as_uri() + "?mode=rw"
            self.conn = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
            app, version = self.conn.execute(
                "SELECT (SELECT application_id FROM pragma_application_id),"
                " (SELECT user_version FROM pragma_user_version)").fetchone()
        except sqlite3.Error as e:
            raise PeerError("database '%s': %s" % (path, e))
        if app != CB_APPLICATION_ID:
            self.conn.close()
            raise PeerError("'%s' is not a convbench database (no convbench application_id)" %
                            path)
        if version != schema_version:
            self.conn.close()
            if version < schema_version:
                raise PeerError("database '%s' is at schema %d and this convbench writes %d: "
                                "migrate it with 'convbench db init --db %s' first" %
                                (path, version, schema_version, path))
            raise PeerError("database '%s' is at schema %d, newer than this convbench's %d: "
                            "rebuild convbench, or pass --convbench" %
                            (path, version, schema_version))
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA synchronous = NORMAL")

    @staticmethod
    def _create(path, convbench):
        """A new database comes from convbench itself ('convbench db init'),
        so that its schema has one author (autotune/db/migrations.c)."""
        try:
            r = subprocess.run([convbench, "db", "init", "--db", path], capture_output=True,
                               text=True, check=False)
        except OSError as e:
            raise PeerError("cannot run %s: %s" % (convbench, e.strerror))
        if r.returncode == EXIT_USAGE and "unknown command" in r.stderr:
            # A convbench from before 'db init': any command with --db creates it.
            raise PeerError("database '%s' does not exist and this convbench has no 'db init' "
                            "to create it: create it with 'convbench bench NET --db %s' first"
                            % (path, path))
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise PeerError("database '%s' could not be created" % path)

    def close(self):
        self.conn.close()

    def put_machine(self, m):
        """The machine row convbench writes for this host (devices --format
        json), inserted when its fingerprint is new; returns its id."""
        cols = ("fingerprint", "hostname", "os", "cpu_vendor", "cpu_model", "isa", "isa_level",
                "packages", "numa_nodes", "cores", "pus", "l1d_bytes", "l2_bytes", "l3_bytes",
                "l2_count", "l3_count", "mem_bytes", "topology")
        values = {c: m[c] for c in cols}
        values["first_seen"] = iso_now()
        insert(self.conn, "machines", values, " ON CONFLICT (fingerprint) DO NOTHING")
        return self.conn.execute("SELECT id FROM machines WHERE fingerprint = ?",
                                 (m["fingerprint"],)).fetchone()[0]

    def put_build(self, info):
        values = {"fingerprint": info["fingerprint"], "git_rev": "", "git_dirty": 0,
                  "compiler": "PyTorch %s" % info["version"], "flags": "",
                  "build_type": info["build_type"], "libs": info["libs"], "kernel_hash": "",
                  "first_seen": iso_now()}
        insert(self.conn, "builds", values,
               " ON CONFLICT (fingerprint, git_rev, git_dirty, compiler, flags) DO NOTHING")
        return self.conn.execute(
            "SELECT id FROM builds WHERE fingerprint = ? AND git_rev = ? AND git_dirty = ?"
            " AND compiler = ? AND flags = ?",
            (values["fingerprint"], "", 0, values["compiler"], "")).fetchone()[0]

    def run_begin(self, machine_id, build_id, command, seed, threads):
        cur = insert(self.conn, "runs", {
            "machine_id": machine_id, "build_id": build_id, "kind": "peer",
            "command": command, "seed": seed, "threads": threads,
            "hostname": socket.gethostname(), "pid": os.getpid(), "started": iso_now(),
            "status": "running"})
        return cur.lastrowid

    def run_end(self, run_id, status, error=None):
        self.conn.execute("UPDATE runs SET ended = ?, status = ?, error = ? WHERE id = ?",
                          (iso_now(), status, error, run_id))

    def _problem_id(self, key):
        op, flops = problem_op_and_flops(key)
        self.conn.execute("INSERT INTO problems (key, op, flops) VALUES (?, ?, ?)"
                          " ON CONFLICT (key) DO NOTHING", (key, op, flops))
        return self.conn.execute("SELECT id FROM problems WHERE key = ?", (key,)).fetchone()[0]

    def put_net_result(self, run_id, net_row, layer_rows, before, after):
        """A net result, its layers and the device samples around it, in one
        transaction (IMMEDIATE: the write lock now, so the busy timeout
        applies here rather than half-way through)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            values = dict(net_row, run_id=run_id, created=iso_now())
            net_id = insert(c, "net_results", values).lastrowid
            for row in layer_rows:
                values = dict(row["db"], net_result_id=net_id)
                names = ("fwd_problem_id", "bwd_data_problem_id", "bwd_filter_problem_id")
                for name, key in zip(names, row["problems"]):
                    values[name] = self._problem_id(key)
                insert(c, "layer_results", values)
            for phase, s in (("before", before), ("after", after)):
                insert(c, "device_samples", {
                    "run_id": run_id, "net_result_id": net_id, "phase": phase,
                    "t": iso_time(s["t"]), "t_unix": s["t"], "cpu_mhz_reported": s["cpu_mhz"],
                    "cpu_mhz_measured": None, "load1": s["load1"], "busy": None,
                    "temp_c": None})
            c.execute("COMMIT")
        except BaseException:
            # Ctrl-C included: nothing of this result is kept.
            c.execute("ROLLBACK")
            raise
        return net_id


# ---- results --------------------------------------------------------------------------


def layer_flops(spec, input_grad):
    """Forward and backward flops of a conv or fc layer, as convbench's
    bench counts them (0 for other kinds): backward is bwd_filter, plus
    bwd_data when the input gets a gradient. Not 'show's bwd_flops, which
    are counted without the gradients allocated."""
    if not spec["problems"]:
        return 0.0, 0.0
    f = float(spec["fwd_flops"])
    return f, f * (2.0 if input_grad else 1.0)


class Report:
    """What is printed: one backend's rows and totals, laid out as
    convbench bench's cli_report."""

    def __init__(self, name, netdef, shapes, batch, args, machine, info):
        self.name, self.netdef, self.shapes = name, netdef, shapes
        self.batch = batch
        self.args = args
        self.machine, self.info = machine, info
        self.rows = []
        self.run_id = None
        self.interrupted = False
        # Whole net (native) for a .net; sums over entries for a .shapes.
        self.fwd = Timing()
        self.bwd = Timing()
        self.total = Timing()
        self.layer_sum = None  # (fwd, bwd, total) layerwise sums, for a .net
        self.fwd_flops = self.bwd_flops = 0.0
        self.peak = None  # the machine's FMA peak at args.threads, GFLOP/s

    def add_net(self, rows, times, fwd_flops, bwd_flops):
        self.rows.extend(rows)
        self.fwd_flops += fwd_flops
        self.bwd_flops += bwd_flops
        if self.shapes:
            # convnet-benchmarks' layer-wise total is the sum over layers:
            # medians and minimums add up (convbench's add_result).
            for mine, theirs in ((self.fwd, times.sum_fwd), (self.bwd, times.sum_bwd),
                                 (self.total, times.sum_total)):
                mine.median += theirs.median
                mine.min += theirs.min
                mine.samples = theirs.samples
        else:
            self.fwd, self.bwd, self.total = times.native
            self.layer_sum = (times.sum_fwd, times.sum_bwd, times.sum_total)


def gflops(flops, ms):
    return flops / (ms * 1e6) if flops > 0 and ms > 0 else 0.0


def fmt_timing(t):
    return "%.3f (%.3f)" % (t.median, t.min) if t.samples else "-"


def fmt_rate(flops, t, peak=None):
    """GFLOP/s and, when the machine's peak is known, its fraction of it."""
    g = gflops(flops, t.median if t.samples else 0)
    if g <= 0:
        return "-"
    return "%.1f %3.0f%%" % (g, 100.0 * g / peak) if peak else "%.1f" % g


def print_table(f, r):
    a = r.args
    f.write("%s: batch %d, %d thread%s, %d iteration%s after %d warm-up, backend %s\n" %
            (r.name, r.batch, a.threads, "" if a.threads == 1 else "s", a.iters,
             "" if a.iters == 1 else "s", a.warmup, BACKEND))
    m, i = r.machine, r.info
    f.write("machine: %s (%s, %d cores); PyTorch %s, oneDNN %s, BLAS %s\n" %
            (m["cpu_model"], m["isa_level"], m["cores"], i["version"], i["onednn"],
             i["blas"].split(" (")[0]))
    f.write("times in ms per batch: median over iterations (min in brackets); %s\n" %
            ("each layer timed alone" if r.shapes else
             "layers timed alone on detached inputs (layerwise), the whole net as model(x) "
             "and loss.backward() (native)"))
    if r.interrupted:
        f.write("(interrupted: only the layers below finished)\n")
    wname = max([5] + [len(row["name"]) for row in r.rows])
    any_impl = any(row["impl"] for row in r.rows)
    pk = " %pk" if r.peak else ""
    f.write("\n%3s  %-*s  %-7s %-12s %21s %21s %12s %12s  %s%s\n" %
            ("#", wname, "layer", "kind", "output", "forward ms", "backward ms", "fwd GF/s" + pk,
             "bwd GF/s" + pk, "kernels", "  [implementation]" if any_impl else ""))
    for n, row in enumerate(r.rows, 1):
        f.write("%3d  %-*s  %-7s %-12s %21s %21s %12s %12s  %s%s\n" %
                (n, wname, row["name"], row["kind"], row["out_shape"], fmt_timing(row["fwd"]),
                 fmt_timing(row["bwd"]), fmt_rate(row["fwd_flops"], row["fwd"], r.peak),
                 fmt_rate(row["bwd_flops"], row["bwd"], r.peak), BACKEND,
                 "  [%s]" % row["impl"] if row["impl"] else ""))
    if r.layer_sum:
        sf, sb, st = r.layer_sum
        f.write("sum of layers (layerwise): total %s, forward %s, backward %s ms; "
                "%.2f / %.2f GFLOP/s fwd / bwd\n" %
                (fmt_timing(st), fmt_timing(sf), fmt_timing(sb), gflops(r.fwd_flops, sf.median),
                 gflops(r.bwd_flops, sb.median)))
    f.write("%s: total %s, forward %s, backward %s ms; %.2f / %.2f GFLOP/s fwd / bwd\n" %
            ("sum of layers" if r.shapes else "whole net (native)", fmt_timing(r.total),
             fmt_timing(r.fwd), fmt_timing(r.bwd), gflops(r.fwd_flops, r.fwd.median),
             gflops(r.bwd_flops, r.bwd.median)))
    # The convnet-benchmarks summary, as convbench's print_summary.
    wnet = max(7, len(r.name))
    wb = max(7, len(BACKEND))
    f.write("\n| %-*s | %-*s | %10s | %10s | %11s |\n" %
            (wnet, "Network", wb, "Backend", "Total ms", "Forward ms", "Backward ms"))
    f.write("|%s|%s|-----------:|-----------:|------------:|\n" % ("-" * (wnet + 2),
                                                                   "-" * (wb + 2)))
    if r.total.samples:
        f.write("| %-*s | %-*s | %10.1f | %10.1f | %11.1f |\n" %
                (wnet, r.name, wb, BACKEND, r.total.median, r.fwd.median, r.bwd.median))


def csv_field(s):
    if not any(ch in s for ch in ',"\n'):
        return s
    return '"' + s.replace('"', '""') + '"'


def csv_timing(t):
    return ",%.6f,%.6f" % (t.median, t.min) if t.samples else ",,"


def noise(t):
    """convbench's verdict (kernels/stats.h cb_timing_noise): preempted when
    the median is over 2x the min, noisy when MAD / median is over 5%
    (differences under 0.002 ms are the timer's)."""
    if t.samples < 2 or t.median <= 0:
        return "ok"
    if t.median > 2.0 * t.min and t.median - t.min > 0.002:
        return "preempted"
    if t.mad / t.median > 0.05 and t.mad > 0.002:
        return "noisy"
    return "ok"


def csv_noise(fwd, bwd):
    """The last columns of convbench's CSV rows: MAD, samples and noise of
    forward and backward, then over_peak (empty: the peer has no peak check)."""
    return "".join(",%.6f,%d,%s" % (t.mad, t.samples, noise(t)) if t.samples else ",,0,"
                   for t in (fwd, bwd)) + ","


def print_csv(f, r):
    """The columns of 'convbench bench --format csv': a row per layer, then
    the total (native for a net, the sum for a .shapes file)."""
    a = r.args
    f.write("net,backend,batch,threads,iters,index,layer,kind,in_shape,out_shape,fwd_ms,"
            "fwd_min_ms,bwd_ms,bwd_min_ms,bwd_data_ms,bwd_data_min_ms,bwd_filter_ms,"
            "bwd_filter_min_ms,fwd_gflops,bwd_gflops,kernels,fallback,impl,peak_gflops,"
            "fwd_mad_ms,fwd_samples,fwd_noise,bwd_mad_ms,bwd_samples,bwd_noise,over_peak\n")
    peak = "%.3f" % r.peak if r.peak else ""
    head = "%s,%s,%d,%d,%d" % (csv_field(r.name), BACKEND, r.batch, a.threads, a.iters)
    for n, row in enumerate(r.rows, 1):
        f.write("%s,%d,%s,%s,%s,%s%s%s,,,,,%.4f,%.4f,%s,0,%s,%s%s\n" %
                (head, n, csv_field(row["name"]), row["kind"], row["in_shape"],
                 row["out_shape"], csv_timing(row["fwd"]), csv_timing(row["bwd"]),
                 gflops(row["fwd_flops"], row["fwd"].median),
                 gflops(row["bwd_flops"], row["bwd"].median), BACKEND,
                 csv_field(row["impl"]), peak, csv_noise(row["fwd"], row["bwd"])))
    if r.total.samples:
        f.write("%s,,%s,total,,%s%s,,,,,%.4f,%.4f,,,,%s%s\n" %
                (head, "sum" if r.shapes else "net", csv_timing(r.fwd), csv_timing(r.bwd),
                 gflops(r.fwd_flops, r.fwd.median), gflops(r.bwd_flops, r.bwd.median), peak,
                 csv_noise(r.fwd, r.bwd)))


def print_json(f, r):
    """The keys of 'convbench bench --format json', plus "peer" (what ran)
    and, for a net, "layer_sum" (the layerwise sums beside the native
    totals in fwd / bwd / total)."""
    a = r.args
    result = {"backend": BACKEND, "layers": []}
    for n, row in enumerate(r.rows, 1):
        result["layers"].append({
            "index": n, "name": row["name"], "kind": row["kind"], "in_shape": row["in_shape"],
            "out_shape": row["out_shape"], "kernels": BACKEND, "impl": row["impl"],
            "fallback": False, "fwd": row["fwd"].as_json(), "bwd": row["bwd"].as_json(),
            "bwd_data": None, "bwd_filter": None, "fwd_flops": round(row["fwd_flops"]),
            "bwd_flops": round(row["bwd_flops"])})
    result.update({"fwd": r.fwd.as_json(), "bwd": r.bwd.as_json(),
                   "total": r.total.as_json(), "fwd_flops": round(r.fwd_flops),
                   "bwd_flops": round(r.bwd_flops)})
    if r.layer_sum:
        result["layer_sum"] = {k: t.as_json() for k, t in zip(("fwd", "bwd", "total"),
                                                               r.layer_sum)}
    out = {"net": r.name, "netdef": r.netdef, "batch": r.batch, "threads": a.threads,
           "iters": a.iters, "warmup": a.warmup, "shapes": r.shapes, "interleaved": False,
           "interrupted": r.interrupted}
    if r.run_id is not None:
        out["run_id"] = r.run_id
    out["peer"] = {"torch": r.info["version"], "onednn": r.info["onednn"],
                   "blas": r.info["blas"], "build_fingerprint": r.info["fingerprint"]}
    out["results"] = [result]
    json.dump(out, f, indent=1)
    f.write("\n")


def print_summary(f, r):
    """One line, a flat JSON object (strings and numbers only, as
    convbench's strict reader autotune/jsonl.h wants): the totals, whole
    net (native) for a net, summed over entries for a .shapes file."""
    a = r.args
    out = {"net": r.name, "backend": BACKEND, "batch": r.batch, "threads": a.threads,
           "iters": a.iters, "warmup": a.warmup, "torch": r.info["version"],
           "measure": "sum of layers" if r.shapes else "native",
           "samples": r.total.samples}
    for prefix, t in (("total", r.total), ("fwd", r.fwd), ("bwd", r.bwd)):
        out.update({"%s_median_ms" % prefix: t.median, "%s_min_ms" % prefix: t.min,
                    "%s_max_ms" % prefix: t.max, "%s_mad_ms" % prefix: t.mad})
    if r.run_id is not None:
        out["run_id"] = r.run_id
    f.write(json.dumps(out) + "\n")


def print_report(fmt, r):
    {"table": print_table, "csv": print_csv, "json": print_json,
     "summary": print_summary}[fmt](sys.stdout, r)
    sys.stdout.flush()


def make_rows(net, times, input_grad):
    """Printed and recorded rows of one net's layers (layerwise timings)."""
    rows = []
    fwd_total = bwd_total = 0.0
    for i, l in enumerate(net.layers):
        spec = l.spec
        grad_in = bool(net.in_slots[i]) and (net.in_slots[i][0] >= 0 or input_grad)
        ff, fb = layer_flops(spec, grad_in)
        fwd_total += ff
        bwd_total += fb
        row = {"name": spec["name"], "kind": spec["kind"],
               "in_shape": shape_str(spec["in_shapes"][0]),
               "out_shape": shape_str(spec["out_shape"]), "fwd": times.layer_fwd[i],
               "bwd": times.layer_bwd[i], "fwd_flops": ff, "bwd_flops": fb, "impl": l.impl,
               "problems": list(spec["problems"][:3])}
        db = {"idx": i, "name": row["name"], "kind": row["kind"], "in_shape": row["in_shape"],
              "out_shape": row["out_shape"], "backend": BACKEND, "variants": BACKEND,
              "fallback": 0, "fwd_flops": ff, "bwd_flops": fb, "impl": l.impl or None}
        db.update(timing_columns("fwd", row["fwd"]))
        db.update(timing_columns("bwd", row["bwd"]))
        # Backward is timed whole: bwd_data and bwd_filter stay unknown.
        db.update(timing_columns("bwd_data", Timing()))
        db.update(timing_columns("bwd_filter", Timing()))
        row["db"] = db
        rows.append(row)
    return rows, fwd_total, bwd_total


def net_row(desc, a, shapes, sha, times, fwd_flops, bwd_flops):
    """The net_results row: native timings for a net, the entry's own
    (layerwise) for a .shapes entry."""
    if shapes:
        fwd, bwd, total = times.sum_fwd, times.sum_bwd, times.sum_total
    else:
        fwd, bwd, total = times.native
    row = {"net": desc["name"], "netdef": a.netdef, "netdef_sha256": sha, "backend": BACKEND,
           "single_layer": 1 if shapes else 0, "batch": desc["batch"], "threads": a.threads,
           "iters": a.iters, "warmup": a.warmup, "input_grad": 1 if a.input_grad else 0,
           "fwd_flops": fwd_flops, "bwd_flops": bwd_flops}
    row.update(timing_columns("fwd", fwd))
    row.update(timing_columns("bwd", bwd))
    row.update(timing_columns("total", total))
    return row


# ---- main ---------------------------------------------------------------------------------


def bench(a):
    convbench = a.convbench or default_convbench()
    if not (os.path.isfile(convbench) and os.access(convbench, os.X_OK)):
        raise PeerError("no convbench at %s: build it (cmake --build build) or pass "
                        "--convbench PATH" % convbench)
    try:
        with open(a.netdef, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        raise PeerError("cannot read '%s': %s" % (a.netdef, e.strerror), EXIT_USAGE)

    # The net as convbench builds it, and the machine as it records it.
    show_args = ["show", a.netdef, "--format", "json"]
    if a.batch:
        show_args += ["--batch", str(a.batch)]
    desc = convbench_json(convbench, show_args)
    machine = convbench_json(convbench, ["devices", "--format", "json"])

    import_torch(a.threads)
    define_modules()
    info = describe_torch()

    # Build and check every net before touching the database, so that a
    # net PyTorch cannot express leaves nothing behind.
    shapes = bool(desc["shapes"])
    nets = []
    for d in desc["nets"]:
        net = Net(d, a.input_grad, a.seed)
        net.verify()
        nets.append(net)
    report = Report(desc["name"], a.netdef, shapes, nets[0].batch, a, machine, info)
    report.peak = machine_peak(convbench, a)

    store = None
    if a.db is not None:
        store = Store(a.db, int(machine["schema_version"]), convbench)
    with Recording(store) as rec:
        if store:
            command = shlex.join(sys.argv)
            rec.run_id = store.run_begin(store.put_machine(machine), store.put_build(info),
                                         command, a.seed, a.threads)
            report.run_id = rec.run_id
        progress = Progress(not a.quiet)
        # With --pause-at, every net runs its first half, then the pause,
        # then every net its second half (after a new warm-up: the caller's
        # work in between leaves caches and threads cold).
        halves = [a.iters] if a.pause_at is None else [a.pause_at, a.iters - a.pause_at]
        raws = [RawTimes(len(net.layers), not shapes) for net in nets]
        befores = [None] * len(nets)
        for h, iters in enumerate(halves):
            if h:
                pause()
            last = h == len(halves) - 1
            for k, net in enumerate(nets):
                progress.what = (desc["name"] if not shapes else "%s %s (%d/%d)" %
                                 (desc["name"], net.layers[0].name, k + 1, len(nets)))
                if h == 0:
                    befores[k] = device_sample()
                bench_rounds(net, iters, a.warmup, raws[k], progress)
                if not last:
                    continue
                after = device_sample()
                times = raws[k].times()
                rows, ff, fb = make_rows(net, times, a.input_grad)
                if store:
                    store.put_net_result(rec.run_id, net_row(desc["nets"][k], a, shapes, sha,
                                                             times, ff, fb), rows, befores[k],
                                         after)
                report.add_net(rows, times, ff, fb)
                nets[k] = raws[k] = None  # free its memory before the next entry
        rec.ok()
    report.interrupted = rec.interrupted
    print_report(a.format, report)
    if rec.interrupted:
        sys.stderr.write("%s: interrupted; %s\n" % (
            PROG, "finished measurements were kept, run marked interrupted"
            if rec.run_id is not None else "nothing recorded"))
        return EXIT_INTERRUPTED
    return EXIT_OK

def machine_peak(convbench, a):
    """The FMA peak at a.threads, GFLOP/s, as convbench bench reads it: the
    latest usable one recorded in the database (at least 5 repeats, not
    above its theoretical rate). None otherwise (GFLOP/s without % of peak,
    and stderr says so): never a brief estimate, and the peer records no
    peak of its own ('convbench peak' or a convbench bench does, once)."""
    why = "--no-db"
    if a.db is not None and os.path.exists(a.db) and os.path.getsize(a.db) > 0:
        why = "no usable peak recorded at %d threads in %s" % (a.threads, a.db)
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
            row = conn.execute(
                "SELECT p.gflops FROM peaks p JOIN machines m ON m.id = p.machine_id"
                " WHERE m.fingerprint = ? AND p.threads = ? AND p.repeats >= 5"
                " AND (p.theoretical_gflops IS NULL OR p.theoretical_gflops <= 0"
                "      OR p.gflops <= p.theoretical_gflops * 1.05)"
                " ORDER BY p.id DESC LIMIT 1",
                (convbench_json(convbench, ["devices", "--format", "json"])["fingerprint"],
                 a.threads)).fetchone()
            conn.close()
            if row:
                return float(row[0])
        except sqlite3.Error:
            why = "the database has no usable peaks table"
    elif a.db is not None:
        why = "no database yet at %s" % a.db
    sys.stderr.write("%s: note: no %% of peak: %s (run 'convbench peak --threads %d')\n"
                     % (PROG, why, a.threads))
    return None


def main(argv):
    return run_main(PROG, parse_args(argv), bench, (sqlite3.Error, RuntimeError, OSError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
