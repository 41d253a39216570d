#pragma once
/// \file CAT-Seg's segmentation loss (CATSEG.md §1.9): per-class binary cross-entropy on logits resized
/// to the label size. Ignore pixels get an all-zero target and still count in the mean.

#include <cstdint>

#include <torch/types.h>

namespace pat::model {

/// logits: [B, T, h, w] float, resized bilinearly (align_corners=false) to the label size when it
/// differs; labels: [B, H, W] integer class ids in [0, T) or `ignore_index`.
/// Target: one-hot of the label for pixels != ignore_index, all zeros for ignore pixels.
/// Returns the scalar mean of BCE-with-logits over B*H*W*T elements.
torch::Tensor catseg_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t ignore_index = 255);

}  // namespace pat::model
