#pragma once
/// \file The official CAT-Seg configurations (configs/vitb_384.yaml, configs/vitl_336.yaml; CATSEG.md
/// §1.1) as option presets: head, guidance upsamplers and which CLIP blocks are tapped.

#include <cstdint>
#include <string>
#include <vector>

#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/guidance_upsamplers.h"

namespace pat::model {

struct CatSegOptions {
  /// OpenAI CLIP model the preset belongs to ("ViT-B/16", "ViT-L/14@336px").
  std::string clip_model = "ViT-B/16";
  /// CLIP input side (the image is resized to image_size x image_size).
  int64_t image_size = 384;
  /// 0-based visual blocks whose raw outputs feed upsample1 (first) and upsample2 (second).
  std::vector<int64_t> hook_layers{3, 7};
  /// upsample1 / upsample2.
  GuidanceUpsamplersOptions upsamplers;
  /// The head (official Aggregator).
  CatSegHeadOptions head;
};

/// ViT-B/16 at 384: E 512, width 768, taps {3, 7}, 24x24 grid, 2 layers, pooling 2 (train) / 1 (eval).
CatSegOptions catseg_vit_b16_384();

/// ViT-L/14 at 336: E 768, width 1024, taps {7, 15}, 24x24 grid; otherwise as ViT-B.
CatSegOptions catseg_vit_l14_336();

}  // namespace pat::model
