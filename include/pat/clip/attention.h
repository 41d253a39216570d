#pragma once
/// \file Multi-head self-attention with CLIP's parameters, Q/K/V held as separate weights so that Q and V
/// can be fine-tuned alone (CAT-Seg naming, shared/design/CATSEG.md §1.2-1.3).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace pat::clip {

struct AttentionOptions {
  int64_t width = 512;  ///< model width D (input and output features)
  int64_t heads = 8;    ///< number of heads; D must be divisible by it
};

/// Parameters (names as in CAT-Seg's checkpoints): `q_proj_weight`, `k_proj_weight`, `v_proj_weight`
/// [D, D], `in_proj_bias` [3D] (packed q|k|v), `out_proj.weight` [D, D], `out_proj.bias` [D].
/// Computes the same as torch's `nn.MultiheadAttention` (no dropout), batch-first.
class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);

  /// Self-attention. x: [B, L, D]; mask: optional additive [L, L] (e.g. causal -inf above the diagonal),
  /// same dtype as x or float32. Returns [B, L, D] in x's dtype.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// The value path only, `out_proj(v_proj(x))`, without attention mixing (CAT-Seg's dense last block).
  /// x: [B, L, D] -> [B, L, D].
  torch::Tensor value_path(const torch::Tensor& x);

  /// Xavier-uniform projections, zero biases (torch's MultiheadAttention defaults).
  void reset_parameters();

  const AttentionOptions& options() const { return options_; }

  torch::Tensor q_proj_weight;  ///< [D, D]
  torch::Tensor k_proj_weight;  ///< [D, D]
  torch::Tensor v_proj_weight;  ///< [D, D]
  torch::Tensor in_proj_bias;   ///< [3D]
  torch::nn::Linear out_proj{nullptr};

 private:
  AttentionOptions options_;
};
TORCH_MODULE(Attention);

}  // namespace pat::clip
