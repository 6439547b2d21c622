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

    tune_diff.py A.db B.db [--threshold 0.05]
"""

import argparse
import math
import sqlite3
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


def name(w):
    return f"{w[0]}/{w[1]}" + (f"[{w[2]}]" if w[2] else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threshold", type=float, default=0.05)
    args = ap.parse_args()
    da, db = sqlite3.connect(args.a), sqlite3.connect(args.b)
    wa, wb = winners(da), winners(db)
    common = sorted(set(wa) & set(wb))
    same = differ = close = 0
    lines = []
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
        else:
            close += 1
    print(f"{len(common)} problems in both; {same} same winner; {close} different but within "
          f"{100 * args.threshold:.0f}%; {differ} differ by more than {100 * args.threshold:.0f}%; "
          f"only in A {len(set(wa) - set(wb))}, only in B {len(set(wb) - set(wa))}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
