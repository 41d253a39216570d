#include "pat/vis/colorize.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/vis/image.h"
#include "pat/vis/palette.h"

namespace pat::vis {

cv::Mat colorize_labels(const torch::Tensor& labels, int64_t num_classes, const cv::Vec3b& unlabeled) {
  PAT_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) > 0 && labels.size(1) > 0,
            "colorize_labels: expected a non-empty [H, W] label map, got ",
            labels.defined() ? labels.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
            "colorize_labels: expected integer labels, got ", labels.scalar_type());
  PAT_CHECK(num_classes >= 1, "colorize_labels: expected num_classes >= 1, got ", num_classes);
  const auto palette = make_palette(num_classes);
  auto values = labels.detach().to(torch::kCPU, torch::kInt64).contiguous();
  const int rows = static_cast<int>(values.size(0)), cols = static_cast<int>(values.size(1));
  cv::Mat out(rows, cols, CV_8UC3);
  const int64_t* src = values.data_ptr<int64_t>();
  for (int y = 0; y < rows; ++y) {
    auto* dst = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < cols; ++x) {
      const int64_t v = src[static_cast<int64_t>(y) * cols + x];
      dst[x] = (v >= 0 && v < num_classes) ? palette[static_cast<size_t>(v)] : unlabeled;
    }
  }
  return out;
}

void write_colorized_png(const std::string& path, const torch::Tensor& labels, int64_t num_classes) {
  write_png(path, colorize_labels(labels, num_classes));
}

}  // namespace pat::vis
