#!/usr/bin/env bash
# test_cli.sh: drives build/convbench as a user would and checks exit codes,
# messages, and what lands in the database (read back with the sqlite3 CLI).
#   test_cli.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"

# ---- usage and help --------------------------------------------------------
run 2
has err "usage: convbench"
run 0 --help
has out "usage: convbench"
has out "bench"
has out "devices"
run 0 bench --help
has out "--batch N"
has out "--format F"
run 0 help bench
has out "usage: convbench bench"
run 2 frobnicate
has err "convbench: unknown command 'frobnicate'"
run 2 bench --bogus "$root/netdefs/lenet.net"
has err "convbench bench: unknown option '--bogus'"
has err "usage: convbench bench"
run 2 bench
has err "convbench bench: missing NET.net or LAYERS.shapes"
run 2 bench "$root/netdefs/lenet.net" --batch 0
has err "convbench bench: --batch: expected an integer from 1 to 2147483647, got '0'"
run 2 bench "$root/netdefs/lenet.net" --iters abc
has err "--iters: expected an integer"
run 2 bench "$root/netdefs/lenet.net" --format xml
has err "--format: expected table, csv or json, got 'xml'"
run 2 bench "$root/netdefs/lenet.net" --batch
has err "option '--batch' needs a value"
run 2 devices --bogus
has err "convbench devices: unknown option '--bogus'"

# ---- bad input: clear message, exit 2, nothing written ----------------------
run 2 bench nope.net --db x.db
same err "cannot read 'nope.net': No such file or directory"
printf 'net input=3x8x8 batch=2\nconv name=c1 out=4 k=3 strid=2\n' >typo.net
run 2 bench typo.net --db x.db
same err "typo.net:2:24: conv: unknown key 'strid' (did you mean 'stride'?)"
printf 'net input=3x8x8 batch=2\nconv name=c1 out=4 k=11\n' >small.net
run 2 bench small.net --db x.db
same err "small.net:2:1: layer c1: output would be 0x0 (input 3x8x8, k 11, stride 1, pad 0)"
run 2 bench "$root/netdefs/alexnet-owt.net" --batch 2000000000 --db x.db
has err "alexnet-owt.net:"
has err "layer conv1: the net at batch 2000000000 needs"
has err "bytes"
checks=$((checks + 1))
[[ ! -e x.db ]] || fail "a refused run created the database"

# ---- database errors ----------------------------------------------------------
run 1 bench "$root/netdefs/lenet.net" --batch 1 --iters 1 --db /nonexistent/dir/r.db
has err "cannot create database '/nonexistent/dir/r.db'"
head -c 4096 /dev/urandom >corrupt.db
cp corrupt.db corrupt.orig
run 1 bench "$root/netdefs/lenet.net" --batch 1 --iters 1 --db corrupt.db
has err "'corrupt.db' is not an SQLite database"
checks=$((checks + 1))
cmp -s corrupt.db corrupt.orig || fail "convbench modified a corrupt database"

# ---- a real run, every format --------------------------------------------------
run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 3 --warmup 1 --backend ref --db r.db
has out "lenet: batch 2, "
has out ", backend ref"
has out "| Network"
has out "conv1"
has out "ref/direct"
sql r.db "select kind, status from runs" "bench|ok"
# The recorded command names the settings the defaults chose (threads: physical cores).
sql r.db "select command = 'convbench bench $root/netdefs/lenet.net --batch 2 --iters 3 --warmup 1 --backend ref --db r.db --threads ' || threads || ' --seed 1' from runs" "1"
sql r.db "select net, batch, iters, warmup, fwd_samples from net_results" "lenet|2|3|1|3"
nlayers=$(grep -cE '^ +[0-9]+  ' out)
sql r.db "select count(*) from layer_results" "$nlayers"
sql r.db "select count(*) from layer_results where fwd_median_ms > 0 and bwd_median_ms > 0" "$nlayers"
sql r.db "select group_concat(phase) from device_samples" "before,after"
sql r.db "select count(*) from machines" "1"
sql r.db "select count(*) from problems where key like 'conv_fwd:f32:nchw:n2c1h28w28_k20r5s5%'" "1"
run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 2 --backend ref --db r.db --format csv --quiet
has out "net,backend,batch,threads,iters,index,layer,kind"
has out "lenet,ref,2,"
checks=$((checks + 1))
[[ $(grep -vc '^#' out) == $((nlayers + 2)) ]] || fail "csv has $(grep -vc '^#' out) lines, expected $((nlayers + 2))"
run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 2 --backend ref --db r.db --format json
checks=$((checks + 1))
python3 -c 'import json,sys; d=json.load(open("out")); assert d["net"]=="lenet" and len(d["results"][0]["layers"])>3' ||
  fail "json output does not parse or lacks layers"
sql r.db "select count(*) from runs where status = 'ok'" "3"
run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 1 --no-db
checks=$((checks + 1))
[[ ! -e results.db ]] || fail "--no-db wrote results.db"

