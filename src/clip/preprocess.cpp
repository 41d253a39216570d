#include "pat/clip/preprocess.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"

namespace pat::clip {
namespace {

/// Python's round() of x/2 for an integer x: half to even.
int64_t round_half_even_half(int64_t x) {
  const int64_t q = x / 2;  // x >= 0
  if (x % 2 == 0) return q;
  return (q % 2 == 0) ? q : q + 1;  // q + 0.5 rounds to the even neighbour
}

}  // namespace

std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t n_px) {
  PAT_CHECK(height > 0 && width > 0 && n_px > 0, "CLIP preprocess: expected positive sizes, got image ", height, "x",
            width, " and n_px ", n_px);
  if (width <= height) return {static_cast<int64_t>(static_cast<double>(n_px) * height / width), n_px};
  return {n_px, static_cast<int64_t>(static_cast<double>(n_px) * width / height)};
}

std::array<int64_t, 2> center_crop_offset(int64_t height, int64_t width, int64_t n_px) {
  PAT_CHECK(height >= n_px && width >= n_px, "CLIP preprocess: cannot crop ", n_px, "x", n_px, " from a ", height, "x",
            width, " image");
  return {round_half_even_half(height - n_px), round_half_even_half(width - n_px)};
}

torch::Tensor clip_normalize(const torch::Tensor& rgb01) {
  PAT_CHECK(rgb01.dim() >= 3 && rgb01.size(-3) == 3, "CLIP normalize: expected [..., 3, H, W], got ", rgb01.sizes());
  auto opts = torch::TensorOptions().dtype(rgb01.scalar_type()).device(rgb01.device());
  auto mean = torch::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}, torch::kFloat64).to(opts).view({3, 1, 1});
  auto std = torch::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}, torch::kFloat64).to(opts).view({3, 1, 1});
  return (rgb01 - mean) / std;
}

torch::Tensor clip_preprocess(const cv::Mat& image_bgr, int64_t n_px) {
  PAT_CHECK(!image_bgr.empty(), "CLIP preprocess: empty image");
  PAT_CHECK(image_bgr.depth() == CV_8U, "CLIP preprocess: expected an 8-bit image, got OpenCV depth ",
            image_bgr.depth());
  cv::Mat rgb;
  switch (image_bgr.channels()) {
    case 1:
      cv::cvtColor(image_bgr, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image_bgr, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image_bgr, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      PAT_FAIL("CLIP preprocess: expected 1, 3 or 4 channels, got ", image_bgr.channels());
  }
  const auto size = shorter_side_size(rgb.rows, rgb.cols, n_px);
  if (size[0] != rgb.rows || size[1] != rgb.cols) {
    cv::Mat resized;
    cv::resize(rgb, resized, cv::Size(static_cast<int>(size[1]), static_cast<int>(size[0])), 0, 0, cv::INTER_CUBIC);
    rgb = resized;
  }
  const auto offset = center_crop_offset(rgb.rows, rgb.cols, n_px);
  cv::Mat crop = rgb(cv::Rect(static_cast<int>(offset[1]), static_cast<int>(offset[0]), static_cast<int>(n_px),
                              static_cast<int>(n_px)))
                     .clone();
  auto hwc = torch::from_blob(crop.data, {n_px, n_px, 3}, torch::kUInt8);
  auto chw = hwc.permute({2, 0, 1}).to(torch::kFloat32).div_(255.0);
  return clip_normalize(chw).unsqueeze(0).contiguous();
}

torch::Tensor clip_preprocess_file(const std::string& path, int64_t n_px) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  PAT_CHECK(!image.empty(), "CLIP preprocess: cannot read image \"", path, "\" (missing or not an image)");
  return clip_preprocess(image, n_px);
}

}  // namespace pat::clip
