#include "model/pat/detail/residual_block.h"

namespace pat::model::detail {

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t groups) {
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
  norm1_ = register_module("norm1", torch::nn::GroupNorm(groups, out));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
  norm2_ = register_module("norm2", torch::nn::GroupNorm(groups, out));
  if (in != out) {
    shortcut_ = register_module("shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto y = torch::relu(norm1_->forward(conv1_->forward(x)));
  y = norm2_->forward(conv2_->forward(y));
  return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
}

}  // namespace pat::model::detail
