#pragma once
/// \file The whole CLIP model (OpenAI ViT CLIP): image tower `visual`, text tower at the top level,
/// `logit_scale`. Parameter names are OpenAI's state-dict names with each block's packed in_proj_weight
/// split into `attn.q_proj_weight` / `k_proj_weight` / `v_proj_weight` (as CAT-Seg names them).

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/clip/architecture.h"
#include "pat/clip/residual_block.h"
#include "pat/clip/vision_transformer.h"

namespace pat::clip {

/// `ClipModel`'s options are its architecture.
using ClipModelOptions = ClipArchitecture;

/// Parameters: `visual.*` (see VisionTransformerImpl), `token_embedding.weight` [V, T],
/// `positional_embedding` [C, T], `transformer.resblocks.{i}.*`, `ln_final.{weight,bias}` [T],
/// `text_projection` [T, E], `logit_scale` [] (0-dim). The causal mask is rebuilt, never stored.
/// Constructed with OpenAI's random init (for training from scratch); load weights with `load_clip_weights`.
class ClipModelImpl : public torch::nn::Module {
 public:
  explicit ClipModelImpl(const ClipArchitecture& architecture);

  /// Image embeddings [B, E] (unnormalized). image: [B, 3, H, W] CLIP-normalized, H, W multiples of the patch.
  torch::Tensor encode_image(const torch::Tensor& image);

  /// Text embeddings [N, E] (unnormalized): causal transformer, ln_final, the row at `ids.argmax(-1)`
  /// (the end-of-text token, the largest id), `@ text_projection`. ids: [N, L] integer, L <= context_length
  /// (positions past the end token do not influence the result: only the columns up to the batch's last
  /// end token are computed).
  torch::Tensor encode_text(const torch::Tensor& ids);

  /// Dense segmentation features and block taps of the image tower (`VisionTransformerImpl::features`).
  VisionFeatures encode_image_dense(const torch::Tensor& image, const std::vector<int64_t>& taps = {});

  /// exp(logit_scale) · cos(image_i, text_j): [B_img, N_txt] (OpenAI's logits_per_image).
  torch::Tensor forward(const torch::Tensor& image, const torch::Tensor& ids);

  /// exp(logit_scale) · normalize(image_embeds) @ normalize(text_embeds)^T. [B, E] x [N, E] -> [B, N].
  torch::Tensor logits(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds) const;

  /// OpenAI's `initialize_parameters` (token emb N(0,.02), positional N(0,.01), block projections scaled by
  /// width and depth, text_projection N(0, T^-1/2), logit_scale = ln(1/0.07)); image tower likewise.
  void reset_parameters();

  /// The additive causal mask [L, L] float32: -inf strictly above the diagonal, 0 elsewhere.
  static torch::Tensor causal_mask(int64_t length, torch::Device device = torch::kCPU);

  const ClipArchitecture& architecture() const { return architecture_; }
  /// dtype of the weights (conv1's), e.g. float32, or float16 when converted for GPU inference.
  torch::Dtype dtype() const;

  VisionTransformer visual{nullptr};
  Transformer transformer{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  torch::Tensor positional_embedding;  ///< [C, T]
  torch::nn::LayerNorm ln_final{nullptr};
  torch::Tensor text_projection;  ///< [T, E]
  torch::Tensor logit_scale;      ///< [] (0-dim)

 private:
  ClipArchitecture architecture_;
};
TORCH_MODULE(ClipModel);

}  // namespace pat::clip
