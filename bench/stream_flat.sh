#!/usr/bin/env bash
# StreamingLLM's promise in numbers (issue 15): under sink:4+window:252 a token costs the same at
# step 1k as at step 100k, and the process's peak memory does not grow with the text. One stream
# run of N tokens gives the wall time of every block of 1000 steps (stream.json); a second run of
# N/10 tokens gives the peak RSS to compare with the long run's (/usr/bin/time).
#   bench/stream_flat.sh [BUILD_DIR] [N] [MODEL]
# Default: build/release, 100000 tokens, the default model over War and Peace (about 1.1 M tokens
# of the 2048-piece vocabulary; the text is repeated if N asks for more).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/release}/sinkscope
n=${2:-100000}
model=${3:-$root/models/sinkscope-tiny.gguf}
shared=${SINKSCOPE_SHARED:-$root/../shared}
policy=${POLICY:-sink:4+window:252}
threads=${THREADS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$shared/data/text/pg2600-war-and-peace.txt" "$shared/data/text/pg2600-war-and-peace.txt" \
  >"$work/text.txt"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "SIMD: $("$bin" info -m "$model" | awk '$1 == "simd" {print $2}'); threads $threads; load $(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # tokens, out dir -> peak RSS in KiB on stdout
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" stream -m "$model" -f "$work/text.txt" \
    --policy "$policy" --tokens "$1" -o "$2" --threads "$threads" --quiet >/dev/null
  cat "$work/rss"
}
rss_long=$(run "$n" "$work/long")
rss_short=$(run $((n / 10)) "$work/short")
python3 - "$work/long/stream.json" "$n" "$rss_long" "$rss_short" <<'PY'
import json, statistics, sys
doc = json.load(open(sys.argv[1]))["policies"][0]
blocks = doc["seconds_per_1000_tokens"]
n, rss_long, rss_short = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ms = [1e3 * b / 1000 for b in blocks]
early = statistics.median(ms[1:3])  # steps 1k..3k: past the first fill of the cache
late = statistics.median(ms[-2:])   # the last 2k steps
print(f"{doc['policy']}: {len(blocks)} blocks of 1000 steps, {doc['tokens_per_second']:.0f} tok/s overall")
print(f"  ms/token, steps 1k-3k (median of 2 blocks)     {early:.4f}")
print(f"  ms/token, last 2k steps (median of 2 blocks)   {late:.4f}")
print(f"  late / early                                    {late / early:.3f}")
print(f"  ms/token per block: min {min(ms):.4f}  median {statistics.median(ms):.4f}  max {max(ms):.4f}")
print(f"  peak RSS: {n} tokens {rss_long / 1024:.1f} MiB, {n // 10} tokens {rss_short / 1024:.1f} MiB"
      f" (ratio {rss_long / rss_short:.4f})")
PY
