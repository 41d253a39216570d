#include "pat/clip/model.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"

namespace pat::clip {
namespace {

/// OpenAI's block init for a transformer of the given width and depth.
void init_blocks(Transformer& transformer) {
  const auto width = static_cast<double>(transformer->options().width);
  const auto layers = static_cast<double>(transformer->options().layers);
  const double proj_std = std::pow(width, -0.5) * std::pow(2.0 * layers, -0.5);
  const double attn_std = std::pow(width, -0.5);
  const double fc_std = std::pow(2.0 * width, -0.5);
  for (int64_t i = 0; i < transformer->layers(); ++i) {
    auto block = transformer->block(i);
    block->attn->q_proj_weight.normal_(0.0, attn_std);
    block->attn->k_proj_weight.normal_(0.0, attn_std);
    block->attn->v_proj_weight.normal_(0.0, attn_std);
    block->attn->in_proj_bias.zero_();
    block->attn->out_proj->weight.normal_(0.0, proj_std);
    block->attn->out_proj->bias.zero_();
    block->mlp->c_fc->weight.normal_(0.0, fc_std);
    block->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
}

}  // namespace

ClipModelImpl::ClipModelImpl(const ClipArchitecture& architecture) : architecture_(architecture) {
  architecture.validate();
  const auto& a = architecture;
  visual = register_module(
      "visual", VisionTransformer(VisionTransformerOptions{a.image_resolution, a.vision_patch_size, a.vision_width,
                                                           a.vision_layers, a.vision_heads, a.embed_dim}));
  transformer =
      register_module("transformer", Transformer(TransformerOptions{a.text_width, a.text_layers, a.text_heads}));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(a.vocab_size, a.text_width));
  positional_embedding = register_parameter("positional_embedding", torch::empty({a.context_length, a.text_width}));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({a.text_width}).eps(1e-5)));
  text_projection = register_parameter("text_projection", torch::empty({a.text_width, a.embed_dim}));
  logit_scale = register_parameter("logit_scale", torch::empty({}));
  reset_parameters();
}

void ClipModelImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  token_embedding->weight.normal_(0.0, 0.02);
  positional_embedding.normal_(0.0, 0.01);
  init_blocks(transformer);
  text_projection.normal_(0.0, std::pow(static_cast<double>(architecture_.text_width), -0.5));
  logit_scale.fill_(std::log(1.0 / 0.07));
  visual->reset_parameters();
  init_blocks(visual->transformer);
}

torch::Dtype ClipModelImpl::dtype() const {
  return visual->conv1->weight.scalar_type();
}

torch::Tensor ClipModelImpl::causal_mask(int64_t length, torch::Device device) {
  return torch::full({length, length}, -std::numeric_limits<float>::infinity(),
                     torch::TensorOptions().dtype(torch::kFloat32).device(device))
      .triu_(1);
}

torch::Tensor ClipModelImpl::encode_image(const torch::Tensor& image) {
  return visual(image);
}

VisionFeatures ClipModelImpl::encode_image_dense(const torch::Tensor& image, const std::vector<int64_t>& taps) {
  PAT_PROFILE_SCOPE("clip.visual");
  return visual->features(image, taps);
}

torch::Tensor ClipModelImpl::encode_text(const torch::Tensor& ids) {
  PAT_PROFILE_SCOPE("clip.text");
  PAT_CHECK(ids.dim() == 2 && ids.size(1) > 0 && ids.size(1) <= architecture_.context_length,
            "CLIP encode_text: expected token ids [N, L] with 0 < L <= ", architecture_.context_length, ", got ",
            ids.sizes());
  PAT_CHECK(!ids.is_floating_point(), "CLIP encode_text: token ids must be integers, got ", ids.scalar_type());
  auto tokens = ids.to(token_embedding->weight.device(), torch::kLong);
  if (tokens.numel() > 0) {
    const auto lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    PAT_CHECK(lo >= 0 && hi < architecture_.vocab_size, "CLIP encode_text: token ids must lie in [0, ",
              architecture_.vocab_size, "), got [", lo, ", ", hi, "]");
  }
  // The pooled output is the end-of-text token's (the largest id); under the causal mask it depends on the
  // tokens up to it only, so the columns after the last end of text of the batch are not computed (a class
  // name's prompt fills a few of the 77).
  auto eot = tokens.argmax(-1);  // [N]
  const int64_t n = tokens.size(0), l = n > 0 ? eot.max().item<int64_t>() + 1 : tokens.size(1);
  tokens = tokens.narrow(1, 0, l);
  auto x = token_embedding(tokens) + positional_embedding.narrow(0, 0, l);  // [N, L, T]
  x = transformer(x, causal_mask(l, x.device()));
  x = layer_norm_fp32(ln_final, x);
  auto pooled = x.index({torch::arange(n, eot.options()), eot});  // [N, T]
  return torch::matmul(pooled, text_projection);
}

torch::Tensor ClipModelImpl::logits(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds) const {
  auto img = image_embeds / image_embeds.norm(2, -1, true);
  auto txt = text_embeds / text_embeds.norm(2, -1, true);
  return logit_scale.exp() * torch::matmul(img, txt.t());
}

torch::Tensor ClipModelImpl::forward(const torch::Tensor& image, const torch::Tensor& ids) {
  return logits(encode_image(image), encode_text(ids));
}

}  // namespace pat::clip
