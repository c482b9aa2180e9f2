#!/usr/bin/env bash
# sinkscope-mpi (docs/cluster.md): with 2 ranks, every shared command writes the same files as one
# process; a pruning sweep killed under one rank count resumes under another; faults end every
# rank with one message. Usage: mpi.sh SINKSCOPE SINKSCOPE_MPI SHARED MODEL. Skips (77) where
# mpirun is missing.
set -euo pipefail
plain=$(realpath "$1") bin=$(realpath "$2") shared=$(realpath "$3") model=$(realpath "$4")
command -v mpirun >/dev/null || { echo "mpirun not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
text=$shared/data/text/tinystories-valid-sample.txt
task=$shared/data/mc/arc_easy.jsonl
mpi() {  # mpi NP ARGS...: sinkscope-mpi on NP ranks, one thread each, bounded in time
  local np=$1; shift
  timeout 300 mpirun --oversubscribe --allow-run-as-root -np "$np" "$bin" "$@"
}
fail() { echo "FAIL: $*"; exit 1; }
# Two output directories hold the same files with the same bytes: run.json aside, and the rows
# of report.html that show it (the command line and the wall time).
same_dirs() {
  for r in "$1" "$2"; do
    [ -f "$r/report.html" ] || continue
    sed -E 's#<tr><th>command</th><td><code>[^<]*</code></td></tr>##;
            s#<tr><th>wall time</th><td>[^<]*</td></tr>##' "$r/report.html" >"$r.report"
  done
  diff -r -q -x run.json -x report.html -x compare.json "$1" "$2" || fail "$3"
  [ ! -f "$1/report.html" ] || cmp "$1.report" "$2.report" || fail "$3: report.html"
  # compare.json carries run.json's fields under "run".
  if [ -f "$1/compare.json" ]; then
    python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
a.pop("run"); b.pop("run")
sys.exit(a != b)' "$1/compare.json" "$2/compare.json" || fail "$3: compare.json"
  fi
}

echo "== data parallel: 1 process vs 2 ranks"
common=(-m "$model" --threads 1 --quiet)
"$plain" analyze "${common[@]}" -f "$text" --ctx 64,128 --chunks 5 --bos on,off --out "$dir/a1"
mpi 2 analyze "${common[@]}" -f "$text" --ctx 64,128 --chunks 5 --bos on,off --out "$dir/a2"
same_dirs "$dir/a1" "$dir/a2" "analyze"
grep -q '"ranks": 2' "$dir/a2/run.json" || fail "run.json lacks the rank count"
grep -q '"rank_wall_time_s"' "$dir/a2/run.json" || fail "run.json lacks the per-rank times"

"$plain" perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 7 --json >"$dir/p1.json"
mpi 2 perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 7 --json >"$dir/p2.json"
cmp "$dir/p1.json" "$dir/p2.json" || fail "perplexity"
"$plain" perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 5 --dormant-fraction 0.2 \
  --json >"$dir/d1.json"
mpi 2 perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 5 --dormant-fraction 0.2 \
  --json >"$dir/d2.json"
cmp "$dir/d1.json" "$dir/d2.json" || fail "perplexity with per-window dormant heads"

"$plain" eval "${common[@]}" --task "$task" --limit 9 --json >"$dir/e1.json"
mpi 2 eval "${common[@]}" --task "$task" --limit 9 --json >"$dir/e2.json"
cmp "$dir/e1.json" "$dir/e2.json" || fail "eval"

"$plain" compare -m "$model" -m "$model" -f "$text" --ctx 64 --chunks 5 --stats --threads 1 \
  --quiet --out "$dir/c1" >/dev/null
mpi 2 compare -m "$model" -m "$model" -f "$text" --ctx 64 --chunks 5 --stats --threads 1 \
  --quiet --out "$dir/c2" >/dev/null
same_dirs "$dir/c1" "$dir/c2" "compare"

stream_args=(-f "$text" --tokens 300 --policy window:32 --policy sink:4+window:28 --policy dense)
"$plain" stream "${common[@]}" "${stream_args[@]}" --out "$dir/s1" >/dev/null
mpi 2 stream "${common[@]}" "${stream_args[@]}" --out "$dir/s2" >/dev/null
# Per-token losses must match; the speed columns are timings.
for f in s1 s2; do cut -d, -f1-4 "$dir/$f/stream.csv" >"$dir/$f.nll"; done
cmp "$dir/s1.nll" "$dir/s2.nll" || fail "stream"

prune_args=(-m "$model" --threads 1 --quiet --calib "$text" --calib-chunks 2
            --eval "ppl:$text" --eval "mc:$task" --eval-chunks 2 --limit 6
            --criteria bos-sink,random --ratios 0,0.25,0.5)
"$plain" prune "${prune_args[@]}" --out "$dir/r1"
mpi 2 prune "${prune_args[@]}" --out "$dir/r2"
for f in sweep.csv sweep.json report.html; do cmp "$dir/r1/$f" "$dir/r2/$f" || fail "prune $f"; done

echo "== a sweep killed under one rank count resumes under another"
for counts in "2 1" "1 2"; do
  set -- $counts
  out=$dir/k$1$2
  mpi "$1" prune "${prune_args[@]}" --out "$out" --kill-after-points 1 >/dev/null 2>&1 &&
    fail "the killed sweep exited 0"
  n=$(ls "$out/points" | wc -l)
  [ "$n" -ge 1 ] && [ "$n" -lt 6 ] || fail "expected some points before the kill, found $n"
  mpi "$2" prune "${prune_args[@]}" --out "$out"
  cmp "$dir/r1/sweep.csv" "$out/sweep.csv" || fail "resumed sweep ($1 then $2 ranks)"
done

echo "== pipeline: 2 ranks of layers equal one process bit for bit"
"$plain" perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 5 --json >"$dir/pp1.json"
mpi 2 perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 5 --json --pipeline >"$dir/pp2.json"
cmp "$dir/pp1.json" "$dir/pp2.json" || fail "perplexity --pipeline"
mpi 2 perplexity "${common[@]}" -f "$text" --ctx 64 --chunks 5 --json --pipeline \
  --pipeline-split 0:1,1:6 >"$dir/pp3.json"
cmp "$dir/pp1.json" "$dir/pp3.json" || fail "perplexity --pipeline-split 0:1,1:6"
mpi 2 analyze "${common[@]}" -f "$text" --ctx 64,128 --chunks 3 --bos on,off --dump-attention 0:1,5:7 \
  --pipeline --out "$dir/pa2"
"$plain" analyze "${common[@]}" -f "$text" --ctx 64,128 --chunks 3 --bos on,off --dump-attention 0:1,5:7 \
  --out "$dir/pa1"
same_dirs "$dir/pa1" "$dir/pa2" "analyze --pipeline"
# A 280M-shaped qwen3 (q/k norms, 16 layers of dim 1024), Q8_0 to keep the file small.
"$plain" synth --arch qwen3 --shape 280m --vocab "$shared/models/tok512.bin" --dtype q8_0 \
  -o "$dir/qwen3.gguf" --quiet
q=(-m "$dir/qwen3.gguf" --tokenizer "$shared/models/tok512.bin" --threads 1 --quiet)
"$plain" perplexity "${q[@]}" -f "$text" --ctx 64 --chunks 3 --json >"$dir/q1.json"
mpi 2 perplexity "${q[@]}" -f "$text" --ctx 64 --chunks 3 --json --pipeline >"$dir/q2.json"
cmp "$dir/q1.json" "$dir/q2.json" || fail "qwen3 perplexity --pipeline"
"$plain" analyze "${q[@]}" -f "$text" --ctx 64 --chunks 2 --out "$dir/qa1"
mpi 2 analyze "${q[@]}" -f "$text" --ctx 64 --chunks 2 --pipeline --out "$dir/qa2"
same_dirs "$dir/qa1" "$dir/qa2" "qwen3 analyze --pipeline"
# Each rank touches about half the weights: its peak RSS, against the file's size.
timeout 300 mpirun --oversubscribe --allow-run-as-root -np 2 /usr/bin/time -f "rss %M" "$bin" \
  perplexity "${q[@]}" -f "$text" --ctx 64 --chunks 2 --pipeline >/dev/null 2>"$dir/rss"
rss=$(grep -o "^rss [0-9]*" "$dir/rss" | cut -d' ' -f2)
[ "$(echo "$rss" | wc -w)" -eq 2 ] || { cat "$dir/rss"; fail "no peak RSS of each rank"; }
size_kib=$(( $(stat -c %s "$dir/qwen3.gguf") / 1024 ))
echo "pipeline peak RSS per rank (KiB): $(echo $rss) for a ${size_kib} KiB model"
for r in $rss; do
  [ "$r" -lt $(( size_kib * 3 / 4 )) ] || fail "a pipeline rank used $r KiB, over 3/4 of the model"
done

echo "== faults end every rank with one message"
expect_error() {  # expect_error PATTERN COMMAND...: non-zero exit within the timeout, one message
  local pattern=$1; shift
  local rc=0
  "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$dir/err"; fail "rc $rc for: $*"; }
  [ "$(grep -c "^sinkscope: " "$dir/err")" -eq 1 ] || { cat "$dir/err"; fail "not one message"; }
  grep -q "$pattern" "$dir/err" || { cat "$dir/err"; fail "no '$pattern' in the message"; }
}
"$plain" synth --arch llama --shape tiny --vocab "$shared/models/tok512.bin" -o "$dir/tiny.gguf" \
  --quiet
