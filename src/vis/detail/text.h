#pragma once
/// \file Private text helpers for the OpenCV drawings.

#include <string>

#include <opencv2/core.hpp>

namespace pat::vis::detail {

constexpr int kFont = 0;  // cv::FONT_HERSHEY_SIMPLEX

/// Replaces bytes OpenCV's Hershey fonts cannot draw (non-printable ASCII) with '?'.
std::string ascii_text(const std::string& text);

/// Size of `text` drawn with kFont at `scale` and `thickness`; `baseline` receives the descent.
cv::Size text_size(const std::string& text, double scale, int thickness, int* baseline = nullptr);

/// Draws `text` with its baseline-left corner at `origin`, antialiased.
void put_text(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale, const cv::Scalar& color,
              int thickness = 1);

}  // namespace pat::vis::detail
