#include "pat/model/pat/standalone_tokenizer.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/strings.h"
#include "pat/model/seg_model.h"

namespace pat::model {
namespace {}  // namespace

StandaloneTokenizerImpl::StandaloneTokenizerImpl(const ModelConfig& config) : config_(config) {
  PAT_CHECK(config.pat.enabled, "model.pat.enabled: the tokenizer is PAT's; this config turns PAT off");
  // SegModel's construction is the one definition of how the parts follow from the config; the head and
  // the text tower it also builds are released at the end of this scope.
  SegModel full(config);
  auto clip_holder = std::make_shared<torch::nn::Module>("clip");
  visual = clip_holder->register_module("visual", full->clip->visual);
  register_module("clip", clip_holder);
  upsamplers = register_module("upsamplers", full->upsamplers);
  pat = register_module("pat", full->pat);
  has_reconstruction_ = static_cast<bool>(pat->decoder());
}

StandaloneTokenizerOutput StandaloneTokenizerImpl::forward(const torch::Tensor& images) {
  PAT_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
            "tokenizer input: expected images [B, 3, H, W], got ",
            images.defined() ? images.sizes() : c10::IntArrayRef{});
  StandaloneTokenizerOutput out;
  out.input = normalize_model_input(images, config_.clip.image_size);
  auto features = visual->features(out.input, config_.clip.taps);
  auto [res4, res5] = upsamplers->forward(features.taps[0], features.taps[1]);
  auto tokens = pat->tokenizer()->forward({res5, res4, features.dense});
  out.ids = std::move(tokens.ids);
  out.quantized = std::move(tokens.quantized);
  out.projected = std::move(tokens.projected);
  if (has_reconstruction()) out.reconstruction = pat->decoder()->forward(out.quantized);
  return out;
}

std::map<std::string, torch::Tensor> StandaloneTokenizerImpl::select_weights(
    const std::map<std::string, torch::Tensor>& tensors, const std::string& what) {
  std::map<std::string, torch::Tensor> selected;
  bool has_pat = false;
  for (const auto& [name, tensor] : tensors) {
    const bool is_pat = starts_with(name, "pat.");
    has_pat = has_pat || is_pat;
    if (is_pat || starts_with(name, "clip.visual.") || starts_with(name, "upsamplers.")) selected[name] = tensor;
  }
  PAT_CHECK(has_pat, what,
            ": no PAT weights (pat.*) in this file; the tokenizer needs a model trained with PAT "
            "(a CAT-Seg baseline or a CLIP file cannot tokenize)");
  return selected;
}

torch::Tensor StandaloneTokenizerImpl::denormalize(const torch::Tensor& normalized) {
  return denormalize_model_input(normalized);
}

}  // namespace pat::model
