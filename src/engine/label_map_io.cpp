#include "pat/engine/label_map_io.h"

#include <filesystem>
#include <vector>

#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat::engine {

torch::Tensor read_label_map(const std::string& path) {
  PAT_CHECK(std::filesystem::is_regular_file(path), "label map ", path, ": no such file");
  cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  PAT_CHECK(!image.empty(), "label map ", path, ": cannot decode (expected a PNG or TIFF image)");
  PAT_CHECK(image.channels() == 1, "label map ", path, ": expected a single-channel label image, got ",
            image.channels(), " channels");
  const int depth = image.depth();
  PAT_CHECK(depth == CV_8U || depth == CV_16U || depth == CV_32S, "label map ", path,
            ": expected 8-bit, 16-bit or 32-bit integer pixels, got OpenCV depth ", depth);
  cv::Mat as_int;
  image.convertTo(as_int, CV_32S);
  PAT_ASSERT(as_int.isContinuous());
  auto out = torch::from_blob(as_int.data, {as_int.rows, as_int.cols}, torch::kInt32);
  return out.to(torch::kInt64);  // copies out of the cv::Mat
}

void write_label_png(const std::string& path, const torch::Tensor& labels, int64_t num_classes) {
  PAT_CHECK(labels.defined() && labels.dim() == 2 && labels.numel() > 0, "write_label_png ", path,
            ": expected a non-empty [H, W] label map, got ", labels.defined() ? labels.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
            "write_label_png ", path, ": expected integer labels, got ", labels.scalar_type());
  PAT_CHECK(num_classes >= 1, "write_label_png ", path, ": expected num_classes >= 1, got ", num_classes);
  const bool eight_bit = num_classes <= 255;
  const int64_t max_value = eight_bit ? 255 : 65535;
  auto values = labels.detach().to(torch::kCPU, torch::kInt64);
  const int64_t lo = values.min().item<int64_t>(), hi = values.max().item<int64_t>();
  PAT_CHECK(lo >= 0 && hi <= max_value, "write_label_png ", path, ": values ", lo, "..", hi, " do not fit a ",
            eight_bit ? 8 : 16, "-bit PNG (0..", max_value, ")");
  auto narrow = values.to(torch::kInt32).contiguous();
  cv::Mat as_int(static_cast<int>(narrow.size(0)), static_cast<int>(narrow.size(1)), CV_32S, narrow.data_ptr());
  cv::Mat pixels;
  as_int.convertTo(pixels, eight_bit ? CV_8U : CV_16U);
  std::vector<uchar> bytes;
  PAT_CHECK(cv::imencode(".png", pixels, bytes), "write_label_png ", path, ": PNG encoding failed");
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace pat::engine
