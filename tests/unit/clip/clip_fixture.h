#pragma once
// The tiny CLIP of tests/data/clip (tools/gen_clip_fixtures.py): vision 64x2 patch 8 @32 with 4 heads, text
// 32x2 with 2 heads, context 48, vocabulary 520, embed 32; heads = width / 16.

#include <string>

#include "pat/clip/model.h"
#include "pat/clip/weights.h"
#include "pat/core/npy.h"
#include "test_support.h"

namespace pat::clip::test {

constexpr int64_t kTinyHeadDim = 16;

inline std::string fixture(const std::string& name) {
  return pat::test::data_path("clip/" + name);
}

inline torch::Tensor golden(const std::string& name) {
  return pat::read_npy(fixture(name));
}

inline ClipArchitecture tiny_architecture() {
  ClipArchitecture a;
  a.embed_dim = 32;
  a.image_resolution = 32;
  a.vision_layers = 2;
  a.vision_width = 64;
  a.vision_patch_size = 8;
  a.vision_heads = 4;
  a.context_length = 48;
  a.vocab_size = 520;
  a.text_width = 32;
  a.text_heads = 2;
  a.text_layers = 2;
  return a;
}

/// The archive, loaded once (eval mode, float32).
inline ClipModel tiny_model() {
  static ClipModel model = [] {
    ClipLoadOptions options;
    options.head_dim = kTinyHeadDim;
    return load_clip(fixture("tiny_clip.pt"), options);
  }();
  return model;
}

}  // namespace pat::clip::test
