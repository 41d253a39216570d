#include "pat/model/catseg/class_aggregation.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

ClassAggregationImpl::ClassAggregationImpl(const ClassAggregationOptions& options_) : options(options_) {
  PAT_CHECK(options.pooling_size >= 1 && options.eval_pooling_size >= 1,
            "ClassAggregation: expected pooling sizes >= 1, got ", options.pooling_size, " and ",
            options.eval_pooling_size);
  PAT_CHECK(options.pad_len >= 0, "ClassAggregation: expected pad_len >= 0, got ", options.pad_len);
  const int64_t c = options.hidden_dim;
  attention = register_module(
      "attention", LinearAttentionLayer(LinearAttentionLayerOptions{c, options.guidance_dim, options.num_heads}));
  MLP = register_module(
      "MLP", torch::nn::Sequential(torch::nn::Linear(c, 4 * c), torch::nn::ReLU(), torch::nn::Linear(4 * c, c)));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c})));
  if (options.pad_len > 0) {
    padding_tokens = register_parameter("padding_tokens", torch::zeros({1, 1, c}));
    if (options.guidance_dim > 0)
      padding_guidance = register_parameter("padding_guidance", torch::zeros({1, 1, options.guidance_dim}));
  }
}

int64_t ClassAggregationImpl::current_pooling_size() const {
  return is_training() ? options.pooling_size : options.eval_pooling_size;
}

torch::Tensor ClassAggregationImpl::forward(const torch::Tensor& x, const torch::Tensor& guidance) {
  const int64_t c = options.hidden_dim, cg = options.guidance_dim;
  PAT_CHECK(x.dim() == 5 && x.size(1) == c, "ClassAggregation: expected [B, ", c, ", T, H, W], got ", x.sizes());
  const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
  if (cg > 0)
    PAT_CHECK(guidance.defined() && guidance.dim() == 3 && guidance.size(0) == b && guidance.size(1) == t &&
                  guidance.size(2) == cg,
              "ClassAggregation: expected guidance [", b, ", ", t, ", ", cg, "], got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});

  // Pool each class's map: [B, C, T, h, w].
  const int64_t pool = current_pooling_size();
  torch::Tensor pooled = x;
  if (pool > 1) {
    auto per_class = x.permute({0, 2, 1, 3, 4}).reshape({b * t, c, h, w});
    pooled = F::avg_pool2d(per_class, F::AvgPool2dFuncOptions(pool));
    pooled = pooled.view({b, t, c, pooled.size(2), pooled.size(3)}).permute({0, 2, 1, 3, 4});
  }
  const int64_t hp = pooled.size(3), wp = pooled.size(4);

  // Pad the class axis with learned tokens / guidance.
  torch::Tensor g = guidance;
  const bool pad = options.pad_len > 0 && t < options.pad_len;
  const int64_t tp = pad ? options.pad_len : t;
  if (pad) {
    auto tokens = padding_tokens.view({1, c, 1, 1, 1}).expand({b, c, tp - t, hp, wp});
    pooled = torch::cat({pooled, tokens}, 2);
    if (cg > 0) g = torch::cat({g, padding_guidance.expand({b, tp - t, cg})}, 1);
  }

  // Sequences over classes, one per pooled pixel: [(B hp wp), Tp, C].
  auto seq = pooled.permute({0, 3, 4, 2, 1}).reshape({b * hp * wp, tp, c});
  torch::Tensor seq_guidance;
  if (cg > 0) seq_guidance = g.unsqueeze(1).expand({b, hp * wp, tp, cg}).reshape({b * hp * wp, tp, cg});
  seq = seq + attention(norm1(seq), seq_guidance);
  seq = seq + MLP->forward(norm2(seq));

  // Back to maps, upsample to the input grid, drop the padding.
  auto maps = seq.view({b, hp, wp, tp, c}).permute({0, 3, 4, 1, 2}).reshape({b * tp, c, hp, wp});
  if (hp != h || wp != w)
    maps = F::interpolate(
        maps, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(true));
  auto up = maps.view({b, tp, c, h, w}).permute({0, 2, 1, 3, 4});
  if (pad) up = up.narrow(2, 0, t);
  return x + up;
}

}  // namespace pat::model
