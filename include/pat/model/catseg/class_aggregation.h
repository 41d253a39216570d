#pragma once
/// \file Class aggregation of one CAT-Seg aggregator layer (official ClassTransformerLayer, CATSEG.md
/// §1.6): per pixel, a linear-attention transformer layer over the class axis, guided by the text
/// embeddings. The class sequence is padded to `pad_len` with learned tokens (and learned guidance),
/// the cost maps are average-pooled before and upsampled (bilinear, align_corners) after, and the
/// result is added to the unpooled input: x + up(pool(x) + delta).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "pat/model/catseg/linear_attention.h"

namespace pat::model {

struct ClassAggregationOptions {
  /// Cost-embedding channels C.
  int64_t hidden_dim = 128;
  /// Projected text-guidance channels (0: no guidance).
  int64_t guidance_dim = 128;
  /// Attention heads.
  int64_t num_heads = 4;
  /// Average-pooling window (and stride) while the module is training (official POOLING_SIZES).
  int64_t pooling_size = 2;
  /// Pooling window in eval mode (eval.sh overrides POOLING_SIZES to 1). Set it equal to pooling_size
  /// to pool the same way in both modes.
  int64_t eval_pooling_size = 1;
  /// Class sequences shorter than this are padded with learned tokens up to it (0: no padding and no
  /// padding parameters).
  int64_t pad_len = 256;
};

/// Children (official names): attention (q, k, v), MLP (0: Linear C->4C, 1: ReLU, 2: Linear 4C->C),
/// norm1, norm2; parameters padding_tokens [1, 1, C] and padding_guidance [1, 1, guidance_dim]
/// (zero-initialized, present when pad_len > 0).
class ClassAggregationImpl : public torch::nn::Module {
 public:
  explicit ClassAggregationImpl(const ClassAggregationOptions& options);

  /// x: [B, C, T, H, W]; guidance: [B, T, guidance_dim] or undefined when guidance_dim is 0.
  /// Returns [B, C, T, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& guidance);

  /// The same in the tokens-last layout: x [B, T, H, W, C] (any strides); guidance as in `forward`.
  /// Returns [B, T, H, W, C] contiguous. Without gradients and pooling the pixels run in chunks
  /// (fast_paths.h), and with `in_place` a contiguous x is overwritten with the result (and returned).
  torch::Tensor forward_tokens(const torch::Tensor& x, const torch::Tensor& guidance, bool in_place = false);

  /// The pooling window this module uses now (follows is_training()).
  int64_t current_pooling_size() const;

  ClassAggregationOptions options;
  LinearAttentionLayer attention{nullptr};
  torch::nn::Sequential MLP{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::Tensor padding_tokens, padding_guidance;
};
TORCH_MODULE(ClassAggregation);

}  // namespace pat::model
