#!/usr/bin/env bash
# test_train.sh: drives `convbench train`, `infer` and `check` as a user
# would, on a few hundred Fashion-MNIST images (seconds): exit codes,
# messages naming the bad file or layer, the rows recorded (read back with
# sqlite3), checkpoints, identical losses for identical seeds, Ctrl-C.
# Skips (77) without the Debian package dataset-fashion-mnist.
#   test_train.sh PATH/TO/convbench REPO_ROOT
source "$(dirname "$0")/lib.sh"
need_fashion_mnist
need_sqlite3

tiny_train_net
small=(--limit 512 --test-limit 200 --threads 1 --backend ref --quiet)

# ---- usage --------------------------------------------------------------------
run 0 train --help
has out "usage: convbench train NET.net"
has out "--data D"
has out "--log-every N"
run 0 help infer
has out "usage: convbench infer NET.net --load FILE"
run 0 check --help
has out "--samples S"
run 0 --help
has out "train"
has out "infer"
has out "check"
run 2 train tiny.net --epochs 0
has err "--epochs: expected an integer from 1 to 100000, got '0'"
run 2 train tiny.net --lr -1
has err "--lr: expected a number above 0"
run 2 train tiny.net --backend ref,openblas
has err "train runs on one backend"
run 2 train
has err "missing NET.net"
run 2 infer tiny.net
has err "--load FILE is required"

# ---- bad data: named, exit 2, nothing recorded ----------------------------------------
mkdir -p bad
run 2 train tiny.net --data bad --db bad.db "${small[@]}"
has err "bad/train-images-idx3-ubyte: no such file"
nofile bad.db
# Truncated: the real header, a quarter of the pixels.
zcat $fm/train-images-idx3-ubyte.gz | head -c 1000000 | gzip >bad/train-images-idx3-ubyte.gz
cp $fm/train-labels-idx1-ubyte.gz bad/
run 2 train tiny.net --data bad --db bad.db "${small[@]}"
has err "bad/train-images-idx3-ubyte.gz: truncated"
nofile bad.db
echo "not an IDX file at all" >bad/train-images-idx3-ubyte.gz
rm -f bad/train-images-idx3-ubyte.gz
echo "not an IDX file at all" >bad/train-images-idx3-ubyte
run 2 train tiny.net --data bad --db bad.db "${small[@]}"
has err "bad/train-images-idx3-ubyte: not an IDX file"
# Labels of the test set with the training images: the counts differ.
zcat $fm/train-images-idx3-ubyte.gz >bad/train-images-idx3-ubyte
cp $fm/t10k-labels-idx1-ubyte.gz bad/train-labels-idx1-ubyte.gz
run 2 train tiny.net --data bad --db bad.db "${small[@]}"
has err "bad/train-labels-idx1-ubyte.gz: 10000 labels, but bad/train-images-idx3-ubyte holds 60000 images"
nofile bad.db
# A net whose input does not fit the images: refused before anything runs.
printf 'net name=rgb input=3x32x32 batch=4\nfc out=10\nsoftmax\n' >rgb.net
run 2 train rgb.net --db bad.db "${small[@]}"
has err "net rgb takes input 3x32x32, but the images of $fm/train-images-idx3-ubyte.gz are 1x28x28"
nofile bad.db

# ---- training, recorded ------------------------------------------------------------------
run 0 train tiny.net --epochs 2 --seed 5 --log-every 1 --db r.db --save tiny.ckpt "${small[@]}"
has out "train tiny on fashion-mnist: 512 training and 200 test images, batch 16, 2 epochs, backend ref"
has out "epoch 1/2: train loss"
has out "epoch 2/2: train loss"
has out "test loss"
has out "saved tiny.ckpt"
sql r.db "select kind, status, seed, threads from runs" "train|ok|5|1"
sql r.db "select count(*), min(step), max(step), count(distinct epoch) from train_steps" "64|1|64|2"
sql r.db "select group_concat(epoch || ':' || steps || ':' || dataset || ':' || batch, ' ')
  from train_epochs" "1:32:fashion-mnist:16 2:32:fashion-mnist:16"
# The step policy halves the rate every 32 updates.
sql r.db "select lr from train_steps where step in (1, 33, 64) order by step" "0.05
0.025
0.025"
# The loss goes down: the last 8 steps against the first 8.
sql r.db "select (select avg(loss) from train_steps where step > 56) <
  0.7 * (select avg(loss) from train_steps where step <= 8)" "1"
