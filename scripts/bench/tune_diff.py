#!/usr/bin/python3
"""tune_diff.py: how many cached winners differ between two tune databases
by more than a threshold (5%), e.g. an old tuner's and a new one's, or a
raced tune's and an exhaustive one's.

For each problem key cached in both (local entries), when the two winners
are different candidates, each database is asked how its own measurements
rank the other's pick: ratio_A = min time of B's pick / min time of A's pick,
both as measured in A (min, not median: preemption only adds time, and the
old tuner stored no robust estimate); ratio_B likewise in B. The picks
differ beyond the threshold when the geometric mean of the known ratios is
over 1 + threshold (a candidate one database never timed counts as unknown;
with neither ratio known, the winners' own times are compared). Prints a
summary line and one line per problem that differs.

Those ratios come from two sessions, so the machine's state between them
is in them too. --rerun CONVBENCH settles each differing problem with a
fresh head-to-head: `convbench run KEY --variant V --params P --no-check`
for A's pick and B's pick, alternating (ABAB...) for --rounds rounds so a
load that drifts falls on both; each side's estimate is the minimum of its
per-round medians (a run reports its median; the minimum over rounds
drops the rounds that were preempted). It prints which pick is faster now
and counts the problems where B's pick is slower than A's by more than the
threshold.

    tune_diff.py A.db B.db [--threshold 0.05] [--rerun build/convbench [--rounds 3]]
"""

import argparse
import json
import math
import sqlite3
import subprocess
import sys


def winners(db):
    q = """SELECT p.key, c.backend, c.variant, c.params, c.min_ms, c.median_ms
           FROM tune_cache c JOIN problems p ON p.id = c.problem_id
           WHERE c.source = 'local'"""
    return {k: (b, v, pa, mn, md) for k, b, v, pa, mn, md in db.execute(q)}


def measured(db, key, backend, variant, params):
    """The lowest min_ms any timed measurement of that candidate has, or None."""
    q = """SELECT min(m.min_ms) FROM measurements m JOIN problems p ON p.id = m.problem_id
           WHERE p.key = ? AND m.backend = ? AND m.variant = ? AND m.params = ?
             AND m.samples > 0 AND m.status IN ('ok', 'pruned')"""
    r = db.execute(q, (key, backend, variant, params)).fetchone()
    return r[0] if r and r[0] else None


def run_pick(convbench, key, w, threads):
    """Median ms of one `convbench run` of pick w on key, or None."""
    cmd = [convbench, "run", key, "--backend", w[0], "--variant", w[1], "--no-check", "--iters",
           "10", "--warmup", "2", "--threads", str(threads), "--no-db", "--quiet", "--format",
           "json"]
    if w[2]:
        cmd[7:7] = ["--params", w[2]]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return None
    res = json.loads(r.stdout)["results"]
    return res[0]["median_ms"] if res and res[0].get("samples") else None


def head_to_head(convbench, key, a, b, rounds, threads):
    """(A's pick ms, B's pick ms), each the minimum over rounds of a run's
    median, the two alternating; None where a pick could not run."""
    ta, tb = [], []
    for i in range(rounds):
        for w, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            t = run_pick(convbench, key, w, threads)
            if t is not None:
                out.append(t)
    return (min(ta) if ta else None), (min(tb) if tb else None)


def name(w):
    return f"{w[0]}/{w[1]}" + (f"[{w[2]}]" if w[2] else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threshold", type=float, default=0.05)
    ap.add_argument("--rerun", metavar="CONVBENCH",
                    help="settle each differing problem with a fresh head-to-head")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    da, db = sqlite3.connect(args.a), sqlite3.connect(args.b)
    wa, wb = winners(da), winners(db)
    common = sorted(set(wa) & set(wb))
    same = differ = close = 0
    lines = []
    reruns = []
    for key in common:
        a, b = wa[key], wb[key]
        if a[:3] == b[:3]:
            same += 1
            continue
        ratios = []
        for d, own, other in ((da, a, b), (db, b, a)):
            t_own = measured(d, key, *own[:3])
            t_other = measured(d, key, *other[:3])
            if t_own and t_other:
                ratios.append(t_other / t_own)
        if ratios:
            r = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        else:
            r = max(a[3], b[3]) / min(a[3], b[3]) if min(a[3], b[3]) > 0 else float("inf")
        if r > 1 + args.threshold:
            differ += 1
            lines.append(f"  {key}: A {name(a)} vs B {name(b)}: {100 * (r - 1):.1f}% apart")
            reruns.append((key, a, b))
        else:
            close += 1
    print(f"{len(common)} problems in both; {same} same winner; {close} different but within "
          f"{100 * args.threshold:.0f}%; {differ} differ by more than {100 * args.threshold:.0f}%; "
          f"only in A {len(set(wa) - set(wb))}, only in B {len(set(wb) - set(wa))}")
    for line in lines:
        print(line)
    if args.rerun and reruns:
        print(f"head-to-head now ({args.rounds} alternating rounds of `convbench run`, "
              f"{args.threads} threads; min over rounds of each run's median):")
        worse = better = even = 0
        for key, a, b in reruns:
            ta, tb = head_to_head(args.rerun, key, a, b, args.rounds, args.threads)
            if ta is None or tb is None:
                print(f"  {key}: could not run both picks")
                continue
            r = tb / ta
            verdict = ("B slower" if r > 1 + args.threshold else
                       "B faster" if r < 1 / (1 + args.threshold) else "within threshold")
            worse += verdict == "B slower"
            better += verdict == "B faster"
            even += verdict == "within threshold"
            print(f"  {key}: A {name(a)} {ta:.3f} ms, B {name(b)} {tb:.3f} ms: B/A {r:.3f} {verdict}")
        print(f"head-to-head: B's pick slower by more than {100 * args.threshold:.0f}% on {worse}, "
              f"faster on {better}, within on {even} of {len(reruns)}")


if __name__ == "__main__":
    sys.exit(main())
