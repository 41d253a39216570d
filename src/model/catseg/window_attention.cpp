#include "pat/model/catseg/window_attention.h"

#include <cmath>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

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
  auto split = [&](const torch::Tensor& t) { return t.reshape({bw, n, heads, hd}).permute({0, 2, 1, 3}); };
  auto qh = split(q(x)) * scale;
  auto kh = split(k(x));
  auto vh = split(v(x.narrow(2, 0, options.dim)));
  auto attn = torch::matmul(qh, kh.transpose(-2, -1));  // [B_, heads, N, N]
  if (mask.defined()) {
    const int64_t nw = mask.size(0);
    PAT_CHECK(mask.dim() == 3 && mask.size(1) == n && mask.size(2) == n && bw % nw == 0,
              "WindowAttention: expected mask [num_windows, ", n, ", ", n, "] dividing ", bw, " windows, got ",
              mask.sizes());
    attn = (attn.view({bw / nw, nw, heads, n, n}) + mask.unsqueeze(1).unsqueeze(0)).view({bw, heads, n, n});
  }
  attn = torch::softmax(attn, -1);
  auto out = torch::matmul(attn, vh).transpose(1, 2).reshape({bw, n, options.dim});
  return proj(out);
}

}  // namespace pat::model
