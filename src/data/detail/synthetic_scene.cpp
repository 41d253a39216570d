#include "data/detail/synthetic_scene.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"

namespace pat::data::detail {

const char* const kSceneBackgroundNames[kSceneBackgrounds] = {"sky",  "grass", "water", "road",
                                                              "wall", "sand",  "snow",  "wood"};
const char* const kSceneColourNames[kSceneColours] = {"red",    "green",  "blue", "yellow",
                                                      "orange", "purple", "pink", "cyan"};
const char* const kSceneGeometryNames[kSceneGeometries] = {"circle", "square", "triangle", "star", "cross", "ring"};

namespace {

constexpr double kSceneTwoPi = 6.283185307179586;
enum BackgroundKind { kSky = 0, kGrass, kWater, kRoad, kWall, kSand, kSnow, kWood };
enum GeometryKind { kCircle = 0, kSquare, kTriangle, kStar, kCross, kRing };

/// Parameters of one background's texture (the fields each kind uses are set in `make_texture`).
struct Texture {
  int kind = 0;
  double base[3] = {0, 0, 0};
  double alt[3] = {0, 0, 0};
  double amp = 0, freq = 0, phase = 0, angle = 0, noise = 0, extra = 0;
  int brick_w = 1, brick_h = 1;
  bool vertical = false;  // wood: boards run top to bottom
  // Terms that depend on x alone or y alone, computed once per scene (`prepare_texture`; texel values
  // are the same as computing them per pixel).
  std::vector<double> along_x, along_y;
  double ca = 1, sa = 0;  // cos and sin of `angle`
};

void set_rgb(double* c, double a, double b, double d) {
  c[0] = a, c[1] = b, c[2] = d;
}

Texture make_texture(int kind, Rng& r, int size) {
  Texture t;
  t.kind = kind;
  const double s = size / 112.0;
  switch (kind) {
    case kSky:
      set_rgb(t.base, r.uniform(100, 175), r.uniform(150, 210), r.uniform(210, 255));
      t.extra = r.uniform(10, 40);  // lighter towards the horizon
      t.amp = r.uniform(0, 18);     // soft clouds
      t.freq = r.uniform(0.02, 0.06) / s;
      t.phase = r.uniform(0, kSceneTwoPi);
      t.noise = 3;
      break;
    case kWater:
      set_rgb(t.base, r.uniform(20, 95), r.uniform(80, 160), r.uniform(150, 230));
      t.amp = r.uniform(12, 30);
      t.freq = r.uniform(0.08, 0.22) / s;
      t.phase = r.uniform(0, kSceneTwoPi);
      t.noise = 5;
      break;
    case kGrass:
      set_rgb(t.base, r.uniform(40, 115), r.uniform(110, 190), r.uniform(25, 90));
      t.noise = r.uniform(15, 32);
      t.amp = r.uniform(4, 12);
      t.freq = r.uniform(0.4, 0.9) / s;
      break;
    case kRoad: {
      const double g = r.uniform(70, 150);
      set_rgb(t.base, g, g, g + r.uniform(-8, 8));
      t.noise = r.uniform(6, 14);
      t.extra = r.bernoulli(0.5) ? r.uniform(0.3, 0.8) * size : -1;  // dashed line row
      t.brick_w = std::max(4, int(r.uniform(8, 16) * s));
      break;
    }
    case kWall: {
      const int family = int(r.randint(0, 3));
      if (family == 0)
        set_rgb(t.base, r.uniform(140, 200), r.uniform(60, 110), r.uniform(40, 90));
      else if (family == 1)
        set_rgb(t.base, r.uniform(170, 220), r.uniform(150, 200), r.uniform(120, 170));
      else {
        const double g = r.uniform(100, 170);
        set_rgb(t.base, g, g, g);
      }
      const double m = r.bernoulli(0.5) ? r.uniform(40, 70) : -r.uniform(40, 70);
      set_rgb(t.alt, t.base[0] + m, t.base[1] + m, t.base[2] + m);  // mortar
      t.brick_w = std::max(6, int(r.uniform(12, 24) * s));
      t.brick_h = std::max(3, t.brick_w / 2);
      t.noise = 5;
      t.phase = double(r.randint(0, 1 << 20));
      break;
    }
    case kSand:
      set_rgb(t.base, r.uniform(180, 235), r.uniform(160, 210), r.uniform(110, 165));
      t.amp = r.uniform(6, 16);
      t.freq = r.uniform(0.06, 0.16) / s;
      t.angle = r.uniform(0, kSceneTwoPi);
      t.noise = r.uniform(6, 12);
      break;
    case kSnow: {
      // Near-white with a blue cast; its range reaches into the light end of the sky's.
      const double g = r.uniform(195, 245);
      set_rgb(t.base, g - r.uniform(4, 22), g, std::min(255.0, g + r.uniform(4, 18)));
      t.amp = r.uniform(5, 16);  // drifts
      t.freq = r.uniform(0.03, 0.09) / s;
      t.angle = r.uniform(0, kSceneTwoPi);
      t.phase = r.uniform(0, kSceneTwoPi);
      t.extra = r.uniform(0.005, 0.03);  // sparkle probability
      t.noise = r.uniform(3, 7);
      break;
    }
    case kWood: {
      // Reddish, beige or dark brown: the first two overlap the wall's bricks and the sand.
      const int family = int(r.randint(0, 3));
      if (family == 0)
        set_rgb(t.base, r.uniform(140, 195), r.uniform(75, 115), r.uniform(40, 80));
      else if (family == 1)
        set_rgb(t.base, r.uniform(175, 225), r.uniform(135, 180), r.uniform(90, 140));
      else
        set_rgb(t.base, r.uniform(90, 140), r.uniform(55, 90), r.uniform(30, 60));
      const double gap = r.uniform(35, 65);
      set_rgb(t.alt, t.base[0] - gap, t.base[1] - gap, t.base[2] - gap);  // seams between boards
      t.brick_w = std::max(5, int(r.uniform(10, 22) * s));                // board width
      t.brick_h = std::max(t.brick_w * 2, int(r.uniform(40, 110) * s));   // board length
      t.amp = r.uniform(6, 16);                                           // grain
      t.freq = r.uniform(0.6, 1.4) / s;
      t.extra = r.uniform(0.5, 2.5);  // grain wobble
      t.vertical = r.bernoulli(0.5);
      t.noise = r.uniform(4, 8);
      t.phase = double(r.randint(0, 1 << 20));
      break;
    }
    default:
      PAT_ASSERT(false, "synthetic: unknown background kind ", kind);
  }
  return t;
}

/// Fills the per-row and per-column terms of `t` (no random draws).
void prepare_texture(Texture& t, int size) {
  t.ca = std::cos(t.angle), t.sa = std::sin(t.angle);
  t.along_x.resize(size_t(size));
  t.along_y.resize(size_t(size));
  for (int i = 0; i < size; ++i) {
    double ax = 0, ay = 0;
    switch (t.kind) {
      case kSky:
        ax = std::sin(i * t.freq + t.phase), ay = std::sin(i * t.freq * 1.7 + t.phase * 0.5);
        break;
      case kWater:
        ax = std::sin(kSceneTwoPi * t.freq * i / 3 + t.phase);
        break;
      case kSnow:  // the wobble of the drifts, across them
        ax = ay = std::sin(0.6 * t.freq * i + t.phase);
        break;
      case kWood:  // the wobble of the grain, along the boards
        ax = ay = std::sin(0.11 * i + t.phase);
        break;
    }
    t.along_x[size_t(i)] = ax, t.along_y[size_t(i)] = ay;
  }
}

/// Hash shade in [-range, range] of a cell (a brick or a board).
double cell_shade(int64_t a, int64_t b, double salt, int range) {
  return double(mix64(uint64_t(a) * 7919u + uint64_t(b) * 104729u + uint64_t(salt)) % uint64_t(2 * range + 1)) -
         double(range);
}

void texel(const Texture& t, int x, int y, int size, Rng& r, double out[3]) {
  double d = 0;  // common offset
  double c[3] = {t.base[0], t.base[1], t.base[2]};
  switch (t.kind) {
    case kSky:
      d = t.extra * y / size + t.amp * t.along_x[size_t(x)] * t.along_y[size_t(y)];
      break;
    case kWater:
      d = t.amp * std::sin(kSceneTwoPi * t.freq * y + 0.8 * t.along_x[size_t(x)]);
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
        d = cell_shade(row, col, t.phase, 15);
      }
      break;
    }
    case kSand:
      d = t.amp * std::sin(kSceneTwoPi * t.freq * (x * t.ca + y * t.sa));
      break;
    case kSnow: {
      // Drifts run across direction `angle`, wobbling along the other axis.
      const double wobble = std::abs(t.ca) > std::abs(t.sa) ? t.along_y[size_t(y)] : t.along_x[size_t(x)];
      const double drift = t.amp * std::sin(t.freq * (x * t.ca + y * t.sa) + 1.3 * wobble);
      // Shadows in the drifts turn blue rather than grey.
      c[0] += 1.2 * drift, c[1] += drift, c[2] += 0.5 * drift;
      if (r.uniform() < t.extra) d = r.uniform(20, 50);  // sparkle
      break;
    }
    case kWood: {
      const int u = t.vertical ? y : x, v = t.vertical ? x : y;  // along / across the boards
      const int board = v / t.brick_w;
      const int joint = int(mix64(uint64_t(board) + uint64_t(t.phase)) % uint64_t(t.brick_h));
      if (v % t.brick_w == 0 || (u + joint) % t.brick_h == 0) {
        c[0] = t.alt[0], c[1] = t.alt[1], c[2] = t.alt[2];
      } else {
        const int plank = (u + joint) / t.brick_h;
        const double grain = std::sin(t.freq * v + 2.3 * board + t.extra * t.along_x[size_t(u)]);
        d = cell_shade(board, plank, t.phase, 14) + t.amp * grain;
      }
      break;
    }
  }
  if (t.noise > 0) d += t.noise * (2.0 * r.uniform() - 1.0);
  for (int k = 0; k < 3; ++k) out[k] = c[k] + d;
}

