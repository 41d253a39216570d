#pragma once
/// \file Side-by-side previews: image | ground truth | prediction.

#include <cstdint>
#include <string>
#include <utility>
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

/// `panels` (CV_8UC3 BGR, each with its title) left to right, 4 px apart, each titled in a white strip
/// above it; panels of different heights are padded at the bottom with white. `font_scale` 0 = from
/// the first panel's size. CV_8UC3 BGR.
cv::Mat titled_panels(const std::vector<std::pair<cv::Mat, std::string>>& panels, double font_scale = 0);

}  // namespace pat::vis
