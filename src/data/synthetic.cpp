#include "pat/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/data/class_list.h"
#include "pat/data/image_io.h"
#include "pat/data/rng.h"

namespace fs = std::filesystem;

namespace pat::data {
namespace {

constexpr double kTwoPi = 6.283185307179586;
enum Background { kSky = 0, kGrass, kWater, kRoad, kWall, kSand, kNumBackgrounds };
const char* kBackgroundNames[] = {"sky", "grass", "water", "road", "wall", "sand"};
const char* kColours[] = {"red", "green", "blue", "yellow"};
const char* kGeometries[] = {"circle", "square", "triangle", "star"};

struct Texture {
  int kind = 0;
  double base[3] = {0, 0, 0};
  double alt[3] = {0, 0, 0};
  double amp = 0, freq = 0, phase = 0, angle = 0, noise = 0, extra = 0;
  int brick_w = 1, brick_h = 1;
};

Texture make_texture(int kind, Rng& r, int size) {
  Texture t;
  t.kind = kind;
  const double s = size / 112.0;
  auto set = [](double* c, double a, double b, double d) { c[0] = a, c[1] = b, c[2] = d; };
  switch (kind) {
    case kSky:
      set(t.base, r.uniform(100, 175), r.uniform(150, 210), r.uniform(210, 255));
      t.extra = r.uniform(10, 40);  // lighter towards the horizon
      t.amp = r.uniform(0, 18);     // soft clouds
      t.freq = r.uniform(0.02, 0.06) / s;
      t.phase = r.uniform(0, kTwoPi);
      t.noise = 3;
      break;
    case kWater:
      set(t.base, r.uniform(20, 95), r.uniform(80, 160), r.uniform(150, 230));
      t.amp = r.uniform(12, 30);
      t.freq = r.uniform(0.08, 0.22) / s;
      t.phase = r.uniform(0, kTwoPi);
      t.noise = 5;
      break;
    case kGrass:
      set(t.base, r.uniform(40, 115), r.uniform(110, 190), r.uniform(25, 90));
      t.noise = r.uniform(15, 32);
      t.amp = r.uniform(4, 12);
      t.freq = r.uniform(0.4, 0.9) / s;
      break;
    case kRoad: {
      const double g = r.uniform(70, 150);
      set(t.base, g, g, g + r.uniform(-8, 8));
      t.noise = r.uniform(6, 14);
      t.extra = r.bernoulli(0.5) ? r.uniform(0.3, 0.8) * size : -1;  // dashed line row
      t.brick_w = std::max(4, int(r.uniform(8, 16) * s));
      break;
    }
    case kWall: {
      const int family = int(r.randint(0, 3));
      if (family == 0)
        set(t.base, r.uniform(140, 200), r.uniform(60, 110), r.uniform(40, 90));
      else if (family == 1)
        set(t.base, r.uniform(170, 220), r.uniform(150, 200), r.uniform(120, 170));
      else {
        const double g = r.uniform(100, 170);
        set(t.base, g, g, g);
      }
      const double m = r.bernoulli(0.5) ? r.uniform(40, 70) : -r.uniform(40, 70);
      set(t.alt, t.base[0] + m, t.base[1] + m, t.base[2] + m);  // mortar
      t.brick_w = std::max(6, int(r.uniform(12, 24) * s));
      t.brick_h = std::max(3, t.brick_w / 2);
      t.noise = 5;
      t.phase = double(r.randint(0, 1 << 20));
      break;
    }
    case kSand:
      set(t.base, r.uniform(180, 235), r.uniform(160, 210), r.uniform(110, 165));
      t.amp = r.uniform(6, 16);
      t.freq = r.uniform(0.06, 0.16) / s;
      t.angle = r.uniform(0, kTwoPi);
      t.noise = r.uniform(6, 12);
      break;
  }
  return t;
}

void texel(const Texture& t, int x, int y, int size, Rng& r, double out[3]) {
  double d = 0;  // common offset
  double c[3] = {t.base[0], t.base[1], t.base[2]};
  switch (t.kind) {
    case kSky:
      d = t.extra * y / size + t.amp * std::sin(x * t.freq + t.phase) * std::sin(y * t.freq * 1.7 + t.phase * 0.5);
      break;
    case kWater:
      d = t.amp * std::sin(kTwoPi * t.freq * y + 0.8 * std::sin(kTwoPi * t.freq * x / 3 + t.phase));
      break;
    case kGrass:
      d = t.amp * std::sin(x * t.freq + 0.3 * y);
      break;
    case kRoad:
      if (t.extra >= 0 && std::abs(y - t.extra) < 1.5 && (x / t.brick_w) % 2 == 0) {
        c[0] = 235, c[1] = 230, c[2] = 200;
      }
      break;
    case kWall: {
      const int row = y / t.brick_h;
      const int xs = x + (row % 2) * (t.brick_w / 2);
      const int col = xs / t.brick_w;
      if (y % t.brick_h == 0 || xs % t.brick_w == 0) {
        c[0] = t.alt[0], c[1] = t.alt[1], c[2] = t.alt[2];
      } else {  // per-brick shade from a hash of the brick coordinates
        d = double(mix64(uint64_t(row) * 7919u + uint64_t(col) * 104729u + uint64_t(t.phase)) % 31) - 15.0;
      }
      break;
    }
    case kSand:
      d = t.amp * std::sin(kTwoPi * t.freq * (x * std::cos(t.angle) + y * std::sin(t.angle)));
      break;
  }
  if (t.noise > 0) d += t.noise * (2.0 * r.uniform() - 1.0);
  for (int k = 0; k < 3; ++k) out[k] = c[k] + d;
}

void shape_colour(int colour, Rng& r, double out[3]) {
  switch (colour) {
    case 0:
      out[0] = r.uniform(180, 245), out[1] = r.uniform(15, 75), out[2] = r.uniform(15, 75);
      break;
    case 1:
      out[0] = r.uniform(25, 85), out[1] = r.uniform(145, 215), out[2] = r.uniform(35, 95);
      break;
    case 2:
      out[0] = r.uniform(25, 85), out[1] = r.uniform(55, 115), out[2] = r.uniform(175, 245);
      break;
    default:
      out[0] = r.uniform(205, 250), out[1] = r.uniform(185, 240), out[2] = r.uniform(15, 85);
      break;
  }
}

std::vector<cv::Point> shape_polygon(int geometry, double cx, double cy, double radius, double rotation) {
  std::vector<cv::Point> pts;
  auto add = [&](double a, double rr) {
    pts.emplace_back(int(std::lround(cx + rr * std::cos(a))), int(std::lround(cy + rr * std::sin(a))));
  };
  switch (geometry) {
    case 0:
      for (int k = 0; k < 48; ++k) add(kTwoPi * k / 48, radius);
      break;
    case 1:
      for (int k = 0; k < 4; ++k) add(rotation + kTwoPi * k / 4 + kTwoPi / 8, radius);
      break;
    case 2:
      for (int k = 0; k < 3; ++k) add(rotation + kTwoPi * k / 3, radius);
      break;
    default:
      for (int k = 0; k < 10; ++k) add(rotation + kTwoPi * k / 10, k % 2 == 0 ? radius : 0.42 * radius);
      break;
  }
  return pts;
}

}  // namespace

std::vector<std::string> synthetic_class_catalog() {
  std::vector<std::string> names(std::begin(kBackgroundNames), std::end(kBackgroundNames));
  for (const char* c : kColours)
    for (const char* g : kGeometries) names.push_back(std::string(c) + " " + g);
  return names;
}

SyntheticDataset::SyntheticDataset(SyntheticOptions options) : options_(std::move(options)) {
  PAT_CHECK(options_.num_images >= 1, "synthetic: num_images must be >= 1, got ", options_.num_images);
  PAT_CHECK(options_.image_size >= 16, "synthetic: image_size must be >= 16, got ", options_.image_size);
  PAT_CHECK(options_.min_shapes >= 0 && options_.max_shapes >= options_.min_shapes,
            "synthetic: need 0 <= min_shapes <= max_shapes, got ", options_.min_shapes, ", ", options_.max_shapes);
  PAT_CHECK(options_.min_shape_scale > 0 && options_.max_shape_scale >= options_.min_shape_scale,
            "synthetic: bad shape scale range");
  PAT_CHECK(options_.noise_std >= 0, "synthetic: noise_std must be >= 0");
  const auto catalog = synthetic_class_catalog();
  classes_ = options_.classes.empty() ? catalog : options_.classes;
  validate_class_names(classes_, "synthetic classes");
  bool has_background = false;
  for (const auto& c : classes_) {
    auto it = std::find(catalog.begin(), catalog.end(), c);
    PAT_CHECK(it != catalog.end(), "synthetic: unknown class '", c, "' (see synthetic_class_catalog())");
    catalog_ids_.push_back(int(it - catalog.begin()));
    has_background = has_background || catalog_ids_.back() < kNumBackgrounds;
  }
  PAT_CHECK(has_background, "synthetic: the class subset needs at least one background class (sky, grass, ...)");
}

Sample SyntheticDataset::get(size_t index) const {
  PAT_CHECK(index < size(), "synthetic: index ", index, " out of range (size ", size(), ")");
  const int S = options_.image_size;
  Rng r(mix64(options_.seed) ^ mix64(0xC0FFEEull + index));

  std::vector<int> grounds, shapes;  // class ids (positions in classes_)
  int sky = -1;
  for (size_t i = 0; i < catalog_ids_.size(); ++i) {
    const int c = catalog_ids_[i];
    if (c == kSky)
      sky = int(i);
    else if (c < kNumBackgrounds)
      grounds.push_back(int(i));
    else
      shapes.push_back(int(i));
  }

  // Background regions.
  cv::Mat label(S, S, CV_32SC1);
  const int base = grounds.empty() ? sky : grounds[size_t(r.randint(0, int64_t(grounds.size())))];
  label.setTo(base);
  if (sky >= 0 && !grounds.empty() && r.bernoulli(0.65)) {
    const double level = S * r.uniform(0.2, 0.55), amp = S * r.uniform(0, 0.06);
    const double period = S * r.uniform(0.5, 2.0), phase = r.uniform(0, kTwoPi);
    for (int x = 0; x < S; ++x) {
      const int top = int(level + amp * std::sin(kTwoPi * x / period + phase));
      for (int y = 0; y < std::min(top, S); ++y) label.at<int32_t>(y, x) = sky;
    }
  }
  if (grounds.size() >= 2 && r.bernoulli(0.6)) {
    int second = grounds[size_t(r.randint(0, int64_t(grounds.size())))];
    if (second == base)
      second = grounds[(std::find(grounds.begin(), grounds.end(), base) - grounds.begin() + 1) % grounds.size()];
    const double px = S * r.uniform(0.2, 0.8), py = S * r.uniform(0.45, 0.9), a = r.uniform(0, kTwoPi);
    const double wamp = S * r.uniform(0, 0.05), wfreq = r.uniform(1, 3) * kTwoPi / S;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const double side = (x - px) * std::sin(a) - (y - py) * std::cos(a) + wamp * std::sin(wfreq * (x + y));
        if (side > 0 && label.at<int32_t>(y, x) != sky) label.at<int32_t>(y, x) = second;
      }
  }

