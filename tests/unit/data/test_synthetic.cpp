#include <algorithm>
#include <map>
#include <set>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/data/class_list.h"
#include "pat/data/rng.h"
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
  ASSERT_EQ(names.size(), 56u);
  const std::vector<std::string> backgrounds = {"sky", "grass", "water", "road", "wall", "sand", "snow", "wood"};
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 8), backgrounds);
  const char* colours[] = {"red", "green", "blue", "yellow", "orange", "purple", "pink", "cyan"};
  const char* geometries[] = {"circle", "square", "triangle", "star", "cross", "ring"};
  size_t k = 8;  // colour-major after the backgrounds
  for (const char* c : colours)
    for (const char* g : geometries) EXPECT_EQ(names[k++], std::string(c) + " " + g);
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
        ASSERT_LT(v, 56);
        seen.insert(v);
      }
  }
  int backgrounds = 0, shapes = 0;
  for (int v : seen) (v < 8 ? backgrounds : shapes)++;
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

TEST(Synthetic, EveryCatalogueClassRenders) {
  SyntheticOptions o;
  o.num_images = 200;
  o.image_size = 32;
  o.seed = 11;
  SyntheticDataset ds(o);
  const auto names = synthetic_class_catalog();
  std::vector<int64_t> area(names.size(), 0);
  for (size_t i = 0; i < ds.size(); ++i) {
    const cv::Mat label = ds.get(i).label;
    for (int y = 0; y < label.rows; ++y)
      for (int x = 0; x < label.cols; ++x) ++area[size_t(label.at<int32_t>(y, x))];
  }
  // Snow, wood, crosses and rings included: every class covers pixels somewhere.
  for (size_t c = 0; c < names.size(); ++c) EXPECT_GT(area[c], 0) << names[c];
}

TEST(Synthetic, OldClassSubsetsKeepTheirScenes) {
  // Digests of the 22-class world's scenes (seed 7, 20 scenes): growing the catalogue changed none of them.
  const std::vector<std::string> old22 = {"sky",
                                          "grass",
                                          "water",
                                          "road",
                                          "wall",
                                          "sand",
                                          "red circle",
                                          "red square",
                                          "red triangle",
                                          "red star",
                                          "green circle",
                                          "green square",
                                          "green triangle",
                                          "green star",
                                          "blue circle",
                                          "blue square",
                                          "blue triangle",
                                          "blue star",
                                          "yellow circle",
                                          "yellow square",
                                          "yellow triangle",
                                          "yellow star"};
  const std::vector<std::pair<std::vector<std::string>, uint64_t>> cases = {
      {{"grass", "red circle", "red square"}, 0xe8047d3979f52fe6ull},
      {old22, 0x6fc44f603f2ef555ull},
      {{"wall", "sky", "yellow star", "blue triangle", "sand"}, 0xedf3c9f90c824f16ull},
  };
  for (const auto& [classes, digest] : cases) {
    SyntheticOptions o;
    o.num_images = 20;
    o.image_size = 96;
    o.seed = 7;
    o.classes = classes;
    SyntheticDataset ds(o);
    uint64_t h = 0;
    for (size_t i = 0; i < ds.size(); ++i) {
      const Sample s = ds.get(i);
      for (const cv::Mat* m : {&s.image, &s.label})
        for (int y = 0; y < m->rows; ++y) {
          const uint8_t* p = m->ptr<uint8_t>(y);
          for (size_t k = 0; k < m->cols * m->elemSize(); ++k) h = mix64(h ^ p[k]);
        }
    }
    EXPECT_EQ(h, digest) << classes.size() << " classes starting with " << classes[0];
  }
}

