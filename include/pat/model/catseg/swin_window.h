#pragma once
/// \file Window helpers of CAT-Seg's spatial aggregation (Swin): partition a feature map into
/// non-overlapping square windows, merge them back, and the region mask of shifted windows
/// (CATSEG.md §1.6).

#include <cstdint>

#include <torch/types.h>

namespace pat::model {

/// Splits `x` [B, H, W, C] into windows [B * (H/w) * (W/w), w, w, C], windows in row-major order per
/// image. H and W must be multiples of `window`.
torch::Tensor window_partition(const torch::Tensor& x, int64_t window);

/// Inverse of `window_partition`: windows [B * (H/w) * (W/w), w, w, C] back to [B, H, W, C].
torch::Tensor window_reverse(const torch::Tensor& windows, int64_t window, int64_t height, int64_t width);

/// Attention mask of the shifted-window block: [num_windows, w*w, w*w] float32 with 0 where two tokens
/// of a window come from the same region of the cyclically shifted map and -100 otherwise. Regions are
/// the 3x3 grid cut at (size - window) and (size - shift) in each axis, as in Swin.
torch::Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window, int64_t shift);

}  // namespace pat::model
