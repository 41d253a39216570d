#include "pat/vis/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/vis/colorize.h"
#include "pat/vis/image.h"
#include "pat/vis/palette.h"
#include "vis/detail/text.h"

namespace pat::vis {

std::vector<LegendEntry> legend_entries(const torch::Tensor& labels, int64_t num_classes) {
  PAT_CHECK(labels.defined() && labels.dim() == 2 && labels.numel() > 0,
            "legend_entries: expected a non-empty [H, W] label map, got ",
            labels.defined() ? labels.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
            "legend_entries: expected integer labels, got ", labels.scalar_type());
  PAT_CHECK(num_classes >= 1, "legend_entries: expected num_classes >= 1, got ", num_classes);
  auto values = labels.detach().to(torch::kCPU, torch::kInt64).reshape({-1});
  const double total = static_cast<double>(values.numel());
  values = values.masked_select(values.ge(0).logical_and(values.lt(num_classes)));
  std::vector<LegendEntry> entries;
  if (values.numel() == 0) return entries;
  auto counts = torch::bincount(values, {}, num_classes);
  auto c = counts.accessor<int64_t, 1>();
  for (int64_t k = 0; k < num_classes; ++k) {
    if (c[k] > 0) entries.push_back({k, static_cast<double>(c[k]) / total});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const LegendEntry& a, const LegendEntry& b) { return a.fraction > b.fraction; });
  return entries;
}

std::string legend_label(const std::vector<std::string>& class_names, int64_t class_index) {
  if (class_names.empty()) return "class " + std::to_string(class_index);
  PAT_CHECK(class_index >= 0 && class_index < static_cast<int64_t>(class_names.size()), "legend_label: class ",
            class_index, " is out of range for ", class_names.size(), " class names");
  std::string name = class_names[static_cast<size_t>(class_index)];
  name = name.substr(0, name.find(','));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.empty()) name = "class " + std::to_string(class_index);
  return detail::ascii_text(name);
}

void draw_legend(cv::Mat& canvas, const std::vector<LegendEntry>& entries, const std::vector<std::string>& class_names,
                 double font_scale) {
  PAT_CHECK(!canvas.empty() && canvas.type() == CV_8UC3, "draw_legend: expected a CV_8UC3 canvas");
  if (entries.empty()) return;
  const double scale = font_scale > 0 ? font_scale : std::clamp(std::min(canvas.rows, canvas.cols) / 900.0, 0.35, 1.0);
  const int thickness = 1;
  int baseline = 0;
  const cv::Size probe = detail::text_size("Hg", scale, thickness, &baseline);
  const int pad = std::max(3, probe.height / 2);
  const int line_height = probe.height + baseline + pad;
  const int swatch = probe.height + baseline;

  std::vector<std::string> texts;
  int text_width = 0;
  for (const auto& e : entries) {
    if (pad + static_cast<int>(texts.size() + 1) * line_height + pad > canvas.rows) break;
    char percent[32];
    std::snprintf(percent, sizeof(percent), " %.1f%%", 100.0 * e.fraction);
    texts.push_back(legend_label(class_names, e.class_index) + percent);
    text_width = std::max(text_width, detail::text_size(texts.back(), scale, thickness).width);
  }
  if (texts.empty()) return;
  const int box_w = std::min(canvas.cols, pad + swatch + pad + text_width + pad);
  const int box_h = std::min(canvas.rows, pad + static_cast<int>(texts.size()) * line_height);
  cv::Mat roi = canvas(cv::Rect(0, 0, box_w, box_h));
  cv::Mat dark(roi.size(), roi.type(), cv::Scalar(0, 0, 0));
  cv::addWeighted(roi, 0.35, dark, 0.65, 0.0, roi);
  for (size_t i = 0; i < texts.size(); ++i) {
    const int top = pad + static_cast<int>(i) * line_height;
    const cv::Vec3b color = class_color(entries[i].class_index);
    cv::rectangle(canvas, cv::Rect(pad, top, swatch, swatch), cv::Scalar(color[0], color[1], color[2]), cv::FILLED);
    cv::rectangle(canvas, cv::Rect(pad, top, swatch, swatch), cv::Scalar(255, 255, 255), 1);
    detail::put_text(canvas, texts[i], cv::Point(pad + swatch + pad, top + probe.height), scale,
                     cv::Scalar(255, 255, 255), thickness);
  }
}

cv::Mat overlay_labels(const torch::Tensor& image, const torch::Tensor& labels, int64_t num_classes,
                       const std::vector<std::string>& class_names, const OverlayOptions& options) {
  PAT_CHECK(options.alpha >= 0.0 && options.alpha <= 1.0, "overlay_labels: expected 0 <= alpha <= 1, got ",
            options.alpha);
  PAT_CHECK(options.legend_max_entries >= 0, "overlay_labels: expected legend_max_entries >= 0, got ",
            options.legend_max_entries);
  PAT_CHECK(class_names.empty() || static_cast<int64_t>(class_names.size()) == num_classes, "overlay_labels: expected ",
            num_classes, " class names, got ", class_names.size());
  cv::Mat canvas = image_to_bgr(image);
  PAT_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == canvas.rows && labels.size(1) == canvas.cols,
            "overlay_labels: label map ", labels.defined() ? labels.sizes() : torch::IntArrayRef{},
            " does not match the image size ", canvas.rows, "x", canvas.cols);
  cv::Mat colors = colorize_labels(labels, num_classes);
  auto values = labels.detach().to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* v = values.data_ptr<int64_t>();
  const double a = options.alpha;
  for (int y = 0; y < canvas.rows; ++y) {
    auto* dst = canvas.ptr<cv::Vec3b>(y);
    const auto* col = colors.ptr<cv::Vec3b>(y);
    for (int x = 0; x < canvas.cols; ++x) {
      const int64_t label = v[static_cast<int64_t>(y) * canvas.cols + x];
      if (label < 0 || label >= num_classes) continue;
      for (int ch = 0; ch < 3; ++ch) dst[x][ch] = cv::saturate_cast<uchar>((1.0 - a) * dst[x][ch] + a * col[x][ch]);
    }
  }
  if (options.legend_max_entries > 0) {
    auto entries = legend_entries(labels, num_classes);
    if (static_cast<int64_t>(entries.size()) > options.legend_max_entries) entries.resize(options.legend_max_entries);
    draw_legend(canvas, entries, class_names, options.font_scale);
  }
  return canvas;
}

}  // namespace pat::vis
