#!/usr/bin/python3
"""darknet_bench.py: times a convbench netdef with Darknet, the "darknet" peer.

Darknet (Debian package darknet: /usr/lib/darknet/libdarknet.so, pjreddie's
C framework as of 2018-09-14) has no benchmark mode that times training
passes (its `speed` command times forward only, at batch 1). This script
therefore writes a Darknet .cfg from `convbench show NET --format json`
(the net exactly as convbench builds it), loads it with libdarknet's own
parser through ctypes, checks every layer's output shape that Darknet
prints against convbench's, and times Darknet's forward_network() and
backward_network() on it the way `convbench bench` times a net: warm-up
iterations (full training steps), then timed iterations, median and
minimum per pass. Training mode; the net input gets no gradient
(Darknet never computes one), as convbench's default.

What Darknet's layers can express, and how:
  conv            [convolutional] (square kernel, stride and padding,
                  dilation 1, groups; always with a bias)
  relu            fused into the conv/fc it follows in place (activation=
                  relu), else [activation]
  pool max        [maxpool] (square; padding chosen so that the output
                  shape is convbench's, floor or ceil)
  pool avg        [avgpool], global only (Darknet has no windowed average)
  fc              [connected]
  lrn             [normalization] (size, alpha, beta, kappa=k)
  dropout         [dropout]
  bn              batch_normalize=1 on the conv it follows (Darknet's own
                  [batchnorm] layer crashes in training on the CPU)
  softmax         [softmax] (with its cross-entropy cost)
  concat          [route] of the inputs
  add             [shortcut] of two inputs
A net with anything else (a windowed average pool, a non-square kernel,
dilation, an add of three inputs, an input read from 'data' after the
first layer) cannot be expressed: the script says which layer and why,
records nothing and exits 2. Per-layer times are not available (Darknet
runs the net whole); a .shapes file times each entry as a one-layer net.

Darknet's CPU build is single-threaded (no OpenMP, its own GEMM): --threads
must be 1, and results are recorded with 1 thread, so they land beside
`convbench bench --threads 1`.

Results go into convbench's SQLite database (results.db, --db, --no-db) as
backend "darknet", with convbench's machine row, a build row describing
Darknet and a run of kind "peer", written through the PyTorch peer's
Store (scripts/peers/pytorch_bench.py, which needs no torch for that).

Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or
input or a net Darknet cannot express (nothing run, nothing recorded),
130 interrupted.
"""

import argparse
import ctypes
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cbpeer  # noqa: E402
import pytorch_bench as pb  # noqa: E402  (its Store, Timing, device samples; no torch)

PROG = "darknet_bench.py"
BACKEND = "darknet"
LIBDARKNET = "/usr/lib/darknet/libdarknet.so"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = (cbpeer.EXIT_OK, cbpeer.EXIT_FAIL,
                                                  cbpeer.EXIT_USAGE, cbpeer.EXIT_INTERRUPTED)


class Unsupported(cbpeer.PeerError):
    """A net Darknet's layers cannot express (exit 2, nothing recorded)."""

    def __init__(self, layer, why):
        super().__init__("darknet cannot express layer %d '%s' (%s): %s" %
                         (layer["index"], layer["name"], layer["kind"], why), EXIT_USAGE)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=("Times a convbench netdef with Darknet (the 'darknet' peer): a Darknet\n"
                     ".cfg is written from 'convbench show NET --format json', loaded by\n"
                     "libdarknet, its layer shapes checked against convbench's, and\n"
                     "forward_network() / backward_network() timed like 'convbench bench'\n"
                     "(warm-up, then timed iterations; median and minimum). Darknet is\n"
                     "single-threaded here, so --threads is 1. A net Darknet cannot express\n"
                     "is refused with the layer and the reason (exit 2)."),
        epilog=("Results are recorded in convbench's database as backend 'darknet' (run\n"
                "kind 'peer'), net totals only (Darknet runs the net whole); a .shapes\n"
                "entry is a one-layer net and keeps its layer row.\n"
                "\n"
                "Exit status: 0 ok, 1 a run or the database failed, 2 bad arguments or\n"
                "input, or a net Darknet cannot express (nothing recorded), 130\n"
                "interrupted (finished nets kept, run marked interrupted)."))
    p.add_argument("netdef", metavar="NET.net|LAYERS.shapes", help="the netdef to time")
    p.add_argument("--batch", metavar="N", type=cbpeer.int_in(1, 2**31 - 1),
                   help="batch size (default: the netdef's batch=)")
    p.add_argument("--iters", metavar="K", type=cbpeer.int_in(1, 1000000), default=10,
                   help="timed iterations (default 10)")
    p.add_argument("--warmup", metavar="W", type=cbpeer.int_in(0, 1000000), default=1,
                   help="untimed training steps first (default 1)")
    p.add_argument("--threads", metavar="T", type=cbpeer.int_in(1, 1), default=1,
                   help="threads: 1 (Debian's Darknet is built without OpenMP)")
    p.add_argument("--seed", metavar="S", type=cbpeer.int_in(0, 2**63 - 1), default=1,
                   help="recorded with the run; Darknet seeds its own weights")
    cbpeer.add_db_args(p)
    p.add_argument("--cfg-dir", metavar="DIR", default=None,
                   help="keep the generated .cfg files in DIR (default: a temporary "
                   "directory, removed)")
    cbpeer.add_convbench_args(p, "the convbench binary (default: build/convbench of this "
                              "repository, %s)" % cbpeer.default_convbench())
    a = p.parse_args(argv)
    cbpeer.check_db_arg(p, a)
    cbpeer.check_convbench_arg(p, a)
    return a


