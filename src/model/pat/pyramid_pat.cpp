#include "pat/model/pat/pyramid_pat.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

PyramidPatImpl::PyramidPatImpl(PyramidPatOptions options) : options_(std::move(options)) {
  tokenizer_ = register_module("tokenizer", PyramidTokenizer(options_.tokenizer));
  const int64_t d = options_.tokenizer.codebook.dim;
  const auto& levels = options_.tokenizer.levels;
  if (options_.pixel_branch) decoder_ = register_module("decoder", PyramidDecoder(options_.decoder, d, levels));
  if (options_.semantic_branch) {
    PAT_CHECK(static_cast<int64_t>(options_.fusion.guidance_dims.size()) == tokenizer_->num_levels(),
              "pat.fusion.guidance_dims: expected one entry per pyramid level (", tokenizer_->num_levels(), "), got ",
              options_.fusion.guidance_dims.size());
    fusion_ = register_module("fusion", PyramidFusion(options_.fusion, d, levels));
  }
  if (options_.aux_head) {
    PAT_CHECK(options_.semantic_branch,
              "pat.aux_head: expected semantic_branch to be on (the aux head reads the fused map)");
    aux_head_ = register_module("aux_head", PyramidAuxHead(options_.aux, options_.fusion.fused_dim));
  }
}

PyramidPatOutput PyramidPatImpl::forward(const std::vector<torch::Tensor>& levels, const torch::Tensor& text,
                                         bool training_outputs) {
  PyramidPatOutput out;
  out.tokens = tokenizer_->forward(levels);
  if (decoder_ && training_outputs) out.reconstruction = decoder_->forward(out.tokens.quantized);
  if (fusion_) {
    std::vector<std::array<int64_t, 2>> sizes;
    for (auto l = static_cast<int64_t>(levels.size()) - 1; l >= 0; --l) {
      PAT_CHECK(levels[l].defined() && levels[l].dim() == 4,
                "pat: expected every level tensor when the semantic branch runs (they give the guidance sizes); level ",
                l, " is missing");
      sizes.push_back({levels[l].size(2), levels[l].size(3)});
    }
    auto fused = fusion_->forward(out.tokens.quantized, sizes);
    out.guidance_residuals = std::move(fused.residuals);
    if (aux_head_ && text.defined() && training_outputs) out.aux_logits = aux_head_->forward(fused.fused.front(), text);
  }
  return out;
}

torch::Tensor PyramidPatImpl::reconstruct(const std::vector<torch::Tensor>& ids) {
  PAT_CHECK(decoder_, "pat.reconstruct: expected the pixel branch to be on");
  torch::NoGradGuard no_grad;
  return decoder_->forward(tokenizer_->decode(ids));
}

}  // namespace pat::model
