#pragma once
/// \file One CAT-Seg aggregator layer (CATSEG.md §1.6): spatial aggregation (two guided Swin blocks),
/// then class aggregation (linear attention over classes).

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "pat/model/catseg/class_aggregation.h"
#include "pat/model/catseg/spatial_aggregation.h"

namespace pat::model {

struct AggregatorLayerOptions {
  /// Cost-embedding channels C.
  int64_t hidden_dim = 128;
  /// Projected appearance-guidance channels (Swin queries/keys).
  int64_t appearance_guidance_dim = 128;
  /// Projected text-guidance channels (class-attention queries/keys).
  int64_t text_guidance_dim = 128;
  /// Attention heads of both parts.
  int64_t num_heads = 4;
  /// Token grid [H, W].
  std::vector<int64_t> input_resolution{24, 24};
  /// Swin window side.
  int64_t window_size = 12;
  /// Class-aggregation pooling in training / in eval.
  int64_t pooling_size = 2;
  int64_t eval_pooling_size = 1;
  /// Class padding length (0: off).
  int64_t pad_len = 256;
};

/// Children (official names): swin_block (SpatialAggregation), attention (ClassAggregation).
class AggregatorLayerImpl : public torch::nn::Module {
 public:
  explicit AggregatorLayerImpl(const AggregatorLayerOptions& options);

  /// x: [B, C, T, H, W]; appearance_guidance: [B, Ca, H, W]; text_guidance: [B, T, Ct].
  /// Returns [B, C, T, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& appearance_guidance,
                        const torch::Tensor& text_guidance);

  /// The same in the tokens-last layout [B, T, H, W, C] (see SpatialAggregation::forward_tokens).
  torch::Tensor forward_tokens(const torch::Tensor& x, const torch::Tensor& appearance_guidance,
                               const torch::Tensor& text_guidance, bool in_place = false);

  AggregatorLayerOptions options;
  SpatialAggregation swin_block{nullptr};
  ClassAggregation attention{nullptr};
};
TORCH_MODULE(AggregatorLayer);

}  // namespace pat::model