# ---- the .cfg --------------------------------------------------------------------------


def square(layer, keys, base, default):
    """The one value of a size that may be given per axis (k or kh/kw,
    stride or stride_h/stride_w, pad or pad_h/pad_w): Darknet's layers are
    square only."""
    h, w = (keys.get("kh"), keys.get("kw")) if base == "k" else \
        (keys.get(base + "_h"), keys.get(base + "_w"))
    v = keys.get(base, default)
    h = v if h is None else h
    w = v if w is None else w
    if int(h) != int(w):
        raise Unsupported(layer, "%s %sx%s is not square" % (base, h, w))
    return int(h)


class Cfg:
    """The Darknet network being written: sections, and which Darknet layer
    produces each convbench tensor name."""

    def __init__(self, net):
        self.sections = []
        self.producer = {}   # convbench output name -> darknet layer index
        self.kinds = []      # darknet section kind per index
        c, h, w = (list(net["input"]) + [1, 1])[:3]
        self.head = ("[net]\nbatch=%d\nsubdivisions=1\nheight=%d\nwidth=%d\nchannels=%d\n"
                     "learning_rate=0.001\nmomentum=0.9\ndecay=0.0001\npolicy=constant\n"
                     "max_batches=1\n" % (net["batch"], h, w, c))
        self.expected = []   # (darknet index, convbench layer, (c, h, w)) to check

    def last(self):
        return len(self.sections) - 1

    def add(self, kind, body, layer=None, shape=None):
        self.sections.append("[%s]\n%s" % (kind, body))
        self.kinds.append(kind)
        if layer is not None and shape is not None:
            self.expected.append((self.last(), layer, shape))
        return self.last()

    def source(self, layer, name):
        if name == "data":
            if self.sections:
                raise Unsupported(layer, "reads the net input after the first layer")
            return -1
        return self.producer[name]

    def follow(self, layer, name):
        """Makes the previous Darknet layer the one producing `name`."""
        src = self.source(layer, name)
        if src != self.last():
            self.add("route", "layers=%d\n" % src)

    def text(self):
        return self.head + "\n" + "\n".join(self.sections)


def out_chw(layer):
    s = layer["out_shape"]
    return tuple(s) if len(s) == 3 else (s[0], 1, 1)


