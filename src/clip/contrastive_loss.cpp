#include "pat/clip/contrastive_loss.h"

#include <torch/nn/functional/loss.h>

#include "pat/core/error.h"

namespace pat::clip {

torch::Tensor contrastive_loss(const torch::Tensor& logits_per_image) {
  PAT_CHECK(logits_per_image.dim() == 2 && logits_per_image.size(0) == logits_per_image.size(1) &&
                logits_per_image.size(0) > 0,
            "contrastive loss: expected square logits [B, B] with B >= 1, got ", logits_per_image.sizes());
  const auto logits = logits_per_image.to(torch::kFloat32);
  const auto target = torch::arange(logits.size(0), logits.options().dtype(torch::kLong));
  namespace F = torch::nn::functional;
  return 0.5 * (F::cross_entropy(logits, target) + F::cross_entropy(logits.t(), target));
}

}  // namespace pat::clip