  // Textures for each background class present.
  std::vector<Texture> textures(classes_.size());
  for (size_t i = 0; i < classes_.size(); ++i)
    if (catalog_ids_[i] < kNumBackgrounds) textures[i] = make_texture(catalog_ids_[i], r, S);
  cv::Mat canvas(S, S, CV_32FC3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      double c[3];
      texel(textures[size_t(label.at<int32_t>(y, x))], x, y, S, r, c);
      canvas.at<cv::Vec3f>(y, x) = cv::Vec3f(float(c[0]), float(c[1]), float(c[2]));
    }

  // Shapes, later ones occluding earlier ones.
  if (!shapes.empty()) {
    const int count = int(r.randint(options_.min_shapes, options_.max_shapes + 1));
    cv::Mat mask(S, S, CV_8UC1);
    for (int k = 0; k < count; ++k) {
      const int cls = shapes[size_t(r.randint(0, int64_t(shapes.size())))];
      const int id = catalog_ids_[size_t(cls)] - kNumBackgrounds;
      const double radius = S * r.uniform(options_.min_shape_scale, options_.max_shape_scale);
      const double cx = r.uniform(0.3 * radius, S - 0.3 * radius), cy = r.uniform(0.3 * radius, S - 0.3 * radius);
      const double rotation = r.uniform(0, kTwoPi);
      double colour[3];
      shape_colour(id / 4, r, colour);
      const double gx = r.uniform(-1, 1), gy = r.uniform(-1, 1), shade = r.uniform(0.05, 0.2);
      mask.setTo(0);
      const std::vector<std::vector<cv::Point>> poly = {shape_polygon(id % 4, cx, cy, radius, rotation)};
      cv::fillPoly(mask, poly, cv::Scalar(1), cv::LINE_8);
      for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
          if (!mask.at<uint8_t>(y, x)) continue;
          const double f = 1.0 + shade * ((x - cx) * gx + (y - cy) * gy) / radius;
          canvas.at<cv::Vec3f>(y, x) = cv::Vec3f(float(colour[0] * f), float(colour[1] * f), float(colour[2] * f));
          label.at<int32_t>(y, x) = cls;
        }
    }
  }

  if (options_.noise_std > 0) {
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        cv::Vec3f& p = canvas.at<cv::Vec3f>(y, x);
        for (int k = 0; k < 3; ++k) p[k] += float(options_.noise_std * r.normal());
      }
  }

  Sample s;
  canvas.convertTo(s.image, CV_8UC3);  // rounds and saturates
  s.label = label;
  s.ignore_label = 255;
  s.index = int64_t(index);
  char name[32];
  std::snprintf(name, sizeof(name), "synth_%06zu", index);
  s.name = name;
  s.original_height = s.original_width = S;
  return s;
}

DatasetSpec write_synthetic_dataset(const SyntheticDataset& dataset, const std::string& root) {
  const std::string images = (fs::path(root) / "images").string(), labels = (fs::path(root) / "labels").string();
  ensure_directory(images, "synthetic images folder");
  ensure_directory(labels, "synthetic labels folder");
  for (size_t i = 0; i < dataset.size(); ++i) {
    const Sample s = dataset.get(i);
    write_image(images + "/" + s.name + ".png", s.image);
    write_label(labels + "/" + s.name + ".png", s.label, LabelDepth::kU8);
  }
  save_class_names((fs::path(root) / "classes.json").string(), dataset.class_names());
  return generic_dataset_spec(root, "synthetic");
}

}  // namespace pat::data
