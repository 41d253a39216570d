#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/vis/colorize.h"
#include "pat/vis/image.h"
#include "pat/vis/overlay.h"
#include "pat/vis/palette.h"
#include "pat/vis/panel.h"
#include "test_support.h"

namespace {

using pat::vis::class_color;

TEST(Palette, FixedFirstColours) {
  // BGR order: class 0 = RGB(128, 0, 0), 1 = (0, 128, 0), 2 = (128, 128, 0), 3 = (0, 0, 128), 7 = (64, 0, 0).
  EXPECT_EQ(class_color(0), cv::Vec3b(0, 0, 128));
  EXPECT_EQ(class_color(1), cv::Vec3b(0, 128, 0));
  EXPECT_EQ(class_color(2), cv::Vec3b(0, 128, 128));
  EXPECT_EQ(class_color(3), cv::Vec3b(128, 0, 0));
  EXPECT_EQ(class_color(7), cv::Vec3b(0, 0, 64));
}

TEST(Palette, DeterministicUniqueAndNeverBlack) {
  auto palette = pat::vis::make_palette(5000);
  ASSERT_EQ(palette.size(), 5000u);
  std::set<int> seen;
  for (size_t k = 0; k < palette.size(); ++k) {
    EXPECT_EQ(palette[k], class_color(static_cast<int64_t>(k)));
    EXPECT_NE(palette[k], pat::vis::unlabeled_color()) << k;
    seen.insert(palette[k][0] << 16 | palette[k][1] << 8 | palette[k][2]);
  }
  EXPECT_EQ(seen.size(), palette.size());
  EXPECT_EQ(pat::vis::make_palette(5000), palette);
  EXPECT_THROW(class_color(-1), pat::Error);
}

TEST(Colorize, ClassesAndUnlabeled) {
  auto labels = torch::tensor({0, 1, 2, 255, -1, 3}, torch::kInt64).view({2, 3});
  cv::Mat c = pat::vis::colorize_labels(labels, 3);
  ASSERT_EQ(c.type(), CV_8UC3);
  EXPECT_EQ(c.at<cv::Vec3b>(0, 0), class_color(0));
  EXPECT_EQ(c.at<cv::Vec3b>(0, 1), class_color(1));
  EXPECT_EQ(c.at<cv::Vec3b>(0, 2), class_color(2));
  EXPECT_EQ(c.at<cv::Vec3b>(1, 0), cv::Vec3b(0, 0, 0));  // ignore
  EXPECT_EQ(c.at<cv::Vec3b>(1, 1), cv::Vec3b(0, 0, 0));  // negative
  EXPECT_EQ(c.at<cv::Vec3b>(1, 2), cv::Vec3b(0, 0, 0));  // >= num_classes
  cv::Mat gray = pat::vis::colorize_labels(labels, 3, {128, 128, 128});
  EXPECT_EQ(gray.at<cv::Vec3b>(1, 0), cv::Vec3b(128, 128, 128));
  EXPECT_THROW(pat::vis::colorize_labels(torch::zeros({2, 2}), 3), pat::Error);
  EXPECT_THROW(pat::vis::colorize_labels(torch::zeros({2}, torch::kInt64), 3), pat::Error);
  EXPECT_THROW(pat::vis::colorize_labels(labels, 0), pat::Error);
}

TEST(Colorize, WritePngRoundTrip) {
  pat::test::TempDir dir;
  auto labels = torch::tensor({0, 5, 900, 65535}, torch::kInt64).view({2, 2});
  pat::vis::write_colorized_png(dir.file("c.png"), labels, 1000);
  cv::Mat back = cv::imread(dir.file("c.png"), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.type(), CV_8UC3);
  EXPECT_EQ(back.at<cv::Vec3b>(1, 0), class_color(900));
  EXPECT_EQ(back.at<cv::Vec3b>(1, 1), cv::Vec3b(0, 0, 0));
  EXPECT_THROW(pat::vis::write_colorized_png(dir.file("no/dir/c.png"), labels, 1000), pat::Error);
}

TEST(Image, TensorToBgr) {
  auto image = torch::zeros({3, 2, 2});
  image[0].fill_(200.4);  // R
  image[2].fill_(300);    // B, clamped
  cv::Mat bgr = pat::vis::image_to_bgr(image);
  EXPECT_EQ(bgr.at<cv::Vec3b>(1, 1), cv::Vec3b(255, 0, 200));
  EXPECT_THROW(pat::vis::image_to_bgr(torch::zeros({2, 2, 3})), pat::Error);
}

/// Labels: class 2 covers the left 3/4, class 5 the rest, with an ignore stripe on top.
torch::Tensor two_class_map(int h, int w) {
  auto labels = torch::full({h, w}, 2, torch::kInt64);
  labels.slice(1, 3 * w / 4, w).fill_(5);
  labels.slice(0, 0, 2).fill_(255);
  return labels;
}

TEST(Overlay, LegendEntriesSortedByFraction) {
  auto entries = pat::vis::legend_entries(two_class_map(40, 40), 6);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].class_index, 2);
  EXPECT_EQ(entries[1].class_index, 5);
  EXPECT_NEAR(entries[0].fraction, 38.0 * 30 / 1600, 1e-12);
  EXPECT_NEAR(entries[1].fraction, 38.0 * 10 / 1600, 1e-12);
  EXPECT_EQ(pat::vis::legend_label({"person, man", "sky"}, 0), "person");
  EXPECT_EQ(pat::vis::legend_label({}, 7), "class 7");
  EXPECT_EQ(pat::vis::legend_label({"caf\xc3\xa9"}, 0), "caf??");
}

