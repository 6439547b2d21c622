#!/usr/bin/env bash
# test_pytorch_peer.sh: drives scripts/peers/pytorch_bench.py (the PyTorch
# peer) as a user would, next to the convbench it reads nets from, and
# checks exit codes, messages, output layouts and the rows it records in a
# convbench database (read back with the sqlite3 CLI). Skips (77) when
# /usr/bin/python3 cannot import torch.
#   test_pytorch_peer.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/../cli/lib.sh"
peer_init pytorch_bench.py
need_torch
need_sqlite3

lenet="$root/netdefs/lenet.net"
common=(--batch 2 --iters 2 --threads 1 --quiet --convbench "$cb")

# ---- usage ----------------------------------------------------------------------
run 0 --help
has out "usage: pytorch_bench.py"
has out "--batch N"
has out "--format {table,csv,json,summary}"
has out "physical cores"
run 2 "$lenet" --bogus
has err "unrecognized arguments: --bogus"
run 2
has err "the following arguments are required"
run 2 "$lenet" --iters 0
has err "--iters: expected an integer from 1 to 1000000, got '0'"
run 2 "$lenet" --db x.db --no-db
has err "not allowed with argument --db"
run 2 "$lenet" --iters 2 --pause-at 2
has err "--pause-at 2: must be less than --iters (2)"

# ---- bad input: convbench's message, exit 2, no database ----------------------------
printf 'net input=3x8x8 batch=2\nconv name=c1 out=4 k=3 strid=2\n' >typo.net
run 2 typo.net "${common[@]}" --db bad.db
has err "typo.net:2:24: conv: unknown key 'strid'"
checks=$((checks + 1))
[[ ! -e bad.db ]] || fail "bad input created bad.db"

# ---- lenet into a fresh database --------------------------------------------------
run 0 "$lenet" "${common[@]}" --db r.db
has out "lenet: batch 2, 1 thread, 2 iterations after 1 warm-up, backend pytorch"
has out "| lenet   | pytorch |"
has out "sum of layers (layerwise)"
has out "whole net (native)"
# devices FIELD: a field of convbench's machine record.
devices() {
  "$cb" devices --format json | "$py" -c "import json, sys; print(json.load(sys.stdin)['$1'])"
}
sql r.db "pragma user_version" "$(devices schema_version)"
sql r.db "select kind, status, threads, seed from runs" "peer|ok|1|1"
sql r.db "select count(*) from runs where command like '%pytorch_bench.py%lenet.net --batch 2%'" \
  "1"
sql r.db "select fingerprint like 'pytorch-%', compiler like 'PyTorch %',
  libs like 'torch %oneDNN%BLAS%' from builds" "1|1|1"
sql r.db "select fingerprint from machines" "$(devices fingerprint)"
sql r.db "select net, backend, single_layer, batch, iters, warmup, input_grad, total_samples,
  fwd_flops, bwd_flops from net_results" "lenet|pytorch|0|2|2|1|0|2|9172000.0|17192000.0"
sql r.db "select total_median_ms > 0 and fwd_median_ms <= total_median_ms
  and bwd_median_ms <= total_median_ms from net_results" "1"
# Every iteration's samples, in convbench's text (compare tests on them).
sql r.db "select total_samples_ms like '[%,%]' and fwd_samples_ms like '[%,%]'
  and bwd_samples_ms like '[%,%]' from net_results" "1"
# Every layer of convbench's net, in order, with convbench's shapes (which the
# script checked against PyTorch's outputs before timing anything).
sql r.db "select group_concat(name || ':' || kind || ':' || out_shape, ' ')
  from (select * from layer_results order by idx)" \
  "conv1:conv:20x24x24 pool1:pool:20x12x12 conv2:conv:50x8x8 pool2:pool:50x4x4 ip1:fc:500 \
relu1:relu:500 ip2:fc:10 loss:softmax:1"
sql r.db "select count(*) from layer_results where backend = 'pytorch' and variants = 'pytorch'
  and fwd_samples = 2 and bwd_samples = 2 and fwd_median_ms > 0 and bwd_median_ms > 0
  and bwd_data_samples = 0" "8"
sql r.db "select p.key, l.fwd_flops, l.bwd_flops from layer_results l
  join problems p on p.id = l.fwd_problem_id where l.name = 'conv1'" \
  "conv_fwd:f32:nchw:n2c1h28w28_k20r5s5_p0x0_u1x1_d1x1_g1|1152000.0|1152000.0"
sql r.db "select p.key from layer_results l join problems p on p.id = l.bwd_filter_problem_id
  where l.name = 'ip1'" "gemm:f32:tn:m500n800k2"
