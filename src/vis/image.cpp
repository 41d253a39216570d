#include "pat/vis/image.h"

#include <vector>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat::vis {

cv::Mat image_to_bgr(const torch::Tensor& image) {
  PAT_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3 && image.size(1) > 0 && image.size(2) > 0,
            "image_to_bgr: expected an RGB image [3, H, W], got ",
            image.defined() ? image.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!image.is_complex() && image.scalar_type() != torch::kBool, "image_to_bgr: expected a real image, got ",
            image.scalar_type());
  auto hwc = image.detach()
                 .to(torch::kCPU, torch::kFloat32)
                 .round()
                 .clamp(0, 255)
                 .to(torch::kUInt8)
                 .permute({1, 2, 0})
                 .contiguous();
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);  // allocates: independent of the tensor
  return bgr;
}

void write_png(const std::string& path, const cv::Mat& image) {
  PAT_CHECK(!image.empty(), "write_png ", path, ": empty image");
  const int type = image.type();
  PAT_CHECK(type == CV_8UC1 || type == CV_8UC3 || type == CV_8UC4 || type == CV_16UC1, "write_png ", path,
            ": unsupported OpenCV image type ", type);
  std::vector<uchar> bytes;
  PAT_CHECK(cv::imencode(".png", image, bytes), "write_png ", path, ": PNG encoding failed");
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace pat::vis
