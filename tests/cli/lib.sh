# tests/cli/lib.sh: what every shell test (tests/cli/*.sh, tests/peers/*.sh)
# starts with. Sourced first thing, with the test's own arguments:
#   source "$(dirname "$0")/lib.sh"          (tests/cli)
#   source "$(dirname "$0")/../cli/lib.sh"   (tests/peers)
# The test is called as TEST.sh PATH/TO/convbench REPO_ROOT. This sets cb and
# root (both absolute), makes a temporary directory, removes it on exit and
# runs the test inside it; then the helpers below count checks and failures,
# and finish prints the summary and sets the exit status. Exit 77 is a skip.
set -uo pipefail
cb=$(realpath "$1")
root=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

fails=0
checks=0
# What `run` runs, and its name in messages; peer_init points it at a peer.
runner=("$cb")
runner_name=convbench

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# skip REASON: the test cannot run here (exit 77).
skip() {
  echo "skip: $*"
  exit 77
}
need_sqlite3() { command -v sqlite3 >/dev/null || skip "no sqlite3 command-line tool"; }
# need_fashion_mnist: sets fm, the Fashion-MNIST directory.
need_fashion_mnist() {
  fm=/usr/share/datasets/fashion-mnist
  [[ -r $fm/train-images-idx3-ubyte.gz ]] ||
    skip "$fm is not installed (Debian package dataset-fashion-mnist)"
}
# peer_init SCRIPT [ARGS...]: `run` runs scripts/peers/SCRIPT ARGS... with
# /usr/bin/python3 (py); peer is the script's path.
peer_init() {
  py=/usr/bin/python3
  peer="$root/scripts/peers/$1"
  runner=("$py" "$peer" "${@:2}")
  runner_name=$1
}
need_torch() { "$py" -c 'import torch' 2>/dev/null || skip "$py cannot import torch (Debian package python3-torch)"; }

# run EXPECTED_STATUS ARGS...: runs the runner, keeps stdout/stderr in out/err.
run() {
  local want=$1
  shift
  checks=$((checks + 1))
  "${runner[@]}" "$@" >out 2>err
  local got=$?
  [[ $got == "$want" ]] || fail "$runner_name $* exited $got, expected $want; stderr: $(head -c 600 err)"
}
# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
  checks=$((checks + 1))
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(head -c 600 "$1")"
}
# lacks FILE TEXT: FILE does not contain TEXT.
lacks() {
  checks=$((checks + 1))
  ! grep -qF -- "$2" "$1" || fail "$1 has '$2'"
}
# same FILE TEXT: FILE is exactly TEXT (plus newline).
same() {
  checks=$((checks + 1))
  [[ "$(cat "$1")" == "$2" ]] || fail "$1 is '$(cat "$1")', expected '$2'"
}
# nofile PATH: PATH does not exist.
nofile() {
  checks=$((checks + 1))
  [[ ! -e $1 ]] || fail "$1 exists"
}
# sql DB QUERY EXPECTED: sqlite3 DB QUERY prints EXPECTED.
sql() {
  checks=$((checks + 1))
  local got
  got=$(sqlite3 "$1" "$2" 2>&1)
  [[ "$got" == "$3" ]] || fail "sqlite3 $1 \"$2\" gave '$got', expected '$3'"
}

# interrupt PID WHAT DB QUERY: once sqlite3 DB QUERY counts 1 or more (or
# after 20 s), Ctrl-C to PID, the background job WHAT; it must exit 130.
interrupt() {
  local n got
  for _ in $(seq 200); do
    n=$(sqlite3 "$3" "$4" 2>/dev/null || echo 0)
    [[ ${n:-0} -ge 1 ]] && break
    sleep 0.1
  done
  kill -INT "$1"
  wait "$1"
  got=$?
  checks=$((checks + 1))
  [[ $got == 130 ]] || fail "interrupted $2 exited $got, expected 130"
}

# tiny_train_net: writes tiny.net, a net that trains on Fashion-MNIST on
# ref in a second.
tiny_train_net() {
  cat >tiny.net <<'NET'
net name=tiny input=1x28x28 batch=16
solver type=sgd lr=0.05 momentum=0.9 weight_decay=0.0005 policy=step gamma=0.5 step=32
conv name=conv1 out=4 k=5 stride=2
relu
pool name=pool1 mode=max k=2 stride=2
fc name=ip1 out=10
softmax name=loss
NET
}

# finish: the summary; exits 1 when a check failed.
finish() {
  if [[ $fails -gt 0 ]]; then
    echo "FAILED: $fails of $checks checks" >&2
    exit 1
  fi
  echo "ok: $checks checks"
}
