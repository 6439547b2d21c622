"""cbpeer.py: what the peer scripts (pytorch_bench.py, pytorch_train.py,
darknet_bench.py) share: exit statuses and errors, the arguments every
peer takes (--db / --no-db, --convbench, --quiet) and their checks, the
text of stored samples, and main()'s handling of signals and failures. No torch: importing it is cheap.
"""
import argparse
import math
import os
import signal
import sqlite3
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class PeerError(Exception):
    """A failure with its message and the exit status it maps to."""

    def __init__(self, message, code=EXIT_FAIL):
        super().__init__(message)
        self.code = code


# ---- arguments -------------------------------------------------------------------


def int_in(lo, hi):
    """An argparse type: an integer in [lo, hi], worded like convbench."""

    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            v = None
        if v is None or v < lo or v > hi:
            raise argparse.ArgumentTypeError(
                "expected an integer from %d to %d, got '%s'" % (lo, hi, text))
        return v

    return parse


def default_convbench():
    """build/convbench of the repository this script lives in."""
    return str(Path(__file__).resolve().parent.parent.parent / "build" / "convbench")


def add_db_args(p):
    """--db PATH (default ./results.db) or --no-db (a.db None)."""
    db = p.add_mutually_exclusive_group()
    db.add_argument("--db", metavar="PATH", default="results.db",
                    help="database to record into (default ./results.db)")
    db.add_argument("--no-db", dest="db", action="store_const", const=None,
                    help="record nothing")


def add_convbench_args(p, convbench_help):
    """--convbench PATH, then --quiet."""
    p.add_argument("--convbench", metavar="PATH", default=None, help=convbench_help)
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def check_db_arg(p, a):
    if a.db is not None and not a.db:
        p.error("--db: empty path (use --no-db to record nothing)")


def check_convbench_arg(p, a):
    if a.convbench is not None and not (os.path.isfile(a.convbench)
                                        and os.access(a.convbench, os.X_OK)):
        p.error("--convbench: '%s' is not an executable file" % a.convbench)


# ---- recording -------------------------------------------------------------------------


def samples_text(values):
    """The per-iteration samples (ms) of a timing as convbench stores them in
    the *_samples_ms columns (cb_bind_samples, autotune/db/bind.c): a JSON
    array, "[1.25,1.3]", each value %.8g (a microsecond of a 10 s sample);
    None (NULL) when there are none, so that compare says "no test" rather than test nothing. A value that
    is not finite is stored as 0, as convbench does."""
    values = list(values)
    if not values:
        return None
    return "[" + ",".join("%.8g" % (v if math.isfinite(v) else 0.0) for v in values) + "]"


def run_failed(store, run_id, e):
    """Marks the run failed after exception e, if one was begun; when the
    database itself fails too, the first error is the one reported."""
    if store and run_id is not None:
        try:
            store.run_end(run_id, "failed", str(e) or type(e).__name__)
        except sqlite3.Error:
            pass


class Recording:
    """One peer run's row in the database, as a with-block: the caller sets
    run_id once it has begun the run (store None: --no-db) and calls ok()
    at the end. Leaving the block by Ctrl-C marks the run interrupted,
    swallows the interrupt and sets `interrupted` (the caller prints its
    note and returns 130); any other exception marks it failed and goes on.
    The store is closed either way."""

    def __init__(self, store):
        self.store, self.run_id, self.interrupted = store, None, False

    def __enter__(self):
        return self

    def ok(self):
        if self.store:
            self.store.run_end(self.run_id, "ok")

    def __exit__(self, kind, e, tb):
        try:
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                if self.store and self.run_id is not None:
                    self.store.run_end(self.run_id, "interrupted")
                self.interrupted = True
                return True
            if e is not None:
                run_failed(self.store, self.run_id, e)
            return False
        finally:
            if self.store:
                self.store.close()


# ---- main ---------------------------------------------------------------------------------


def on_signal(signum, frame):
    """SIGINT and SIGTERM end the run like Ctrl-C: finished nets kept, the
    run marked interrupted. Installed explicitly, as convbench does: a shell
    starts background jobs with SIGINT ignored, and Python then leaves it so."""
    raise KeyboardInterrupt


def run_main(prog, a, body, failures=(sqlite3.Error, OSError)):
    """Runs body(a) with SIGINT and SIGTERM raising KeyboardInterrupt and
    returns its exit status: a PeerError's own, 130 for an interrupt that
    body did not handle, 1 for the exceptions in failures, each reported
    on stderr as 'prog: ...'."""
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return body(a)
    except PeerError as e:
        sys.stderr.write("%s: %s\n" % (prog, e))
        return e.code
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted; nothing recorded\n" % prog)
        return EXIT_INTERRUPTED
    except failures as e:
        sys.stderr.write("%s: %s: %s\n" % (prog, type(e).__name__, e))
        return EXIT_FAIL
