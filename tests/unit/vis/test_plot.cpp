#include <cmath>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "pat/core/error.h"
#include "pat/vis/plot.h"
#include "test_support.h"

namespace {

using pat::vis::Series;

std::vector<Series> loss_and_miou() {
  Series loss{"loss", {}, {}}, miou{"mIoU", {}, {}};
  for (int i = 0; i <= 50; ++i) {
    loss.xs.push_back(i * 100.0);
    loss.ys.push_back(2.0 * std::exp(-i / 10.0) + 0.1);
  }
  for (int i = 0; i <= 5; ++i) {
    miou.xs.push_back(i * 1000.0);
    miou.ys.push_back(0.3 * i);
  }
  return {loss, miou};
}

int pixels_near(const cv::Mat& image, const cv::Scalar& color, int tolerance) {
  int n = 0;
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const auto& p = image.at<cv::Vec3b>(y, x);
      bool near = true;
      for (int ch = 0; ch < 3; ++ch) near &= std::abs(p[ch] - static_cast<int>(color[ch])) <= tolerance;
      n += near;
    }
  }
  return n;
}

TEST(Plot, WritesPngWithEverySeriesColour) {
  pat::test::TempDir dir;
  pat::vis::PlotOptions o;
  o.y_label = "value";
  pat::vis::plot_series(dir.file("curves.png"), "training", loss_and_miou(), o);
  cv::Mat image = cv::imread(dir.file("curves.png"), cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 900);
  EXPECT_EQ(image.rows, 540);
  for (size_t s = 0; s < 2; ++s) {
    EXPECT_GT(pixels_near(image, pat::vis::plot_series_color(s), 20), 60) << "series " << s;
  }
  // Text and axes: plenty of dark pixels, but most of the image stays white.
  EXPECT_GT(pixels_near(image, cv::Scalar(0, 0, 0), 60), 500);
  EXPECT_GT(pixels_near(image, cv::Scalar(255, 255, 255), 0), image.total() / 2);
}

TEST(Plot, NonFinitePointsAndDegenerateRanges) {
  Series s{"flat", {0, 1, 2, 3}, {1.0, std::numeric_limits<double>::quiet_NaN(), 1.0, 1.0}};
  cv::Mat image = pat::vis::render_plot("flat", {s});
  EXPECT_GT(pixels_near(image, pat::vis::plot_series_color(0), 20), 20);
  Series single{"one", {5}, {0.5}};
  EXPECT_NO_THROW(pat::vis::render_plot("one point", {single}));
}

TEST(Plot, Errors) {
  pat::test::TempDir dir;
  EXPECT_THROW(pat::vis::plot_series(dir.file("a.png"), "t", {}), pat::Error);
  EXPECT_THROW(pat::vis::render_plot("t", {Series{"empty", {}, {}}}), pat::Error);
  EXPECT_THROW(pat::vis::render_plot("t", {Series{"bad", {1, 2}, {1}}}), pat::Error);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(pat::vis::render_plot("t", {Series{"nan", {nan}, {1}}}), pat::Error);
  pat::vis::PlotOptions tiny;
  tiny.width = 50;
  EXPECT_THROW(pat::vis::render_plot("t", loss_and_miou(), tiny), pat::Error);
  EXPECT_THROW(pat::vis::plot_series(dir.file("missing/dir/a.png"), "t", loss_and_miou()), pat::Error);
}

}  // namespace
