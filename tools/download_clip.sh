#!/usr/bin/env bash
# Downloads OpenAI's released CLIP weights and the BPE vocabulary from their official addresses and
# checks their sha256. Needs internet (it cannot run on machines without it).
#   tools/download_clip.sh [DEST_DIR] [MODEL...]     MODEL: ViT-B-16 (default), ViT-B-32, ViT-L-14, ViT-L-14-336px
set -euo pipefail
DEST="${1:-weights}"
shift || true
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(ViT-B-16)
mkdir -p "$DEST"

# OpenAI publishes each archive under a folder named by its sha256.
declare -A SHA=(
  [ViT-B-32]=40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af
  [ViT-B-16]=5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f
  [ViT-L-14]=b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836
  [ViT-L-14-336px]=3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02
)
VOCAB_URL=https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz
VOCAB_SHA=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a

fetch() {  # url sha256 file
  local url=$1 sha=$2 file=$3
  if [ -f "$file" ] && echo "$sha  $file" | sha256sum -c --quiet - 2>/dev/null; then
    echo "ok (already there): $file"; return
  fi
  curl -fL --retry 3 -o "$file.part" "$url"
  echo "$sha  $file.part" | sha256sum -c --quiet - || { echo "error: sha256 mismatch for $url" >&2; rm -f "$file.part"; exit 1; }
  mv "$file.part" "$file"
  echo "ok: $file"
}

for m in "${MODELS[@]}"; do
  [ -n "${SHA[$m]:-}" ] || { echo "error: unknown model $m (ViT-B-16, ViT-B-32, ViT-L-14, ViT-L-14-336px)" >&2; exit 2; }
  fetch "https://openaipublic.azureedge.net/clip/models/${SHA[$m]}/$m.pt" "${SHA[$m]}" "$DEST/$m.pt"
done
fetch "$VOCAB_URL" "$VOCAB_SHA" "$DEST/bpe_simple_vocab_16e6.txt.gz"
