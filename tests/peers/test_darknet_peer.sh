#!/usr/bin/env bash
# test_darknet_peer.sh: drives scripts/peers/darknet_bench.py (the Darknet
# peer) as a user would: the cfg it writes, the shapes it checks, what it
# refuses, and the rows it records in a convbench database (read back with
# the sqlite3 CLI), then convbench report on that database. Skips (77)
# without libdarknet (Debian package darknet).
#   test_darknet_peer.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/../cli/lib.sh"
peer_init darknet_bench.py --convbench "$cb"
[[ -e /usr/lib/darknet/libdarknet.so ]] || skip "no /usr/lib/darknet/libdarknet.so (Debian package darknet)"

# ---- what darknet cannot express, and bad arguments: exit 2, nothing recorded ----
printf 'net name=avgnet input=3x8x8 batch=2\nconv name=c1 out=4 k=3 pad=1\npool name=p1 mode=avg k=2 stride=2\nfc name=f out=3\n' >avg.net
run 2 avg.net --db x.db
has err "darknet cannot express layer 2 'p1' (pool): a windowed average pool (Darknet's [avgpool] is global)"
printf 'net name=rect input=3x8x8 batch=2\nconv name=c1 out=4 kh=3 kw=1\n' >rect.net
run 2 rect.net --db x.db
has err "darknet cannot express layer 1 'c1' (conv): k 3x1 is not square"
[[ ! -e x.db ]] || fail "a refused net created x.db"
run 2 "$root/netdefs/lenet.net" --threads 2
has err "--threads"

# ---- a net: cfg, shapes checked, rows recorded ------------------------------------
printf 'net name=small input=3x16x16 batch=2\nconv name=c1 out=8 k=3 pad=1\nrelu\npool name=p1 mode=max k=3 stride=2 round=ceil\nlrn name=n1\nconv name=c2 out=8 k=3 pad=1\nbn name=b2\nrelu\nconv name=c3 out=8 k=1 in=p1\nadd name=s in=b2,c3\npool name=gp mode=avg global=1\nfc name=f out=5\ndropout\nsoftmax name=loss\n' >small.net
run 0 small.net --batch 3 --iters 2 --warmup 1 --db r.db --cfg-dir cfg --quiet
has out "small                                 3       1"
has cfg/small.cfg "activation=relu"
has cfg/small.cfg "batch_normalize=1"
has cfg/small.cfg "[shortcut]"
has cfg/small.cfg "[route]"
has cfg/small.cfg "[avgpool]"
has cfg/small.cfg "[normalization]"
sql r.db "SELECT kind, status, threads FROM runs" "peer|ok|1"
sql r.db "SELECT net, backend, single_layer, batch, threads, iters, fwd_samples, bwd_samples, total_samples FROM net_results" "small|darknet|0|3|1|2|2|2|2"
sql r.db "SELECT fwd_median_ms > 0 AND bwd_median_ms > 0 AND abs(total_median_ms - fwd_median_ms - bwd_median_ms) < 0.5 * total_median_ms FROM net_results" "1"
sql r.db "SELECT total_samples_ms LIKE '[%,%]' AND fwd_samples_ms LIKE '[%,%]' FROM net_results" "1"
sql r.db "SELECT compiler LIKE 'darknet %' FROM builds" "1"
sql r.db "SELECT count(*) FROM device_samples" "2"

# ---- a .shapes file: one-layer nets with their layer rows --------------------------
printf 'shapes name=two batch=2\nconv name=A input=3x12x12 out=4 k=3\nconv name=B input=4x10x10 out=4 k=5 pad=2\n' >two.shapes
run 0 two.shapes --iters 2 --db r.db --quiet
sql r.db "SELECT l.name, n.single_layer FROM net_results n JOIN layer_results l ON l.net_result_id = n.id ORDER BY n.id" "A|1
B|1"

# ---- convbench report shows the darknet rows -----------------------------------------
"$cb" report --db r.db --out rep >/dev/null 2>err || fail "report failed: $(cat err)"
checks=$((checks + 1))
grep -q "^| darknet | " rep/report.md || fail "report.md has no darknet row"
# Darknet records net totals only: no per-layer columns of dashes for it.
checks=$((checks + 1))
! grep -q "^small per layer" rep/report.md || fail "report.md has a per-layer table without layers"

finish