/// Base RGB of a shape of colour `colour` (catalogue colour index).
void shape_colour(int colour, Rng& r, double out[3]) {
  switch (colour) {
    case 0:  // red
      out[0] = r.uniform(180, 245), out[1] = r.uniform(15, 75), out[2] = r.uniform(15, 75);
      break;
    case 1:  // green
      out[0] = r.uniform(25, 85), out[1] = r.uniform(145, 215), out[2] = r.uniform(35, 95);
      break;
    case 2:  // blue
      out[0] = r.uniform(25, 85), out[1] = r.uniform(55, 115), out[2] = r.uniform(175, 245);
      break;
    case 3:  // yellow
      out[0] = r.uniform(205, 250), out[1] = r.uniform(185, 240), out[2] = r.uniform(15, 85);
      break;
    case 4:  // orange: hue about 25 degrees
      out[0] = r.uniform(205, 250), out[1] = r.uniform(100, 145), out[2] = r.uniform(5, 55);
      break;
    case 5:  // purple: hue about 275 degrees
      out[0] = r.uniform(105, 160), out[1] = r.uniform(25, 75), out[2] = r.uniform(150, 215);
      break;
    case 6:  // pink: hue about 330 degrees, light
      out[0] = r.uniform(215, 255), out[1] = r.uniform(95, 160), out[2] = r.uniform(165, 220);
      break;
    case 7:  // cyan: hue about 185 degrees
      out[0] = r.uniform(5, 65), out[1] = r.uniform(180, 235), out[2] = r.uniform(190, 245);
      break;
    default:
      PAT_ASSERT(false, "synthetic: unknown colour ", colour);
  }
}

