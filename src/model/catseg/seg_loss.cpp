#include "pat/model/catseg/seg_loss.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

torch::Tensor catseg_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t ignore_index) {
  PAT_CHECK(logits.dim() == 4 && logits.size(1) > 0, "catseg_bce_loss: expected logits [B, T, h, w], got ",
            logits.sizes());
  PAT_CHECK(labels.dim() == 3 && labels.size(0) == logits.size(0), "catseg_bce_loss: expected labels [", logits.size(0),
            ", H, W], got ", labels.sizes());
  PAT_CHECK(!labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
            "catseg_bce_loss: expected integer labels, got ", labels.scalar_type());
  const int64_t num_classes = logits.size(1);
  auto x = logits;
  if (x.size(2) != labels.size(1) || x.size(3) != labels.size(2))
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{labels.size(1), labels.size(2)})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  auto lab = labels.to(x.device(), torch::kInt64);
  auto valid = lab != ignore_index;
  auto out_of_range = valid & ((lab < 0) | (lab >= num_classes));
  PAT_CHECK(!out_of_range.any().item<bool>(), "catseg_bce_loss: expected labels in [0, ", num_classes, ") or ",
            ignore_index, ", got ", lab.masked_select(out_of_range).min().item<int64_t>(), " .. ",
            lab.masked_select(out_of_range).max().item<int64_t>());
  // BCE(x, y) = BCE(x, 0) - x * y: the all-zero target everywhere, minus the logit of the labelled class
  // at valid pixels. Same value and gradient as building the one-hot target, without its memory.
  auto zero_target = torch::zeros({1}, x.options()).expand_as(x);
  auto negatives = F::binary_cross_entropy_with_logits(
      x, zero_target, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum));
  auto picked = x.gather(1, lab.clamp(0, num_classes - 1).unsqueeze(1)).squeeze(1);  // [B, H, W]
  auto positives = (picked * valid.to(x.scalar_type())).sum();
  return (negatives - positives) / static_cast<double>(x.numel());
}

}  // namespace pat::model
