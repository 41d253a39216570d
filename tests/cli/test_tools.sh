#!/usr/bin/env bash
# End-to-end smoke tests of pat_train / pat_eval / pat_infer on a tiny model trained in seconds, including
# every bad-input case pat_infer must survive. Usage: test_tools.sh BIN_DIR SOURCE_DIR
set -u
bin=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # description, then a command that must succeed
  local what=$1
  shift
  if "$@" > "$work/out.txt" 2> "$work/err.txt"; then
    echo "ok   $what"
  else
    echo "FAIL $what"; cat "$work/out.txt" "$work/err.txt" | tail -5; failures=$((failures + 1))
  fi
}
fails_with() {  # description, expected stderr text, then a command that must fail with one 'error:' line
  local what=$1 text=$2
  shift 2
  if "$@" > "$work/out.txt" 2> "$work/err.txt"; then
    echo "FAIL $what (exit 0)"; failures=$((failures + 1)); return
  fi
  if ! grep -q "^error: .*$text" "$work/err.txt"; then
    echo "FAIL $what (stderr: $(head -c 300 "$work/err.txt"))"; failures=$((failures + 1)); return
  fi
  echo "ok   $what"
}

cfg="$src/tests/data/engine/tiny.yaml"
run="$work/run"
check "pat_train trains a tiny model" "$bin/pat_train" --config "$cfg" --set "train.output_dir=$run" \
  --set train.max_iter=4 --set train.eval_period=0
W="$run/model_final.pt"
check "pat_train wrote weights, config and classes" test -s "$W" -a -s "$run/config.yaml" -a -s "$run/classes.json"
check "pat_train --print-model --json" bash -c "'$bin/pat_train' --config '$cfg' --print-model --json | grep -q '\"trainable\"'"
check "pat_train --resume of a finished run only rewrites its outputs" "$bin/pat_train" --config "$cfg" \
  --set "train.output_dir=$run" --set train.max_iter=4 --set train.eval_period=0 --resume
fails_with "pat_train unknown config key" "train.nope: unknown key" "$bin/pat_train" --config "$cfg" --set train.nope=1

# A small dataset in the generic layout, scored with the model and from saved predictions.
check "pat_prepare synthetic" "$bin/pat_prepare" synthetic --data-root "$work/data" --num-images 3 --size 32 -q
data=$(dirname "$(find "$work/data" -name classes.json | head -n 1)")
check "pat_eval on a custom dataset" "$bin/pat_eval" --config "$cfg" --weights "$W" --benchmark custom \
  --data-root "$data" --output "$work/eval" --set eval.save_predictions=true
check "pat_eval wrote results.json with mIoU" grep -q '"mIoU"' "$work/eval/results.json"
check "pat_eval --predictions scores saved maps" "$bin/pat_eval" --config "$cfg" --benchmark custom \
  --data-root "$data" --predictions "$work/eval/custom" --output "$work/eval2"
miou() { grep -o '"mIoU": *[-0-9.eE+]*' "$1" | head -n 1; }
check "saved predictions score like the model run" test -n "$(miou "$work/eval/results.json")" -a \
  "$(miou "$work/eval/results.json")" = "$(miou "$work/eval2/results.json")"
check "pat_eval --nproc 2 shards the images" "$bin/pat_eval" --config "$cfg" --weights "$W" --benchmark custom \
  --data-root "$data" --output "$work/eval3" --set eval.save_predictions=true --set runtime.threads=1 --nproc 2
check "two processes score like one" cmp "$work/eval/results.json" "$work/eval3/results.json"
check "two processes wrote every prediction map" diff <(cd "$work/eval/custom" && ls) <(cd "$work/eval3/custom" && ls)
fails_with "pat_eval without weights" "--weights" "$bin/pat_eval" --config "$cfg" --benchmark custom --data-root "$data"
fails_with "pat_eval unknown benchmark" "unknown" "$bin/pat_eval" --config "$cfg" --weights "$W" --benchmark nope

# Zero-shot split: training labels sky and red circle only; pat_eval scores the config's synthetic validation
# set (the default benchmark "val") and reports seen / unseen mIoU and hIoU.
split_run="$work/split_run"
check "pat_train with data.synthetic_train_classes a subset of the scene classes" "$bin/pat_train" --config "$cfg" \
  --set "train.output_dir=$split_run" --set train.max_iter=2 --set train.eval_period=0 \
  --set train.checkpoint_period=0 --set "data.synthetic_classes=[sky, grass, red circle, blue square]" \
  --set "data.synthetic_train_classes=[sky, red circle]"