/// Outline of a filled geometry (a ring's outer circle; its hole is drawn separately).
std::vector<cv::Point> shape_polygon(int geometry, double cx, double cy, double radius, double rotation) {
  std::vector<cv::Point> pts;
  auto add = [&](double a, double rr) {
    pts.emplace_back(int(std::lround(cx + rr * std::cos(a))), int(std::lround(cy + rr * std::sin(a))));
  };
  switch (geometry) {
    case kCircle:
    case kRing:
      for (int k = 0; k < 48; ++k) add(kSceneTwoPi * k / 48, radius);
      break;
    case kSquare:
      for (int k = 0; k < 4; ++k) add(rotation + kSceneTwoPi * k / 4 + kSceneTwoPi / 8, radius);
      break;
    case kTriangle:
      for (int k = 0; k < 3; ++k) add(rotation + kSceneTwoPi * k / 3, radius);
      break;
    case kStar:
      for (int k = 0; k < 10; ++k) add(rotation + kSceneTwoPi * k / 10, k % 2 == 0 ? radius : 0.42 * radius);
      break;
    case kCross: {
      // A plus sign: arms of half-width h reaching `radius` from the centre.
      const double h = 0.34 * radius;
      const double local[12][2] = {{h, radius},   {h, h},   {radius, h},   {radius, -h}, {h, -h}, {h, -radius},
                                   {-h, -radius}, {-h, -h}, {-radius, -h}, {-radius, h}, {-h, h}, {-h, radius}};
      const double cr = std::cos(rotation), sr = std::sin(rotation);
      for (const auto& p : local)
        pts.emplace_back(int(std::lround(cx + p[0] * cr - p[1] * sr)), int(std::lround(cy + p[0] * sr + p[1] * cr)));
      break;
    }
    default:
      PAT_ASSERT(false, "synthetic: unknown geometry ", geometry);
  }
  return pts;
}

