#pragma once
/// \file Spatial aggregation of one CAT-Seg aggregator layer (official SwinTransformerBlockWrapper,
/// CATSEG.md §1.6): every class's cost map runs through two guided Swin blocks (shift 0, then
/// window/2); the appearance guidance is repeated over classes and normalized by one LayerNorm shared by
/// both blocks.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "pat/model/catseg/swin_block.h"

namespace pat::model {

struct SpatialAggregationOptions {
  /// Cost-embedding channels C.
  int64_t dim = 128;
  /// Projected appearance-guidance channels (0: no guidance).
  int64_t guidance_dim = 128;
  /// Token grid [H, W].
  std::vector<int64_t> input_resolution{24, 24};
  /// Attention heads.
  int64_t num_heads = 4;
  /// Window side; the second block shifts by window_size / 2.
  int64_t window_size = 12;
};

/// Children (official names): block_1, block_2, guidance_norm.
class SpatialAggregationImpl : public torch::nn::Module {
 public:
  explicit SpatialAggregationImpl(const SpatialAggregationOptions& options);

  /// x: [B, C, T, H, W]; guidance: [B, guidance_dim, H, W] or undefined when guidance_dim is 0.
  /// Returns [B, C, T, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& guidance);

  /// The same in the tokens-last layout: x [B, T, H, W, C] (any strides); guidance as in `forward`.
  /// Returns [B, T, H, W, C] contiguous. Without gradients the classes run in chunks
  /// (fast_paths.h), and with `in_place` a contiguous x is overwritten with the result (and returned).
  torch::Tensor forward_tokens(const torch::Tensor& x, const torch::Tensor& guidance, bool in_place = false);

  SpatialAggregationOptions options;
  SwinBlock block_1{nullptr}, block_2{nullptr};
  torch::nn::LayerNorm guidance_norm{nullptr};
};
TORCH_MODULE(SpatialAggregation);

}  // namespace pat::model
