#!/usr/bin/env bash
# Seeded pretraining study of attention sinks (issue 17): one small Llama per setting and seed,
# each followed by `trajectory` over its checkpoints, `analyze --bos on,off --mechanism` and
# `mixing` of its final model, then summarize.py (mean ± sd over seeds per setting).
#
#   experiments/pretraining/run.sh [--quick] [--plan] [BUILD_DIR] [OUT_DIR]
#
#   --quick  smoke test: 200 steps, 3 seeds of a core subset (under 5 minutes on 2 busy cores)
#   --plan   print the runs (settings × seeds) and the notes on skipped settings, train nothing
#
# Environment: STEPS (default 600, quick 200), SEEDS (default "1 2 3"), THREADS (2), CHUNKS
# (analysis windows of 128 tokens, 32), SINKSCOPE_SHARED (the shared data folder, ../shared),
# RECORD (below).
# Settings whose train flag this binary lacks (--attention, --norm, --positional, a schedule
# option) are skipped with a note, so the script picks them up once the flag exists.
#
# Resumable across sessions: a finished run leaves its small result files (the CSV and JSON that
# summarize.py reads, ~100 kB) in RECORD/<setting>/seed-<n>/, committed to the repository, and
# its models and reports in OUT/runs/<setting>/seed-<n>/ (not committed). RECORD defaults to
# experiments/pretraining/record/<study|quick>. A run whose record has `done` (written last, by a
# rename) is skipped; any other is redone from scratch (training is ~1 minute, so restarting is
# simpler than resuming from a checkpoint). Kill it and rerun; commit the record between sessions.
set -euo pipefail
# All in one brace group ending in exit: bash then parses the whole file before running any of
# it, so editing or pulling run.sh while a long study runs cannot break that study.
{
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

quick=0 plan=0
args=()
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --plan) plan=1 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $a" >&2; exit 2 ;;
    *) args+=("$a") ;;
  esac
done
bin=${args[0]:-$root/build/release}/sinkscope
name=study default_steps=600 cmd=experiments/pretraining/run.sh
if ((quick)); then name=quick default_steps=200 cmd+=" --quick"; fi
out=${args[1]:-$here/out/$name}
record=${RECORD:-$here/record/$name}
shared=${SINKSCOPE_SHARED:-$root/../shared}
data=("$shared/data/text/pg2600-war-and-peace.txt" "$shared/data/text/tinyshakespeare-input.txt")
tok=$shared/models/tok512.bin
threads=${THREADS:-2}
chunks=${CHUNKS:-32}
steps=${STEPS:-$default_steps}
read -r -a seeds <<<"${SEEDS:-1 2 3}"

# The baseline of every table: today's one-seed study's bos-fixed-packed run (RESULTS.md).
common=(--tokenizer "$tok" --dim 64 --heads 4 --ctx 128 --batch 8 --steps "$steps"
  --checkpoint-every $((steps >= 8 ? steps / 8 : 1)) --val-windows 8 --threads "$threads" --quiet)