check "pat_eval defaults to the config's validation set and prints seen / unseen / hIoU" bash -c "\
  '$bin/pat_eval' --weights '$split_run/model_final.pt' --output '$work/eval_split' > '$work/split_out.txt' \
  2> '$work/split_err.txt' && grep -q '^| benchmark | mIoU | fwIoU | pACC | mACC | seen mIoU | unseen mIoU | hIoU |' \
  '$work/split_out.txt' && grep -q '^| val | ' '$work/split_out.txt' && \
  grep -q 'val: seen mIoU .* (2 classes), unseen mIoU .* (2 classes), hIoU ' '$work/split_err.txt'"
check "results.json: seen / unseen classes and means, hIoU" python3 "$src/tests/cli/check_split.py" \
  "$work/eval_split/results.json" val "sky,red circle" "grass,blue square"
check "pat_eval --benchmark val scores the same" "$bin/pat_eval" --weights "$split_run/model_final.pt" \
  --benchmark val --output "$work/eval_split2"
check "--benchmark val equals the default" cmp "$work/eval_split/results.json" "$work/eval_split2/results.json"
check "pat_eval without a split: no seen / unseen columns or keys" bash -c "\
  '$bin/pat_eval' --config '$cfg' --weights '$W' --benchmark val --output '$work/eval_nosplit' > '$work/nosplit.txt' \
  && grep -q '^| val | ' '$work/nosplit.txt' && ! grep -q 'hIoU' '$work/nosplit.txt' \
  '$work/eval_nosplit/results.json' && grep -q '\"mIoU\"' '$work/eval_nosplit/results.json'"
fails_with "pat_eval --predictions on the validation set" "--benchmark val" "$bin/pat_eval" --config "$cfg" \
  --benchmark val --predictions "$work/eval/custom" --output "$work/eval_bad"
fails_with "pat_eval without --benchmark when data.val_dataset is not synthetic" "--benchmark: required" \
  "$bin/pat_eval" --config "$cfg" --weights "$W" --set data.val_dataset=coco-stuff-val --output "$work/eval_bad"

# pat_infer on good and bad images.
img=$(find "$data" -name '*.png' -path '*images*' | head -n 1)
check "pat_infer one image" "$bin/pat_infer" "$img" --classes "sky,red circle,grass" --config "$cfg" --weights "$W" \
  --output "$work/pred"
stem=$(basename "${img%.*}")
check "pat_infer outputs" test -s "$work/pred/$stem.png" -a -s "$work/pred/${stem}_overlay.png" -a -s "$work/pred/$stem.json"
check "pat_infer --threshold" "$bin/pat_infer" "$img" --classes "sky,grass" --config "$cfg" --weights "$W" \
  --output "$work/pred_t" --threshold 0.99
check "threshold leaves pixels unlabeled" grep -q '"unlabeled_fraction": [^0]' "$work/pred_t/$stem.json"
: > "$work/empty.jpg"
printf 'not an image at all' > "$work/text.png"
head -c 200 "$img" > "$work/truncated.png"
for bad in empty.jpg text.png truncated.png missing.png; do
  fails_with "pat_infer rejects $bad" "" "$bin/pat_infer" "$work/$bad" --classes "sky" --config "$cfg" --weights "$W" \
    --output "$work/bad_$bad"
  check "no output for $bad" test -z "$(ls "$work/bad_$bad" 2> /dev/null)"
done
mkdir -p "$work/mixed"
cp "$img" "$work/mixed/a.png"
cp "$work/text.png" "$work/mixed/b.png"
fails_with "one bad image among many: non-zero exit" "1 of 2 images failed" "$bin/pat_infer" "$work/mixed" \
  --classes "sky,grass" --config "$cfg" --weights "$W" --output "$work/pred_mixed"
check "the good image of the batch was still written" test -s "$work/pred_mixed/a_overlay.png"
fails_with "empty class list" "" "$bin/pat_infer" "$img" --classes "" --config "$cfg" --weights "$W"
fails_with "blank class name" "" "$bin/pat_infer" "$img" --classes "sky, ,grass" --config "$cfg" --weights "$W"
fails_with "duplicate class name" "" "$bin/pat_infer" "$img" --classes "sky,sky" --config "$cfg" --weights "$W"
fails_with "weights that do not fit the config" "do not fit" "$bin/pat_infer" "$img" --classes "sky" --config "$cfg" \
  --weights "$W" --set model.head.hidden_dim=32
