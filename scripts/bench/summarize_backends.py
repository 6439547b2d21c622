#!/usr/bin/python3
"""summarize_backends.py: the Markdown summary of a scripts/bench/backends.sh run.

Reads OUT/{shapes,alexnet}_{cb,pytorch}_t<T>_r<R>.csv (convbench bench and
the PyTorch peer, same CSV layout) and OUT/variants_t<T>.csv (convbench run),
and prints, per thread count: L1..L5 per layer and backend (forward and
backward ms and GFLOP/s, medians over rounds, each round itself a median
over iterations), the ratio of each backend to PyTorch, AlexNet per layer
and in total, and every variant of every backend on every conv problem.

    summarize_backends.py OUT > OUT/summary.md
"""

import csv
import glob
import os
import re
import statistics
import sys
from collections import defaultdict


def read_rounds(out, what, threads):
    """{(backend, layer): {"fwd": [ms per round], "bwd": [...], "kind": k, "flops": (f, b)}}"""
    rows = defaultdict(lambda: {"fwd": [], "bwd": [], "kind": "", "flops": (0.0, 0.0), "fallback": False})
    for path in sorted(glob.glob(os.path.join(out, f"{what}_*_t{threads}_r*.csv"))):
        with open(path, newline="") as f:
            for r in csv.DictReader(l for l in f if not l.startswith("#")):
                key = (r["backend"], r["layer"])
                e = rows[key]
                e["kind"] = r["kind"]
                if r["fwd_ms"]:
                    e["fwd"].append(float(r["fwd_ms"]))
                if r["bwd_ms"]:
                    e["bwd"].append(float(r["bwd_ms"]))
                e["fallback"] |= r.get("fallback") == "1"
                fg, bg = float(r["fwd_gflops"] or 0), float(r["bwd_gflops"] or 0)
                if r["fwd_ms"] and fg:
                    e["flops"] = (fg * float(r["fwd_ms"]) * 1e6, e["flops"][1])
                if r["bwd_ms"] and bg:
                    e["flops"] = (e["flops"][0], bg * float(r["bwd_ms"]) * 1e6)
    return rows


def med(v):
    return statistics.median(v) if v else float("nan")


def gf(flops, ms):
    return flops / (ms * 1e6) if flops and ms == ms and ms > 0 else 0.0


def backends_of(rows):
    order = ["openblas", "onednn", "fftw", "cpu", "tuned", "ref", "pytorch"]
    names = sorted({b for b, _ in rows}, key=lambda b: (order.index(b) if b in order else 50, b))
    return names


def layer_table(rows, layers, title):
    bes = backends_of(rows)
    print(f"\n{title}: forward / backward ms (GFLOP/s), median over rounds; "
          "'*' = part ran on ref (the backend does not support it)\n")
    print("| layer | " + " | ".join(bes) + " |")
    print("|---|" + "---:|" * len(bes))
    for layer in layers:
        cells = []
        for b in bes:
            e = rows.get((b, layer))
            if not e or not e["fwd"]:
                cells.append("-")
                continue
            f, bw = med(e["fwd"]), med(e["bwd"])
            fl = e["flops"]
            star = "*" if e["fallback"] else ""
            if fl[0]:
                cells.append(f"{f:.1f} / {bw:.1f} ({gf(fl[0], f):.0f} / {gf(fl[1], bw):.0f}){star}")
            else:
                cells.append(f"{f:.1f} / {bw:.1f}{star}")
        print(f"| {layer} | " + " | ".join(cells) + " |")


def ratio_table(rows, layers, title):
    """Each backend's forward+backward time over PyTorch's, per layer."""
    bes = [b for b in backends_of(rows) if b != "pytorch"]
    print(f"\n{title}: (fwd + bwd) time relative to PyTorch (< 1 is faster)\n")
    print("| layer | " + " | ".join(bes) + " |")
    print("|---|" + "---:|" * len(bes))
    for layer in layers:
        pt = rows.get(("pytorch", layer))
        if not pt or not pt["fwd"]:
            continue
        ref = med(pt["fwd"]) + med(pt["bwd"])
        cells = []
        for b in bes:
            e = rows.get((b, layer))
            cells.append(f"{(med(e['fwd']) + med(e['bwd'])) / ref:.2f}" if e and e["fwd"] else "-")
        print(f"| {layer} | " + " | ".join(cells) + " |")


def totals_table(rows, title, total_layer):
    bes = backends_of(rows)
    print(f"\n{title}\n")
    print("| Network | Backend | Total ms | Forward ms | Backward ms |")
    print("|---|---|---:|---:|---:|")
    for b in bes:
        e = rows.get((b, total_layer))
        if not e or not e["fwd"]:
            continue
        f, bw = med(e["fwd"]), med(e["bwd"])
        print(f"| {title.split()[0]} | {b} | {f + bw:.1f} | {f:.1f} | {bw:.1f} |")


def variants_table(out, threads):
    path = os.path.join(out, f"variants_t{threads}.csv")
    if not os.path.exists(path):
        return
    by_key = defaultdict(list)
    with open(path, newline="") as f:
        for r in csv.DictReader(l for l in f if not l.startswith("#")):
            by_key[r["key"]].append(r)
    print(f"\nEvery variant, {threads} thread(s): median ms (GFLOP/s); fastest in bold\n")
    for key, rs in by_key.items():
        best = min(float(r["median_ms"]) for r in rs)
        cells = []
        for r in rs:
            ms = float(r["median_ms"])
            name = f"{r['backend']}/{r['variant']}" + (f"[{r['params']}]" if r["params"] != "-" else "")
            cell = f"{name} {ms:.1f} ({float(r['gflops']):.0f})"
            cells.append(f"**{cell}**" if ms == best else cell)
        print(f"- `{key}`: " + "; ".join(cells))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    threads = sorted({int(m.group(1)) for p in glob.glob(os.path.join(out, "*_t*_r*.csv"))
                      for m in [re.search(r"_t(\d+)_r\d+\.csv$", p)] if m})
    print(f"# CPU backends against PyTorch ({out})")
    for t in threads:
        print(f"\n## {t} thread(s)")
        shapes = read_rounds(out, "shapes", t)
        layers = sorted({l for _, l in shapes if l.startswith("L")})
        if layers:
            layer_table(shapes, layers, "L1..L5, each alone, input gradient included")
            ratio_table(shapes, layers, "L1..L5")
            totals_table(shapes, "L1..L5 (sum of layers)", "sum")
        alex = read_rounds(out, "alexnet", t)
        alayers = []
        for path in sorted(glob.glob(os.path.join(out, f"alexnet_cb_t{t}_r1.csv"))):
            with open(path, newline="") as f:
                alayers = [r["layer"] for r in csv.DictReader(l for l in f if not l.startswith("#"))
                           if r["kind"] in ("conv", "fc") and r["backend"] == r["backend"]]
        alayers = list(dict.fromkeys(alayers))
        if alayers:
            layer_table(alex, alayers, "alexnet-owt conv and fc layers")
            ratio_table(alex, alayers, "alexnet-owt")
            totals_table(alex, "alexnet-owt (whole net)", "net")
        variants_table(out, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
