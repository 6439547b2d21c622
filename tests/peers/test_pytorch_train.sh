#!/usr/bin/env bash
# test_pytorch_train.sh: drives scripts/peers/pytorch_train.py (the PyTorch
# peer of convbench train) on a few hundred Fashion-MNIST images: usage,
# errors naming the bad file, the rows it records beside convbench's own
# (backend 'pytorch'), the netdef's solver and lr policy, the loss going
# down. Skips (77) without torch, sqlite3 or the Fashion-MNIST package.
#   test_pytorch_train.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/../cli/lib.sh"
peer_init pytorch_train.py
need_torch
need_sqlite3
need_fashion_mnist

tiny_train_net
common=(--limit 512 --test-limit 200 --threads 1 --quiet --convbench "$cb")

run 0 --help
has out "usage: pytorch_train.py"
has out "--log-every N"
run 2 tiny.net --epochs 0
has err "--epochs: expected an integer from 1 to 100000, got '0'"

mkdir bad
run 2 tiny.net --data bad --db bad.db "${common[@]}"
has err "bad/train-images-idx3-ubyte: cannot open"
zcat $fm/train-images-idx3-ubyte.gz | head -c 100000 >bad/train-images-idx3-ubyte
run 2 tiny.net --data bad --db bad.db "${common[@]}"
has err "bad/train-images-idx3-ubyte: truncated"
printf 'net name=rgb input=3x32x32 batch=4\nfc out=10\nsoftmax\n' >rgb.net
run 2 rgb.net --db bad.db "${common[@]}"
has err "net rgb takes input 3x32x32, but the images of $fm/train-images-idx3-ubyte.gz are 1x28x28"
checks=$((checks + 1))
[[ ! -e bad.db ]] || fail "bad input created bad.db"

run 0 tiny.net --epochs 2 --log-every 1 --db r.db "${common[@]}"
has out "train tiny on fashion-mnist with PyTorch"
has out "512 training and 200 test images, batch 16, 2 epochs, 1 thread, sgd lr 0.05 (policy step)"
has out "epoch 2/2: train loss"
sql r.db "select kind, status, threads, seed from runs" "peer|ok|1|1"
sql r.db "select compiler like 'PyTorch %' from builds" "1"
sql r.db "select group_concat(epoch || ':' || steps || ':' || backend || ':' || dataset || ':' ||
  batch || ':' || threads, ' ') from train_epochs" \
  "1:32:pytorch:fashion-mnist:16:1 2:32:pytorch:fashion-mnist:16:1"
sql r.db "select count(*), max(step) from train_steps where backend = 'pytorch'" "64|64"
# The netdef's step policy: the rate halves after 32 updates.
sql r.db "select lr from train_steps where step in (1, 33) order by step" "0.05
0.025"
sql r.db "select (select avg(loss) from train_steps where step > 56) <
  0.7 * (select avg(loss) from train_steps where step <= 8)" "1"
sql r.db "select test_accuracy > 0.5 and images_per_s > 0 and epoch_seconds > 0
  from train_epochs where epoch = 2" "1"

# convbench train records beside it: the same machine row, its own run.
"$cb" train tiny.net --epochs 1 --limit 512 --test-limit 200 --threads 1 --backend ref --quiet \
  --db r.db >/dev/null 2>&1 || fail "convbench train into r.db failed"
sql r.db "select group_concat(distinct backend) from train_epochs" "pytorch,ref"
sql r.db "select count(*) from machines" "1"

finish
