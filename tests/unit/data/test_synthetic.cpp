#include <set>

#include "pat/core/error.h"
#include "pat/data/class_list.h"
#include "pat/data/synthetic.h"
#include "test_support.h"

using namespace pat::data;

namespace {
bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && (a.empty() || cv::norm(a, b, cv::NORM_INF) == 0);
}
}  // namespace

TEST(Synthetic, CatalogHasSharedColoursAndGeometries) {
  const auto names = synthetic_class_catalog();
  EXPECT_EQ(names.size(), 22u);
  EXPECT_EQ(names[0], "sky");
  for (const char* n : {"red circle", "red square", "blue square", "yellow triangle", "green star"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  validate_class_names(names, "catalog");
}

TEST(Synthetic, ScenesAreDeterministicAndValid) {
  SyntheticOptions o;
  o.num_images = 12;
  o.image_size = 48;
  o.seed = 3;
  SyntheticDataset ds(o), again(o);
  o.seed = 4;
  SyntheticDataset other(o);
  std::set<int> seen;
  for (size_t i = 0; i < ds.size(); ++i) {
    const Sample a = ds.get(i), b = again.get(i);
    ASSERT_EQ(a.image.type(), CV_8UC3);
    ASSERT_EQ(a.image.size(), cv::Size(48, 48));
    ASSERT_EQ(a.label.type(), CV_32SC1);
    EXPECT_TRUE(same(a.image, b.image));
    EXPECT_TRUE(same(a.label, b.label));
    EXPECT_FALSE(same(a.image, other.get(i).image));
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        const int v = a.label.at<int32_t>(y, x);
        ASSERT_GE(v, 0);
        ASSERT_LT(v, 22);
        seen.insert(v);
      }
  }
  int backgrounds = 0, shapes = 0;
  for (int v : seen) (v < 6 ? backgrounds : shapes)++;
  EXPECT_GE(backgrounds, 4);
  EXPECT_GE(shapes, 6);
  EXPECT_THROW(ds.get(12), pat::Error);
}

TEST(Synthetic, ClassSubsetsAndErrors) {
  SyntheticOptions o;
  o.num_images = 6;
  o.image_size = 32;
  o.classes = {"grass", "red circle", "red square"};
  SyntheticDataset ds(o);
  EXPECT_EQ(ds.num_classes(), 3);
  for (size_t i = 0; i < ds.size(); ++i) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(ds.get(i).label, &lo, &hi);
    EXPECT_GE(lo, 0);
    EXPECT_LE(hi, 2);
  }
  o.classes = {"red circle"};
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
  o.classes = {"sky", "purple hexagon"};
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
  o.classes = {"sky", "sky"};
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
  o.classes = {};
  o.image_size = 4;
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
}

TEST(Synthetic, WritesTheGenericLayout) {
  pat::test::TempDir dir;
  SyntheticOptions o;
  o.num_images = 3;
  o.image_size = 40;
  SyntheticDataset ds(o);
  const DatasetSpec spec = write_synthetic_dataset(ds, dir.path());
  FolderDataset disk(spec);
  ASSERT_EQ(disk.size(), 3u);
  EXPECT_EQ(disk.class_names(), ds.class_names());
  for (size_t i = 0; i < 3; ++i) {
    const Sample a = ds.get(i), b = disk.get(i);
    EXPECT_EQ(a.name, b.name);
    EXPECT_TRUE(same(a.image, b.image));
    EXPECT_TRUE(same(a.label, b.label));
  }
}
