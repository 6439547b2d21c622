#!/usr/bin/env bash
# test_bench_slow.sh: every shipped netdef runs forward and backward end to
# end through `convbench bench` (batch 1, ref backend) and lands complete in
# the database: a result per net, a timing per layer, kernel timings per
# conv. Label slow: about half a minute on 2 cores.
#   test_bench_slow.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"

nets=(alexnet-owt overfeat-fast vgg-a googlenet-v1 resnet-50 lenet)
for n in "${nets[@]}"; do
  "$cb" bench "$root/netdefs/$n.net" --batch 1 --iters 2 --warmup 1 --backend ref --db r.db --quiet >"$n.out" 2>&1 ||
    fail "bench $n failed: $(tail -3 "$n.out")"
done
"$cb" bench "$root/netdefs/layers.shapes" --batch 2 --iters 2 --warmup 0 --backend ref --db r.db --quiet >shapes.out 2>&1 ||
  fail "bench layers.shapes failed: $(tail -3 shapes.out)"
# The first conv's input gradient only with --input-grad.
"$cb" bench "$root/netdefs/alexnet-owt.net" --batch 1 --iters 1 --warmup 0 --threads 1 --input-grad \
  --backend ref --db r.db --quiet >ig.out 2>&1 || fail "bench --input-grad failed: $(tail -3 ig.out)"

sql r.db "select count(*) from runs where status = 'ok'" "8"
sql r.db "select count(*) from net_results where single_layer = 0" "7"
sql r.db "select count(*) from net_results where single_layer = 1" "5"
# Every layer of every result has a forward and a backward time.
sql r.db "select count(*) from layer_results where fwd_median_ms is null or bwd_median_ms is null" "0"
# Every conv ran its kernels: bwd_filter always; bwd_data except on the
# data input, which only --input-grad asks for.
sql r.db "select count(*) from layer_results where kind = 'conv' and bwd_filter_median_ms is null" "0"
sql r.db "select count(*) from layer_results l join net_results n on l.net_result_id = n.id
     where l.kind = 'conv' and l.bwd_data_median_ms is null and not (l.idx = 0 and n.input_grad = 0)" "0"
sql r.db "select count(*) from layer_results l join net_results n on l.net_result_id = n.id
     where n.input_grad = 1 and l.idx = 0 and l.bwd_data_median_ms > 0" "1"
# Layer counts per net: conv+pool+fc+concat rows of the reference plus the
# relus; resnet has 53 convolutions.
sql r.db "select count(*) from layer_results l join net_results n on l.net_result_id = n.id
     where n.net = 'resnet-50' and l.kind = 'conv'" "53"
sql r.db "select count(*) from layer_results l join net_results n on l.net_result_id = n.id
     where n.net = 'googlenet-v1' and l.kind = 'conv'" "57"
# Flop counts: alexnet's forward conv+fc work at batch 1 is (167.8 + 15.0) / 128 GFLOP.
sql r.db "select round(fwd_flops / 1e9, 2) from net_results where net = 'alexnet-owt' and input_grad = 0" "1.43"

finish