fails_with "missing vocabulary" "vocab" "$bin/pat_infer" "$img" --classes "sky" --config "$cfg" --weights "$W" \
  --set model.clip.tokenizer=bpe --set model.clip.vocab=/nonexistent/bpe.txt.gz
fails_with "missing weights file" "no such file" "$bin/pat_infer" "$img" --classes "sky" --config "$cfg" \
  --weights "$work/none.pt"

# What users type: the newest runs/*/model_final and the config.yaml beside it are the defaults.
mkdir -p "$work/proj"
check "pat_train --output (short for train.output_dir), checkpoint_period 0" bash -c "cd '$work/proj' && \
  '$bin/pat_train' --config '$cfg' --output runs/tiny --set train.max_iter=2 --set train.eval_period=0 \
  --set train.checkpoint_period=0"
check "pat_train --output wrote the run there, without periodic checkpoints" bash -c \
  "test -s '$work/proj/runs/tiny/model_final.pt' -a -s '$work/proj/runs/tiny/last.pt' && \
   ! ls '$work/proj/runs/tiny' | grep -q '^model_0'"
check "pat_infer with no --weights/--config uses the newest run" bash -c "cd '$work/proj' && \
  '$bin/pat_infer' '$img' --classes 'sky,grass' --output pred 2> err.txt && test -s 'pred/$stem.png' && \
  grep -m1 . err.txt | grep -q 'model runs/tiny/model_final.pt (newest.*config runs/tiny/config.yaml'"
check "pat_eval with no --weights/--config uses the newest run" bash -c "cd '$work/proj' && \
  '$bin/pat_eval' --benchmark custom --data-root '$data' --output ev && grep -q '\"mIoU\"' ev/results.json"
check "pat_eval --predictions needs no config" "$bin/pat_eval" --benchmark custom --data-root "$data" \
  --predictions "$work/eval/custom" --output "$work/eval4"
check "scores without a config equal those with it" test "$(miou "$work/eval2/results.json")" = \
  "$(miou "$work/eval4/results.json")"
fails_with "pat_infer with no run to default to" "no trained model in runs" bash -c "cd '$work' && \
  '$bin/pat_infer' '$img' --classes sky"

# pat_tokenize: the tokenizer alone (tiny model: 32 px input, patch 8, K = 16; levels 16x16, 8x8, 4x4).
img2=$(find "$data" -name '*.png' -path '*images*' | sort | sed -n 2p)
labels=$(dirname "$(find "$data" -name '*.png' -path '*labels*' | head -n 1)")
check "pat_tokenize two images, atlas, labels" "$bin/pat_tokenize" "$img" "$img2" --config "$cfg" --weights "$W" \
  --output "$work/tok" --codebook-atlas --labels "$labels"
check "pat_tokenize outputs: sizes, ids in [0, K), one colour per code" python3 "$src/tests/cli/check_tokens.py" \
  "$work/tok" 16 0=16x16 1=8x8 2=4x4
check "pat_tokenize atlases and NMI" test -s "$work/tok/atlas_l0.png" -a -s "$work/tok/atlas_l2.png" -a \
  -n "$(grep '"nmi"' "$work/tok/summary.json")"
check "pat_tokenize finds the run's config next to the weights" "$bin/pat_tokenize" "$img" --weights "$W" \
  --output "$work/tok_run"
