#pragma once
/// \file One guided Swin transformer block of CAT-Seg's spatial aggregation (CATSEG.md §1.6):
/// pre-norm window attention with the guidance concatenated into queries and keys, then a timm-style MLP
/// (fc1 -> GELU -> fc2). Drop path and dropout are 0.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "pat/model/catseg/window_attention.h"

namespace pat::model {

/// timm `Mlp`: fc1 [dim -> hidden], exact GELU, fc2 [hidden -> dim].
class SwinMlpImpl : public torch::nn::Module {
 public:
  SwinMlpImpl(int64_t dim, int64_t hidden);
  /// x: [..., dim] -> [..., dim]; with `into` (contiguous, x's shape), into += that, returning into.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& into = {});
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SwinMlp);

struct SwinBlockOptions {
  /// Feature channels C.
  int64_t dim = 128;
  /// Guidance channels concatenated into queries and keys (0: none).
  int64_t guidance_dim = 128;
  /// Spatial size [H, W] of the token grid (the mask is built for it).
  std::vector<int64_t> input_resolution{24, 24};
  /// Attention heads.
  int64_t num_heads = 4;
  /// Window side; when min(H, W) <= window_size the window becomes min(H, W) and the shift 0 (Swin rule).
  int64_t window_size = 12;
  /// Cyclic shift (0: regular windows; window_size / 2 in the second block).
  int64_t shift_size = 0;
  /// MLP hidden width = dim * mlp_ratio.
  double mlp_ratio = 4.0;
};

/// Children (official names): norm1, attn (q, k, v, proj), norm2, mlp (fc1, fc2); buffer attn_mask
/// [num_windows, w*w, w*w] when shifted (persistent, it is in the official checkpoint).
class SwinBlockImpl : public torch::nn::Module {
 public:
  explicit SwinBlockImpl(const SwinBlockOptions& options);

  /// x: [B', H*W, dim]; guidance: [G, H*W, guidance_dim] (already normalized) with G dividing B' (rows
  /// g * B'/G .. (g+1) * B'/G - 1 share guidance g: one image's classes; G = B' is one guidance per
  /// row), or undefined when guidance_dim is 0. Returns [B', H*W, dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& guidance);

  /// Window and shift in effect after the Swin rule.
  int64_t window_size() const { return window_; }
  int64_t shift_size() const { return shift_; }

  SwinBlockOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  SwinMlp mlp{nullptr};
  torch::Tensor attn_mask;

 private:
  int64_t window_ = 0;
  int64_t shift_ = 0;
};
TORCH_MODULE(SwinBlock);

}  // namespace pat::model
