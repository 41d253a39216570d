#include "pat/engine/train/grad_clip.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::engine {

GradClipGroups grad_clip_groups(const torch::nn::Module& model) {
  GradClipGroups groups;
  for (const auto& item : model.named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    (item.key().rfind("pat.", 0) == 0 ? groups.pat : groups.baseline).push_back(item.value());
  }
  return groups;
}

std::vector<double> clip_grad_norm_per_group(const std::vector<std::vector<torch::Tensor>>& groups, double max_norm) {
  PAT_CHECK(max_norm > 0, "train.clip_grad_norm: expected > 0 to clip, got ", max_norm);
  std::vector<double> norms;
  for (const auto& group : groups) {
    bool any_grad = false;
    for (const auto& p : group) any_grad = any_grad || p.grad().defined();
    norms.push_back(any_grad ? torch::nn::utils::clip_grad_norm_(group, max_norm) : 0.0);
  }
  return norms;
}

}  // namespace pat::engine