/// Standard normal quantiles at (i + 0.5) / 4096: a uniform 12-bit index draws a near-Gaussian value
/// (tails cut at 3.7 sigma, variance 0.998).
const std::array<float, 4096>& normal_quantiles() {
  static const std::array<float, 4096> table = [] {
    std::array<float, 4096> t{};
    for (size_t i = 0; i < t.size(); ++i) {
      const double p = (double(i) + 0.5) / double(t.size());
      double lo = -10, hi = 10;  // bisection on the CDF
      for (int k = 0; k < 60; ++k) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      t[i] = float(0.5 * (lo + hi));
    }
    return t;
  }();
  return table;
}

}  // namespace

RenderedScene render_scene(const SceneLayout& layout, const std::vector<int>& catalog_ids, Rng& r) {
  const int S = layout.size;
  std::vector<int> grounds, shapes;  // positions in the class list
  int sky = -1;
  for (size_t i = 0; i < catalog_ids.size(); ++i) {
    const int c = catalog_ids[i];
    if (c == kSky)
      sky = int(i);
    else if (is_background_id(c))
      grounds.push_back(int(i));
    else
      shapes.push_back(int(i));
  }
  PAT_ASSERT(sky >= 0 || !grounds.empty(), "synthetic: a scene needs a background class");

  // Background regions.
  cv::Mat label(S, S, CV_32SC1);
  const int base = grounds.empty() ? sky : grounds[size_t(r.randint(0, int64_t(grounds.size())))];
  label.setTo(base);
  if (sky >= 0 && !grounds.empty() && r.bernoulli(0.65)) {
    const double level = S * r.uniform(0.2, 0.55), amp = S * r.uniform(0, 0.06);
    const double period = S * r.uniform(0.5, 2.0), phase = r.uniform(0, kSceneTwoPi);
    for (int x = 0; x < S; ++x) {
      const int top = int(level + amp * std::sin(kSceneTwoPi * x / period + phase));
      for (int y = 0; y < std::min(top, S); ++y) label.at<int32_t>(y, x) = sky;
    }
  }
  if (grounds.size() >= 2 && r.bernoulli(0.6)) {
    int second = grounds[size_t(r.randint(0, int64_t(grounds.size())))];
    if (second == base)
      second = grounds[(std::find(grounds.begin(), grounds.end(), base) - grounds.begin() + 1) % grounds.size()];
    const double px = S * r.uniform(0.2, 0.8), py = S * r.uniform(0.45, 0.9), a = r.uniform(0, kSceneTwoPi);
    const double wamp = S * r.uniform(0, 0.05), wfreq = r.uniform(1, 3) * kSceneTwoPi / S;
    const double sin_a = std::sin(a), cos_a = std::cos(a);
    std::vector<double> wave(size_t(2 * S));  // the boundary's wave, a function of x + y
    for (int k = 0; k < 2 * S; ++k) wave[size_t(k)] = std::sin(wfreq * k);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const double side = (x - px) * sin_a - (y - py) * cos_a + wamp * wave[size_t(x + y)];
        if (side > 0 && label.at<int32_t>(y, x) != sky) label.at<int32_t>(y, x) = second;
      }
  }

  // Textures for each background class present.
  std::vector<Texture> textures(catalog_ids.size());
  for (size_t i = 0; i < catalog_ids.size(); ++i)
    if (is_background_id(catalog_ids[i])) {
      textures[i] = make_texture(catalog_ids[i], r, S);
      prepare_texture(textures[i], S);
    }
  cv::Mat canvas(S, S, CV_32FC3);
  for (int y = 0; y < S; ++y) {
    const int32_t* lrow = label.ptr<int32_t>(y);
    cv::Vec3f* crow = canvas.ptr<cv::Vec3f>(y);
    for (int x = 0; x < S; ++x) {
      double c[3];
      texel(textures[size_t(lrow[x])], x, y, S, r, c);
      crow[x] = cv::Vec3f(float(c[0]), float(c[1]), float(c[2]));
    }
  }

  // Shapes, later ones occluding earlier ones.
  RenderedScene scene;
  cv::Mat owner(S, S, CV_32SC1, cv::Scalar(-1));  // which shape a pixel shows (-1: background)
  if (!shapes.empty()) {
    const int count = int(r.randint(layout.min_shapes, layout.max_shapes + 1));
    cv::Mat mask(S, S, CV_8UC1, cv::Scalar(0));
    const cv::Rect frame(0, 0, S, S);
    for (int k = 0; k < count; ++k) {
      const int cls = shapes[size_t(r.randint(0, int64_t(shapes.size())))];
      const int id = catalog_ids[size_t(cls)] - kSceneBackgrounds;
      const double radius = S * r.uniform(layout.min_scale, layout.max_scale);
      const double margin = layout.placement * radius;
      const double cx = r.uniform(margin, S - margin), cy = r.uniform(margin, S - margin);
      const double rotation = r.uniform(0, kSceneTwoPi);
      double colour[3];
      shape_colour(id / kSceneGeometries, r, colour);
      const double gx = r.uniform(-1, 1), gy = r.uniform(-1, 1), shade = r.uniform(0.05, 0.2);
      const int geometry = id % kSceneGeometries;
      const double hole = geometry == kRing || layout.hole_for_every_shape ? r.uniform(0.42, 0.62) : 0.0;
      const double inner = geometry == kRing ? hole * radius : 0.0;  // a ring's hole
      const std::vector<std::vector<cv::Point>> poly = {shape_polygon(geometry, cx, cy, radius, rotation)};
      // One pixel of slack around the outline; the loop below clears every mask pixel it visits.
      const cv::Rect box = (cv::boundingRect(poly[0]) + cv::Point(-1, -1) + cv::Size(2, 2)) & frame;
      scene.objects.push_back({cls, 0, cv::Rect()});
      if (box.empty()) continue;
      cv::fillPoly(mask, poly, cv::Scalar(1), cv::LINE_8);
      if (inner > 0) {  // the hole shows what lies beneath
        const std::vector<std::vector<cv::Point>> hole = {shape_polygon(kCircle, cx, cy, inner, 0)};
        cv::fillPoly(mask, hole, cv::Scalar(0), cv::LINE_8);
      }
      for (int y = box.y; y < box.y + box.height; ++y) {
        uint8_t* mrow = mask.ptr<uint8_t>(y);
        cv::Vec3f* crow = canvas.ptr<cv::Vec3f>(y);
        int32_t* lrow = label.ptr<int32_t>(y);
        int32_t* orow = owner.ptr<int32_t>(y);
        for (int x = box.x; x < box.x + box.width; ++x) {
          if (!mrow[x]) continue;
          mrow[x] = 0;  // leaves the mask clear for the next shape
          const double f = 1.0 + shade * ((x - cx) * gx + (y - cy) * gy) / radius;
          crow[x] = cv::Vec3f(float(colour[0] * f), float(colour[1] * f), float(colour[2] * f));
          lrow[x] = cls;
          orow[x] = k;
        }
      }
    }
  }

  if (layout.noise_std > 0 && layout.exact_noise) {
    for (int y = 0; y < S; ++y) {
      cv::Vec3f* crow = canvas.ptr<cv::Vec3f>(y);
      for (int x = 0; x < S; ++x)
        for (int k = 0; k < 3; ++k) crow[x][k] += float(layout.noise_std * r.normal());
    }
  } else if (layout.noise_std > 0) {
    const std::array<float, 4096>& table = normal_quantiles();
    const float sd = float(layout.noise_std);
    uint64_t bits = 0;
    int left = 0;
    for (int y = 0; y < S; ++y) {
      float* crow = canvas.ptr<float>(y);
      for (int k = 0; k < 3 * S; ++k) {
        if (left == 0) bits = r.next_u64(), left = 5;
        crow[k] += sd * table[bits & 4095];
        bits >>= 12, --left;
      }
    }
  }

  // What each shape still shows.
  std::vector<int> x0(scene.objects.size(), S), y0(x0), x1(scene.objects.size(), -1), y1(x1);
  for (int y = 0; y < S; ++y) {
    const int32_t* orow = owner.ptr<int32_t>(y);
    for (int x = 0; x < S; ++x) {
      const int k = orow[x];
      if (k < 0) continue;
      auto& o = scene.objects[size_t(k)];
      ++o.visible;
      x0[size_t(k)] = std::min(x0[size_t(k)], x), x1[size_t(k)] = std::max(x1[size_t(k)], x);
      y0[size_t(k)] = std::min(y0[size_t(k)], y), y1[size_t(k)] = std::max(y1[size_t(k)], y);
    }
  }
  for (size_t k = 0; k < scene.objects.size(); ++k)
    if (scene.objects[k].visible > 0)
      scene.objects[k].box = cv::Rect(x0[k], y0[k], x1[k] - x0[k] + 1, y1[k] - y0[k] + 1);

  canvas.convertTo(scene.image, CV_8UC3);  // rounds and saturates
  scene.label = label;
  return scene;
}

