#include "pat/model/pat/aux_head.h"

#include <cmath>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"

namespace pat::model {

namespace F = torch::nn::functional;

PyramidAuxHeadImpl::PyramidAuxHeadImpl(PyramidAuxHeadOptions options, int64_t in_dim)
    : options_(options), in_dim_(in_dim) {
  PAT_CHECK(in_dim_ > 0, "pat.aux: expected a positive input dim, got ", in_dim_);
  PAT_CHECK(options_.text_dim > 0, "pat.aux.text_dim: expected > 0, got ", options_.text_dim);
  PAT_CHECK(options_.logit_scale > 0, "pat.aux.logit_scale: expected > 0, got ", options_.logit_scale);
  project_ = register_module("project", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_dim_, options_.text_dim, 1)));
  auto scale = torch::full({}, std::log(options_.logit_scale));
  auto bias = torch::full({}, options_.logit_bias);
  if (options_.learnable_scale) {
    log_logit_scale_ = register_parameter("log_logit_scale", scale);
    logit_bias_ = register_parameter("logit_bias", bias);
  } else {
    log_logit_scale_ = register_buffer("log_logit_scale", scale);
    logit_bias_ = register_buffer("logit_bias", bias);
  }
}

torch::Tensor PyramidAuxHeadImpl::forward(const torch::Tensor& fused, const torch::Tensor& text) {
  PAT_PROFILE_SCOPE("pat.aux_head");
  PAT_CHECK(fused.defined() && fused.dim() == 4 && fused.size(1) == in_dim_, "pyramid aux head: expected fused [B, ",
            in_dim_, ", h, w], got ", fused.defined() ? fused.sizes() : c10::IntArrayRef{});
  PAT_CHECK(text.defined() && text.dim() == 3 && text.size(2) == options_.text_dim && text.size(0) == fused.size(0),
            "pyramid aux head: expected text [", fused.size(0), ", T, ", options_.text_dim, "], got ",
            text.defined() ? text.sizes() : c10::IntArrayRef{});
  auto v = F::normalize(project_->forward(fused), F::NormalizeFuncOptions().dim(1));
  auto t = F::normalize(text.to(v.scalar_type()), F::NormalizeFuncOptions().dim(2));
  auto cosine = torch::einsum("bchw,btc->bthw", {v, t});
  return log_logit_scale_.exp() * cosine + logit_bias_;
}

}  // namespace pat::model
