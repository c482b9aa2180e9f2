#!/usr/bin/env bash
# Issue 19's targets, on one machine: the same total threads as ranks of sinkscope-mpi or as
# threads of one rank, interleaved, ROUNDS times each.
#   data parallel: analyze --ctx 512 over WINDOWS windows, 2 ranks x 1 thread vs 1 rank x 2 threads
#   pipeline: perplexity --ctx 512 over PIPE_WINDOWS windows, --pipeline on 2 ranks x 1 thread vs
#             1 rank x 2 threads
# Usage: bench/mpi_scaling.sh BUILD_DIR MODEL.gguf TEXT [ROUNDS]  (WINDOWS, PIPE_WINDOWS in env)
# Prints each run's wall seconds and the median ratio (1 rank's time / 2 ranks' time: above 1 is
# faster on ranks).
set -euo pipefail
build=$1 model=$2 text=$3 rounds=${4:-2}
windows=${WINDOWS:-64} pipe_windows=${PIPE_WINDOWS:-16}
# No binding: OpenMPI binds each rank to one core by default (for 2 ranks or fewer), which would
# leave a rank of 2 threads one core.
mpi=(mpirun --oversubscribe --allow-run-as-root --bind-to none)
bin=$build/sinkscope-mpi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
analyze=(analyze -m "$model" -f "$text" --ctx 512 --chunks "$windows" --no-view --quiet)
ppl=(perplexity -m "$model" -f "$text" --ctx 512 --chunks "$pipe_windows" --quiet --json)
: >"$out/dp1"; : >"$out/dp2"; : >"$out/pp1"; : >"$out/pp2"
for r in $(seq "$rounds"); do
  if [ "$windows" -eq 0 ]; then echo 1 >>"$out/dp1"; echo 1 >>"$out/dp2"; fi  # WINDOWS=0: skip
  if [ "$windows" -gt 0 ]; then
    secs "${mpi[@]}" -np 1 "$bin" "${analyze[@]}" --threads 2 --out "$out/a1" >>"$out/dp1"
    secs "${mpi[@]}" -np 2 "$bin" "${analyze[@]}" --threads 1 --out "$out/a2" >>"$out/dp2"
  fi
  secs "${mpi[@]}" -np 1 "$bin" "${ppl[@]}" --threads 2 >>"$out/pp1"
  secs "${mpi[@]}" -np 2 "$bin" "${ppl[@]}" --threads 1 --pipeline >>"$out/pp2"
  echo "round $r: analyze $(tail -1 "$out/dp1") s (1x2) vs $(tail -1 "$out/dp2") s (2x1);" \
       "perplexity $(tail -1 "$out/pp1") s (1x2) vs $(tail -1 "$out/pp2") s (2x1 --pipeline)"
done
dp=$(echo "$(median <"$out/dp1") / $(median <"$out/dp2")" | bc -l)
pp=$(echo "$(median <"$out/pp1") / $(median <"$out/pp2")" | bc -l)
printf 'data parallel: 2 ranks x 1 thread at %.3fx the throughput of 1 rank x 2 threads\n' "$dp"
printf 'pipeline:      2 ranks x 1 thread at %.3fx the throughput of 1 rank x 2 threads\n' "$pp"