def cfg_layer(cfg, l):
    kind, keys = l["kind"], l["keys"]
    ins = l["inputs"]
    if kind in ("concat", "add"):
        idx = [cfg.source(l, n) for n in ins]
        if -1 in idx:
            raise Unsupported(l, "reads the net input")
        if kind == "concat":
            cfg.producer[l["output"]] = cfg.add("route",
                                                "layers=%s\n" % ",".join(map(str, idx)))
        else:
            if len(idx) != 2:
                raise Unsupported(l, "[shortcut] adds two inputs, not %d" % len(idx))
            if cfg.last() not in idx:
                cfg.add("route", "layers=%d\n" % idx[0])
            other = idx[1] if cfg.last() == idx[0] else idx[0]
            cfg.producer[l["output"]] = cfg.add("shortcut", "from=%d\nactivation=linear\n" % other,
                                                l, out_chw(l))
        return
    if len(ins) != 1:
        raise Unsupported(l, "%d inputs" % len(ins))
    if kind == "relu" and l["inplace"]:
        src = cfg.source(l, ins[0])
        if src == cfg.last() and src >= 0 and cfg.kinds[src] in ("convolutional", "connected") \
                and "activation=linear" in cfg.sections[src]:
            cfg.sections[src] = cfg.sections[src].replace("activation=linear", "activation=relu")
            return
    if kind != "bn":
        cfg.follow(l, ins[0])
    c, h, w = out_chw(l)
    if kind == "conv":
        if int(keys.get("dilation", 1)) != 1:
            raise Unsupported(l, "dilation %s (Darknet convolutions are not dilated)" %
                              keys["dilation"])
        k = square(l, keys, "k", 1)
        stride = square(l, keys, "stride", 1)
        pad = square(l, keys, "pad", 0)
        body = ("filters=%d\nsize=%d\nstride=%d\npadding=%d\ngroups=%d\nactivation=linear\n" %
                (int(keys["out"]), k, stride, pad, int(keys.get("groups", 1))))
        cfg.producer[l["output"]] = cfg.add("convolutional", body, l, (c, h, w))
    elif kind == "fc":
        cfg.producer[l["output"]] = cfg.add("connected", "output=%d\nactivation=linear\n" %
                                            int(keys["out"]), l, (c, 1, 1))
    elif kind == "relu":
        cfg.producer[l["output"]] = cfg.add("activation", "activation=relu\n")
    elif kind == "pool":
        ic, ih, iw = l["in_shapes"][0] + [1] * (3 - len(l["in_shapes"][0]))
        mode = keys.get("mode", "max")
        glob = keys.get("global", "0") == "1"
        if mode == "avg":
            if not (glob or (h == 1 and w == 1)):
                raise Unsupported(l, "a windowed average pool (Darknet's [avgpool] is global)")
            cfg.producer[l["output"]] = cfg.add("avgpool", "", l, (c, 1, 1))
            return
        if glob:
            k, stride = ih, 1
            if ih != iw:
                raise Unsupported(l, "a global max pool of a non-square input")
        else:
            k = square(l, keys, "k", 1)
            stride = square(l, keys, "stride", 1)
        if ih != iw or h != w:
            raise Unsupported(l, "non-square input or output")
        # Darknet: out = (in + padding - size) / stride + 1, window offset -padding/2.
        padding = (h - 1) * stride + k - ih
        if padding < 0 or (ih + padding - k) // stride + 1 != h:
            raise Unsupported(l, "no Darknet padding gives the output %dx%d" % (h, w))
        cfg.producer[l["output"]] = cfg.add("maxpool", "size=%d\nstride=%d\npadding=%d\n" %
                                            (k, stride, padding), l, (c, h, w))
    elif kind == "lrn":
        cfg.producer[l["output"]] = cfg.add(
            "normalization", "size=%d\nalpha=%s\nbeta=%s\nkappa=%s\n" %
            (int(keys.get("size", 5)), keys.get("alpha", "0.0001"), keys.get("beta", "0.75"),
             keys.get("k", "1")))
    elif kind == "dropout":
        cfg.producer[l["output"]] = cfg.add("dropout", "probability=%s\n" %
                                            keys.get("ratio", "0.5"))
    elif kind == "bn":
        # Darknet's standalone [batchnorm] crashes in training on the CPU in this
        # version: a bn is folded into the conv it follows (batch_normalize=1),
        # the way Darknet's own nets are written.
        src = cfg.source(l, ins[0])
        if src != cfg.last() or src < 0 or cfg.kinds[src] != "convolutional" or \
                "batch_normalize" in cfg.sections[src]:
            raise Unsupported(l, "a batch norm that does not follow a conv directly")
        cfg.sections[src] += "batch_normalize=1\n"
        cfg.producer[l["output"]] = src
    elif kind == "softmax":
        cfg.producer[l["output"]] = cfg.add("softmax", "groups=1\n")
    else:
        raise Unsupported(l, "no Darknet layer for kind '%s'" % kind)


def make_cfg(net):
    cfg = Cfg(net)
    for l in net["layers"]:
        cfg_layer(cfg, l)
    return cfg


# ---- libdarknet ------------------------------------------------------------------------

SHAPE_LINE = re.compile(r"^\s*(\d+)\s+(conv|max|connected|avg|res)\b.*?->\s*(.*)$")


