#include "pat/model/pat/losses.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

torch::Tensor pyramid_reconstruction_loss(const torch::Tensor& reconstruction, const torch::Tensor& image) {
  PAT_CHECK(reconstruction.defined() && reconstruction.dim() == 4,
            "pyramid reconstruction loss: expected [B, C, h, w]");
  PAT_CHECK(image.defined() && image.dim() == 4 && image.size(0) == reconstruction.size(0) &&
                image.size(1) == reconstruction.size(1),
            "pyramid reconstruction loss: expected image [", reconstruction.size(0), ", ", reconstruction.size(1),
            ", H, W], got ", image.defined() ? image.sizes() : c10::IntArrayRef{});
  auto target = image.detach().to(reconstruction.scalar_type());
  const int64_t h = reconstruction.size(2), w = reconstruction.size(3);
  if (target.size(2) != h || target.size(3) != w) {
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w});
    if (h <= target.size(2) && w <= target.size(3)) {
      options.mode(torch::kArea);
    } else {
      options.mode(torch::kBilinear).align_corners(false);
    }
    target = F::interpolate(target, options);
  }
  return (reconstruction - target).abs().mean();
}

torch::Tensor pyramid_aux_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t ignore_index) {
  PAT_CHECK(logits.defined() && logits.dim() == 4, "pyramid aux loss: expected logits [B, T, h, w]");
  PAT_CHECK(labels.defined() && labels.dim() == 3 && labels.size(0) == logits.size(0) &&
                labels.scalar_type() == torch::kInt64,
            "pyramid aux loss: expected labels [", logits.size(0), ", H, W] int64, got ",
            labels.defined() ? labels.sizes() : c10::IntArrayRef{});
  const int64_t classes = logits.size(1);
  auto resized = F::interpolate(logits, F::InterpolateFuncOptions()
                                            .size(std::vector<int64_t>{labels.size(1), labels.size(2)})
                                            .mode(torch::kBilinear)
                                            .align_corners(false));
  auto valid = labels != ignore_index;
  PAT_CHECK(!(valid & ((labels < 0) | (labels >= classes))).any().item<bool>(),
            "pyramid aux loss: expected labels in [0, ", classes, ") or ", ignore_index);
  auto safe = torch::where(valid, labels, torch::zeros_like(labels));
  auto target = F::one_hot(safe, classes).to(resized.scalar_type()) * valid.unsqueeze(-1).to(resized.scalar_type());
  return F::binary_cross_entropy_with_logits(resized, target.permute({0, 3, 1, 2}));
}

}  // namespace pat::model
