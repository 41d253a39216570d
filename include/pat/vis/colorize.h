#pragma once
/// \file Label maps to colour images.

#include <cstdint>
#include <string>

#include <torch/types.h>
#include <opencv2/core.hpp>

namespace pat::vis {

/// `labels` [H, W] integer (any device) -> CV_8UC3 BGR: class k in [0, num_classes) gets
/// `class_color(k)`; every other value (ignore 255/65535, PC-459's 459, negatives) gets `unlabeled`.
cv::Mat colorize_labels(const torch::Tensor& labels, int64_t num_classes, const cv::Vec3b& unlabeled = {0, 0, 0});

/// The RGB-PNG half of "label map to palette PNG" (OpenCV cannot write indexed PNGs): writes
/// `colorize_labels(labels, num_classes)` to `path` atomically. Pair it with
/// `pat::engine::write_label_png` for the raw labels.
void write_colorized_png(const std::string& path, const torch::Tensor& labels, int64_t num_classes);

}  // namespace pat::vis
