#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "pat/clip/preprocess.h"
#include "pat/core/error.h"
#include "test_support.h"

using namespace pat::clip;

TEST(ClipPreprocess, ShorterSideGeometry) {
  EXPECT_EQ(shorter_side_size(480, 640, 224), (std::array<int64_t, 2>{224, 298}));  // 298.67 truncated
  EXPECT_EQ(shorter_side_size(640, 480, 224), (std::array<int64_t, 2>{298, 224}));
  EXPECT_EQ(shorter_side_size(100, 100, 224), (std::array<int64_t, 2>{224, 224}));
  EXPECT_EQ(shorter_side_size(3, 1000, 224), (std::array<int64_t, 2>{224, 74666}));
  EXPECT_EQ(shorter_side_size(500, 333, 336), (std::array<int64_t, 2>{504, 336}));  // 504.504...
  EXPECT_THROW(shorter_side_size(0, 10, 224), pat::Error);
}

TEST(ClipPreprocess, CenterCropRoundsHalfToEven) {
  EXPECT_EQ(center_crop_offset(224, 224, 224), (std::array<int64_t, 2>{0, 0}));
  EXPECT_EQ(center_crop_offset(224, 225, 224), (std::array<int64_t, 2>{0, 0}));   // round(0.5) = 0
  EXPECT_EQ(center_crop_offset(224, 227, 224), (std::array<int64_t, 2>{0, 2}));   // round(1.5) = 2
  EXPECT_EQ(center_crop_offset(229, 224, 224), (std::array<int64_t, 2>{2, 0}));   // round(2.5) = 2
  EXPECT_EQ(center_crop_offset(231, 298, 224), (std::array<int64_t, 2>{4, 37}));  // round(3.5) = 4, 37
  EXPECT_THROW(center_crop_offset(200, 300, 224), pat::Error);
}

TEST(ClipPreprocess, CropsWithoutResizingWhenTheShortSideFits) {
  // 4 x 7 BGR image with distinct values; n_px 4: no resize, crop left = round(1.5) = 2.
  cv::Mat bgr(4, 7, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 7; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(10 * x, 50 + y, 200 - 3 * x - 7 * y);  // B, G, R
  auto t = clip_preprocess(bgr, 4);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({1, 3, 4, 4}));
  EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      const int sx = x + 2;
      const double rgb[3] = {200.0 - 3 * sx - 7 * y, 50.0 + y, 10.0 * sx};
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(t[0][c][y][x].item<double>(), (rgb[c] / 255.0 - kClipMean[c]) / kClipStd[c], 1e-6)
            << c << " " << y << " " << x;
    }
}

TEST(ClipPreprocess, ConstantImageNormalizesExactly) {
  cv::Mat bgr(50, 80, CV_8UC3, cv::Scalar(30, 20, 10));  // R = 10, G = 20, B = 30
  auto t = clip_preprocess(bgr, 32);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({1, 3, 32, 32}));
  const double rgb[3] = {10, 20, 30};
  for (int c = 0; c < 3; ++c) {
    const double expected = (rgb[c] / 255.0 - kClipMean[c]) / kClipStd[c];
    EXPECT_NEAR(t[0][c].min().item<double>(), expected, 1e-6);
    EXPECT_NEAR(t[0][c].max().item<double>(), expected, 1e-6);
  }
}

TEST(ClipPreprocess, GrayAndAlphaInputsBecomeRgb) {
  cv::Mat gray(40, 40, CV_8UC1, cv::Scalar(128));
  auto g = clip_preprocess(gray, 32);
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(g[0][c][5][5].item<double>(), (128 / 255.0 - kClipMean[c]) / kClipStd[c], 1e-6);
  cv::Mat bgra(40, 40, CV_8UC4, cv::Scalar(0, 0, 255, 7));
  auto a = clip_preprocess(bgra, 32);
  EXPECT_NEAR(a[0][0][0][0].item<double>(), (1.0 - kClipMean[0]) / kClipStd[0], 1e-6);
  EXPECT_THROW(clip_preprocess(cv::Mat(), 32), pat::Error);
  EXPECT_THROW(clip_preprocess(cv::Mat(40, 40, CV_32FC3), 32), pat::Error);
}

TEST(ClipPreprocess, ResizesTheShortSideThenCrops) {
  // A vertical ramp 60 x 90: after resizing to 32 x 48 the crop keeps columns 8..39 (offset round(8) = 8).
  cv::Mat bgr(60, 90, CV_8UC3);
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 90; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(0, 0, static_cast<uchar>(2 * x));
  auto t = clip_preprocess(bgr, 32);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({1, 3, 32, 32}));
  auto red = t[0][0] * kClipStd[0] + kClipMean[0];  // back to [0, 1]
  // Column j of the crop is column 8 + j of the 48-wide resize, centred at source x = (8 + j + 0.5) * 90/48 - 0.5.
  for (int j : {0, 10, 31}) {
    const double src_x = (8 + j + 0.5) * 90.0 / 48.0 - 0.5;
    EXPECT_NEAR(red[16][j].item<double>() * 255.0, 2 * src_x, 1.0) << j;
  }
}

TEST(ClipPreprocess, FileErrorsAndFiles) {
  EXPECT_THROW(clip_preprocess_file(pat::test::data_path("clip/missing.png"), 32), pat::Error);
  EXPECT_THROW(clip_preprocess_file(pat::test::data_path("clip/text_ids.npy"), 32), pat::Error);
  auto t = clip_preprocess_file(pat::test::data_path("clip/gradient.png"), 32);
  EXPECT_EQ(t.sizes(), torch::IntArrayRef({1, 3, 32, 32}));
}
