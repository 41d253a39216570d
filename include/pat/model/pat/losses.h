#pragma once
/// \file Loss helpers of the PAT branches (the model owns the weighting; PAT.md "Loss":
/// total = BCE_seg + 0.4 * BCE_aux + 1.0 * L1_rec + 0.25 * commitment [+ w * codebook for kind "loss"]).

#include <cstdint>

#include <torch/types.h>

namespace pat::model {

/// L1 (mean over all elements) between reconstruction [B, 3, h, w] and the CLIP-normalized input image
/// [B, 3, H, W]. When the sizes differ (half-resolution decoder) the image is resized to (h, w): area
/// interpolation (box average, antialiased) when shrinking, bilinear (align_corners=false) otherwise.
/// The target carries no gradient.
torch::Tensor pyramid_reconstruction_loss(const torch::Tensor& reconstruction, const torch::Tensor& image);

/// CAT-Seg's BCE applied to the aux logits [B, T, h, w]: logits resized bilinearly (align_corners=false)
/// to the label size, targets one-hot from labels [B, H, W] int64, pixels == ignore_index keep an
/// all-zero target and still count; mean over B*H*W*T (CATSEG.md §1.9).
torch::Tensor pyramid_aux_bce_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                   int64_t ignore_index = 255);

}  // namespace pat::model