TEST(Overlay, BlendAndLegend) {
  const int h = 120, w = 160;
  auto image = torch::full({3, h, w}, 100.0);
  auto labels = two_class_map(h, w);
  const std::vector<std::string> names = {"a", "b", "road", "d", "e", "tree"};
  pat::vis::OverlayOptions no_legend;
  no_legend.legend_max_entries = 0;
  no_legend.alpha = 1.0;
  cv::Mat plain = pat::vis::overlay_labels(image, labels, 6, names, no_legend);
  EXPECT_EQ(plain.at<cv::Vec3b>(60, 10), class_color(2));
  EXPECT_EQ(plain.at<cv::Vec3b>(60, 150), class_color(5));
  EXPECT_EQ(plain.at<cv::Vec3b>(0, 10), cv::Vec3b(100, 100, 100));  // ignore keeps the image

  no_legend.alpha = 0.5;
  cv::Mat half = pat::vis::overlay_labels(image, labels, 6, names, no_legend);
  const cv::Vec3b c2 = class_color(2);
  for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(half.at<cv::Vec3b>(60, 10)[ch], (100 + c2[ch]) / 2.0, 1.0);

  pat::vis::OverlayOptions with_legend;
  with_legend.alpha = 0.5;
  cv::Mat legend = pat::vis::overlay_labels(image, labels, 6, names, with_legend);
  cv::Mat diff;
  cv::absdiff(legend, half, diff);
  cv::Mat changed;
  cv::cvtColor(diff, changed, cv::COLOR_BGR2GRAY);
  const cv::Rect box = cv::boundingRect(cv::Mat(changed > 0));
  EXPECT_GT(cv::countNonZero(changed), 100);  // the legend is drawn
  EXPECT_EQ(box.x, 0);                        // in the top-left corner
  EXPECT_EQ(box.y, 0);
  EXPECT_LT(box.width, w);
  EXPECT_LT(box.height, h / 2);  // two entries only
  // Swatches carry the class colours.
  bool found2 = false, found5 = false;
  for (int y = 0; y < box.height; ++y) {
    for (int x = 0; x < box.width; ++x) {
      found2 |= legend.at<cv::Vec3b>(y, x) == class_color(2);
      found5 |= legend.at<cv::Vec3b>(y, x) == class_color(5);
    }
  }
  EXPECT_TRUE(found2 && found5);
}

TEST(Overlay, Errors) {
  auto image = torch::full({3, 10, 10}, 100.0);
  EXPECT_THROW(pat::vis::overlay_labels(image, torch::zeros({9, 10}, torch::kInt64), 3), pat::Error);
  EXPECT_THROW(pat::vis::overlay_labels(image, torch::zeros({10, 10}, torch::kInt64), 3, {"a", "b"}), pat::Error);
  pat::vis::OverlayOptions o;
  o.alpha = 1.5;
  EXPECT_THROW(pat::vis::overlay_labels(image, torch::zeros({10, 10}, torch::kInt64), 3, {}, o), pat::Error);
}

TEST(Panel, ImageGroundTruthPrediction) {
  const int h = 60, w = 80;
  auto image = torch::rand({3, h, w}) * 255;
  auto gt = two_class_map(h, w);
  auto pred = torch::full({h, w}, 5, torch::kInt64);
  cv::Mat three = pat::vis::prediction_panel(image, gt, pred, 6);
  EXPECT_EQ(three.cols, 3 * w + 2 * 4);
  EXPECT_GT(three.rows, h);
  cv::Mat two = pat::vis::prediction_panel(image, torch::Tensor(), pred, 6);
  EXPECT_EQ(two.cols, 2 * w + 4);
  EXPECT_EQ(two.rows, three.rows);
  // The image panel sits under the title strip, unchanged.
  const int strip = three.rows - h;
  cv::Mat bgr = pat::vis::image_to_bgr(image);
  EXPECT_EQ(cv::norm(three(cv::Rect(0, strip, w, h)), bgr, cv::NORM_INF), 0.0);
  pat::test::TempDir dir;
  pat::vis::write_png(dir.file("panel.png"), three);
  EXPECT_EQ(cv::imread(dir.file("panel.png")).cols, three.cols);
  EXPECT_THROW(pat::vis::prediction_panel(image, gt, torch::Tensor(), 6), pat::Error);
}

}  // namespace