TEST(Synthetic, RingHolesShowTheBackground) {
  SyntheticOptions o;
  o.num_images = 40;
  o.image_size = 64;
  o.min_shapes = o.max_shapes = 1;
  o.min_shape_scale = 0.2;
  o.max_shape_scale = 0.3;
  o.classes = {"grass", "red ring"};
  SyntheticDataset ds(o);
  int checked = 0;
  for (size_t i = 0; i < ds.size(); ++i) {
    const Sample s = ds.get(i);
    std::vector<cv::Point> ring;
    cv::findNonZero(s.label == 1, ring);
    ASSERT_FALSE(ring.empty());
    const cv::Rect box = cv::boundingRect(ring);
    if (box.x == 0 || box.y == 0 || box.br().x == 64 || box.br().y == 64) continue;  // cut by the border
    const cv::Point centre(box.x + box.width / 2, box.y + box.height / 2);
    EXPECT_EQ(s.label.at<int32_t>(centre), 0) << "scene " << i;  // labelled grass
    const cv::Vec3b px = s.image.at<cv::Vec3b>(centre);          // and not painted red
    EXPECT_LT(int(px[0]) - int(px[1]), 60) << "scene " << i;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(Synthetic, GeometryVariantsDifferOnlyInGeometry) {
  SyntheticOptions o;
  o.num_images = 36;
  o.image_size = 64;
  o.seed = 9;
  o.captions = true;
  o.classes = {"grass", "sky", "red circle", "red square", "red star", "blue ring", "blue cross", "green circle"};
  o.min_shapes = o.max_shapes = 1;  // one object: where two variants both show an object, it is the same one
  SyntheticDataset plain(o);
  o.geometry_variants = 3;
  SyntheticDataset groups(o);
  EXPECT_EQ(plain.sample_group(), 1);
  EXPECT_EQ(groups.sample_group(), 3);
  const auto& names = groups.class_names();
  auto colour = [](const std::string& n) { return n.substr(0, n.find(' ')); };
  int changed = 0, red_pixels = 0;
  for (size_t k = 0; k < groups.size(); k += 3) {
    std::vector<Sample> v = {groups.get(k), groups.get(k + 1), groups.get(k + 2)};
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) {
        const int l0 = v[0].label.at<int32_t>(y, x);
        for (size_t j = 1; j < 3; ++j) {
          const int lj = v[j].label.at<int32_t>(y, x);
          if (l0 < 2 && lj < 2) {  // background in both: the same class and the same pixel
            ASSERT_EQ(l0, lj);
            ASSERT_EQ(v[0].image.at<cv::Vec3b>(y, x), v[j].image.at<cv::Vec3b>(y, x));
          }
          if (l0 >= 2 && lj >= 2) {  // object in both: the same colour word
            ASSERT_EQ(colour(names[size_t(l0)]), colour(names[size_t(lj)]));
            changed += l0 != lj;
            if (names[size_t(l0)] == "green circle") ASSERT_EQ(l0, lj);  // no other green class
          }
        }
        // Red has three geometries: the three variants of a red pixel are three different classes.
        const int l1 = v[1].label.at<int32_t>(y, x), l2 = v[2].label.at<int32_t>(y, x);
        if (colour(names[size_t(l0)]) == "red" && l1 >= 2 && l2 >= 2 && colour(names[size_t(l1)]) == "red" &&
            colour(names[size_t(l2)]) == "red") {
          ++red_pixels;
          ASSERT_TRUE(l0 != l1 && l1 != l2 && l0 != l2) << "scene " << k << " at " << x << "," << y;
        }
      }
    const auto c0 = groups.content(k), c1 = groups.content(k + 1);
    if (!c0.objects.empty() && c0.objects != c1.objects) EXPECT_NE(v[0].caption, v[1].caption);
  }
  EXPECT_GT(changed, 0);
  EXPECT_GT(red_pixels, 0);
  o.num_images = 37;
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
  o.num_images = 36;
  o.geometry_variants = 7;
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
}

TEST(Synthetic, ObjectViewsAreCloseUpsOfOneObject) {
  SyntheticOptions o;
  o.num_images = 60;
  o.image_size = 48;
  o.seed = 12;
  o.captions = true;
  SyntheticDataset whole(o);
  o.object_views = 1.0;
  SyntheticDataset views(o);
  const int S = o.image_size;
  const auto& names = views.class_names();
  for (size_t i = 0; i < views.size(); ++i) {
    const Sample w = whole.get(i), v = views.get(i);
    ASSERT_EQ(v.image.size(), w.image.size());
    ASSERT_EQ(v.label.size(), w.label.size());
    // A close-up shows one object of the scene's classes on the scene's largest background, and names it alone.
    std::map<int, int> scene_area, view_area;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        ++scene_area[w.label.at<int32_t>(y, x)];
        ++view_area[v.label.at<int32_t>(y, x)];
      }
    ASSERT_EQ(view_area.size(), 2u) << "scene " << i;
    const int ground = view_area.begin()->first, object = view_area.rbegin()->first;  // backgrounds come first
    ASSERT_LT(ground, 8);
    ASSERT_GE(object, 8);
    for (const auto& [c, area] : scene_area)
      if (c < 8) EXPECT_LE(area, scene_area[ground]) << "scene " << i << ": " << names[size_t(c)] << " is larger";
    const auto content = views.content(i);
    EXPECT_TRUE(content.backgrounds.empty());
    EXPECT_EQ(content.objects, std::vector<std::string>{names[size_t(object)]}) << "scene " << i;
    const cv::Rect box = cv::boundingRect(v.label == object);
    EXPECT_GE(std::max(box.width, box.height), S / 2) << "scene " << i;  // framed with a 25 % margin
  }

  o.object_views = 0.5;
  SyntheticDataset half(o);
  int shown = 0;
  for (size_t i = 0; i < half.size(); ++i) shown += !same(half.get(i).image, whole.get(i).image);
  EXPECT_GT(shown, 15);
  EXPECT_LT(shown, 45);

  // The variants of a group share the close-up's draws: an object of the same colour and, unless the variants'
  // objects hide the scene's backgrounds differently enough to change the largest, the same background.
  o.object_views = 1.0;
  o.geometry_variants = 3;
  o.classes = {"grass", "sky", "red circle", "red square", "red star", "blue ring", "blue cross"};
  SyntheticDataset groups(o);
  auto classes_of = [&](const cv::Mat& label) {
    std::set<int> in;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) in.insert(label.at<int32_t>(y, x));
    return in;
  };
  const auto& group_names = groups.class_names();
  auto colour = [&](int c) { return group_names[size_t(c)].substr(0, group_names[size_t(c)].find(' ')); };
  int geometries_differ = 0, same_ground = 0, pairs = 0;
  for (size_t k = 0; k < groups.size(); k += 3) {
    const auto a = classes_of(groups.get(k).label);
    for (size_t j = 1; j < 3; ++j) {
      const auto b = classes_of(groups.get(k + j).label);
      ASSERT_EQ(a.size(), 2u);
      ASSERT_EQ(b.size(), 2u);
      same_ground += *a.begin() == *b.begin();
      ++pairs;
      EXPECT_EQ(colour(*a.rbegin()), colour(*b.rbegin())) << "group " << k;
      geometries_differ += *a.rbegin() != *b.rbegin();
    }
  }
  EXPECT_GT(geometries_differ, 0);
  EXPECT_GE(same_ground * 10, pairs * 8);
  o.object_views = 1.5;
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
}

