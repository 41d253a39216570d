#include "pat/model/catseg/linear_attention.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/fast_paths.h"

namespace pat::model {

namespace F = torch::nn::functional;

namespace {

/// linear_attention without gradients: + 1 and the output's scaling in place, and the values'
/// 1/L scale applied to the [D, Dv] key-value products instead of to every value (together with the final
/// factor L it is exact for L a power of two, as CAT-Seg's padded 256 classes are; otherwise equal to float
/// rounding).
torch::Tensor linear_attention_inference(const torch::Tensor& queries, const torch::Tensor& keys,
                                         const torch::Tensor& values, double eps) {
  const double s = static_cast<double>(values.size(1));
  auto q = torch::elu(queries).add_(1).permute({0, 2, 1, 3});  // [N, H, L, D]
  auto k = torch::elu(keys).add_(1).permute({0, 2, 1, 3});
  auto kv = catseg_bmm(k.transpose(-2, -1), values.permute({0, 2, 1, 3})).mul_(1.0 / s);  // [N, H, D, Dv]
  auto z = torch::matmul(q, k.sum(2).unsqueeze(-1)).add_(eps).reciprocal_().mul_(s);      // [N, H, L, 1]
  auto out = torch::empty(queries.sizes(), queries.options());  // [N, L, H, Dv], written by head
  catseg_bmm(q, kv, out.permute({0, 2, 1, 3})).mul_(z);
  return out;
}

}  // namespace

torch::Tensor linear_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                               double eps) {
  PAT_CHECK(queries.dim() == 4 && keys.dim() == 4 && values.dim() == 4, "linear_attention: expected 4-d [N, L, H, D] ",
            "tensors, got ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  PAT_CHECK(queries.size(0) == keys.size(0) && queries.size(2) == keys.size(2) && queries.size(3) == keys.size(3) &&
                keys.size(0) == values.size(0) && keys.size(1) == values.size(1) && keys.size(2) == values.size(2),
            "linear_attention: inconsistent shapes ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  if (!torch::GradMode::is_enabled()) return linear_attention_inference(queries, keys, values, eps);
  const double s = static_cast<double>(values.size(1));
  // Heads first: [N, H, L, D].
  auto q = (torch::elu(queries) + 1).permute({0, 2, 1, 3});
  auto k = (torch::elu(keys) + 1).permute({0, 2, 1, 3});
  auto v = (values / s).permute({0, 2, 1, 3});
  auto kv = catseg_bmm(k.transpose(-2, -1), v);                     // [N, H, D, Dv]
  auto z = 1.0 / (torch::matmul(q, k.sum(2).unsqueeze(-1)) + eps);  // [N, H, L, 1]
  auto out = catseg_bmm(q, kv) * z * s;                             // [N, H, L, Dv]
  return out.permute({0, 2, 1, 3}).contiguous();
}

LinearAttentionLayerImpl::LinearAttentionLayerImpl(const LinearAttentionLayerOptions& options_) : options(options_) {
  PAT_CHECK(options.hidden_dim > 0 && options.num_heads > 0 && options.hidden_dim % options.num_heads == 0,
            "LinearAttentionLayer: expected hidden_dim divisible by num_heads, got ", options.hidden_dim, " and ",
            options.num_heads);
  PAT_CHECK(options.guidance_dim >= 0, "LinearAttentionLayer: expected guidance_dim >= 0, got ", options.guidance_dim);
  q = register_module("q", torch::nn::Linear(options.hidden_dim + options.guidance_dim, options.hidden_dim));
  k = register_module("k", torch::nn::Linear(options.hidden_dim + options.guidance_dim, options.hidden_dim));
  v = register_module("v", torch::nn::Linear(options.hidden_dim, options.hidden_dim));
}

torch::Tensor LinearAttentionLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& guidance) {
  const int64_t c = options.hidden_dim, cg = options.guidance_dim;
  PAT_CHECK(x.dim() == 3 && x.size(2) == c, "LinearAttentionLayer: expected [N, L, ", c, "], got ", x.sizes());
  const int64_t n = x.size(0), l = x.size(1), heads = options.num_heads, hd = c / heads;
  if (cg > 0)
    PAT_CHECK(guidance.defined() && guidance.dim() == 3 && guidance.size(0) > 0 && n % guidance.size(0) == 0 &&
                  guidance.size(1) == l && guidance.size(2) == cg,
              "LinearAttentionLayer: expected guidance [G, ", l, ", ", cg, "] with G dividing ", n, ", got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
  if (!catseg_fast_paths().factored_guidance) {
    torch::Tensor qk_in = x;
    if (cg > 0) {
      const int64_t groups = guidance.size(0);
      qk_in = torch::cat({x, guidance.unsqueeze(1).expand({groups, n / groups, l, cg}).reshape({n, l, cg})}, -1);
    }
    auto out = linear_attention(q(qk_in).view({n, l, heads, hd}), k(qk_in).view({n, l, heads, hd}),
                                v(x).view({n, l, heads, hd}));
    return out.view({n, l, c});
  }
  // One product for the features' q, k, v; the guidance's share of q and k once per guidance row.
  auto qkv = catseg_linear(x, torch::cat({q->weight.narrow(1, 0, c), k->weight.narrow(1, 0, c), v->weight}, 0),
                           torch::cat({q->bias, k->bias, v->bias}, 0));  // [N, L, 3C]
  if (cg > 0) {
    const int64_t groups = guidance.size(0);
    auto g = F::linear(guidance, torch::cat({q->weight.narrow(1, c, cg), k->weight.narrow(1, c, cg)}, 0));
    qkv.view({groups, n / groups, l, 3 * c}).narrow(-1, 0, 2 * c).add_(g.unsqueeze(1));
  }
  auto part = [&](int64_t i) { return qkv.narrow(-1, i * c, c).view({n, l, heads, hd}); };
  return linear_attention(part(0), part(1), part(2)).view({n, l, c});
}

}  // namespace pat::model