mkdir -p "$dir/here" "$dir/there"
cp "$model" "$dir/here/m.gguf"
expect_error "rank 1: .*m.gguf" timeout 120 mpirun --oversubscribe --allow-run-as-root \
  -np 1 -wdir "$dir/here" "$bin" perplexity -m m.gguf -f "$text" --ctx 64 --chunks 2 --quiet : \
  -np 1 -wdir "$dir/there" "$bin" perplexity -m m.gguf -f "$text" --ctx 64 --chunks 2 --quiet
expect_error "other options" timeout 120 mpirun --oversubscribe --allow-run-as-root \
  -np 1 "$bin" perplexity -m "$model" -f "$text" --ctx 64 --chunks 2 : \
  -np 1 "$bin" perplexity -m "$model" -f "$text" --ctx 64 --chunks 3
cp "$bin" "$dir/other-binary" && printf x >>"$dir/other-binary"
expect_error "another sinkscope-mpi binary" timeout 120 mpirun --oversubscribe \
  --allow-run-as-root -np 1 "$bin" perplexity -m "$model" -f "$text" --ctx 64 --chunks 2 : \
  -np 1 "$dir/other-binary" perplexity -m "$model" -f "$text" --ctx 64 --chunks 2
expect_error "3 ranks for 2 layers" mpi 3 perplexity -m "$dir/tiny.gguf" \
  --tokenizer "$shared/models/tok512.bin" -f "$text" --ctx 32 --chunks 1 --pipeline
expect_error "no-such.txt" mpi 2 perplexity -m "$model" -f "$dir/no-such.txt" --ctx 64
echo "ok"
