#include "pat/model/catseg/window_attention.h"

#include <cmath>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/fast_paths.h"

namespace pat::model {

namespace F = torch::nn::functional;

namespace {

#if TORCH_VERSION_MAJOR >= 2
constexpr bool kHasSdpa = true;
#else
constexpr bool kHasSdpa = false;
#endif

/// Whether the query projection carries the 1/sqrt(d) scale (fused path without SDPA).
bool scale_in_queries() {
  return catseg_fast_paths().fused_attention && !kHasSdpa;
}

/// Softmax attention of q, k, v [B_, heads, N, d] with an additive mask [nW, N, N] (B_ a multiple of
/// nW; window b uses mask b % nW) -> [B_, N, heads * d]. `scaled`: q already carries the scale.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& mask,
                     double scale, bool scaled) {
  const int64_t bw = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
  auto merge_heads = [&](const torch::Tensor& o) { return o.transpose(1, 2).reshape({bw, n, heads * hd}); };
  if (mask.defined()) {
    const int64_t nw = mask.size(0);
    PAT_CHECK(mask.dim() == 3 && mask.size(1) == n && mask.size(2) == n && bw % nw == 0,
              "WindowAttention: expected mask [num_windows, ", n, ", ", n, "] dividing ", bw, " windows, got ",
              mask.sizes());
  }
  if (!catseg_fast_paths().fused_attention) {
    auto attn = torch::matmul(scaled ? q : q * scale, k.transpose(-2, -1));  // [B_, heads, N, N]
    if (mask.defined()) {
      const int64_t nw = mask.size(0);
      attn = (attn.view({bw / nw, nw, heads, n, n}) + mask.unsqueeze(1).unsqueeze(0)).view({bw, heads, n, n});
    }
    return merge_heads(torch::matmul(torch::softmax(attn, -1), v));
  }
#if TORCH_VERSION_MAJOR >= 2
  if (!scaled) {
    if (!mask.defined()) return merge_heads(at::scaled_dot_product_attention(q, k, v));
    // Windows grouped by position so that the mask broadcasts without being repeated.
    const int64_t nw = mask.size(0);
    auto out =
        at::scaled_dot_product_attention(q.view({bw / nw, nw, heads, n, hd}), k.view({bw / nw, nw, heads, n, hd}),
                                         v.view({bw / nw, nw, heads, n, hd}), mask.unsqueeze(1));
    return merge_heads(out.view({bw, heads, n, hd}));
  }
#endif
  const auto qs = scaled ? q : q * scale;
  auto scores = [&] {  // q k^T + mask: [B_, heads, N, N]
    auto attn = catseg_bmm(qs, k.transpose(-2, -1));
    if (mask.defined()) {
      const int64_t nw = mask.size(0);
      attn.view({bw / nw, nw, heads, n, n}).add_(mask.unsqueeze(1));
    }
    return attn;
  };
  if (torch::GradMode::is_enabled()) return merge_heads(catseg_bmm(torch::softmax(scores(), -1), v));
  // Without gradients the products land in [B_, N, heads, d] directly: fused per window where that applies, else
  // with the softmax overwriting the scores.
  auto out = torch::empty({bw, n, heads, hd}, q.options());
  const auto by_head = out.permute({0, 2, 1, 3});
  if (!catseg_fused_window_attention(qs, k, v, mask, by_head)) {
    auto attn = scores();
    catseg_bmm(at::_softmax_out(attn, attn, -1, false), v, by_head);
  }
  return out.view({bw, n, heads * hd});
}

}  // namespace

