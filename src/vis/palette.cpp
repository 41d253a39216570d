#include "pat/vis/palette.h"

#include "pat/core/error.h"

namespace pat::vis {

cv::Vec3b class_color(int64_t index) {
  PAT_CHECK(index >= 0, "class_color: expected a non-negative class index, got ", index);
  constexpr int64_t kPeriod = (int64_t{1} << 24) - 1;  // ids 1 .. 2^24-1 have distinct, non-black colours
  int64_t id = index % kPeriod + 1;
  int r = 0, g = 0, b = 0;
  for (int level = 7; level >= 0; --level) {
    r |= static_cast<int>(id & 1) << level;
    g |= static_cast<int>((id >> 1) & 1) << level;
    b |= static_cast<int>((id >> 2) & 1) << level;
    id >>= 3;
  }
  return cv::Vec3b(static_cast<uchar>(b), static_cast<uchar>(g), static_cast<uchar>(r));
}

std::vector<cv::Vec3b> make_palette(int64_t num_classes) {
  PAT_CHECK(num_classes >= 0, "make_palette: expected a non-negative class count, got ", num_classes);
  std::vector<cv::Vec3b> palette;
  palette.reserve(static_cast<size_t>(num_classes));
  for (int64_t k = 0; k < num_classes; ++k) palette.push_back(class_color(k));
  return palette;
}

}  // namespace pat::vis