def load_darknet():
    try:
        lib = ctypes.CDLL(LIBDARKNET)
    except OSError as e:
        raise cbpeer.PeerError("cannot load %s (Debian package darknet): %s" % (LIBDARKNET, e))
    lib.parse_network_cfg.restype = ctypes.c_void_p
    lib.parse_network_cfg.argtypes = [ctypes.c_char_p]
    for f in ("forward_network", "backward_network", "free_network"):
        getattr(lib, f).argtypes = [ctypes.c_void_p]
        getattr(lib, f).restype = None
    lib.train_network_datum.argtypes = [ctypes.c_void_p]
    lib.train_network_datum.restype = ctypes.c_float
    return lib


def parse_quietly(lib, path):
    """parse_network_cfg(path), its layer summary (stderr) captured: Darknet
    prints every layer's output size, which is checked against convbench."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as log:
        os.dup2(log.fileno(), 2)
        try:
            net = lib.parse_network_cfg(str(path).encode())
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read()
    if not net:
        raise cbpeer.PeerError("libdarknet could not parse %s:\n%s" % (path, text))
    return net, text


def check_shapes(cfg, summary, path):
    """Darknet's printed output sizes (W x H x C, or N for connected) of the
    layers that print one, against convbench's shapes."""
    printed = {}
    for line in summary.splitlines():
        m = SHAPE_LINE.match(line)
        if m:
            nums = [int(x) for x in re.findall(r"\d+", m.group(3))[:3]]
            printed[int(m.group(1))] = nums
    for idx, layer, (c, h, w) in cfg.expected:
        got = printed.get(idx)
        if got is None:
            continue
        want = [c] if len(got) == 1 or cfg.kinds[idx] == "connected" else [w, h, c]
        if got[:len(want)] != want:
            raise cbpeer.PeerError("%s: Darknet layer %d gives %s for convbench layer '%s', which "
                               "is %dx%dx%d (CxHxW)" % (path, idx, "x".join(map(str, got)),
                                                        layer["name"], c, h, w))


def time_net(lib, net, iters, warmup, progress, what):
    for i in range(warmup):
        lib.train_network_datum(net)  # also switches the net to training mode
    if warmup == 0:
        lib.train_network_datum(net)
    fwd, bwd, total = [], [], []
    start = time.monotonic()
    last = start
    for i in range(iters):
        t0 = time.perf_counter()
        lib.forward_network(net)
        t1 = time.perf_counter()
        lib.backward_network(net)
        t2 = time.perf_counter()
        fwd.append((t1 - t0) * 1e3)
        bwd.append((t2 - t1) * 1e3)
        total.append((t2 - t0) * 1e3)
        now = time.monotonic()
        if progress and now - start >= 1.0 and now - last >= 5.0:
            last = now
            sys.stderr.write("bench %s [darknet]: iteration %d/%d [%.0f s]\n" %
                             (what, i + 1, iters, now - start))
    return pb.Timing(fwd), pb.Timing(bwd), pb.Timing(total)


def describe_darknet():
    try:
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "darknet"],
                                 capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        version = ""
    version = version or "unknown"
    return {"version": version,
            "fingerprint": "darknet-%s-%s" % (
                version, hashlib.sha256(Path(LIBDARKNET).read_bytes()).hexdigest()[:12]),
            "libs": "libdarknet %s (%s); own GEMM, no OpenMP, no BLAS" % (version, LIBDARKNET)}


def put_build(store, info):
    values = {"fingerprint": info["fingerprint"], "git_rev": "", "git_dirty": 0,
              "compiler": "darknet %s" % info["version"], "flags": "", "build_type": "Debian",
              "libs": info["libs"], "kernel_hash": "", "first_seen": pb.iso_now()}
    pb.insert(store.conn, "builds", values,
              " ON CONFLICT (fingerprint, git_rev, git_dirty, compiler, flags) DO NOTHING")
    return store.conn.execute(
        "SELECT id FROM builds WHERE fingerprint = ? AND git_rev = '' AND git_dirty = 0"
        " AND compiler = ? AND flags = ''", (info["fingerprint"], values["compiler"])).fetchone()[0]


# ---- main -----------------------------------------------------------------------------


def net_flops(net):
    ff = fb = 0.0
    for l in net["layers"]:
        # Darknet computes every layer's input gradient but the net input's.
        f, b = pb.layer_flops(l, l["inputs"] != ["data"])
        ff += f
        fb += b
    return ff, fb