WindowAttentionImpl::WindowAttentionImpl(const WindowAttentionOptions& options_) : options(options_) {
  PAT_CHECK(options.dim > 0 && options.num_heads > 0 && options.dim % options.num_heads == 0,
            "WindowAttention: expected dim divisible by num_heads, got dim ", options.dim, " and ", options.num_heads,
            " heads");
  PAT_CHECK(options.guidance_dim >= 0, "WindowAttention: expected guidance_dim >= 0, got ", options.guidance_dim);
  const int64_t in = options.dim + options.guidance_dim;
  q = register_module("q", torch::nn::Linear(in, options.dim));
  k = register_module("k", torch::nn::Linear(in, options.dim));
  v = register_module("v", torch::nn::Linear(options.dim, options.dim));
  proj = register_module("proj", torch::nn::Linear(options.dim, options.dim));
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  PAT_CHECK(x.dim() == 3 && x.size(2) == options.dim + options.guidance_dim, "WindowAttention: expected [B_, N, ",
            options.dim + options.guidance_dim, "], got ", x.sizes());
  const int64_t bw = x.size(0), n = x.size(1), heads = options.num_heads, hd = options.dim / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const bool scaled = scale_in_queries();
  auto split = [&](const torch::Tensor& t) { return t.reshape({bw, n, heads, hd}).permute({0, 2, 1, 3}); };
  auto qh = split(scaled ? F::linear(x, q->weight * scale, q->bias * scale) : q(x));
  auto kh = split(k(x));
  auto vh = split(v(x.narrow(2, 0, options.dim)));
  auto out = attend(qh, kh, vh, mask, scale, scaled);
  return proj(out);
}

torch::Tensor WindowAttentionImpl::guidance_projection(const torch::Tensor& guidance) {
  const int64_t c = options.dim, cg = options.guidance_dim;
  PAT_CHECK(cg > 0 && guidance.defined() && guidance.size(-1) == cg, "WindowAttention: expected guidance [..., ", cg,
            "], got ", guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
  auto wq = q->weight.narrow(1, c, cg);
  if (scale_in_queries()) wq = wq * (1.0 / std::sqrt(static_cast<double>(c / options.num_heads)));
  return F::linear(guidance, torch::cat({wq, k->weight.narrow(1, c, cg)}, 0));
}

torch::Tensor WindowAttentionImpl::forward_windows(const torch::Tensor& features, const torch::Tensor& guidance_qk,
                                                   int64_t num_windows, const torch::Tensor& mask) {
  const int64_t c = options.dim;
  PAT_CHECK(features.dim() == 3 && features.size(2) == c, "WindowAttention: expected features [B_, N, ", c, "], got ",
            features.sizes());
  const int64_t bw = features.size(0), n = features.size(1), heads = options.num_heads, hd = c / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const bool scaled = scale_in_queries();
  auto wq = q->weight.narrow(1, 0, c);
  auto bq = q->bias;
  if (scaled) {
    wq = wq * scale;
    bq = bq * scale;
  }
  auto qkv = catseg_linear(features, torch::cat({wq, k->weight.narrow(1, 0, c), v->weight}, 0),
                           torch::cat({bq, k->bias, v->bias}, 0));  // [B_, N, 3C]
  if (options.guidance_dim > 0) {
    PAT_CHECK(num_windows > 0 && guidance_qk.defined() && guidance_qk.dim() == 3 && guidance_qk.size(1) == n &&
                  guidance_qk.size(2) == 2 * c && guidance_qk.size(0) % num_windows == 0 &&
                  bw % guidance_qk.size(0) == 0,
              "WindowAttention: expected guidance windows [G * ", num_windows, ", ", n, ", ", 2 * c, "] dividing ", bw,
              " windows, got ", guidance_qk.defined() ? guidance_qk.sizes() : torch::IntArrayRef{});
    const int64_t groups = guidance_qk.size(0) / num_windows, per_group = bw / guidance_qk.size(0);
    qkv.view({groups, per_group, num_windows, n, 3 * c})
        .narrow(-1, 0, 2 * c)
        .add_(guidance_qk.view({groups, 1, num_windows, n, 2 * c}));
  }
  auto split = [&](int64_t i) { return qkv.narrow(-1, i * c, c).view({bw, n, heads, hd}).transpose(1, 2); };
  auto out = attend(split(0), split(1), split(2), mask, scale, scaled);
  return catseg_linear(out, proj->weight, proj->bias);
}

}  // namespace pat::model
