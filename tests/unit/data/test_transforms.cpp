#include <set>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/data/transforms.h"
#include "test_support.h"

using namespace pat::data;

namespace {

/// An image whose pixel (x, y) is RGB (x, y, 7) and a label holding y * 1000 + x.
Sample coordinate_sample(int h, int w) {
  Sample s;
  s.image.create(h, w, CV_8UC3);
  s.label.create(h, w, CV_32SC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      s.image.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x), uint8_t(y), 7);
      s.label.at<int32_t>(y, x) = y * 1000 + x;
    }
  s.ignore_label = 255;
  return s;
}

bool mats_equal(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && (a.empty() || cv::norm(a, b, cv::NORM_INF) == 0);
}

}  // namespace

TEST(Transforms, ShortestEdgeSizeFollowsDetectron2) {
  EXPECT_EQ(shortest_edge_size(480, 640, 384, 1333), std::make_pair(384, 512));
  EXPECT_EQ(shortest_edge_size(640, 480, 384, 1333), std::make_pair(512, 384));
  EXPECT_EQ(shortest_edge_size(1000, 100, 384, 1333), std::make_pair(1333, 133));
  EXPECT_EQ(shortest_edge_size(375, 500, 640, 2560), std::make_pair(640, 853));  // 853.33
  EXPECT_EQ(shortest_edge_size(333, 500, 640, 2560), std::make_pair(640, 961));  // 960.96 rounds up
  EXPECT_THROW(shortest_edge_size(0, 10, 384, 1333), pat::Error);
}

TEST(Transforms, BilinearMatchesPilByHand) {
  // Shrinking 4 -> 2 uses PIL's widened triangle filter (support 2):
  // out0 = (0*.75 + 100*.75 + 200*.25) / 1.75 = 71.43, out1 = (100*.25 + 200*.75 + 250*.75) / 1.75 = 207.1.
  cv::Mat row(1, 4, CV_8UC3);
  const uint8_t v[] = {0, 100, 200, 250};
  for (int x = 0; x < 4; ++x) row.at<cv::Vec3b>(0, x) = cv::Vec3b(v[x], v[x], uint8_t(255 - v[x]));
  const cv::Mat small = resize_bilinear(row, 1, 2);
  EXPECT_EQ(small.at<cv::Vec3b>(0, 0), cv::Vec3b(71, 71, 184));  // 255 - 71.43 = 183.57 -> 184
  EXPECT_EQ(small.at<cv::Vec3b>(0, 1), cv::Vec3b(207, 207, 48));
  // Enlarging 2 -> 4: plain linear interpolation with edge clamping: 0, 25, 75, 100.
  cv::Mat two(2, 1, CV_8UC3);
  two.at<cv::Vec3b>(0, 0) = cv::Vec3b(0, 0, 0);
  two.at<cv::Vec3b>(1, 0) = cv::Vec3b(100, 100, 100);
  const cv::Mat big = resize_bilinear(two, 4, 1);
  EXPECT_EQ(big.at<cv::Vec3b>(0, 0)[0], 0);
  EXPECT_EQ(big.at<cv::Vec3b>(1, 0)[0], 25);
  EXPECT_EQ(big.at<cv::Vec3b>(2, 0)[0], 75);
  EXPECT_EQ(big.at<cv::Vec3b>(3, 0)[0], 100);
  // Enlarging agrees with OpenCV's bilinear up to fixed-point rounding.
  cv::Mat noise(13, 17, CV_8UC3);
  cv::randu(noise, 0, 256);
  cv::Mat ours = resize_bilinear(noise, 29, 40), theirs, diff;
  cv::resize(noise, theirs, cv::Size(40, 29), 0, 0, cv::INTER_LINEAR);
  cv::absdiff(ours, theirs, diff);
  double mx = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &mx);
  EXPECT_LE(mx, 1);
}

TEST(Transforms, NearestUsesPixelCentres) {
  cv::Mat l(1, 4, CV_32SC1);
  for (int x = 0; x < 4; ++x) l.at<int32_t>(0, x) = 10 + x;
  const cv::Mat a = resize_nearest(l, 1, 2);  // sources floor((i + .5) * 2) = 1, 3
  EXPECT_EQ(a.at<int32_t>(0, 0), 11);
  EXPECT_EQ(a.at<int32_t>(0, 1), 13);
  const cv::Mat b = resize_nearest(l, 1, 8);  // 0,0,1,1,2,2,3,3
  EXPECT_EQ(b.at<int32_t>(0, 2), 11);
  EXPECT_EQ(b.at<int32_t>(0, 7), 13);
  cv::Mat three(1, 3, CV_32SC1);
  for (int x = 0; x < 3; ++x) three.at<int32_t>(0, x) = x;
  const cv::Mat c = resize_nearest(three, 1, 2);  // floor(.75) = 0, floor(2.25) = 2
  EXPECT_EQ(c.at<int32_t>(0, 0), 0);
  EXPECT_EQ(c.at<int32_t>(0, 1), 2);
}

