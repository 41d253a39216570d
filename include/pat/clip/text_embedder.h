#pragma once
/// \file Class-name embeddings for open-vocabulary heads: prompts from templates, CLIP text tower, averaged
/// over templates, L2-normalized; cached per vocabulary for evaluation, recomputed with gradients in
/// training (CAT-Seg fine-tunes the text tower's Q/V, shared/design/CATSEG.md §1.4).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pat/clip/model.h"
#include "pat/clip/tokenizer.h"

namespace pat::clip {

struct TextEmbedderOptions {
  std::string templates = "single";  ///< template set name (`prompt_templates`)
  bool truncate = true;              ///< truncate over-long prompts to the context instead of failing
  int64_t batch_size = 256;          ///< prompts per encode_text call
};

class TextEmbedder {
 public:
  /// Shares `model` (its text tower) and `tokenizer`. The template set is resolved here (bad name: `pat::Error`).
  TextEmbedder(ClipModel model, std::shared_ptr<const Tokenizer> tokenizer, const TextEmbedderOptions& options = {});

  /// Embeddings of the classes [T, E] float32 (model dtype), under the current grad mode: for each class,
  /// each template's encode_text output L2-normalized, averaged over templates, L2-normalized again.
  /// Clears the cache (the weights are presumably being trained).
  torch::Tensor compute(const std::vector<std::string>& class_names);

  /// Same values without gradients, cached per vocabulary (the exact class list): computed on the first
  /// call for a list and reused until `clear_cache` or `compute`. [T, E], no grad.
  torch::Tensor cached(const std::vector<std::string>& class_names);

  /// `compute` when the model is in training mode, else `cached`.
  torch::Tensor embed(const std::vector<std::string>& class_names);

  /// Forget the cached embeddings (call after changing the weights outside `compute`).
  void clear_cache();

  /// The token ids of the prompts of `class_names`: [T·P, L] int64 on the model's device, class-major
  /// (all templates of class 0, then class 1, ...); L = the model's context length.
  torch::Tensor prompt_tokens(const std::vector<std::string>& class_names) const;

  const std::vector<std::string>& templates() const { return templates_; }

 private:
  torch::Tensor run(const std::vector<std::string>& class_names);

  ClipModel model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  TextEmbedderOptions options_;
  std::vector<std::string> templates_;
  std::map<std::vector<std::string>, torch::Tensor> cache_;
};

}  // namespace pat::clip
