#include "pat/model/catseg/linear_attention.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

torch::Tensor linear_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                               double eps) {
  PAT_CHECK(queries.dim() == 4 && keys.dim() == 4 && values.dim() == 4, "linear_attention: expected 4-d [N, L, H, D] ",
            "tensors, got ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  PAT_CHECK(queries.size(0) == keys.size(0) && queries.size(2) == keys.size(2) && queries.size(3) == keys.size(3) &&
                keys.size(0) == values.size(0) && keys.size(1) == values.size(1) && keys.size(2) == values.size(2),
            "linear_attention: inconsistent shapes ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  const double s = static_cast<double>(values.size(1));
  // Heads first: [N, H, L, D].
  auto q = (torch::elu(queries) + 1).permute({0, 2, 1, 3});
  auto k = (torch::elu(keys) + 1).permute({0, 2, 1, 3});
  auto v = (values / s).permute({0, 2, 1, 3});
  auto kv = torch::matmul(k.transpose(-2, -1), v);                  // [N, H, D, Dv]
  auto z = 1.0 / (torch::matmul(q, k.sum(2).unsqueeze(-1)) + eps);  // [N, H, L, 1]
  auto out = torch::matmul(q, kv) * z * s;                          // [N, H, L, Dv]
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
  PAT_CHECK(x.dim() == 3 && x.size(2) == options.hidden_dim, "LinearAttentionLayer: expected [N, L, ",
            options.hidden_dim, "], got ", x.sizes());
  const int64_t n = x.size(0), l = x.size(1), heads = options.num_heads, hd = options.hidden_dim / heads;
  torch::Tensor qk_in = x;
  if (options.guidance_dim > 0) {
    PAT_CHECK(guidance.defined() && guidance.dim() == 3 && guidance.size(0) == n && guidance.size(1) == l &&
                  guidance.size(2) == options.guidance_dim,
              "LinearAttentionLayer: expected guidance [", n, ", ", l, ", ", options.guidance_dim, "], got ",
              guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
    qk_in = torch::cat({x, guidance}, -1);
  }
  auto out = linear_attention(q(qk_in).view({n, l, heads, hd}), k(qk_in).view({n, l, heads, hd}),
                              v(x).view({n, l, heads, hd}));
  return out.view({n, l, options.hidden_dim});
}

}  // namespace pat::model