# Flag-value pairs a setting may replace (train refuses an option given twice).
base=(--layers 4 --lr 2e-2 --wd 0.1 --bos fixed --packing packed)
with_base() {  # setting options... -> run_opts: the baseline's pairs it does not set, then its own
  local i
  run_opts=()
  for ((i = 0; i < ${#base[@]}; i += 2)); do
    [[ " $* " == *" ${base[i]} "* ]] || run_opts+=("${base[i]}" "${base[i + 1]}")
  done
  run_opts+=("$@")
}

[ -x "$bin" ] || { echo "run.sh: no sinkscope at $bin (build it first)" >&2; exit 2; }
# What this binary's train supports, so that unmerged flags are skipped, not errors.
train_help=$("$bin" train --help)
has_flag() { grep -qE -- "(^|[ ,])$1([ ,=]|\$)" <<<"$train_help"; }
# The values an option offers when the help lists them ({a,b,c}), else the fallback arguments.
choices() {
  local flag=$1 listed
  shift
  listed=$(grep -oE -- "$flag [A-Z]+:\{[^}]*\}" <<<"$train_help" | sed 's/.*{//; s/}//; s/,/ /g' || true)
  if [ -n "$listed" ]; then echo "$listed"; else echo "$*"; fi
}
# An option's default as the help prints it (--flag TYPE...=VALUE), else the fallback argument.
help_default() {
  local listed
  listed=$(grep -oE -- "$1 [A-Z]+(:[^ =]*)?=[^ ]+" <<<"$train_help" | sed 's/.*=//' || true)
  echo "${listed:-$2}"
}

# The study plan: one line per setting, "group setting train-options...". The baseline stands in
# every group's table but is trained once.
plan_lines=("baseline baseline")
notes=()
add() { plan_lines+=("$*"); }
skip() { notes+=("skipped $1: $2"); }
variants() {  # group flag default fallback-values...: one setting per non-default value
  local group=$1 flag=$2 default v
  if ! has_flag "$flag"; then
    skip "$group" "this sinkscope train has no $flag (not merged yet)"
    return
  fi
  default=$(help_default "$flag" "$3") # the baseline already is the default
  shift 3
  for v in $(choices "$flag" "$@"); do
    [ "$v" = "$default" ] && continue
    if grep -qw -- "$v" <<<"$train_help"; then add "$group $group-$v $flag $v"; else
      skip "$group-$v" "$flag does not mention $v"; fi
  done
}

if ((quick)); then
  # Core subset: the BOS contrast, one weight decay, one depth and one attention variant.
  add bos bos-none --bos none
  add weight-decay wd-0 --wd 0
  add depth layers-2 --layers 2
  if has_flag --attention; then add attention attention-softmax1 --attention softmax1; else
    skip attention "this sinkscope train has no --attention (not merged yet)"; fi
else
  variants attention --attention softmax softmax1 sigmoid sink-logit sink-kv
  variants norm --norm pre post
  # Post-LN stays near the unigram loss at the baseline's peak lr (RESULTS.md), so both
  # placements also run at a tenth of it, where Post-LN trains.
  if has_flag --norm; then
    add norm norm-pre-lr-2e-3 --lr 2e-3
    add norm norm-post-lr-2e-3 --norm post --lr 2e-3
  fi
  variants positional --positional rope none learned
  for c in 32 64 96; do add min-context "minctx-$c" --min-context "$c"; done
  for w in 0 0.3; do add weight-decay "wd-$w" --wd "$w"; done
  add bos bos-none --bos none
  add packing packing-document --packing document
  # Schedule: no warm-up, and the values of --lr-schedule; a binary without that option bends
  # the cosine into a constant rate instead (--min-lr-ratio 1, the same schedule).
  add lr-schedule lr-no-warmup --warmup 0
  if has_flag --lr-schedule; then variants lr-schedule --lr-schedule cosine constant linear wsd; else
    add lr-schedule lr-constant --min-lr-ratio 1
    skip "lr-schedule option" "no --lr-schedule in this sinkscope train (--min-lr-ratio 1 stands in for constant)"; fi
  for l in 2 8; do add depth "layers-$l" --layers "$l"; done
fi

mkdir -p "$out" "$record"
printf '%s\n' "${notes[@]+"${notes[@]}"}" | sed '/^$/d' | tee "$record/notes.txt"
# plan.csv tells summarize.py the groups; study.txt how the figures were made.
{
  echo "group,setting,options"
  for line in "${plan_lines[@]}"; do
    read -r g s opts <<<"$line"
    echo "$g,$s,${opts:-}"
  done
} >"$record/plan.csv"
printf 'command=%s\nsteps=%s\nseeds=%s\nchunks=%s\nthreads=%s\n' \
  "STEPS=$steps SEEDS=\"${seeds[*]}\" $cmd" "$steps" "${seeds[*]}" "$chunks" "$threads" >"$record/study.txt"

n_runs=$((${#plan_lines[@]} * ${#seeds[@]}))
echo "== ${#plan_lines[@]} settings × ${#seeds[@]} seeds = $n_runs runs of $steps steps into $out"
if ((plan)); then
  column -s, -t <"$record/plan.csv"
  exit 0
fi

# Analysis text: the last 100 kB of War and Peace before the Gutenberg licence, inside the 5% tail
# that train holds out for validation, so no run has trained on it.
analysis=$out/analysis.txt
sed '/^\*\*\* END OF/,$d' "${data[0]}" | tail -c 100000 >"$analysis.tmp"
mv "$analysis.tmp" "$analysis"

# The files summarize.py reads, kept in the record.
record_files=(train/train.csv trajectory/trajectory.csv analysis/heads.csv analysis/mechanism.json
  mixing/over_mixing.csv mixing/spread.csv)

one_run() {  # dir rec seed train-options...: train, analyse, then record; `done` comes last
  local dir=$1 rec=$2 seed=$3 t0 t1 t2 f
  shift 3
  rm -rf "$dir" # a partial run from a kill: start it again cleanly
  mkdir -p "$dir"
  t0=$(date +%s)
  with_base "$@"
  nice "$bin" train --data "${data[@]}" -o "$dir/train" "${common[@]}" "${run_opts[@]}" \
    --seed "$seed" >"$dir/train.txt"
  t1=$(date +%s)
  # BOS first in the trajectory windows: the sink is measured on BOS, also for runs trained
  # without it (that is the comparison).
  nice "$bin" trajectory --checkpoints "$dir/train/checkpoints" -f "$analysis" --ctx 128 \
    --chunks "$chunks" --out "$dir/trajectory" --threads "$threads" --quiet >"$dir/trajectory.txt"
  nice "$bin" analyze -m "$dir/train/model.gguf" -f "$analysis" --ctx 128 --chunks "$chunks" \
    --bos on,off --mechanism --out "$dir/analysis" --threads "$threads" --quiet
  nice "$bin" mixing -m "$dir/train/model.gguf" -f "$analysis" --ctx 128 --chunks "$chunks" \
    --out "$dir/mixing" --threads "$threads" --quiet >"$dir/mixing.txt" 2>"$dir/mixing.err"
  t2=$(date +%s)
  printf 'train_s=%s\nanalysis_s=%s\n' $((t1 - t0)) $((t2 - t1)) >"$dir/done"
  rm -rf "$rec.tmp"
  for f in "${record_files[@]}" done; do
    mkdir -p "$rec.tmp/$(dirname "$f")"
    cp "$dir/$f" "$rec.tmp/$f"
  done
  rm -rf "$rec"
  mv "$rec.tmp" "$rec"
}

i=0 skipped=0 failed=0
start=$(date +%s)
for line in "${plan_lines[@]}"; do
  read -r _ setting opts <<<"$line"
  read -r -a extra <<<"${opts:-}"
  for seed in "${seeds[@]}"; do
    i=$((i + 1))
    dir=$out/runs/$setting/seed-$seed
    rec=$record/$setting/seed-$seed
    if [ -f "$rec/done" ]; then
      skipped=$((skipped + 1))
      continue
    fi
    echo "== [$i/$n_runs] $setting seed $seed: ${opts:-(baseline)}"
    # A failed run (say a variant one of the analyses refuses) must not stop the study: it is
    # reported, left without `done`, and retried by the next invocation. The subshell keeps
    # `set -e` in force inside one_run (errexit is ignored in a tested command).
    set +e
    (
      set -e
      one_run "$dir" "$rec" "$seed" "${extra[@]+"${extra[@]}"}"
    )
    rc=$?
    set -e
    if ((rc == 0)); then tr '\n' ' ' <"$dir/done" && echo; else
      echo "FAILED (exit $rc): $setting seed $seed; its error is above or in $dir/mixing.err"
      failed=$((failed + 1))
    fi
  done
done
echo "== $((i - skipped)) runs in $(($(date +%s) - start)) s, $skipped already done, $failed failed"

python3 "$here/summarize.py" "$record"
((failed == 0))
exit
}
