#pragma once
/// \file The CLIP that `model.clip` describes: its tokenizer and, for `arch: custom`, its architecture.
/// Shared by the segmentation model and CLIP pretraining (pat_clip pretrain).

#include <cstdint>
#include <memory>

#include "pat/clip/architecture.h"
#include "pat/clip/tokenizer.h"
#include "pat/config/config.h"

namespace pat::model {

/// Ids of each tokenizer kind (CLIP.md §4), known without reading the vocabulary file: byte 514, bpe 49408.
int64_t tokenizer_vocab_size(const ClipConfig& config);

/// `model.clip.tokenizer`: byte-level, or BPE from `model.clip.vocab` (empty: the vendored vocabulary).
std::shared_ptr<const clip::Tokenizer> make_tokenizer(const ClipConfig& config);

/// The explicit sizes of `arch: custom` (vision/text width, layers, patch, embed_dim, head_width, context
/// length, image_size) with the tokenizer's vocabulary. A head width that does not divide the widths is a
/// `pat::Error` naming `model.clip.head_width`.
clip::ClipArchitecture custom_clip_architecture(const ClipConfig& config);

}  // namespace pat::model