# ---- several backends, interleaved, compared in one table -------------------------
run 2 bench "$root/netdefs/lenet.net" --backend nosuch --db b.db
has err "--backend: unknown backend 'nosuch' (this build has: ref"
run 2 bench "$root/netdefs/lenet.net" --backend ref,ref --db b.db
has err "--backend: 'ref' given twice"
other=$("$cb" devices | awk '$2 == "available" && $1 != "ref" {print $1; exit}')
if [[ -n "$other" ]]; then
  run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 2 --backend "ref,$other" --db b.db
  has out "2 backends timed interleaved, round by round"
  has out "== $other"
  has out "forward + backward ms per layer"
  has out "| lenet   | $other"
  sql b.db "select group_concat(backend) from (select backend from net_results order by id)" "ref,$other"
  run 0 bench "$root/netdefs/lenet.net" --batch 2 --iters 1 --backend all --no-db --format json
  checks=$((checks + 1))
  python3 -c 'import json; d=json.load(open("out")); assert "ref" not in [r["backend"] for r in d["results"]]' ||
    fail "--backend all included ref or gave bad json"
else
  echo "note: no backend besides ref in this build; multi-backend checks skipped"
fi

# ---- .shapes: each layer alone, one result each ---------------------------------
printf 'shapes name=two batch=2\nconv name=A input=3x12x12 out=4 k=3\nconv name=B input=4x9x9 out=8 k=5 stride=2\n' >two.shapes
run 0 bench two.shapes --iters 2 --db s.db
has out "sum of layers"
sql s.db "select group_concat(net || ':' || single_layer) from net_results" "two:1,two:1"
sql s.db "select group_concat(name) from layer_results order by id" "A,B"

# ---- Ctrl-C keeps what finished and marks the run --------------------------------
printf 'shapes name=slow batch=8\nconv name=quick input=1x8x8 out=2 k=3\nconv name=heavy input=64x56x56 out=64 k=3 pad=1\n' >slow.shapes
"$cb" bench slow.shapes --iters 100 --warmup 0 --backend ref --db int.db >out 2>err &
interrupt $! bench int.db "select count(*) from net_results"
has err "interrupted"
sql int.db "select status from runs" "interrupted"
sql int.db "select group_concat(name) from layer_results" "quick"

# ---- run: one problem, checked against ref and timed ----------------------------
key="conv_fwd:f32:nchw:n1c3h8w8_k4r3s3_p1x1_u1x1_d1x1_g1"
run 0 run "$key" --backend ref --iters 2
has out "ref       direct"
has out "exact"
run 2 run "conv_fwd:f32:nchw:n1c3"
has err "convbench run: bad problem key \"conv_fwd:f32:nchw:n1c3\": expected 'h' at column 23"
run 2 run "$key" --backend ref --variant nosuch
has err "no variant 'nosuch' for conv_fwd in the selected backends"
run 2 run "$key" --params x
has err "--params: expected integers"

# ---- gemm and peak ------------------------------------------------------------------
run 0 gemm 64 48 32 --trans nt --backend ref --iters 2 --no-db
has out "gemm:f32:nt:m64n48k32"
has out "ref       naive"
has out "exact"
has out "%peak"
run 2 gemm 64 48 --no-db
has err "expected M N K"
run 2 gemm 64 48 32 --trans xx --no-db
has err "--trans: expected nn, nt, tn or tt, got 'xx'"
run 0 peak --seconds 0.05 --repeats 1 --db r.db
has out "FP32 FMA peak"
has out "GFLOP/s"
has out "not recorded: 1 repeat, fewer than the 5 a peak needs"
run 0 peak --seconds 0.05 --repeats 1 --no-db --format json
checks=$((checks + 1))
python3 -c 'import json; d=json.load(open("out")); assert d["peaks"][0]["threads"]==1 and d["peaks"][0]["gflops"]>0' ||
  fail "peak --format json"

# ---- show: the net as built ---------------------------------------------------------
run 0 show "$root/netdefs/googlenet-v1.net" --batch 2
has out "googlenet-v1: batch 2, input 3x224x224, 138 layers"
has out "inception_5b/output"
run 0 show "$root/netdefs/resnet-50.net" --format json
checks=$((checks + 1))
python3 -c 'import json; d=json.load(open("out")); n=d["nets"][0]; assert n["batch"]==50 and sum(l["kind"]=="conv" for l in n["layers"])==53' ||
  fail "show --format json: bad json or wrong resnet-50"
run 2 show small.net
has err "small.net:2:1: layer c1: output would be 0x0"

# ---- db: init and info ---------------------------------------------------------------
run 0 db init --db fresh.db
same out "fresh.db: convbench schema 10"
run 0 db info --db r.db
has out "schema version   10"
has out "convbench bench"
run 2 db frob
has err "unknown subcommand 'frob'"
run 1 db info --db corrupt.db
has err "is not an SQLite database"

# ---- devices -------------------------------------------------------------------
run 0 devices
has out "topology (hwloc):"
has out "ref        available"
has out "conv_fwd"

finish
