#include "pat/clip/text_embedder.h"

#include <torch/torch.h>

#include "pat/clip/prompt_templates.h"
#include "pat/core/error.h"

namespace pat::clip {

TextEmbedder::TextEmbedder(ClipModel model, std::shared_ptr<const Tokenizer> tokenizer,
                           const TextEmbedderOptions& options)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      options_(options),
      templates_(prompt_templates(options.templates)) {
  PAT_CHECK(!model_.is_empty(), "CLIP text embedder: no model");
  PAT_CHECK(tokenizer_ != nullptr, "CLIP text embedder: no tokenizer");
  PAT_CHECK(options.batch_size > 0, "CLIP text embedder: batch_size must be positive, got ", options.batch_size);
  PAT_CHECK(tokenizer_->vocab_size() <= model_->architecture().vocab_size, "CLIP text embedder: the tokenizer's ",
            tokenizer_->vocab_size(), " ids do not fit the model's vocabulary of ", model_->architecture().vocab_size);
}

torch::Tensor TextEmbedder::prompt_tokens(const std::vector<std::string>& class_names) const {
  std::vector<std::string> prompts;
  prompts.reserve(class_names.size() * templates_.size());
  for (const auto& name : class_names)
    for (auto& p : class_prompts(name, templates_)) prompts.push_back(std::move(p));
  auto ids = tokenizer_->tokenize_batch(prompts, model_->architecture().context_length, options_.truncate);
  return ids.to(model_->positional_embedding.device(), torch::kLong);
}

torch::Tensor TextEmbedder::compute(const std::vector<std::string>& class_names) {
  clear_cache();
  return run(class_names);
}

torch::Tensor TextEmbedder::run(const std::vector<std::string>& class_names) {
  PAT_CHECK(!class_names.empty(), "CLIP text embedder: empty class list");
  auto ids = prompt_tokens(class_names);
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < ids.size(0); start += options_.batch_size)
    parts.push_back(model_->encode_text(ids.narrow(0, start, std::min(options_.batch_size, ids.size(0) - start))));
  auto per_prompt = torch::cat(parts, 0);  // [T*P, E]
  per_prompt = per_prompt / per_prompt.norm(2, -1, true);
  auto mean = per_prompt.view({static_cast<int64_t>(class_names.size()), static_cast<int64_t>(templates_.size()), -1})
                  .mean(1);  // [T, E]
  return mean / mean.norm(2, -1, true);
}

torch::Tensor TextEmbedder::cached(const std::vector<std::string>& class_names) {
  auto it = cache_.find(class_names);
  if (it != cache_.end()) return it->second;
  torch::Tensor embeddings;
  {
    torch::NoGradGuard no_grad;
    embeddings = run(class_names);
  }
  cache_.emplace(class_names, embeddings);
  return embeddings;
}

torch::Tensor TextEmbedder::embed(const std::vector<std::string>& class_names) {
  return model_->is_training() ? compute(class_names) : cached(class_names);
}

void TextEmbedder::clear_cache() {
  cache_.clear();
}

}  // namespace pat::clip
