#include "pat/model/catseg/cost_volume.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

torch::Tensor cosine_cost_volume(const torch::Tensor& image, const torch::Tensor& text) {
  PAT_CHECK(image.dim() == 4, "cosine_cost_volume: expected image [B, E, h, w], got ", image.sizes());
  PAT_CHECK(text.dim() == 4 && text.size(0) == image.size(0) && text.size(3) == image.size(1),
            "cosine_cost_volume: expected text [", image.size(0), ", T, P, ", image.size(1), "], got ", text.sizes());
  const int64_t b = image.size(0), e = image.size(1), h = image.size(2), w = image.size(3);
  const int64_t t = text.size(1), p = text.size(2);
  auto img = F::normalize(image, F::NormalizeFuncOptions().dim(1)).reshape({b, e, h * w});
  auto txt = F::normalize(text, F::NormalizeFuncOptions().dim(-1)).permute({0, 2, 1, 3}).reshape({b, p * t, e});
  return torch::bmm(txt, img).view({b, p, t, h, w});
}

}  // namespace pat::model
