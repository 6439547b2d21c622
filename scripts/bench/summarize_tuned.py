#!/usr/bin/python3
"""summarize_tuned.py: the Markdown summary of a scripts/bench/tuned.sh run.

Reads OUT/tune_times.txt and OUT/<net>_{cb,pytorch}_r<R>.csv (convbench
bench and the PyTorch peer, same CSV layout) and prints: with --convbench,
the tune seconds per net and in total of the other binary against this one
(OUT/tune_compare.txt) and how many winners differ beyond 5%
(OUT/tune_diff.txt); the tuning time per net (first tune and the
warm-cache second tune); per net, a row per
backend with total / forward / backward ms (medians over rounds, each
round a median over iterations) and its ratio to tuned; whether tuned beat
the fastest single backend; and which backend the tuned plan used per op.

    summarize_tuned.py OUT > OUT/summary.md
"""

import csv
import glob
import os
import re
import statistics
import sys
from collections import Counter, defaultdict


def med(v):
    return statistics.median(v) if v else float("nan")


def read_net(out, net):
    """({backend: {"fwd": [...], "bwd": [...]}}, Counter of tuned kernel choices)"""
    rows = defaultdict(lambda: {"fwd": [], "bwd": []})
    choices = Counter()
    for path in sorted(glob.glob(os.path.join(out, f"{net}_*_r*.csv"))):
        first = "_r1." in path
        with open(path, newline="") as f:
            for r in csv.DictReader(l for l in f if not l.startswith("#")):
                if r["layer"] in ("net", "sum") and r["kind"] == "total":
                    rows[r["backend"]]["fwd"].append(float(r["fwd_ms"]))
                    rows[r["backend"]]["bwd"].append(float(r["bwd_ms"]))
                elif first and r["backend"] == "tuned" and r.get("kernels") not in (None, "", "-"):
                    # "fwd=onednn/direct_blocked bwd_data=...(heuristic) ...", or one
                    # "backend/variant" when every op uses the same kernel
                    for op in r["kernels"].split():
                        kernel = op.split("=", 1)[-1]
                        miss = " (heuristic: not in the cache)" if "(heuristic)" in kernel else ""
                        choices[kernel.split("/")[0] + miss] += 1
    return rows, choices


def compare(out):
    """The before/after table of tuned.sh --convbench, when there is one."""
    path = os.path.join(out, "tune_compare.txt")
    if not os.path.exists(path):
        return
    secs = defaultdict(dict)
    with open(path) as f:
        for line in f:
            label, net, s = line.split()
            secs[net][label] = float(s) if re.match(r"^[0-9.]+$", s) else float("nan")
    print("## Tune time, other binary against this one (same session)\n\n"
          "| net | other (s) | this (s) | other / this |\n|---|---:|---:|---:|")
    tot = [0.0, 0.0]
    for net, t in secs.items():
        a, b = t.get("other", float("nan")), t.get("this", float("nan"))
        tot[0] += a
        tot[1] += b
        print(f"| {net} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    print(f"| **all** | **{tot[0]:.1f}** | **{tot[1]:.1f}** | **{tot[0] / tot[1]:.2f}** |\n")
    diff = os.path.join(out, "tune_diff.txt")
    if os.path.exists(diff):
        with open(diff) as f:
            lines = f.read().splitlines()
        print("Winners (tune_diff.py other.db this.db): " + (lines[0] if lines else "?") + "\n")
        for line in lines[1:]:
            print(f"- {line.strip()}")
        print()


def main(out):
    print(f"# Autotuned nets against single backends and PyTorch\n\n`{out}`\n")
    compare(out)
    print("## Tuning time\n\n| net | first tune (s) | second tune (s) | first tune's summary |\n|---|---:|---:|---|")
    times = defaultdict(dict)
    path = os.path.join(out, "tune_times.txt")
    with open(path) if os.path.exists(path) else open(os.devnull) as f:
        for line in f:
            p = line.split(" ", 3)
            times[p[1]][p[0]] = (p[2], p[3].strip() if len(p) > 3 else "")
    total = [0.0, 0.0]
    for net, t in times.items():
        a, b = t.get("first", ("?", "")), t.get("second", ("?", ""))
        for i, x in enumerate((a[0], b[0])):
            total[i] += float(x) if re.match(r"^[0-9.]+$", x) else 0
        print(f"| {net} | {a[0]} | {b[0]} | {a[1]} |")
    print(f"| **all** | **{total[0]:.1f}** | **{total[1]:.1f}** | |\n")

    nets = sorted({os.path.basename(p).rsplit("_cb_r", 1)[0] for p in glob.glob(os.path.join(out, "*_cb_r*.csv"))})
    verdicts = []
    for net in nets:
        rows, choices = read_net(out, net)
        tot = {b: med([f + g for f, g in zip(e["fwd"], e["bwd"])]) for b, e in rows.items()}
        tuned = tot.get("tuned", float("nan"))
        print(f"## {net}\n\n| backend | total ms | forward ms | backward ms | x tuned | rounds |\n|---|---:|---:|---:|---:|---:|")
        for b in sorted(rows, key=lambda b: tot[b]):
            e = rows[b]
            print(f"| {b} | {tot[b]:.1f} | {med(e['fwd']):.1f} | {med(e['bwd']):.1f} | {tot[b] / tuned:.2f} | {len(e['fwd'])} |")
        singles = {b: t for b, t in tot.items() if b not in ("tuned", "pytorch")}
        if singles:
            best = min(singles, key=singles.get)
            verdicts.append((net, best, singles[best], tuned))
        print(f"\nTuned plan, ops per backend: {', '.join(f'{b} {n}' for b, n in choices.most_common())}\n")
    print("## Tuned against the fastest single backend\n\n| net | fastest single | its ms | tuned ms | tuned / fastest |\n|---|---|---:|---:|---:|")
    for net, best, b, t in verdicts:
        print(f"| {net} | {best} | {b:.1f} | {t:.1f} | {t / b:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])