sql r.db "select count(*) from layer_results where fwd_problem_id is not null" "4"
sql r.db "select group_concat(phase) from (select phase from device_samples order by id)" \
  "before,after"
sql r.db "select count(*) from device_samples where load1 is not null and net_result_id = 1" "2"

# convbench records beside the peer: same machine row, its own build and run.
"$cb" bench "$lenet" --batch 2 --iters 1 --quiet --db r.db >/dev/null 2>&1 ||
  fail "convbench bench into r.db failed"
sql r.db "select group_concat(backend) from (select backend from net_results order by id)" \
  "pytorch,tuned"
sql r.db "select count(*) from machines" "1"
sql r.db "select count(*) from builds" "2"

# ---- json and csv in convbench bench's layouts -------------------------------------
run 0 "$lenet" "${common[@]}" --no-db --format json
checks=$((checks + 1))
"$py" -c '
import json
d = json.load(open("out"))
r = d["results"][0]
assert d["net"] == "lenet" and d["batch"] == 2 and d["iters"] == 2 and "run_id" not in d
assert r["backend"] == "pytorch" and len(r["layers"]) == 8
assert r["layers"][0]["fwd"]["samples"] == 2 and r["total"]["median_ms"] > 0
assert r["fwd_flops"] == 9172000 and r["bwd_flops"] == 17192000
' || fail "--format json: bad JSON or wrong contents: $(head -c 600 out)"
"$cb" bench "$lenet" --batch 2 --iters 1 --quiet --no-db --format csv >cb.csv 2>/dev/null
run 0 "$lenet" "${common[@]}" --no-db --format csv
checks=$((checks + 1))
[[ "$(head -1 out)" == "$(grep -v '^#' cb.csv | head -1)" ]] ||
  fail "csv header differs from convbench's: $(head -1 out)"
checks=$((checks + 1))
[[ $(wc -l <out) == 10 ]] || fail "csv: expected a header, 8 layers and a total: $(cat out)"
has out "lenet,pytorch,2,1,2,,net,total,,"

# ---- --pause-at and --format summary, as bench --compare drives them ---------------
# "paused" after the first half, then (after a line on stdin) one line of
# totals over both halves.
checks=$((checks + 1))
printf '\n' | "$py" "$peer" "$lenet" "${common[@]}" --iters 3 --no-db --pause-at 1 --format summary \
  >out 2>err || fail "--pause-at 1 --format summary failed: $(cat err)"
checks=$((checks + 1))
"$py" -c '
import json
lines = open("out").read().splitlines()
assert lines[0] == "paused" and len(lines) == 2, lines
d = json.loads(lines[1])
assert d["backend"] == "pytorch" and d["measure"] == "native" and d["samples"] == 3, d
assert all(isinstance(v, (str, int, float)) for v in d.values()), d
assert 0 < d["total_min_ms"] <= d["total_median_ms"] <= d["total_max_ms"], d
' || fail "--pause-at / --format summary: $(cat out)"

# ---- a .shapes file: each entry alone, layerwise -----------------------------------
cat >two.shapes <<'EOF'
shapes name=two batch=2
conv name=A input=3x12x12 out=4 k=3
pool name=B input=4x9x9 mode=avg k=3 stride=2 pad=1 round=ceil
EOF
run 0 two.shapes "${common[@]}" --db r.db
has out "sum of layers: total"
has out "| two     | pytorch |"
sql r.db "select count(*), sum(single_layer) from net_results where net = 'two'" "2|2"
sql r.db "select group_concat(l.name || ':' || l.out_shape) from layer_results l
  join net_results n on n.id = l.net_result_id where n.net = 'two'" "A:4x10x10,B:4x5x5"

# ---- refused: PyTorch cannot express it, or not our database ---------------------------
# Caffe's ceil rule (convbench's) keeps a window that starts past the image
# when pad is 0; PyTorch's drops it. The shape check must say so, before
# anything is recorded.
printf 'net input=1x5x5 batch=2\npool name=p mode=max k=1 stride=3 round=ceil\nfc out=2\n' >div.net
run 1 div.net "${common[@]}" --db r.db
has err "layer p (pool): PyTorch's output is 2x1x2x2, convbench's 1x3x3 at batch 2"
sql r.db "select count(*) from runs where command like '%div.net%'" "0"

sqlite3 foreign.db "create table t(x)"
run 1 "$lenet" "${common[@]}" --db foreign.db
has err "'foreign.db' is not a convbench database"
sql foreign.db "select count(*) from sqlite_master" "1"

cp r.db old.db
sqlite3 old.db "pragma user_version = 1"
run 1 "$lenet" "${common[@]}" --db old.db
has err "database 'old.db' is at schema 1"
has err "convbench db init --db old.db"

finish
