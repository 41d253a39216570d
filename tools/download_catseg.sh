#!/usr/bin/env bash
# Downloads the published CAT-Seg checkpoints (detectron2 format, CLIP included) and the CLIP BPE vocabulary.
# Needs internet (it cannot run on machines without it).
#   tools/download_catseg.sh [DEST_DIR] [base|large ...]     default: weights base
# Then: pat_convert catseg DEST_DIR/model_base.pth -o DEST_DIR/catseg_vitb16.safetensors
set -euo pipefail
DEST="${1:-weights}"
shift || true
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(base)
mkdir -p "$DEST"

BASE_URL=https://huggingface.co/spaces/hamacojr/CAT-Seg-weights/resolve/main
VOCAB_URL=https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz
VOCAB_SHA=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a

for m in "${MODELS[@]}"; do
  case "$m" in
    base|large) ;;
    *) echo "error: unknown model $m (base = ViT-B/16, large = ViT-L/14@336)" >&2; exit 2 ;;
  esac
  file="$DEST/model_$m.pth"
  if [ -s "$file" ]; then
    echo "ok (already there): $file"
  else
    curl -fL --retry 3 -o "$file.part" "$BASE_URL/model_$m.pth"
    mv "$file.part" "$file"
    echo "ok: $file"
  fi
  # The authors publish no checksum: print ours so that a run can record which file it used.
  sha256sum "$file"
done

vocab="$DEST/bpe_simple_vocab_16e6.txt.gz"
if [ -f "$vocab" ] && echo "$VOCAB_SHA  $vocab" | sha256sum -c --quiet - 2>/dev/null; then
  echo "ok (already there): $vocab"
else
  curl -fL --retry 3 -o "$vocab.part" "$VOCAB_URL"
  echo "$VOCAB_SHA  $vocab.part" | sha256sum -c --quiet - || { echo "error: sha256 mismatch for $VOCAB_URL" >&2; rm -f "$vocab.part"; exit 1; }
  mv "$vocab.part" "$vocab"
  echo "ok: $vocab"
fi
