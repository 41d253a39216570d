#include "pat/model/catseg/swin_block.h"

#include <algorithm>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/fast_paths.h"
#include "pat/model/catseg/swin_window.h"

namespace pat::model {

SwinMlpImpl::SwinMlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor SwinMlpImpl::forward(const torch::Tensor& x, const torch::Tensor& into) {
  auto hidden = catseg_linear(x, fc1->weight, fc1->bias);
  return catseg_linear(torch::GradMode::is_enabled() ? torch::gelu(hidden) : at::gelu_(hidden), fc2->weight, fc2->bias,
                       into);
}

SwinBlockImpl::SwinBlockImpl(const SwinBlockOptions& options_) : options(options_) {
  PAT_CHECK(options.input_resolution.size() == 2 && options.input_resolution[0] > 0 && options.input_resolution[1] > 0,
            "SwinBlock: expected input_resolution [H, W], got ", options.input_resolution.size(), " values");
  const int64_t h = options.input_resolution[0], w = options.input_resolution[1];
  window_ = options.window_size;
  shift_ = options.shift_size;
  if (std::min(h, w) <= window_) {
    window_ = std::min(h, w);
    shift_ = 0;
  }
  PAT_CHECK(window_ > 0 && shift_ >= 0 && shift_ < window_, "SwinBlock: expected 0 <= shift_size < window_size, got ",
            shift_, " and ", window_);
  PAT_CHECK(h % window_ == 0 && w % window_ == 0, "SwinBlock: expected input_resolution ", h, "x", w,
            " to be a multiple of window_size ", window_);
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.dim})));
  attn = register_module("attn",
                         WindowAttention(WindowAttentionOptions{options.dim, options.guidance_dim, options.num_heads}));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.dim})));
  mlp = register_module("mlp", SwinMlp(options.dim, static_cast<int64_t>(options.dim * options.mlp_ratio)));
  if (shift_ > 0) attn_mask = register_buffer("attn_mask", shifted_window_mask(h, w, window_, shift_));
}

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& guidance) {
  const int64_t h = options.input_resolution[0], w = options.input_resolution[1], c = options.dim;
  const int64_t cg = options.guidance_dim;
  PAT_CHECK(x.dim() == 3 && x.size(1) == h * w && x.size(2) == c, "SwinBlock: expected [B', ", h * w, ", ", c,
            "], got ", x.sizes());
  const int64_t b = x.size(0);
  if (cg > 0)
    PAT_CHECK(guidance.defined() && guidance.dim() == 3 && guidance.size(0) > 0 && b % guidance.size(0) == 0 &&
                  guidance.size(1) == h * w && guidance.size(2) == cg,
              "SwinBlock: expected guidance [G, ", h * w, ", ", cg, "] with G dividing ", b, ", got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
  const int64_t n = window_ * window_, num_windows = (h / window_) * (w / window_);
  auto shifted = [&](torch::Tensor t, int64_t s) { return s == 0 ? t : torch::roll(t, {s, s}, {1, 2}); };
  auto shortcut = x;
  auto y = norm1(x).view({b, h, w, c});
  torch::Tensor attended;
  if (catseg_fast_paths().factored_guidance) {
    // The guidance's share of q and k once per image, windowed like the features.
    torch::Tensor guidance_qk;
    if (cg > 0) {
      auto g = attn->guidance_projection(guidance).view({guidance.size(0), h, w, 2 * c});
      guidance_qk = window_partition(shifted(g, -shift_), window_).view({-1, n, 2 * c});
    }
    auto windows = window_partition(shifted(y, -shift_), window_).view({-1, n, c});
    attended = attn->forward_windows(windows, guidance_qk, num_windows, attn_mask);
  } else {
    if (cg > 0) {
      const int64_t groups = guidance.size(0);
      auto g = guidance.unsqueeze(1).expand({groups, b / groups, h * w, cg}).reshape({b, h, w, cg});
      y = torch::cat({y, g}, -1);
    }
    auto windows = window_partition(shifted(y, -shift_), window_).view({-1, n, y.size(-1)});
    attended = attn(windows, attn_mask);
  }
  y = shifted(window_reverse(attended.view({-1, window_, window_, c}), window_, h, w), shift_);
  auto out = shortcut + y.reshape({b, h * w, c});
  if (torch::GradMode::is_enabled()) return out + mlp(norm2(out));
  return mlp(norm2(out), out);  // the MLP's output added in place
}

}  // namespace pat::model
