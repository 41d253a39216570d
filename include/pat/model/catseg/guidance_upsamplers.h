#pragma once
/// \file The two transposed convolutions that turn the tapped CLIP blocks into CAT-Seg's decoder
/// guidance (CATSEG.md §1.2): upsample1 (k2 s2) on the shallower tap gives the 2x map of decoder stage 1,
/// upsample2 (k4 s4) on the deeper tap the 4x map of stage 2. In the official model they are top-level
/// modules of CATSeg (checkpoint keys `upsample1.*`, `upsample2.*`), trained at the base learning rate.

#include <cstdint>
#include <tuple>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace pat::model {

struct GuidanceUpsamplersOptions {
  /// CLIP visual width of the tapped blocks (ViT-B 768, ViT-L 1024).
  int64_t width = 768;
  /// Output channels of upsample1 (x2) = decoder_guidance_dims[0].
  int64_t upsample1_dim = 256;
  /// Output channels of upsample2 (x4) = decoder_guidance_dims[1].
  int64_t upsample2_dim = 128;
};

/// Children (official names): upsample1 ConvTranspose2d(width -> upsample1_dim, k2, s2),
/// upsample2 ConvTranspose2d(width -> upsample2_dim, k4, s4).
class GuidanceUpsamplersImpl : public torch::nn::Module {
 public:
  explicit GuidanceUpsamplersImpl(const GuidanceUpsamplersOptions& options);

  /// shallow_tap: [B, width, h, w] (block 3 for ViT-B, CLS dropped); deep_tap: [B, width, h, w] (block 7).
  /// Returns {[B, upsample1_dim, 2h, 2w], [B, upsample2_dim, 4h, 4w]}.
  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& shallow_tap, const torch::Tensor& deep_tap);

  GuidanceUpsamplersOptions options;
  torch::nn::ConvTranspose2d upsample1{nullptr}, upsample2{nullptr};
};
TORCH_MODULE(GuidanceUpsamplers);

}  // namespace pat::model
