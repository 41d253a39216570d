#include "pat/clip/residual_block.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::clip {

torch::Tensor quick_gelu(const torch::Tensor& x) {
  return x * torch::sigmoid(1.702 * x);
}

torch::Tensor layer_norm_fp32(torch::nn::LayerNorm& ln, const torch::Tensor& x) {
  const auto& opts = ln->options;
  auto weight = ln->weight.defined() ? ln->weight.to(torch::kFloat32) : torch::Tensor();
  auto bias = ln->bias.defined() ? ln->bias.to(torch::kFloat32) : torch::Tensor();
  return torch::layer_norm(x.to(torch::kFloat32), opts.normalized_shape(), weight, bias, opts.eps())
      .to(x.scalar_type());
}

MlpImpl::MlpImpl(const MlpOptions& options) {
  c_fc = register_module("c_fc", torch::nn::Linear(options.width, 4 * options.width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * options.width, options.width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return c_proj(quick_gelu(c_fc(x)));
}

ResidualBlockImpl::ResidualBlockImpl(const ResidualBlockOptions& options) {
  auto ln_options = torch::nn::LayerNormOptions({options.width}).eps(1e-5);
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(ln_options));
  attn = register_module("attn", Attention(AttentionOptions{options.width, options.heads}));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(ln_options));
  mlp = register_module("mlp", Mlp(MlpOptions{options.width}));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto y = x + attn(layer_norm_fp32(ln_1, x), mask);
  return y + mlp(layer_norm_fp32(ln_2, y));
}

torch::Tensor ResidualBlockImpl::forward_dense(const torch::Tensor& x) {
  auto v = attn->value_path(layer_norm_fp32(ln_1, x)) + x.narrow(1, 0, 1);
  return v + mlp(layer_norm_fp32(ln_2, v));
}

TransformerImpl::TransformerImpl(const TransformerOptions& options) : options_(options) {
  PAT_CHECK(options.layers > 0, "CLIP transformer: layers must be positive, got ", options.layers);
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i)
    resblocks->push_back(ResidualBlock(ResidualBlockOptions{options.width, options.heads}));
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto y = x;
  for (int64_t i = 0; i < options_.layers; ++i) y = block(i)->forward(y, mask);
  return y;
}

ResidualBlock TransformerImpl::block(int64_t i) const {
  PAT_CHECK(i >= 0 && i < options_.layers, "CLIP transformer: block index ", i, " out of range [0, ", options_.layers,
            ")");
  return ResidualBlock(resblocks->ptr<ResidualBlockImpl>(static_cast<size_t>(i)));
}

}  // namespace pat::clip
