#!/usr/bin/env bash
# PAT against the CAT-Seg baseline on the open-vocabulary demo (configs/demo.yaml), everything else equal,
# plus the control without CLIP pretraining, over several seeds; writes docs/results.md and docs/results.svg.
#   tools/ablate.sh [SEED...]                 (default: 1 2 3)
# Per seed and variant: pat_train (the demo config, runtime.seed = SEED), pat_eval on the config's validation
# scenes (seen / unseen / hIoU), and for PAT pat_tokenize --labels on the same scenes (NMI / purity of the
# token ids per pyramid level). Variants: pat (the demo as it is), baseline (--set model.pat.enabled=false),
# control (--set model.clip.weights= : a random CLIP of the same sizes). Finished runs are skipped, so an
# interrupted ablation continues where it stopped.
# Environment: PAT_ABLATE_OUT (runs/ablate), PAT_BIN (build/bin), PAT_ABLATE_VARIANTS ("pat baseline control"),
# PAT_ABLATE_SET (extra --set assignments for every run, space-separated), PAT_ABLATE_DOC (docs/results.md),
# PAT_ABLATE_JOBS (runs at once, default 1; with more, each run gets runtime.threads = cores / jobs: on small
# models two one-thread runs finish sooner than two two-thread runs one after the other). Each run's output
# goes to <run>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${PAT_ABLATE_OUT:-runs/ablate}"
BIN="${PAT_BIN:-build/bin}"
DOC="${PAT_ABLATE_DOC:-docs/results.md}"
VARIANTS="${PAT_ABLATE_VARIANTS:-pat baseline control}"
SEEDS=("$@")
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(1 2 3)
EXTRA=()
for assignment in ${PAT_ABLATE_SET:-}; do EXTRA+=(--set "$assignment"); done

JOBS="${PAT_ABLATE_JOBS:-1}"
THREADS=$(( $(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1 ))

run_one() {  # variant seed
  local variant=$1 seed=$2 run="$OUT/${1}_s${2}"
  local sets=(--set "runtime.seed=$seed" --set "runtime.threads=$THREADS")
  case "$variant" in
    pat) ;;
    baseline) sets+=(--set model.pat.enabled=false) ;;
    control) sets+=(--set model.clip.weights=) ;;
  esac
  "$BIN/pat_train" --config configs/demo.yaml --output "$run" "${sets[@]}" "${EXTRA[@]}" --resume
  if [ "$variant" = pat ]; then
    "$BIN/pat_prepare" synthetic --config "$run/config.yaml" --split val --data-root "$run/val_scenes" --quiet
    "$BIN/pat_tokenize" "$run/val_scenes/synthetic/images" --weights "$run/model_final.pt" \
      --labels "$run/val_scenes/synthetic/labels" --output "$run/tokens" > /dev/null
  fi
  "$BIN/pat_eval" --config "$run/config.yaml" --weights "$run/model_final.pt" --output "$run/eval"
}

mkdir -p "$OUT"
failed=0
for seed in "${SEEDS[@]}"; do
  for variant in $VARIANTS; do
    case "$variant" in pat|baseline|control) ;; *) echo "ablate: unknown variant '$variant'" >&2; exit 2 ;; esac
    run="$OUT/${variant}_s${seed}"
    if [ -f "$run/eval/results.json" ]; then echo "ablate: $run done, skipped"; continue; fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
    echo "ablate: $variant, seed $seed -> $run ($THREADS threads; log $run.log)"
    run_one "$variant" "$seed" > "$run.log" 2>&1 &
  done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ "$failed" -eq 0 ] || { echo "ablate: a run failed (see its .log); finished runs are kept" >&2; exit 1; }
/usr/bin/env python3 tools/ablate_summary.py "$OUT" "$DOC" "${DOC%.md}.svg"
