#pragma once
/// \file Optional auxiliary head of the semantic branch (PAT.md "Optional auxiliary loss"): the fused
/// coarse map projected to the text dimension, cosine similarity with the class text embeddings,
/// scaled and shifted: logits = scale * cos + bias (temperature = 1 / scale). Trained with BCE like the
/// main head (pyramid_aux_bce_loss in pyramid_losses.h).
///
/// Defaults (`model.pat.aux_logit_scale`, `model.pat.aux_logit_bias`) scale 10, bias -10 (as SigLIP's
/// initialization: with one positive among T classes per pixel, the negative bias starts every class at a
/// low probability). Submodule "project" Conv2d(in -> text_dim,
/// 1x1, bias); "log_logit_scale" and "logit_bias" scalars are parameters when learnable, else buffers.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/defaults.h"

namespace pat::model {

struct PyramidAuxHeadOptions {
  /// E: channels of the class text embeddings (CLIP ViT-B 512, ViT-L 768).
  int64_t text_dim = 512;
  /// Initial (or fixed) multiplier of the cosine, > 0 (`model.pat.aux_logit_scale`).
  double logit_scale = pat_config_defaults().aux_logit_scale;
  /// Initial (or fixed) additive bias (`model.pat.aux_logit_bias`).
  double logit_bias = pat_config_defaults().aux_logit_bias;
  /// true: scale (stored as its log) and bias are learned; false: fixed.
  bool learnable_scale = true;
};

class PyramidAuxHeadImpl : public torch::nn::Module {
 public:
  /// in_dim: channels of the fused map (PyramidFusionOptions::fused_dim).
  PyramidAuxHeadImpl(PyramidAuxHeadOptions options, int64_t in_dim);

  /// fused [B, in_dim, h, w], text [B, T, E] (normalized here) -> logits [B, T, h, w] float.
  torch::Tensor forward(const torch::Tensor& fused, const torch::Tensor& text);

  const PyramidAuxHeadOptions& options() const { return options_; }

 private:
  PyramidAuxHeadOptions options_;
  int64_t in_dim_;
  torch::nn::Conv2d project_{nullptr};
  torch::Tensor log_logit_scale_;
  torch::Tensor logit_bias_;
};

TORCH_MODULE(PyramidAuxHead);

}  // namespace pat::model
