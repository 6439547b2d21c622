#!/usr/bin/env bash
# test_report.sh: convbench report and compare on a fixture database built
# here (convbench db init + tests/data/report_fixture.sql: rows in every
# table, training and GPU columns included). Checks the tables' numbers,
# that every plot is written as valid SVG (xmllint) and PNG (signature and
# IHDR), that the HTML page is static and, opened in headless Chromium,
# shows every image, and takes a screenshot of it.
#   test_report.sh PATH/TO/convbench REPO_ROOT
# Exits 77 (skipped) when only the Chromium part could not run.
source "$(dirname "$0")/lib.sh"

# line_of FILE TEXT: the first line number holding TEXT (0 when none).
line_of() { grep -nF -- "$2" "$1" | head -1 | cut -d: -f1 || true; }

# valid_svg FILE: parses as XML with an <svg> root.
valid_svg() {
  checks=$((checks + 1))
  [[ -s $1 ]] || { fail "$1 missing or empty"; return; }
  xmllint --noout "$1" 2>/dev/null || { fail "$1 is not well-formed XML"; return; }
  [[ $(xmllint --xpath 'local-name(/*)' "$1" 2>/dev/null) == svg ]] || fail "$1: root is not <svg>"
}
# valid_png FILE: the PNG signature, then an IHDR chunk with non-zero size.
valid_png() {
  checks=$((checks + 1))
  [[ -s $1 ]] || { fail "$1 missing or empty"; return; }
  local sig ihdr w h
  sig=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
  ihdr=$(head -c 16 "$1" | tail -c 4)
  w=$(od -An -tu1 -j16 -N4 "$1" | tr -s ' ' | sed 's/^ //')
  h=$(od -An -tu1 -j20 -N4 "$1" | tr -s ' ' | sed 's/^ //')
  [[ $sig == 89504e470d0a1a0a ]] || { fail "$1: no PNG signature ($sig)"; return; }
  [[ $ihdr == IHDR ]] || { fail "$1: no IHDR chunk first"; return; }
  [[ $w != "0 0 0 0" && $h != "0 0 0 0" ]] || fail "$1: zero width or height"
}

"$cb" db init --db fx.db >/dev/null || fail "db init"
sqlite3 -bail fx.db <"$root/tests/data/report_fixture.sql" || fail "loading the fixture"

# ---- usage and bad input -------------------------------------------------------
run 0 report --help
has out "usage: convbench report"
run 0 help compare
has out "usage: convbench compare A B"
run 2 report --bogus
has err "convbench report: unknown option '--bogus'"
run 2 report --db nope.db --out r0
has err "convbench report: no database at 'nope.db'"
[[ ! -e nope.db && ! -e r0 ]] || fail "report created nope.db or r0"
run 2 report --db fx.db --run abc
has err "--run: expected an integer"
run 2 report --db fx.db --run 99 --out r0
has err "--run 99: no such run in fx.db"
run 1 report --db fx.db --out r0 --gnuplot "$tmp/no/gnuplot"
has err "cannot run '$tmp/no/gnuplot'"
has err "gnuplot-nox"
run 1 report --db fx.db --out r0 --gnuplot false
has err "gnuplot failed on r0/plots/"
run 2 compare 1
has err "expected two runs or databases"
run 2 compare 1 999 --db fx.db
has err "B: no run 999 in the database"
run 2 compare nope.db fx.db
has err "'nope.db' is neither a run id nor a database file"

# ---- the full report -----------------------------------------------------------
run 0 report --db fx.db --out rep
has out "rep/index.html, rep/report.md: 17 tables, 19 plots"
has out "nets 2, layer-wise sets 1, tuned problems 3, runs with device samples 3"
has out "training series 2, gradient check groups 2"
plots=(net_fixnet_b4_t2 layers_fixnet_b4_t2 gflops_fixnet_b4_t2
       net_fixnet_b4_t1 layers_fixnet_b4_t1 gflops_fixnet_b4_t1
       layerwise_convnet-layers_b4_t2 layers_convnet-layers_b4_t2 gflops_convnet-layers_b4_t2
       tune_winners device_run1 device_run5 gpu_run5 device_run8 gpu_run8
       train_loss_step train_loss_time train_acc_step train_acc_time)
