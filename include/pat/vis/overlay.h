#pragma once
/// \file Colour overlays of label maps on images, with a legend of the classes present.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>

namespace pat::vis {

/// How overlays (and their legends) are drawn.
struct OverlayOptions {
  /// Weight of the class colour in the blend: 0 = image only, 1 = colours only.
  double alpha = 0.5;
  /// Legend entries drawn, most frequent class first; 0 = no legend.
  int64_t legend_max_entries = 12;
  /// Legend text scale (OpenCV Hershey units); 0 = from the image size.
  double font_scale = 0;
};

/// One class present in a label map.
struct LegendEntry {
  int64_t class_index = 0;
  double fraction = 0;  ///< share of all pixels of the map, 0..1
};

/// Classes of `labels` [H, W] integer present in [0, num_classes), sorted by pixel fraction
/// (descending, then by index). Other values (ignore) are not classes.
std::vector<LegendEntry> legend_entries(const torch::Tensor& labels, int64_t num_classes);

/// The text a legend shows for a class: the first synonym of a "a, b, c" name, non-ASCII bytes as '?'
/// (OpenCV's Hershey fonts are ASCII-only); "class <k>" when `class_names` is empty.
std::string legend_label(const std::vector<std::string>& class_names, int64_t class_index);

/// Draws a legend (colour swatch, name, percentage per entry) in a translucent dark box at the
/// top-left corner of `canvas` (CV_8UC3 BGR). Entries that do not fit vertically are dropped.
void draw_legend(cv::Mat& canvas, const std::vector<LegendEntry>& entries, const std::vector<std::string>& class_names,
                 double font_scale = 0);

/// `image` [3, H, W] RGB 0..255 blended with the colours of `labels` [H, W] integer (same H, W;
/// unlabeled pixels keep the image), plus a legend of the classes present. `class_names` holds
/// `num_classes` names or is empty. Returns CV_8UC3 BGR (write it with `write_png`).
cv::Mat overlay_labels(const torch::Tensor& image, const torch::Tensor& labels, int64_t num_classes,
                       const std::vector<std::string>& class_names = {}, const OverlayOptions& options = {});

}  // namespace pat::vis