TEST(Transforms, CropFlipPadKeepLabelsAligned) {
  std::vector<TransformPtr> t = {std::make_shared<RandomCrop>(24, 24), std::make_shared<RandomFlip>(0.5),
                                 std::make_shared<PadTo>(24, 24, 128)};
  Compose pipeline(t);
  int flips = 0;
  std::set<int> lefts;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    Sample s = coordinate_sample(20, 40);  // height 20 < crop 24: padded at the bottom
    Rng rng(seed);
    pipeline.apply(s, rng);
    ASSERT_EQ(s.image.rows, 24);
    ASSERT_EQ(s.image.cols, 24);
    ASSERT_EQ(s.label.size(), s.image.size());
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x) {
        const cv::Vec3b p = s.image.at<cv::Vec3b>(y, x);
        const int l = s.label.at<int32_t>(y, x);
        if (y >= 20) {
          EXPECT_EQ(p, cv::Vec3b(128, 128, 128));
          EXPECT_EQ(l, 255);
          continue;
        }
        ASSERT_EQ(l, p[1] * 1000 + p[0]) << "seed " << seed << " at " << x << "," << y;
        ASSERT_EQ(p[1], y);  // no vertical offset: the full height was kept
      }
    const int x0 = s.image.at<cv::Vec3b>(0, 0)[0], x1 = s.image.at<cv::Vec3b>(0, 1)[0];
    if (x1 < x0) ++flips;
    lefts.insert(std::min(x0, int(s.image.at<cv::Vec3b>(0, 23)[0])));
  }
  EXPECT_GT(flips, 15);
  EXPECT_LT(flips, 45);
  EXPECT_GT(lefts.size(), 8u);
  for (int left : lefts) EXPECT_LE(left, 40 - 24);
}

TEST(Transforms, PadUsesTheSamplesIgnoreValue) {
  Sample s = coordinate_sample(3, 3);
  s.ignore_label = 65535;
  Rng rng(1);
  PadTo(5, 4, 128).apply(s, rng);
  EXPECT_EQ(s.label.at<int32_t>(4, 3), 65535);
  EXPECT_EQ(s.label.at<int32_t>(2, 2), 2002);
}

TEST(Transforms, TrainPipelineIsDeterministicAndSized) {
  auto train = make_train_transforms({/*crop_size=*/32});
  for (auto [h, w] : {std::pair{40, 64}, std::pair{20, 25}, std::pair{100, 30}}) {
    Sample base = coordinate_sample(h, w);
    Sample a = base, b = base, c = base;
    a.image = base.image.clone(), b.image = base.image.clone(), c.image = base.image.clone();
    Rng r1(5), r2(5), r3(6);
    train->apply(a, r1);
    train->apply(b, r2);
    train->apply(c, r3);
    EXPECT_EQ(a.image.rows, 32);
    EXPECT_EQ(a.image.cols, 32);
    EXPECT_EQ(a.label.size(), a.image.size());
    EXPECT_TRUE(mats_equal(a.image, b.image));
    EXPECT_TRUE(mats_equal(a.label, b.label));
    EXPECT_FALSE(mats_equal(a.image, c.image) && mats_equal(a.label, c.label));
  }
  EXPECT_EQ(train->name(), "Compose(ResizeShortestEdge, RandomCrop, ColorAugSSD, RandomFlip, PadTo)");
}

TEST(Transforms, TrainMinSizeCropsAPartAtThatScale) {
  TrainTransformOptions o;
  o.crop_size = 24;
  o.min_size = 48;  // the 48 x 48 image keeps its scale; the crop is a window of it
  o.color_jitter = false;
  o.flip_prob = 0;
  auto train = make_train_transforms(o);
  std::set<int> origins;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Sample s = coordinate_sample(48, 48);
    Rng rng(seed);
    train->apply(s, rng);
    ASSERT_EQ(s.label.size(), cv::Size(24, 24));
    const int origin = s.label.at<int32_t>(0, 0), y0 = origin / 1000, x0 = origin % 1000;
    origins.insert(origin);
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x) ASSERT_EQ(s.label.at<int32_t>(y, x), (y0 + y) * 1000 + x0 + x);
    EXPECT_EQ(s.image.at<cv::Vec3b>(23, 23), cv::Vec3b(uint8_t(x0 + 23), uint8_t(y0 + 23), 7));
  }
  EXPECT_GT(origins.size(), 5u);  // the window moves
  // 0: the short side goes to the crop size, as CAT-Seg trains (the whole 48 x 48 image in 24 x 24)
  o.min_size = 0;
  Sample whole = coordinate_sample(48, 48);
  Rng rng(3);
  make_train_transforms(o)->apply(whole, rng);
  // corner to corner: the first pixel comes from (0, 0) or (1, 1), the last from (46, 46) or (47, 47)
  EXPECT_LE(whole.label.at<int32_t>(0, 0), 1 * 1000 + 1);
  EXPECT_GE(whole.label.at<int32_t>(23, 23), 46 * 1000 + 46);
  o.min_size = -1;
  EXPECT_THROW(make_train_transforms(o), pat::Error);
}

