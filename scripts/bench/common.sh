# scripts/bench/common.sh: what backends.sh and tuned.sh share. Sourced
# after they set their defaults (batch, threads, rounds, iters, nets, out="")
# and usage_lines (the last line of their header comment, which --help prints):
#   bench_args "$@"   the options both take; any other goes to the script's
#                     bench_option OPTION, which returns 0 when it took it
#   bench_setup NAME  creates OUT (default bench-out/NAME-TIME), builds
#                     convbench if needed and sets cb, py (/usr/bin/python3),
#                     peer (the PyTorch peer) and backends (every available
#                     one but ref, comma-separated)
#   log MESSAGE       a timestamped line on stderr
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

bench_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      --batch) batch=$2; shift 2 ;;
      --threads) threads=$2; shift 2 ;;
      --rounds) rounds=$2; shift 2 ;;
      --iters) iters=$2; shift 2 ;;
      --nets) nets=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      -h|--help) sed -n "2,${usage_lines}p" "$0"; exit 0 ;;
      *)
        if declare -F bench_option >/dev/null && bench_option "$1"; then
          shift
        else
          echo "$(basename "$0"): unknown option '$1'" >&2
          exit 2
        fi ;;
    esac
  done
}

bench_setup() {
  out=${out:-$root/bench-out/$1-$(date -u +%Y%m%dT%H%M%SZ)}
  mkdir -p "$out"
  "$root/scripts/convbench" --version >/dev/null # set up and build if needed
  cb="$root/build/convbench"
  py=/usr/bin/python3
  peer="$root/scripts/peers/pytorch_bench.py"
  backends=$("$cb" devices --format json | $py -c 'import json,sys
print(",".join(b["name"] for b in json.load(sys.stdin)["backends"] if b["available"] and b["name"] != "ref"))')
}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