sql r.db "select test_accuracy > 0.5 and test_accuracy <= 1 and images_per_s > 0 from train_epochs
  where epoch = 2" "1"
# Same seed, backend and threads: the same losses; another seed: others.
run 0 train tiny.net --epochs 2 --seed 5 --log-every 1 --db r.db "${small[@]}"
run 0 train tiny.net --epochs 2 --seed 6 --log-every 1 --db r.db "${small[@]}"
sql r.db "select count(distinct l) from (select group_concat(loss) as l from
  (select run_id, loss from train_steps where run_id in (1, 2) order by run_id, step)
  group by run_id)" "1"
sql r.db "select count(distinct l) from (select group_concat(loss) as l from
  (select run_id, loss from train_steps where run_id in (1, 3) order by run_id, step)
  group by run_id)" "2"
# --log-every: every 10th step (1, 11, ..., 61).
run 0 train tiny.net --epochs 2 --db r.db "${small[@]}"
sql r.db "select count(*) from train_steps where run_id = 4" "7"

# ---- checkpoints and infer ------------------------------------------------------------------
run 0 infer tiny.net --load tiny.ckpt --limit 200 --threads 1 --backend ref --db r.db
has out "infer tiny with tiny.ckpt on fashion-mnist: 200 images"
has out "accuracy "
has out "confusion matrix (rows: true class, columns: predicted)"
acc_train=$(sqlite3 r.db "select printf('%.2f', 100 * test_accuracy) from train_epochs
  where run_id = 1 and epoch = 2")
has out "accuracy $acc_train%"
sql r.db "select kind, status from runs where id = 5" "infer|ok"
# Fine-tuning: a renamed layer is initialised fresh, the others load.
sed 's/name=ip1 out=10/name=ip9 out=10/' tiny.net >renamed.net
run 0 train renamed.net --load tiny.ckpt --epochs 1 --no-db "${small[@]}"
has err "loaded 1 layers from tiny.ckpt; initialised fresh: ip9"
run 2 infer renamed.net --load tiny.ckpt --limit 50 --threads 1 --backend ref --no-db
has err "tiny.ckpt lacks layers ip9 of renamed.net"
sed 's/name=conv1 out=4 k=5/name=conv1 out=6 k=5/' tiny.net >wider.net
run 2 train wider.net --load tiny.ckpt --no-db "${small[@]}"
has err "tiny.ckpt: layer conv1: parameter conv1.weight is 4x1x5x5 in the checkpoint but 6x1x5x5 in the net"
head -c 100 tiny.ckpt >cut.ckpt
run 2 infer tiny.net --load cut.ckpt --limit 50 --threads 1 --backend ref --no-db
has err "cut.ckpt: truncated checkpoint"

# ---- check --------------------------------------------------------------------------------
run 0 check tiny.net --backend ref --db r.db --quiet
has out "check tiny: batch 2"
has out "conv1                conv     fd_weights"
has out "0 failed"
# conv1 and ip1: input and weights; relu1, pool1, loss: input.
sql r.db "select count(*), sum(pass), min(batch) from grad_checks" "7|7|2"
sql r.db "select kind, status from runs where id = (select max(id) from runs)" "check|ok"
# Every backend of this build against ref: fwd, bwd_data, dweights of conv1 and ip1.
run 0 check tiny.net --backend all --db all.db --quiet
has out "0 failed"
sql all.db "select count(*) = 6 * (select count(distinct backend) from grad_checks
  where backend != 'ref') from grad_checks where backend != 'ref' and pass = 1" "1"
sql all.db "select group_concat(distinct what) from grad_checks where backend != 'ref'" \
  "fwd,bwd_data,dweights"

# ---- Ctrl-C keeps what was recorded ------------------------------------------------------------
"$cb" train tiny.net --epochs 50 --limit 4096 --test-limit 100 --threads 1 --backend ref \
  --log-every 1 --db int.db --quiet >out 2>err &
interrupt $! train int.db "select count(*) from train_epochs"
has err "interrupted; recorded steps and epochs were kept, run marked interrupted"
sql int.db "select status from runs" "interrupted"
sql int.db "select count(*) >= 1 from train_epochs" "1"
sql int.db "select max(step) >= 256 from train_steps" "1"

finish
