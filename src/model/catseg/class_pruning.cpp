#include "pat/model/catseg/class_pruning.h"

#include <vector>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

torch::Tensor class_scores(const torch::Tensor& corr) {
  PAT_CHECK(corr.dim() == 5, "class_scores: expected corr [B, P, T, h, w], got ", corr.sizes());
  return std::get<0>(corr.transpose(1, 2).flatten(2).max(-1));
}

torch::Tensor select_top_classes(const torch::Tensor& corr, int64_t k) {
  auto scores = class_scores(corr);
  PAT_CHECK(k > 0 && k <= scores.size(1), "select_top_classes: expected 0 < k <= ", scores.size(1), ", got ", k);
  return std::get<1>(scores.topk(k, /*dim=*/-1, /*largest=*/true, /*sorted=*/false));
}

torch::Tensor gather_classes(const torch::Tensor& x, const torch::Tensor& indices) {
  PAT_CHECK(
      x.dim() >= 2 && indices.dim() == 2 && indices.size(0) == x.size(0) && indices.scalar_type() == torch::kInt64,
      "gather_classes: expected x [B, T, ...] and int64 indices [B, k], got ", x.sizes(), " and ", indices.sizes());
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape[1] = indices.size(1);
  auto index = indices;
  for (int64_t d = 2; d < x.dim(); ++d) index = index.unsqueeze(-1);
  return torch::gather(x, 1, index.expand(shape));
}

torch::Tensor scatter_classes(const torch::Tensor& logits, const torch::Tensor& indices, int64_t num_classes,
                              double fill) {
  PAT_CHECK(logits.dim() == 4 && indices.dim() == 2 && indices.size(0) == logits.size(0) &&
                indices.size(1) == logits.size(1) && indices.scalar_type() == torch::kInt64,
            "scatter_classes: expected logits [B, k, H, W] and int64 indices [B, k], got ", logits.sizes(), " and ",
            indices.sizes());
  PAT_CHECK(num_classes >= logits.size(1), "scatter_classes: expected num_classes >= ", logits.size(1), ", got ",
            num_classes);
  auto out = torch::full({logits.size(0), num_classes, logits.size(2), logits.size(3)}, fill, logits.options());
  auto index = indices.unsqueeze(-1).unsqueeze(-1).expand(logits.sizes());
  return out.scatter(1, index, logits);
}

}  // namespace pat::model
