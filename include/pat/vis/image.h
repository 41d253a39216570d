#pragma once
/// \file Tensor <-> OpenCV image conversion and atomic PNG writing for the visualizations.

#include <string>

#include <torch/types.h>
#include <opencv2/core.hpp>

namespace pat::vis {

/// `image` [3, H, W] RGB in 0..255 (any real dtype, any device; values are rounded and clamped)
/// -> CV_8UC3 BGR.
cv::Mat image_to_bgr(const torch::Tensor& image);

/// Encodes `image` (CV_8UC1/3/4 or CV_16UC1) as PNG and writes it atomically; failures are
/// `pat::Error`s naming the path.
void write_png(const std::string& path, const cv::Mat& image);

}  // namespace pat::vis
