#pragma once
/// \file Private: the GroupNorm residual block of the pixel decoder.

#include <torch/torch.h>

namespace pat::model::detail {

/// conv3x3 -> GN -> ReLU -> conv3x3 -> GN, + shortcut (1x1 conv when in != out), ReLU. [B, in, H, W] -> [B, out, H, W].
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
};

TORCH_MODULE(ResidualBlock);

}  // namespace pat::model::detail
