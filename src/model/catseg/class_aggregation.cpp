#include "pat/model/catseg/class_aggregation.h"

#include <algorithm>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/catseg/fast_paths.h"

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
  PAT_CHECK(x.dim() == 5 && x.size(1) == options.hidden_dim, "ClassAggregation: expected [B, ", options.hidden_dim,
            ", T, H, W], got ", x.sizes());
  return forward_tokens(x.permute({0, 2, 3, 4, 1}), guidance).permute({0, 4, 1, 2, 3});
}

torch::Tensor ClassAggregationImpl::forward_tokens(const torch::Tensor& x, const torch::Tensor& guidance,
                                                   bool in_place) {
  PAT_PROFILE_SCOPE("catseg.class_aggregation");
  const int64_t c = options.hidden_dim, cg = options.guidance_dim;
  PAT_CHECK(x.dim() == 5 && x.size(4) == c, "ClassAggregation: expected tokens [B, T, H, W, ", c, "], got ", x.sizes());
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2), w = x.size(3);
  if (cg > 0)
    PAT_CHECK(guidance.defined() && guidance.dim() == 3 && guidance.size(0) == b && guidance.size(1) == t &&
                  guidance.size(2) == cg,
              "ClassAggregation: expected guidance [", b, ", ", t, ", ", cg, "], got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});

  // Pad the class axis with learned tokens / guidance.
  const bool pad = options.pad_len > 0 && t < options.pad_len;
  const int64_t tp = pad ? options.pad_len : t;
  torch::Tensor g = guidance;  // [B, Tp, Cg]
  if (pad && cg > 0) g = torch::cat({g, padding_guidance.expand({b, tp - t, cg})}, 1);
  // One transformer layer over the class axis of every pixel: seq [N, Tp, C], guidance row n / (N / B).
  auto layer = [&](torch::Tensor s) {
    s = s + attention(norm1(s), g);
    auto delta = MLP->forward(norm2(s));
    return torch::GradMode::is_enabled() ? s + delta : s.add_(delta);
  };
  auto tokens = [&](int64_t count, int64_t hp, int64_t wp) {  // the learned padding [B, hp, wp, Tp - T, C]
    return padding_tokens.view({1, 1, 1, 1, c}).expand({count, hp, wp, tp - t, c});
  };

  const int64_t pool = current_pooling_size();
  // Intermediates per pixel: about 14 C-wide copies of its class sequence.
  const int64_t chunk = pool == 1 ? catseg_chunk_items(h * w, 4 * tp * c * 14, x.device()) : h * w;
  if (chunk < h * w) {
    // Pixels are independent without pooling: gather each chunk's sequences, add the layer's output.
    auto xv = x.reshape({b, t, h * w, c});
    auto out = in_place && x.is_contiguous() ? xv : xv.clone();
    for (int64_t image = 0; image < b; ++image) {
      auto gi = cg > 0 ? g.narrow(0, image, 1) : g;
      for (int64_t p0 = 0; p0 < h * w; p0 += chunk) {
        const int64_t len = std::min(chunk, h * w - p0);
        auto seq = torch::empty({len, tp, c}, x.options());
        seq.narrow(1, 0, t).copy_(xv[image].narrow(1, p0, len).transpose(0, 1));
        if (pad) seq.narrow(1, t, tp - t).copy_(padding_tokens.view({1, 1, c}).expand({len, tp - t, c}));
        seq.add_(attention(norm1(seq), gi));
        const auto* fc1 = MLP[0]->as<torch::nn::Linear>();
        const auto* fc2 = MLP[2]->as<torch::nn::Linear>();
        auto hidden = catseg_linear(norm2(seq), fc1->weight, fc1->bias).relu_();
        catseg_linear(hidden, fc2->weight, fc2->bias, seq);
        out[image].narrow(1, p0, len).add_(seq.narrow(1, 0, t).transpose(0, 1));
      }
    }
    return out.view({b, t, h, w, c});
  }

  // Pool each class's map: [B, T, hp, wp, C].
  torch::Tensor pooled = x;
  if (pool > 1) {
    auto maps = x.reshape({b * t, h, w, c}).permute({0, 3, 1, 2});
    pooled = F::avg_pool2d(maps, F::AvgPool2dFuncOptions(pool)).permute({0, 2, 3, 1});
    pooled = pooled.reshape({b, t, pooled.size(1), pooled.size(2), c});
  }
  const int64_t hp = pooled.size(2), wp = pooled.size(3);
  auto seq = pooled.permute({0, 2, 3, 1, 4});  // [B, hp, wp, T, C]
  if (pad) seq = torch::cat({seq, tokens(b, hp, wp)}, 3);
  seq = layer(seq.reshape({b * hp * wp, tp, c}));

  // Back to maps, upsample to the input grid, drop the padding.
  auto up = seq.view({b, hp, wp, tp, c}).narrow(3, 0, t).permute({0, 3, 1, 2, 4});  // [B, T, hp, wp, C]
  if (hp != h || wp != w) {
    auto maps = up.reshape({b * t, hp, wp, c}).permute({0, 3, 1, 2});
    up = F::interpolate(
             maps,
             F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(true))
             .permute({0, 2, 3, 1})
             .reshape({b, t, h, w, c});
  }
  if (in_place && !torch::GradMode::is_enabled() && x.is_contiguous()) return x.view({b, t, h, w, c}).add_(up);
  return (x + up).contiguous();
}

}  // namespace pat::model
