#include <algorithm>
#include <map>

#include "pat/core/error.h"
#include "pat/data/synthetic_crop.h"
#include "test_support.h"

using namespace pat::data;

namespace {

/// Fractions of the pixels of an RGB image that are clearly red and clearly blue.
std::pair<double, double> red_blue_fractions(const cv::Mat& image) {
  int red = 0, blue = 0;
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) {
      const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
      red += p[0] > p[1] + 70 && p[0] > p[2] + 70;
      blue += p[2] > p[0] + 70 && p[2] > p[1] + 40;
    }
  const double n = double(image.total());
  return {red / n, blue / n};
}

}  // namespace

TEST(SyntheticCrop, DeterministicSizedAndFromTheCatalogue) {
  SyntheticOptions o;
  o.image_size = 64;
  o.seed = 2;
  const auto catalog = synthetic_class_catalog();
  std::map<std::string, int> seen;
  for (size_t i = 0; i < 40; ++i) {
    const LabelledCrop a = synthetic_object_crop(o, i), b = synthetic_object_crop(o, i);
    ASSERT_EQ(a.image.type(), CV_8UC3);
    ASSERT_EQ(a.image.size(), cv::Size(64, 64));
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(cv::norm(a.image, b.image, cv::NORM_INF), 0);
    const auto it = std::find(catalog.begin(), catalog.end(), a.name);
    ASSERT_NE(it, catalog.end()) << a.name;
    EXPECT_GE(it - catalog.begin(), 8) << "a background named as the object: " << a.name;
    ++seen[a.name];
  }
  EXPECT_GE(seen.size(), 20u);  // uniform over the 48 object classes
  SyntheticOptions other = o;
  other.seed = 3;
  EXPECT_GT(cv::norm(synthetic_object_crop(o, 0).image, synthetic_object_crop(other, 0).image, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(synthetic_object_crop(o, 0).image, synthetic_object_crop(o, 1).image, cv::NORM_INF), 0);
}

TEST(SyntheticCrop, TheCropShowsTheNamedObject) {
  // Red and blue objects on grass: the colour of the crop's object must match its name, and a ring's
  // centre shows the grass through its hole while a circle's centre is the object.
  SyntheticOptions o;
  o.image_size = 48;
  o.seed = 8;
  o.classes = {"grass", "red circle", "red ring", "blue circle", "blue ring"};
  std::map<std::string, int> seen;
  for (size_t i = 0; i < 60; ++i) {
    const LabelledCrop crop = synthetic_object_crop(o, i);
    ++seen[crop.name];
    const auto [red, blue] = red_blue_fractions(crop.image);
    const bool is_red = crop.name.rfind("red", 0) == 0;
    EXPECT_GT(is_red ? red : blue, 0.12) << crop.name << " crop " << i;
    EXPECT_LT(is_red ? blue : red, 0.01) << crop.name << " crop " << i;
    const auto centre = red_blue_fractions(crop.image(cv::Rect(22, 22, 4, 4)));
    const double centre_fraction = is_red ? centre.first : centre.second;
    if (crop.name.find("ring") != std::string::npos)
      EXPECT_LT(centre_fraction, 0.5) << crop.name << " crop " << i;
    else
      EXPECT_GT(centre_fraction, 0.5) << crop.name << " crop " << i;
  }
  EXPECT_EQ(seen.size(), 4u);
  for (const auto& [name, count] : seen) EXPECT_GE(count, 5) << name;
}

TEST(SyntheticCrop, Errors) {
  SyntheticOptions o;
  o.classes = {"sky", "grass"};
  try {
    synthetic_object_crop(o, 0);
    ADD_FAILURE() << "crops without object classes were accepted";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no object class"), std::string::npos) << e.what();
  }
  o.classes = {"grass", "red hexagon"};
  EXPECT_THROW(synthetic_object_crop(o, 0), pat::Error);
  o.classes = {"green star"};  // no background listed: any catalogue background
  EXPECT_EQ(synthetic_object_crop(o, 4).name, "green star");
  o.image_size = 8;
  EXPECT_THROW(synthetic_object_crop(o, 0), pat::Error);
}