TEST(Synthetic, LabelClassesIgnoreTheOthers) {
  SyntheticOptions o;
  o.num_images = 24;
  o.image_size = 48;
  o.seed = 5;
  o.captions = true;
  SyntheticDataset full(o);
  o.label_classes = {"red star", "sky", "grass", "snow", "blue ring", "wood", "cyan cross", "water"};
  SyntheticDataset split(o);
  EXPECT_EQ(split.class_names(), o.label_classes);
  EXPECT_EQ(split.num_classes(), 8);
  EXPECT_EQ(split.scene_classes(), synthetic_class_catalog());
  const auto& scene_names = full.class_names();
  int64_t ignored = 0, labelled = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    const Sample a = full.get(i), b = split.get(i);
    EXPECT_TRUE(same(a.image, b.image));  // the scenes do not depend on the label classes
    EXPECT_EQ(a.caption, b.caption);
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        const std::string& name = scene_names[size_t(a.label.at<int32_t>(y, x))];
        const auto it = std::find(o.label_classes.begin(), o.label_classes.end(), name);
        const int expected = it == o.label_classes.end() ? 255 : int(it - o.label_classes.begin());
        ASSERT_EQ(b.label.at<int32_t>(y, x), expected) << name << " in scene " << i;
        (expected == 255 ? ignored : labelled)++;
      }
  }
  EXPECT_GT(ignored, 0);
  EXPECT_GT(labelled, 0);
}

TEST(Synthetic, LabelClassErrors) {
  SyntheticOptions o;
  o.classes = {"sky", "grass", "red circle"};
  o.label_classes = {"sky", "red square"};
  try {
    SyntheticDataset ds(o);
    ADD_FAILURE() << "a label class outside the scene classes was accepted";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'red square'"), std::string::npos) << e.what();
  }
  o.label_classes = {"sky", "sky"};
  EXPECT_THROW(SyntheticDataset{o}, pat::Error);
  o.label_classes = {"red circle"};  // only objects labelled: fine, the rest is ignored
  SyntheticDataset ds(o);
  EXPECT_EQ(ds.num_classes(), 1);
  o.classes = {};
  o.label_classes = {"grass", "magenta circle"};
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
