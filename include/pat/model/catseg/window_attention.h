#pragma once
/// \file Window multi-head self-attention of CAT-Seg's guided Swin blocks (CATSEG.md §1.6): queries and
/// keys see [features, guidance], values see the features only; no relative position bias.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace pat::model {

struct WindowAttentionOptions {
  /// Feature channels C (input, value and output width).
  int64_t dim = 128;
  /// Guidance channels concatenated to the features for queries and keys (0: none).
  int64_t guidance_dim = 128;
  /// Attention heads; head width is dim / num_heads.
  int64_t num_heads = 4;
};

/// Parameters (official names): q, k [dim+guidance_dim -> dim], v [dim -> dim], proj [dim -> dim].
class WindowAttentionImpl : public torch::nn::Module {
 public:
  explicit WindowAttentionImpl(const WindowAttentionOptions& options);

  /// x: [B_, N, dim + guidance_dim] float32 (features first); mask: [num_windows, N, N] additive, B_ a
  /// multiple of num_windows, or undefined. Returns [B_, N, dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// The guidance's share of the query and key projections, without bias: guidance [..., guidance_dim]
  /// -> [..., 2 * dim] (queries first; pre-scaled when the fused path folds the scale into queries).
  /// Project once per image, then pass the windows of the result to `forward_windows`.
  torch::Tensor guidance_projection(const torch::Tensor& guidance);

  /// The factored form of `forward` (same result): features [B_, N, dim] (windows of the features
  /// only); guidance_qk [G * num_windows, N, 2 * dim] windows of `guidance_projection`, where window
  /// rows (g * T + t) * num_windows + w use guidance row g * num_windows + w (B_ = G * T * num_windows),
  /// or undefined when guidance_dim is 0; mask as in `forward`. Returns [B_, N, dim].
  torch::Tensor forward_windows(const torch::Tensor& features, const torch::Tensor& guidance_qk, int64_t num_windows,
                                const torch::Tensor& mask = {});

  WindowAttentionOptions options;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};
};
TORCH_MODULE(WindowAttention);

}  // namespace pat::model
