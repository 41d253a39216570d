#include "pat/clip/attention.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "pat/core/error.h"

namespace pat::clip {

#if TORCH_VERSION_MAJOR < 2
namespace {

/// softmax(q k^T * scale + mask) v of q, k, v [B, H, L, hd] without gradients on the CPU, into [B, L, H * hd]:
/// one task per (image, head) over the intra-op threads, its [L, L] scores in a per-thread buffer from the first
/// product through the mask and the softmax to the second, each product one single-threaded BLAS call (LibTorch 1.x's
/// CPU bmm calls the BLAS for one matrix after the other, each call threaded: 34-38 GFLOP/s at ViT-B/16's 577
/// tokens on 2 threads), the output written by head into its final layout. Undefined where it does not apply.
torch::Tensor attend_by_head(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& mask, double scale) {
  const int64_t b = q.size(0), h = q.size(1), l = q.size(2), hd = q.size(3);
  if (torch::GradMode::is_enabled() || !q.device().is_cpu() || q.scalar_type() != torch::kFloat ||
      (mask.defined() && (mask.dim() != 2 || mask.size(0) != l || mask.size(1) != l)))
    return {};
  const auto additive = mask.defined() ? mask.to(q.scalar_type()) : mask;
  auto out = torch::empty({b, l, h, hd}, q.options());
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, b * h, 1, [&](int64_t begin, int64_t end) {
    c10::InferenceMode inference_guard(inference);  // thread-local modes of the caller
    torch::NoGradGuard no_grad;
    auto scores = torch::empty({l, l}, q.options());
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / h, j = i % h;
      at::addmm_out(scores, additive.defined() ? additive : scores, q[n][j], k[n][j].t(), additive.defined() ? 1 : 0,
                    scale);
      at::_softmax_out(scores, scores, -1, false);
      auto rows = out[n].select(1, j);  // [L, hd] with rows H * hd apart
      at::mm_out(rows, scores, v[n][j]);
    }
  });
  return out.view({b, l, h * hd});
}

}  // namespace
#endif

AttentionImpl::AttentionImpl(const AttentionOptions& options) : options_(options) {
  PAT_CHECK(options.width > 0 && options.heads > 0 && options.width % options.heads == 0, "CLIP attention: width ",
            options.width, " must be a positive multiple of heads ", options.heads);
  const int64_t d = options.width;
  q_proj_weight = register_parameter("q_proj_weight", torch::empty({d, d}));
  k_proj_weight = register_parameter("k_proj_weight", torch::empty({d, d}));
  v_proj_weight = register_parameter("v_proj_weight", torch::empty({d, d}));
  in_proj_bias = register_parameter("in_proj_bias", torch::empty({3 * d}));
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
  reset_parameters();
}

void AttentionImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(q_proj_weight);
  torch::nn::init::xavier_uniform_(k_proj_weight);
  torch::nn::init::xavier_uniform_(v_proj_weight);
  in_proj_bias.zero_();
  out_proj->bias.zero_();
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  PAT_CHECK(x.dim() == 3 && x.size(2) == options_.width, "CLIP attention: expected input [B, L, ", options_.width,
            "], got ", x.sizes());
  const int64_t b = x.size(0), l = x.size(1), d = options_.width, h = options_.heads, hd = d / h;
  auto biases = in_proj_bias.chunk(3);
  // [B, L, D] -> [B, H, L, hd]
  auto heads = [&](const torch::Tensor& w, const torch::Tensor& bias) {
    return torch::nn::functional::linear(x, w, bias).view({b, l, h, hd}).transpose(1, 2);
  };
  auto q = heads(q_proj_weight, biases[0]);
  auto k = heads(k_proj_weight, biases[1]);
  auto v = heads(v_proj_weight, biases[2]);
  torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  // Fused kernels (flash / memory-efficient attention on CUDA); same numerics as below up to rounding.
  c10::optional<at::Tensor> additive_mask;
  if (mask.defined()) additive_mask = mask.to(q.scalar_type());
  out = at::scaled_dot_product_attention(q, k, v, additive_mask);
#else
  if (auto by_head = attend_by_head(q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(hd))); by_head.defined())
    return out_proj(by_head);
  auto scores = torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(hd))), k.transpose(-2, -1));  // [B,H,L,L]
  if (mask.defined()) scores = scores + mask.to(scores.dtype());
  out = torch::matmul(torch::softmax(scores, -1), v);  // [B, H, L, hd]
#endif
  return out_proj(out.transpose(1, 2).reshape({b, l, d}));
}

torch::Tensor AttentionImpl::value_path(const torch::Tensor& x) {
  auto bv = in_proj_bias.narrow(0, 2 * options_.width, options_.width);
  return out_proj(torch::nn::functional::linear(x, v_proj_weight, bv));
}

}  // namespace pat::clip