python3 -c 'import json, struct, sys
h = json.dumps({"clip.visual.conv1.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + bytes(4))' "$work/no_pat.safetensors"
fails_with "pat_tokenize weights without pat.*" "no PAT weights" "$bin/pat_tokenize" "$img" --config "$cfg" \
  --weights "$work/no_pat.safetensors" --output "$work/tok_bad"
fails_with "pat_tokenize weights that do not fit" "do not fit" "$bin/pat_tokenize" "$img" --config "$cfg" \
  --weights "$W" --set model.pat.codebook_size=32 --output "$work/tok_bad"
fails_with "pat_tokenize a config without PAT" "model.pat.enabled" "$bin/pat_tokenize" "$img" --config "$cfg" \
  --weights "$W" --set model.pat.enabled=false --output "$work/tok_bad"
fails_with "pat_tokenize missing image" "no such file" "$bin/pat_tokenize" "$work/missing.png" --config "$cfg" \
  --weights "$W" --output "$work/tok_bad"
mkdir -p "$work/empty_dir"
fails_with "pat_tokenize empty directory" "no images" "$bin/pat_tokenize" "$work/empty_dir" --config "$cfg" \
  --weights "$W" --output "$work/tok_bad"
fails_with "pat_tokenize unknown flag" "" "$bin/pat_tokenize" "$img" --config "$cfg" --weights "$W" --nope
fails_with "pat_tokenize bad image" "" "$bin/pat_tokenize" "$work/text.png" --config "$cfg" --weights "$W" \
  --output "$work/tok_bad"
fails_with "pat_tokenize image without a label map" "no label map" "$bin/pat_tokenize" "$img" --config "$cfg" \
  --weights "$W" --labels "$work/empty_dir" --output "$work/tok_bad"
check "pat_tokenize with no --weights/--config uses the newest run" bash -c "cd '$work/proj' && \
  '$bin/pat_tokenize' '$img' --output tok 2> err.txt && test -s 'tok/summary.json' && \
  grep -m1 . err.txt | grep -q 'model runs/tiny/model_final.pt (newest'"
check "no pat_tokenize output after the failures" test -z "$(ls "$work/tok_bad" 2> /dev/null)"

# Open vocabulary in miniature: pat_clip pretrain writes a CLIP that pat_train starts from (model.clip.weights),
# training labels only the seen classes, pat_eval and pat_infer use unseen names (a caption-only background).
clip_run="$work/clip_run"
pretrain_set=(--set "train.output_dir=$clip_run" --set data.synthetic_train=32 --set train.batch_size=8
  --set train.max_iter=4 --set train.eval_period=4 --set train.checkpoint_period=2 --set pretrain.val_scenes=8
  --set pretrain.val_crops=16 --set model.clip.context_length=80 --set data.synthetic_object_views=0.5)
check "pat_clip pretrain trains a tiny CLIP on captioned scenes" "$bin/pat_clip" pretrain --config "$cfg" \
  "${pretrain_set[@]}"
check "pat_clip pretrain wrote the CLIP, metrics with zero-shot figures, plots" bash -c "test -s '$clip_run/clip_final.safetensors' \
  -a -s '$clip_run/loss.png' -a -s '$clip_run/validation.png' && grep -q '\"zero_shot_acc\"' '$clip_run/metrics.jsonl' \
  && grep -q '\"retrieval_i2t_R@1\"' '$clip_run/metrics.jsonl'"
check "pat_clip pretrain --resume of a finished run" "$bin/pat_clip" pretrain --config "$cfg" "${pretrain_set[@]}" --resume
fails_with "pat_clip pretrain needs a custom CLIP" "model.clip.arch" "$bin/pat_clip" pretrain --config "$cfg" \
  "${pretrain_set[@]}" --set model.clip.arch=ViT-B-16
ov_run="$work/ov_run"
check "pat_train from the pretrained CLIP on the seen classes" "$bin/pat_train" --config "$cfg" \
  --set "train.output_dir=$ov_run" --set train.max_iter=2 --set train.eval_period=2 --set train.checkpoint_period=0 \
  --set "model.clip.weights=$clip_run/clip_final.safetensors" \
  --set "data.synthetic_classes=[sky, grass, snow, red circle, blue circle, red square]" \
  --set "data.synthetic_train_classes=[sky, grass, red circle, red square]"
check "the run trained on the seen classes and validated the unseen ones" bash -c "\
  grep -q '\"hIoU\"' '$ov_run/metrics.jsonl' && python3 -c 'import json,sys; \
  sys.exit(json.load(open(sys.argv[1])) != [\"sky\", \"grass\", \"red circle\", \"red square\"])' '$ov_run/classes.json'"
check "pat_eval on the run's validation scenes" "$bin/pat_eval" --weights "$ov_run/model_final.pt" --output "$work/eval_ov"
check "pat_eval scored unseen classes, a caption-only background among them" python3 "$src/tests/cli/check_split.py" \
  "$work/eval_ov/results.json" val "sky,grass,red circle,red square" "snow,blue circle"
check "pat_prepare synthetic --config --split val writes the validation scenes" bash -c "\
  '$bin/pat_prepare' synthetic --config '$ov_run/config.yaml' --split val --data-root '$work/ov_val' -q && \
  test \$(ls '$work/ov_val/synthetic/images' | wc -l) -eq 4 && grep -q snow '$work/ov_val/synthetic/classes.json'"
check "pat_infer with unseen names" "$bin/pat_infer" "$work/ov_val/synthetic/images/synth_000000.png" \
  --classes "blue circle, snow" --weights "$ov_run/model_final.pt" --output "$work/pred_ov"
check "pat_infer wrote the unseen-class prediction" test -s "$work/pred_ov/synth_000000.json"

# tools/ablate_summary.py on two seeds of made-up results: mean ± std per variant, token table, SVG chart.
abl="$work/ablate"
for v in pat_s1:40:20 pat_s2:60:30 baseline_s1:30:10 baseline_s2:50:20; do
  IFS=: read -r name seen unseen <<< "$v"
  mkdir -p "$abl/$name/eval" "$abl/$name/tokens"
  echo "{\"val\": {\"mIoU\": 1, \"seen_mIoU\": $seen, \"unseen_mIoU\": $unseen, \"hIoU\": 2}}" > "$abl/$name/eval/results.json"
  echo '{"levels": {"l0": {"nmi": 0.5, "purity": 0.25, "codes_used": 10}}}' > "$abl/$name/tokens/summary.json"
done
printf 'intro\n<!-- ablate:begin -->\nold\n<!-- ablate:end -->\noutro\n' > "$work/results.md"
check "ablate_summary: mean ± std per variant, PAT's token table, the chart, text around the markers kept" bash -c "\
  python3 '$src/tools/ablate_summary.py' '$abl' '$work/results.md' '$work/results.svg' > /dev/null && \
  grep -q '| PAT (pretrained tiny CLIP) | 1, 2 | 50.00 ± 14.14 | 25.00 ± 7.07 | 2.00 ± 0.00 | 1.00 ± 0.00 |' '$work/results.md' && \
  grep -q '| CAT-Seg baseline (model.pat.enabled=false) | 1, 2 | 40.00 ± 14.14 | 15.00 ± 7.07 | 2.00 ± 0.00 |' '$work/results.md' && \
  grep -q '| l0 | 0.500 ± 0.000 | 0.250 ± 0.000 | 10 ± 0 |' '$work/results.md' && grep -q '^intro' '$work/results.md' && \
  grep -q '^outro' '$work/results.md' && ! grep -q '^old' '$work/results.md' && grep -q '<svg' '$work/results.svg'"

# bench_model on the tiny model: every workload, the ablation rows and the profile in the one JSON object.
check "bench_model --json: the timed workloads, FLOPs, sgemm ratio, ablation rows and profile" bash -c "\
  '$bin/bench_model' --config '$src/tests/data/engine/tiny.yaml' --threads 1 --repeats 1 --warmup 0 --vocab 3 \
    --train-batch 1 --image 64 --image-width 80 --ablate --ablate-repeats 1 --ablate-views --profile forward \
    --json > '$work/bench.json' && python3 -c \"
import json, sys
r = json.load(open(sys.argv[1]))
for key in ('forward_ms', 'eval_image_ms', 'train_step_ms', 'model_gflop', 'achieved_gflops', 'sgemm_gflops',
            'peak_rss_mb'):
    assert r[key] > 0, key
assert r['threads'] == 1
rows = {row['name'] for row in r['ablation']}
assert {'gemm_upsampling', 'small_gemm', 'split_linear', 'head_conv', 'chunking', 'all CAT-Seg fast paths', 'batched_views'} <= rows, rows
assert all(row['off_ms'] > 0 and row['on_ms'] > 0 for row in r['ablation'])
assert r['profile']['ops'] and r['profile']['modules']
\" '$work/bench.json'"
# --batch: the forward runs that many images (twice the FLOPs at batch 2), on the config's runtime device.
check "bench_model --batch 2: twice the forward FLOPs of batch 1; device, precision and gemm reported" bash -c "\
  for b in 1 2; do '$bin/bench_model' --config '$src/tests/data/engine/tiny.yaml' --threads 1 --repeats 1 --warmup 0 \
    --vocab 3 --what forward --batch \$b --json > '$work/bench_b'\$b.json || exit 1; done && python3 -c \"
import json, sys
one, two = (json.load(open(f)) for f in sys.argv[1:])
assert two['batch'] == 2 and abs(two['model_gflop'] / one['model_gflop'] - 2) < 1e-6, (one, two)
assert two['device'] == 'cpu' and two['precision'] == 'fp32' and two['gemm'] == 'float32 1024^3 on cpu', two
\" '$work/bench_b1.json' '$work/bench_b2.json'"
fails_with "bench_model: unknown fast path" "unknown CAT-Seg fast path 'warp'" "$bin/bench_model" \
  --config "$src/tests/data/engine/tiny.yaml" --off warp --json

echo "$((failures)) failed"
[ "$failures" -eq 0 ]
