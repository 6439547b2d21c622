#!/usr/bin/env bash
# test_tune.sh: convbench tune, the cache commands and bench --backend tuned,
# driven as a user would: what gets cached, what a tuned net runs, export /
# clear / import, and two tunes writing one database at the same time.
#   test_tune.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"

backends=$("$cb" devices | awk '$2 == "available" && $1 != "ref" {print $1}' | paste -sd, -)
if [[ -z "$backends" ]]; then
  skip "no backend besides ref in this build"
fi
quick=(--min-samples 3 --min-ms 1 --quiet)
printf 'net name=tiny input=4x10x10 batch=2\nconv name=c1 out=6 k=3 pad=1\nrelu\nconv name=c2 out=4 k=1\nfc name=f out=5\n' >tiny.net

# ---- tune: every problem once, winners cached ---------------------------------------
run 0 tune tiny.net --db t.db "${quick[@]}"
has out "tuning 8 problems"
has out "conv_fwd:f32:nchw:n2c4h10w10_k6r3s3_p1x1_u1x1_d1x1_g1"
has out "8 tuned"
sql t.db "select count(*) from runs where kind = 'tune' and status = 'ok'" "1"
sql t.db "select count(distinct problem_id) from measurements" "8"
sql t.db "select count(*) from measurements where status = 'mismatch'" "0"
# Every winner is cached, whatever the load, with its confidence.
sql t.db "select count(*) from tune_cache" "8"
sql t.db "select count(*) from tune_cache where confidence in ('high', 'low') and samples >= 3 and estimate_ms > 0 and spread >= 0 and load1 >= 0" "8"
ncached=8
# A second tune finds them cached and is quick: no measurement at all.
nmeas=$(sqlite3 t.db "select count(*) from measurements")
run 0 tune tiny.net --db t.db "${quick[@]}"
has out "8 already cached"
sql t.db "select count(*) from measurements" "$nmeas"
# --retune-noisy re-measures exactly the low-confidence entries: make one low.
sqlite3 t.db "update tune_cache set confidence = 'high', confidence_why = ''"
sqlite3 t.db "update tune_cache set confidence = 'low', confidence_why = 'planted' where id = (select min(id) from tune_cache)"
run 0 tune tiny.net --db t.db --retune-noisy "${quick[@]}"
has out "1 low-confidence entries re-tuned"
has out "7 already cached"
sql t.db "select count(distinct problem_id) from measurements where run_id = (select max(id) from runs)" "1"
run 0 tune --help
has out "--retune-noisy"
# The progress line without a terminal: one whole line per problem, no \r.
run 0 tune tiny.net --db p.db --min-samples 3 --min-ms 1 --ops fwd
has err "tune 1/3 conv_fwd n2c4h10w10_k6r3s3_p1x1_u1x1: done "
has err "ETA"
checks=$((checks + 1))
! grep -q $'\r' err || fail "progress on a pipe has \\r in it"
run 2 tune tiny.net --db t.db --backends ref
has err "--backends: 'ref' is not a backend to tune"
run 2 tune tiny.net --db t.db --ops fwd,sideways
has err "--ops: unknown op 'sideways'"

# ---- bench --backend tuned plans from the cache ---------------------------------------
run 0 bench tiny.net --backend tuned --db t.db --iters 2 --quiet
has out "backend tuned"
sql t.db "select count(*) from net_results where backend = 'tuned'" "1"
# the default backend is tuned once the cache knows this machine
run 0 bench tiny.net --db t.db --iters 1 --quiet
has out "backend tuned"
# ... but a backend named on the command line is what runs, alone or beside tuned
run 0 bench tiny.net --backend ref --db t.db --iters 1 --quiet
has out "backend ref"
sql t.db "select count(*) from net_results where backend = 'tuned'" "2"
run 0 bench tiny.net --backend tuned,ref --db t.db --iters 1 --quiet --format csv
sql t.db "select group_concat(backend) from (select backend from net_results order by id desc limit 2)" "ref,tuned"
run 2 bench tiny.net --backend tuned --no-db
has err "--backend tuned reads the tune cache in the database"
run 2 bench tiny.net --backend tuned --db missing.db
has err "there is no database 'missing.db' with a tune cache"

# ---- cache: list, show, export, clear, import ----------------------------------------
run 0 cache list --db t.db
has out "cpu:"
has out "confidence "
ncached=$(sqlite3 t.db "select count(*) from tune_cache")
run 0 cache show "conv_fwd:f32:nchw:n2c4h10w10_k6r3s3_p1x1_u1x1_d1x1_g1" --db t.db
has out "measurements:"
run 0 cache export exported.jsonl --db t.db
has out "exported $ncached entries"
run 0 cache clear --db t.db
has out "cleared $ncached cache entries"
sql t.db "select count(*) from tune_cache" "0"
run 0 bench tiny.net --backend tuned --db t.db --iters 1 --quiet
has out "(heuristic)"
run 0 cache import exported.jsonl --db t.db
has out "imported $ncached entries"
sql t.db "select count(*) from tune_cache where source = 'imported'" "$ncached"
echo '{"format": "convbench-cache"' >broken.jsonl
run 2 cache import broken.jsonl --db t.db
has err "broken.jsonl:1:"
run 2 cache frob --db t.db
has err "unknown subcommand 'frob'"

# ---- two tunes on one database at the same time both finish --------------------------
printf 'net name=a input=3x12x12 batch=2\nconv name=a1 out=5 k=3\nconv name=a2 out=7 k=1\n' >a.net
printf 'net name=b input=5x9x9 batch=2\nconv name=b1 out=6 k=3 pad=1\nconv name=b2 out=3 k=1\n' >b.net
"$cb" tune a.net --db c.db "${quick[@]}" >a.out 2>a.err &
pa=$!
"$cb" tune b.net --db c.db "${quick[@]}" >b.out 2>b.err &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
checks=$((checks + 1))
[[ $ra == 0 && $rb == 0 ]] || fail "concurrent tunes exited $ra and $rb: $(cat a.err b.err)"
sql c.db "select count(*) from runs where kind = 'tune' and status = 'ok'" "2"
sql c.db "select count(distinct problem_id) from measurements" "10"
# Every problem of each net was measured by its own run: none lost to the other writer.
sql c.db "select count(*) from (select run_id, count(distinct problem_id) n from measurements group by run_id) where n = 5" "2"

finish
