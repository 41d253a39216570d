#pragma once
/// \file Side-by-side previews: image | ground truth | prediction.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>

#include "pat/vis/overlay.h"

namespace pat::vis {

/// Panels left to right, each titled in a white strip above it: the image, the ground-truth overlay
/// (skipped when `ground_truth` is undefined) and the prediction overlay, each overlay with its own
/// legend. `image` [3, H, W] RGB 0..255; `ground_truth`, `prediction` [H, W] integer. CV_8UC3 BGR.
cv::Mat prediction_panel(const torch::Tensor& image, const torch::Tensor& ground_truth, const torch::Tensor& prediction,
                         int64_t num_classes, const std::vector<std::string>& class_names = {},
                         const OverlayOptions& options = {});

}  // namespace pat::vis
