#include "pat/model/catseg/spatial_aggregation.h"

#include <algorithm>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/catseg/fast_paths.h"

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
  return forward_tokens(x.permute({0, 2, 3, 4, 1}), guidance).permute({0, 4, 1, 2, 3});
}

torch::Tensor SpatialAggregationImpl::forward_tokens(const torch::Tensor& x, const torch::Tensor& guidance,
                                                     bool in_place) {
  PAT_PROFILE_SCOPE("catseg.spatial_aggregation");
  PAT_CHECK(x.dim() == 5 && x.size(4) == options.dim, "SpatialAggregation: expected tokens [B, T, H, W, ", options.dim,
            "], got ", x.sizes());
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2), w = x.size(3), c = x.size(4);
  const int64_t cg = options.guidance_dim;
  auto rows = x.reshape({b * t, h * w, c});
  torch::Tensor g;  // [B, h*w, Cg] normalized, or [B*T, h*w, Cg] repeated over classes
  if (cg > 0) {
    PAT_CHECK(guidance.defined() && guidance.dim() == 4 && guidance.size(0) == b && guidance.size(1) == cg &&
                  guidance.size(2) == h && guidance.size(3) == w,
              "SpatialAggregation: expected guidance [", b, ", ", cg, ", ", h, ", ", w, "], got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
    // LayerNorm acts per token, so normalizing once per image and repeating over classes is exact.
    g = guidance_norm(guidance.permute({0, 2, 3, 1}).reshape({b, h * w, cg}));
    if (!catseg_fast_paths().factored_guidance)
      g = g.unsqueeze(1).expand({b, t, h * w, cg}).reshape({b * t, h * w, cg});
  }
  const bool per_row = g.defined() && g.size(0) == b * t;
  auto run = [&](const torch::Tensor& in, int64_t image, int64_t r0, int64_t len) {
    torch::Tensor gi;
    if (g.defined()) gi = per_row ? g.narrow(0, r0, len) : g.narrow(0, image, 1);
    return block_2(block_1(in, gi), gi);
  };
  // Intermediates per class map: about 20 C-wide token copies and two attention maps per window.
  const auto& attn = block_1->attn->options;
  const int64_t n = std::min<int64_t>(std::min(h, w), options.window_size);
  const int64_t chunk = catseg_chunk_items(b * t, 4 * h * w * (20 * c + 2 * attn.num_heads * n * n), x.device());
  if (chunk >= b * t) return block_2(block_1(rows, g), g).view({b, t, h, w, c});  // G = B or B*T guidance rows
  auto out = in_place && x.is_contiguous() ? rows : torch::empty_like(rows);
  for (int64_t image = 0; image < b; ++image)
    for (int64_t t0 = 0; t0 < t; t0 += chunk) {
      const int64_t r0 = image * t + t0, len = std::min(chunk, t - t0);
      out.narrow(0, r0, len).copy_(run(rows.narrow(0, r0, len), image, r0, len));
    }
  return out.view({b, t, h, w, c});
}

}  // namespace pat::model
