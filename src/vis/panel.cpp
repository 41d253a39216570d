#include "pat/vis/panel.h"

#include <algorithm>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/vis/image.h"
#include "vis/detail/text.h"

namespace pat::vis {
namespace {

/// `panel` with a white title strip of height `strip` above it.
cv::Mat titled(const cv::Mat& panel, const std::string& title, int strip, double scale) {
  cv::Mat out(panel.rows + strip, panel.cols, CV_8UC3, cv::Scalar(255, 255, 255));
  panel.copyTo(out(cv::Rect(0, strip, panel.cols, panel.rows)));
  const cv::Size size = detail::text_size(title, scale, 1);
  detail::put_text(out, title, cv::Point(std::max(2, (panel.cols - size.width) / 2), (strip + size.height) / 2), scale,
                   cv::Scalar(0, 0, 0), 1);
  return out;
}

}  // namespace

cv::Mat prediction_panel(const torch::Tensor& image, const torch::Tensor& ground_truth, const torch::Tensor& prediction,
                         int64_t num_classes, const std::vector<std::string>& class_names,
                         const OverlayOptions& options) {
  cv::Mat picture = image_to_bgr(image);
  std::vector<std::pair<cv::Mat, std::string>> panels = {{picture, "image"}};
  if (ground_truth.defined()) {
    panels.emplace_back(overlay_labels(image, ground_truth, num_classes, class_names, options), "ground truth");
  }
  PAT_CHECK(prediction.defined(), "prediction_panel: the prediction is undefined");
  panels.emplace_back(overlay_labels(image, prediction, num_classes, class_names, options), "prediction");
  return titled_panels(panels, options.font_scale);
}

cv::Mat titled_panels(const std::vector<std::pair<cv::Mat, std::string>>& panels, double font_scale) {
  PAT_CHECK(!panels.empty(), "titled_panels: no panels");
  int height = 0;
  for (const auto& [panel, title] : panels) {
    PAT_CHECK(!panel.empty() && panel.type() == CV_8UC3, "titled_panels: expected CV_8UC3 panels (", title, ")");
    height = std::max(height, panel.rows);
  }
  const cv::Mat& first = panels.front().first;
  const double scale = font_scale > 0 ? font_scale : std::clamp(std::min(first.rows, first.cols) / 700.0, 0.4, 1.2);
  const int strip = detail::text_size("Hg", scale, 1).height * 2 + 6;
  const int gap = 4;
  std::vector<cv::Mat> row;
  for (size_t i = 0; i < panels.size(); ++i) {
    if (i > 0) row.emplace_back(height + strip, gap, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::Mat panel = panels[i].first;
    if (panel.rows < height)
      cv::copyMakeBorder(panel, panel, 0, height - panel.rows, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
    row.push_back(titled(panel, panels[i].second, strip, scale));
  }
  cv::Mat out;
  cv::hconcat(row, out);
  return out;
}

}  // namespace pat::vis