TEST(Transforms, TestResizeKeepsLabelAtOriginalSize) {
  Sample s = coordinate_sample(30, 60);
  Rng rng(0);
  make_test_transforms({TestResize::kShortestEdge, 64, 100})->apply(s, rng);
  EXPECT_EQ(s.image.rows, 50);  // 64 x 128 capped at 100 on the long side
  EXPECT_EQ(s.image.cols, 100);
  EXPECT_EQ(s.label.rows, 30);
  TestTransformOptions fixed;
  fixed.mode = TestResize::kFixed;
  fixed.height = 16;
  fixed.width = 24;
  fixed.resize_label = true;
  Sample f = coordinate_sample(30, 60);
  make_test_transforms(fixed)->apply(f, rng);
  EXPECT_EQ(f.image.size(), cv::Size(24, 16));
  EXPECT_EQ(f.label.size(), cv::Size(24, 16));
  EXPECT_EQ(f.label.at<int32_t>(0, 0), 0 * 1000 + 1);  // source x floor(0.5 * 2.5) = 1, y floor(0.5 * 1.875) = 0
}

TEST(ColorJitter, GreyStaysGreyWithinTheBrightnessContrastBounds) {
  // On a grey image saturation and hue are no-ops, so the output is grey in
  // [(v - 32) * 0.5, (v + 32) * 1.5] and every value in between can occur.
  int lo = 255, hi = 0, unchanged = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    cv::Mat img(4, 4, CV_8UC3, cv::Scalar::all(100));
    Rng rng(seed);
    color_aug_ssd(img, rng);
    const cv::Vec3b p = img.at<cv::Vec3b>(2, 2);
    ASSERT_EQ(p[0], p[1]);
    ASSERT_EQ(p[1], p[2]);
    ASSERT_EQ(cv::countNonZero(img.reshape(1) != p[0]), 0);
    lo = std::min(lo, int(p[0]));
    hi = std::max(hi, int(p[0]));
    unchanged += p[0] == 100;
  }
  EXPECT_GE(lo, 34);
  EXPECT_LE(hi, 198);
  EXPECT_LT(lo, 60);
  EXPECT_GT(hi, 160);
  EXPECT_GT(unchanged, 30);  // p(no brightness and no contrast) = 1/4
}

TEST(ColorJitter, DeterministicAndClipped) {
  cv::Mat base(8, 8, CV_8UC3);
  cv::randu(base, 0, 256);
  base.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 255, 255);
  base.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 0, 0);
  int identical = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    cv::Mat a = base.clone(), b = base.clone();
    Rng r1(seed), r2(seed);
    color_aug_ssd(a, r1);
    color_aug_ssd(b, r2);
    ASSERT_TRUE(mats_equal(a, b));
    identical += mats_equal(a, base);
  }
  // Every op skipped: 1/2 (brightness) * 1/8 (the three others) = 1/16 of 200 = 12.5.
  EXPECT_GT(identical, 3);
  EXPECT_LT(identical, 30);
  // Hue shifts wrap modulo 180: a saturated colour keeps full saturation under hue-only changes.
  ColorJitterOptions hue_only;
  hue_only.brightness_delta = 0;
  hue_only.contrast_low = hue_only.contrast_high = 1;
  hue_only.saturation_low = hue_only.saturation_high = 1;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    cv::Mat red(2, 2, CV_8UC3, cv::Scalar(255, 0, 0));
    Rng rng(seed);
    color_aug_ssd(red, rng, hue_only);
    cv::Mat hsv;
    cv::cvtColor(red, hsv, cv::COLOR_RGB2HSV);
    const cv::Vec3b p = hsv.at<cv::Vec3b>(0, 0);
    EXPECT_TRUE(p[0] <= 20 || p[0] >= 160) << int(p[0]);
    EXPECT_GE(p[1], 250);
  }
}

TEST(Rng, DistributionsAndPerSampleSeeds) {
  Rng a(3), b(3);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
  Rng r(9);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 3000; ++i) {
    const int64_t v = r.randint(-1, 2);
    ASSERT_GE(v, -1);
    ASSERT_LE(v, 1);
    ++counts[v + 1];
    const double u = r.uniform(2, 3);
    ASSERT_GE(u, 2);
    ASSERT_LT(u, 3);
  }
  for (int c : counts) EXPECT_GT(c, 850);
  EXPECT_NE(Rng::for_sample(0, 0, 1).next_u64(), Rng::for_sample(0, 0, 2).next_u64());
  EXPECT_NE(Rng::for_sample(0, 0, 1).next_u64(), Rng::for_sample(0, 1, 1).next_u64());
  EXPECT_NE(Rng::for_sample(0, 0, 1).next_u64(), Rng::for_sample(1, 0, 1).next_u64());
  EXPECT_EQ(Rng::for_sample(4, 5, 6).next_u64(), Rng::for_sample(4, 5, 6).next_u64());
}