for p in "${plots[@]}"; do
  valid_svg "rep/plots/$p.svg"
  valid_png "rep/plots/$p.png"
  checks=$((checks + 1))
  [[ -s rep/plots/$p.dat && -s rep/plots/$p.gp ]] || fail "rep/plots/$p.dat or .gp missing"
done
checks=$((checks + 1))
n=$(ls rep/plots/*.svg | wc -l)
[[ $n == "${#plots[@]}" ]] || fail "$n SVG plots, expected ${#plots[@]}: $(ls rep/plots/*.svg)"
has rep/plots/net_fixnet_b4_t2.dat '"onednn" 20 8 12'
has rep/plots/gflops_fixnet_b4_t2.gp 'measured peak 300.0 GFLOP/s'

md=rep/report.md
has $md "Generated "
has $md "| fixhost | 2 | 4 | Fixture CPU 9000 | avx2 | 16.0 | 16.0 | Linux test |"
has $md "| 1 | abc123-dirty | GNU 12.2.0 | Release | OpenBLAS 0.3.21 |"
# convnet-benchmarks layout, fastest first; run 9's openblas replaces run 1's.
has $md "| Backend | Total (ms) | Forward (ms) | Backward (ms) | GFLOP/s | % of peak |"
has $md "| cudnn | 3.00 | 1.00 | 2.00 | 2000.0 | 667% ! |"
has $md "| onednn | 20.00 | 8.00 | 12.00 | 300.0 | 100% |"
has $md "| pytorch | 30.00 | 12.00 | 18.00 | 200.0 | 67% |"
has $md "| darknet | 60.00 | 25.00 | 35.00 | 100.0 | 33% |"
has $md "| openblas | 80.00 | 20.00 | 60.00 | 75.0 | 25% |"
lacks $md "| openblas | 40.00"
a=$(line_of $md "| cudnn | 3.00"); b=$(line_of $md "| onednn | 20.00")
c=$(line_of $md "| pytorch | 30.00"); d=$(line_of $md "| darknet | 60.00")
e=$(line_of $md "| openblas | 80.00")
checks=$((checks + 1))
[[ $a -lt $b && $b -lt $c && $c -lt $d && $d -lt $e ]] || fail "fixnet rows not fastest first: $a $b $c $d $e"
has $md "convbench bench fixnet.net --batch 4 --backend openblas,onednn"
has $md "scripts/peers/darknet_bench.py fixnet.net --batch 4"
# Per layer; darknet fused relu1 into conv1 and is matched by name.
has $md "| 1 | conv1 | conv | 52.00 (12.00 + 40.00) | 12.00 (5.00 + 7.00) | 17.00 (7.00 + 10.00) | 45.00 (20.00 + 25.00) | 1.50 (0.5 + 1.00) |"
has $md "| 2 | relu1 | relu | 4.00 (2.00 + 2.00) | 2.00 (1.00 + 1.00) | 2.00 (1.00 + 1.00) | - | 0.75 (0.25 + 0.5) |"
has $md "| 1 | conv1 | conv | 86.5 (29%) | 375.0 (125% !) | 264.7 (88%) | 100.0 (33%) | 3000.0 (1000% !) |"
# At 1 thread: no peak recorded; darknet (no layers) has no per-layer column.
has $md "### fixnet (batch 4, 1 thread)"
has $md "| openblas | 50.00 | 20.00 | 30.00 | 120.0 | - |"
has $md "| darknet | 100.00 | 40.00 | 60.00 | 60.0 | - |"
has $md "| # | Layer | Kind | openblas |"
has $md "| 1 | conv1 | conv | 25.00 (10.00 + 15.00) |"
has $md "fixnet: GFLOP/s per layer, forward + backward (no peak recorded for 1 thread: run convbench peak)"
# The layer-wise set: sums over entries; a backend missing one is last.
has $md "| openblas | 9.00 | 3.00 | 6.00 | 1000.0 | 333% ! |"
has $md "| pytorch (incomplete) | 4.00 | 1.50 | 2.50 | 750.0 | 250% ! |"
a=$(line_of $md "| openblas | 9.00"); b=$(line_of $md "| pytorch (incomplete)")
checks=$((checks + 1))
[[ $a -lt $b ]] || fail "the incomplete layer-wise row comes first"
has $md "| 2 | L2 | conv | 6.00 (2.00 + 4.00) | - |"
# Autotune winners, margins, the imported row (every run reported).
has $md "| P1 | conv_fwd:f32:nchw:n4c3h8w8_k4r3s3_p1x1_u1x1_d1x1_g1 | onednn/direct | - | 0.5 | 200.0 | openblas/im2col | 1.00 | 2.00 | local |"
has $md "| P3 | gemm:f32:nt:m64n64k64 | openblas/sgemm | - | 0.01 | 52.4 | onednn/matmul | 0.015 | 1.50 | local |"
has $md "| fftw/tiled | 8 |"
# Device state, GPU columns included.
has $md "| 1 | bench | 4 | 2900.0 | 2990.0 | 1.70 | 61.00 | - | - |"
has $md "| 8 | bench | 2 | 3000.0 | 3000.0 | 0.7 | - | 71.00 | 250.00 |"
# Training and gradient checks.
has $md "| 6 | lenet | cpu | fashion-mnist | 64 | 2 | 1 | 0.7000 | 0.8000 | 0.7500 | 0.7812 | 1100 | 2.5 |"
has $md "| 7 | lenet | pytorch | fashion-mnist | 64 | 2 | 1 | 0.7500 | 0.7900 | 0.7700 | 0.7755 | 900 | 3.0 |"
has rep/plots/train_loss_step.dat "# lenet pytorch (run 7)"
has $md "| lenet | onednn | bwd_data | 2 | 1 | 0.5 | 0.25 | fc1 |"
has $md "convbench check lenet.net"
has $md "![fixnet: total / forward / backward ms per batch of 4, 2 threads](plots/net_fixnet_b4_t2.png)"

# The page is static: no script, no stylesheet or image from elsewhere.
html=rep/index.html
lacks $html "<script"
lacks $html "<link"
lacks $html 'src="http'
has $html "<td>cudnn</td><td class=\"r\">3.00</td>"
checks=$((checks + 1))
nimg=$(grep -o '<img src="[^"]*"' $html | wc -l)
[[ $nimg == "${#plots[@]}" ]] || fail "index.html has $nimg images, expected ${#plots[@]}"
for src in $(grep -o '<img src="[^"]*"' $html | sed 's/<img src="//; s/"$//'); do
  checks=$((checks + 1))
  [[ -s rep/$src ]] || fail "index.html shows $src, which is missing"
done

# ---- one run, and a database with nothing in it ---------------------------------
run 0 report --db fx.db --out rep1 --run 1
has rep1/report.md "| openblas | 40.00 | 10.00 | 30.00 | 150.0 | 50% |"
lacks rep1/report.md "| pytorch"
lacks rep1/report.md "fftw/tiled"
has rep1/report.md "No training in the selected runs (train_steps and train_epochs are empty)"
# A report written over an earlier one leaves none of its plots behind.
touch rep1/plots/stale.png
run 0 report --db fx.db --out rep1 --run 1
checks=$((checks + 1))
[[ ! -e rep1/plots/stale.png && -s rep1/plots/net_fixnet_b4_t2.svg ]] || fail "rep1/plots not replaced"
run 0 report --db fx.db --out rep2 --run 5,9 --run 5
has rep2/report.md "| openblas | 80.00 |"
has rep2/report.md "| P1 |"
lacks rep2/report.md "| onednn | 20.00"
"$cb" db init --db empty.db >/dev/null
run 0 report --db empty.db --out rep3
has out "0 plots"
has rep3/report.md "No benchmark results in the selected runs"
has rep3/report.md "No tuned problems in the selected runs"
has rep3/report.md "No device samples in the selected runs"
has rep3/report.md "No training in the selected runs"
has rep3/report.md "No gradient checks in the selected runs"

# ---- compare -------------------------------------------------------------------
run 0 compare 1 9 --db fx.db
has out "A: run 1 in fx.db (bench"
has out "1 matched of 3; geometric mean of B/A (total): 2.000"
run 0 compare 1 9 --db fx.db --format csv
# The fixture's rows predate stored samples: ratios, but no test.
has out "fixnet,,,openblas,openblas,4,2,2,total,40,,,0,80,,,0,2,,,,no test: no samples"
has out "fixnet,,,openblas,openblas,4,2,2,bwd,30,,,0,60,,,0,2,,,,no test: no samples"
has out "fixnet,,,onednn,,4,2,0,total,20,,,0,,,,0,,,,,only A"
cp fx.db fx2.db
sqlite3 fx2.db "UPDATE net_results SET total_median_ms = total_median_ms * 2"
run 0 compare fx.db fx2.db --format md
has out "| convnet-layers | L2 | openblas | 4 | 2 | total | 6.000 | 12.000 | 2.000 | - | 0/0 | no test: no samples |"
has out "10 matched of 10; geometric mean of B/A (total): 2.000 [2.000, 2.000] (95% t-interval over the rows)"
# Machine against machine: thread counts not matched, the latest per side.
run 0 compare 1 9 --db fx.db --any-threads --format md
has out "| fixnet | - | openblas | 4 | 2/1 | total | 40.000 | 50.000 | 1.250 | - | 0/0 | no test: no samples |"
has out "1 matched of 2; geometric mean of B/A (total): 1.250 (one row: no interval)"

# ---- the page in headless Chromium ------------------------------------------------
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  [[ $fails == 0 ]] || finish # exits 1
  skip "chromium not installed (scripts/setup installs it); $checks checks passed"
fi
# A copy of the page, beside it so relative paths resolve, with a script
# that records on <body> how many images loaded and which did not.
sed 's#</body>#<script>window.addEventListener("load",function(){var ok=0,bad=[];for(var i=0;i<document.images.length;i++){var m=document.images[i];if(m.complete\&\&m.naturalWidth>0)ok++;else bad.push(m.getAttribute("src"));}document.body.setAttribute("data-images",document.images.length);document.body.setAttribute("data-loaded",ok);document.body.setAttribute("data-broken",bad.join(" "));});</script></body>#' \
  rep/index.html >rep/imgcheck.html
# Root needs --no-sandbox; a private profile keeps runs independent.
chrome=("$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
        --user-data-dir="$tmp/chrome" --hide-scrollbars --virtual-time-budget=10000)
timeout 60 "${chrome[@]}" --dump-dom "file://$tmp/rep/imgcheck.html" >dom.html 2>chrome.err
body=$(grep -o '<body[^>]*>' dom.html | head -1)
checks=$((checks + 1))
[[ $body == *"data-images=\"${#plots[@]}\" data-loaded=\"${#plots[@]}\" data-broken=\"\""* ]] ||
  fail "Chromium: not every image loaded: ${body:-no DOM} $(tail -c 300 chrome.err)"
timeout 60 "${chrome[@]}" --window-size=1280,2400 --screenshot="$tmp/rep/screenshot.png" \
  "file://$tmp/rep/index.html" >/dev/null 2>>chrome.err
valid_png rep/screenshot.png
checks=$((checks + 1))
[[ $(stat -c %s rep/screenshot.png 2>/dev/null || echo 0) -gt 20000 ]] || fail "screenshot suspiciously small"

finish
