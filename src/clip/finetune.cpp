#include "pat/clip/finetune.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::clip {

FinetuneMode parse_finetune_mode(const std::string& name) {
  if (name == "frozen") return FinetuneMode::kFrozen;
  if (name == "attention") return FinetuneMode::kAttention;
  if (name == "full") return FinetuneMode::kFull;
  PAT_FAIL("CLIP fine-tune mode: expected \"frozen\", \"attention\" or \"full\", got \"", name, "\"");
}

std::string to_string(FinetuneMode mode) {
  switch (mode) {
    case FinetuneMode::kFrozen:
      return "frozen";
    case FinetuneMode::kAttention:
      return "attention";
    case FinetuneMode::kFull:
      return "full";
  }
  return "?";
}

bool is_trainable(const std::string& name, FinetuneMode mode) {
  auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  switch (mode) {
    case FinetuneMode::kFrozen:
      return false;
    case FinetuneMode::kFull:
      return true;
    case FinetuneMode::kAttention:
      return has("transformer") && has("attn") && (has("q_proj") || has("v_proj"));
  }
  return false;
}

int64_t set_finetune_mode(ClipModelImpl& model, FinetuneMode mode) {
  int64_t trainable = 0;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const bool on = is_trainable(item.key(), mode);
    item.value().set_requires_grad(on);
    trainable += on ? 1 : 0;
  }
  return trainable;
}

}  // namespace pat::clip
