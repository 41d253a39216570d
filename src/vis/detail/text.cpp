#include "vis/detail/text.h"

#include <opencv2/imgproc.hpp>

namespace pat::vis::detail {

std::string ascii_text(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126) c = '?';
  }
  return out;
}

cv::Size text_size(const std::string& text, double scale, int thickness, int* baseline) {
  int base = 0;
  cv::Size size = cv::getTextSize(ascii_text(text), kFont, scale, thickness, &base);
  if (baseline) *baseline = base;
  return size;
}

void put_text(cv::Mat& canvas, const std::string& text, cv::Point origin, double scale, const cv::Scalar& color,
              int thickness) {
  cv::putText(canvas, ascii_text(text), origin, kFont, scale, color, thickness, cv::LINE_AA);
}

}  // namespace pat::vis::detail