def bench(a):
    convbench = a.convbench or cbpeer.default_convbench()
    if not (os.path.isfile(convbench) and os.access(convbench, os.X_OK)):
        raise cbpeer.PeerError("no convbench at %s: build it or pass --convbench PATH" % convbench)
    try:
        sha = hashlib.sha256(Path(a.netdef).read_bytes()).hexdigest()
    except OSError as e:
        raise cbpeer.PeerError("cannot read '%s': %s" % (a.netdef, e.strerror), EXIT_USAGE)
    show = ["show", a.netdef, "--format", "json"] + (["--batch", str(a.batch)] if a.batch else [])
    desc = pb.convbench_json(convbench, show)
    machine = pb.convbench_json(convbench, ["devices", "--format", "json"])
    shapes = bool(desc["shapes"])
    # Every net is written and checked before anything is timed or recorded.
    cfgs = [make_cfg(n) for n in desc["nets"]]
    lib = load_darknet()
    info = describe_darknet()
    keep = a.cfg_dir
    tmpdir = None
    if keep:
        os.makedirs(keep, exist_ok=True)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="darknet_bench.")
        keep = tmpdir.name
    paths = []
    for n, cfg in zip(desc["nets"], cfgs):
        path = Path(keep) / ("%s.cfg" % re.sub(r"[^A-Za-z0-9_.-]", "_", n["name"] if not shapes
                                               else "%s-%s" % (desc["name"],
                                                               n["layers"][0]["name"])))
        path.write_text(cfg.text())
        net, summary = parse_quietly(lib, path)
        check_shapes(cfg, summary, path)
        lib.free_network(net)
        paths.append(path)

    store = None
    if a.db is not None:
        store = pb.Store(a.db, int(machine["schema_version"]), convbench)
    rows_out = []
    try:
        with cbpeer.Recording(store) as rec:
            if store:
                rec.run_id = store.run_begin(store.put_machine(machine), put_build(store, info),
                                             shlex.join([sys.argv[0]] + sys.argv[1:]), a.seed, 1)
            for n, path in zip(desc["nets"], paths):
                what = (desc["name"] if not shapes else
                        "%s %s" % (desc["name"], n["layers"][0]["name"]))
                net, _ = parse_quietly(lib, path)
                before = pb.device_sample()
                fwd, bwd, total = time_net(lib, net, a.iters, a.warmup, not a.quiet, what)
                after = pb.device_sample()
                lib.free_network(net)
                ff, fb = net_flops(n)
                row = {"net": desc["name"], "netdef": a.netdef, "netdef_sha256": sha,
                       "backend": BACKEND, "single_layer": 1 if shapes else 0, "batch": n["batch"],
                       "threads": 1, "iters": a.iters, "warmup": a.warmup, "input_grad": 0,
                       "fwd_flops": ff, "bwd_flops": fb}
                row.update(pb.timing_columns("fwd", fwd))
                row.update(pb.timing_columns("bwd", bwd))
                row.update(pb.timing_columns("total", total))
                layers = []
                if shapes:
                    l = n["layers"][0]
                    db = {"idx": 0, "name": l["name"], "kind": l["kind"],
                          "in_shape": pb.shape_str(l["in_shapes"][0]),
                          "out_shape": pb.shape_str(l["out_shape"]), "backend": BACKEND,
                          "variants": BACKEND, "fallback": 0, "fwd_flops": ff, "bwd_flops": fb,
                          "impl": "darknet %s" % info["version"]}
                    db.update(pb.timing_columns("fwd", fwd))
                    db.update(pb.timing_columns("bwd", bwd))
                    db.update(pb.timing_columns("bwd_data", pb.Timing()))
                    db.update(pb.timing_columns("bwd_filter", pb.Timing()))
                    layers.append({"db": db, "problems": list(l["problems"][:3])})
                if store:
                    store.put_net_result(rec.run_id, row, layers, before, after)
                rows_out.append((what, n["batch"], fwd, bwd, total))
            rec.ok()
    finally:
        if tmpdir:
            tmpdir.cleanup()
    if rec.interrupted:
        sys.stderr.write("%s: interrupted; finished nets kept\n" % PROG)
        return EXIT_INTERRUPTED
    print("%-32s %6s %7s %14s %14s %14s" % ("net", "batch", "threads", "total ms",
                                             "forward ms", "backward ms"))
    for what, batch, fwd, bwd, total in rows_out:
        print("%-32s %6d %7d %14s %14s %14s" % (what, batch, 1, pb.fmt_timing(total),
                                                 pb.fmt_timing(fwd), pb.fmt_timing(bwd)))
    print("median (min) over %d iterations; darknet %s, 1 thread%s" %
          (a.iters, info["version"], "; run %d" % rec.run_id if rec.run_id else ""))
    return EXIT_OK


def main(argv):
    return cbpeer.run_main(PROG, parse_args(argv), bench)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
