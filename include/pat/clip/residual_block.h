#pragma once
/// \file CLIP's pre-norm transformer block and its stack: LayerNorm computed in float32, attention,
/// MLP c_fc -> QuickGELU -> c_proj (shared/design/CLIP.md §2).

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/clip/attention.h"

namespace pat::clip {

/// x * sigmoid(1.702 x), elementwise.
torch::Tensor quick_gelu(const torch::Tensor& x);

/// LayerNorm evaluated in float32 whatever the dtype of x or of its parameters; result cast back to
/// x's dtype (OpenAI's fp16-safe LayerNorm). x: [..., D].
torch::Tensor layer_norm_fp32(torch::nn::LayerNorm& ln, const torch::Tensor& x);

struct MlpOptions {
  int64_t width = 512;  ///< input/output features D; hidden is 4D
};

/// `c_fc` [4D, D] -> QuickGELU -> `c_proj` [D, 4D].
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  /// x: [..., D] -> [..., D].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
};
TORCH_MODULE(Mlp);

struct ResidualBlockOptions {
  int64_t width = 512;  ///< model width D
  int64_t heads = 8;    ///< attention heads
};

/// Children `ln_1`, `attn`, `ln_2`, `mlp` (OpenAI's ResidualAttentionBlock).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockImpl(const ResidualBlockOptions& options);

  /// x + attn(ln_1 x), then + mlp(ln_2 x). x: [B, L, D]; mask: optional additive [L, L]. Returns [B, L, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// CAT-Seg's dense mode (CATSEG.md §1.2): v = out_proj(v_proj(ln_1 x)) + x[:, 0] (the CLS token,
  /// broadcast to every position), then v + mlp(ln_2 v). No attention mixing. x: [B, L, D] -> [B, L, D].
  torch::Tensor forward_dense(const torch::Tensor& x);

  torch::nn::LayerNorm ln_1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct TransformerOptions {
  int64_t width = 512;  ///< model width D
  int64_t layers = 12;  ///< number of blocks
  int64_t heads = 8;    ///< attention heads per block
};

/// `resblocks.{i}` for i in [0, layers).
class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options);

  /// All blocks in order. x: [B, L, D]; mask: optional additive [L, L]. Returns [B, L, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// Block i (0-based).
  ResidualBlock block(int64_t i) const;
  int64_t layers() const { return options_.layers; }
  const TransformerOptions& options() const { return options_; }

  torch::nn::ModuleList resblocks{nullptr};

 private:
  TransformerOptions options_;
};
TORCH_MODULE(Transformer);

}  // namespace pat::clip
