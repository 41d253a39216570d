#include "pat/model/catseg/spatial_aggregation.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

SpatialAggregationImpl::SpatialAggregationImpl(const SpatialAggregationOptions& options_) : options(options_) {
  SwinBlockOptions block{options.dim,       options.guidance_dim, options.input_resolution,
                         options.num_heads, options.window_size,  0};
  block_1 = register_module("block_1", SwinBlock(block));
  block.shift_size = options.window_size / 2;
  block_2 = register_module("block_2", SwinBlock(block));
  if (options.guidance_dim > 0)
    guidance_norm =
        register_module("guidance_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.guidance_dim})));
}

torch::Tensor SpatialAggregationImpl::forward(const torch::Tensor& x, const torch::Tensor& guidance) {
  PAT_CHECK(x.dim() == 5 && x.size(1) == options.dim, "SpatialAggregation: expected [B, ", options.dim,
            ", T, H, W], got ", x.sizes());
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  auto tokens = x.permute({0, 2, 3, 4, 1}).reshape({b * t, h * w, c});
  torch::Tensor g;
  if (options.guidance_dim > 0) {
    PAT_CHECK(guidance.defined() && guidance.dim() == 4 && guidance.size(0) == b &&
                  guidance.size(1) == options.guidance_dim && guidance.size(2) == h && guidance.size(3) == w,
              "SpatialAggregation: expected guidance [", b, ", ", options.guidance_dim, ", ", h, ", ", w, "], got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
    // LayerNorm acts per token, so normalizing once per image and repeating over classes is exact.
    auto normed = guidance_norm(guidance.permute({0, 2, 3, 1}).reshape({b, h * w, options.guidance_dim}));
    g = normed.unsqueeze(1).expand({b, t, h * w, options.guidance_dim}).reshape({b * t, h * w, options.guidance_dim});
  }
  tokens = block_1(tokens, g);
  tokens = block_2(tokens, g);
  return tokens.view({b, t, h, w, c}).permute({0, 4, 1, 2, 3});
}

}  // namespace pat::model