RenderedScene render_close_up(const SceneLayout& layout, int ground_id, int object_id, Rng& r) {
  SceneLayout close = layout;
  close.min_shapes = close.max_shapes = 1;
  close.min_scale = 0.20;
  close.max_scale = 0.32;
  close.placement = 1.5;  // the frame's margin stays inside the scene
  const RenderedScene scene = render_scene(close, {ground_id, object_id}, r);
  PAT_ASSERT(scene.objects.size() == 1 && scene.objects[0].visible > 0, "render_close_up: no object drawn");

  // The square around the object's box with a 25 % margin on each side, resized to the scene's size.
  const int S = close.size;
  const cv::Rect box = scene.objects[0].box;
  const int side = std::min(S, int(std::lround(1.5 * std::max(box.width, box.height))));
  auto start = [&](int lo, int extent) { return std::clamp(lo + extent / 2 - side / 2, 0, S - side); };
  const cv::Rect window(start(box.x, box.width), start(box.y, box.height), side, side);
  RenderedScene view;
  cv::resize(scene.image(window), view.image, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
  cv::resize(scene.label(window), view.label, cv::Size(S, S), 0, 0, cv::INTER_NEAREST);
  const cv::Mat shown = view.label == 1;
  view.objects.push_back(SceneObject{1, cv::countNonZero(shown), cv::boundingRect(shown)});
  return view;
}

SceneContent describe_scene(const RenderedScene& scene, const std::vector<std::string>& names,
                            const std::vector<int>& catalog_ids) {
  const cv::Mat& label = scene.label;
  const int threshold = visible_pixel_threshold(int64_t(label.total()));
  std::vector<int64_t> area(names.size(), 0);
  for (int y = 0; y < label.rows; ++y) {
    const int32_t* row = label.ptr<int32_t>(y);
    for (int x = 0; x < label.cols; ++x) ++area[size_t(row[x])];
  }
  std::vector<size_t> grounds;
  for (size_t i = 0; i < names.size(); ++i)
    if (is_background_id(catalog_ids[i]) && area[i] > 0) grounds.push_back(i);
  std::stable_sort(grounds.begin(), grounds.end(), [&](size_t a, size_t b) { return area[a] > area[b]; });

  SceneContent content;
  for (size_t i : grounds)
    if (area[i] >= threshold) content.backgrounds.push_back(names[i]);
  for (const auto& o : scene.objects)
    if (o.visible >= threshold) content.objects.push_back(names[size_t(o.cls)]);
  if (content.backgrounds.empty() && content.objects.empty()) {
    if (!grounds.empty()) {
      content.backgrounds.push_back(names[grounds[0]]);
    } else {
      const auto best =
          std::max_element(scene.objects.begin(), scene.objects.end(),
                           [](const SceneObject& a, const SceneObject& b) { return a.visible < b.visible; });
      if (best != scene.objects.end() && best->visible > 0) content.objects.push_back(names[size_t(best->cls)]);
    }
  }
  return content;
}

}  // namespace pat::data::detail
