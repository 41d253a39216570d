#include "pat/data/transforms.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"

namespace pat::data {
namespace {

// ---- PIL-compatible bilinear resampling (ImagingResample, 8 bits per channel) ----

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
  int ksize = 0;
  std::vector<int> bounds_min, bounds_size;
  std::vector<int32_t> k;  // out_size * ksize fixed-point weights
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coefficients precompute(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coefficients c;
  c.ksize = int(std::ceil(support)) * 2 + 1;
  c.bounds_min.resize(out_size);
  c.bounds_size.resize(out_size);
  c.k.assign(size_t(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);  // truncation toward zero, as in C
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      c.k[size_t(xx) * c.ksize + x] =
          int32_t(v < 0 ? std::trunc(-0.5 + v * (1 << kPrecisionBits)) : std::trunc(0.5 + v * (1 << kPrecisionBits)));
    }
    c.bounds_min[xx] = xmin;
    c.bounds_size[xx] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}

cv::Mat resample_horizontal(const cv::Mat& in, int out_w) {
  const Coefficients c = precompute(in.cols, out_w);
  const int ch = in.channels();
  cv::Mat out(in.rows, out_w, in.type());
  for (int y = 0; y < in.rows; ++y) {
    const uint8_t* src = in.ptr<uint8_t>(y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* k = &c.k[size_t(xx) * c.ksize];
      const int xmin = c.bounds_min[xx], n = c.bounds_size[xx];
      for (int b = 0; b < ch; ++b) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) ss += int32_t(src[(xmin + x) * ch + b]) * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

cv::Mat resample_vertical(const cv::Mat& in, int out_h) {
  const Coefficients c = precompute(in.rows, out_h);
  const int row_len = in.cols * in.channels();
  cv::Mat out(out_h, in.cols, in.type());
  std::vector<int32_t> acc(static_cast<size_t>(row_len));
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* k = &c.k[size_t(yy) * c.ksize];
    const int ymin = c.bounds_min[yy], n = c.bounds_size[yy];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < n; ++y) {
      const uint8_t* src = in.ptr<uint8_t>(ymin + y);
      const int32_t w = k[y];
      for (int i = 0; i < row_len; ++i) acc[i] += int32_t(src[i]) * w;
    }
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (int i = 0; i < row_len; ++i) dst[i] = clip8(acc[i]);
  }
  return out;
}

/// numpy-style `(img.astype(float32) * alpha + beta).clip(0, 255).astype(uint8)` in place.
void convert(cv::Mat& m, double alpha, double beta) {
  const float a = float(alpha), b = float(beta);
  for (int y = 0; y < m.rows; ++y) {
    uint8_t* p = m.ptr<uint8_t>(y);
    const int n = m.cols * m.channels();
    for (int i = 0; i < n; ++i) {
      float v = float(p[i]) * a;
      v = v + b;
      v = v < 0.f ? 0.f : (v > 255.f ? 255.f : v);
      p[i] = uint8_t(v);  // truncation, as numpy's astype
    }
  }
}

void convert_channel(cv::Mat& hsv, int channel, double alpha) {
  const float a = float(alpha);
  for (int y = 0; y < hsv.rows; ++y) {
    uint8_t* p = hsv.ptr<uint8_t>(y) + channel;
    for (int x = 0; x < hsv.cols; ++x, p += 3) {
      float v = float(*p) * a;
      v = v < 0.f ? 0.f : (v > 255.f ? 255.f : v);
      *p = uint8_t(v);
    }
  }
}

// Each op works on an RGB image; cvtColor with RGB codes equals CAT-Seg's BGR codes on a BGR image.
void op_contrast(cv::Mat& img, Rng& rng, const ColorJitterOptions& o) {
  if (rng.randint(0, 2)) convert(img, rng.uniform(o.contrast_low, o.contrast_high), 0.0);
}

void op_saturation(cv::Mat& img, Rng& rng, const ColorJitterOptions& o) {
  if (!rng.randint(0, 2)) return;
  cv::Mat hsv;
  cv::cvtColor(img, hsv, cv::COLOR_RGB2HSV);
  convert_channel(hsv, 1, rng.uniform(o.saturation_low, o.saturation_high));
  cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
}

void op_hue(cv::Mat& img, Rng& rng, const ColorJitterOptions& o) {
  if (!rng.randint(0, 2)) return;
  cv::Mat hsv;
  cv::cvtColor(img, hsv, cv::COLOR_RGB2HSV);
  const int delta = int(rng.randint(-o.hue_delta, o.hue_delta + 1));
  for (int y = 0; y < hsv.rows; ++y) {
    uint8_t* p = hsv.ptr<uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x, p += 3) p[0] = uint8_t(((int(p[0]) + delta) % 180 + 180) % 180);
  }
  cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
}

void check_image(const Sample& s, const char* who) {
  PAT_CHECK(!s.image.empty() && s.image.type() == CV_8UC3, who, ": expected an RGB uint8 image (", s.image_path, ")");
  PAT_CHECK(s.label.empty() || s.label.type() == CV_32SC1, who, ": expected an int32 label map (", s.label_path, ")");
}

}  // namespace

void Compose::apply(Sample& sample, Rng& rng) const {
  for (const auto& t : transforms_) t->apply(sample, rng);
}

std::string Compose::name() const {
  std::string s = "Compose(";
  for (size_t i = 0; i < transforms_.size(); ++i) s += (i ? ", " : "") + transforms_[i]->name();
  return s + ")";
}

std::pair<int, int> shortest_edge_size(int height, int width, int short_edge, int max_size) {
  PAT_CHECK(height > 0 && width > 0 && short_edge > 0, "resize: bad sizes ", height, "x", width, " -> ", short_edge);
  const double size = short_edge;
  const double scale = size / std::min(height, width);
  double newh, neww;
  if (height < width) {
    newh = size;
    neww = scale * width;
  } else {
    newh = scale * height;
    neww = size;
  }
  if (max_size > 0 && std::max(newh, neww) > max_size) {
    const double s = double(max_size) / std::max(newh, neww);
    newh *= s;
    neww *= s;
  }
  return {int(newh + 0.5), int(neww + 0.5)};
}

cv::Mat resize_bilinear(const cv::Mat& rgb, int height, int width) {
  PAT_CHECK(rgb.depth() == CV_8U && !rgb.empty(), "resize_bilinear: expected a uint8 image");
  PAT_CHECK(height > 0 && width > 0, "resize_bilinear: bad target size ", height, "x", width);
  cv::Mat m = rgb;
  if (width != m.cols) m = resample_horizontal(m, width);
  if (height != m.rows) m = resample_vertical(m, height);
  return m.data == rgb.data ? rgb.clone() : m;
}

cv::Mat resize_nearest(const cv::Mat& label, int height, int width) {
  PAT_CHECK(label.type() == CV_32SC1 && !label.empty(), "resize_nearest: expected an int32 label map");
  PAT_CHECK(height > 0 && width > 0, "resize_nearest: bad target size ", height, "x", width);
  std::vector<int> xs(width);
  const double sx = double(label.cols) / width, sy = double(label.rows) / height;
  for (int x = 0; x < width; ++x) xs[x] = std::min(int((x + 0.5) * sx), label.cols - 1);
  cv::Mat out(height, width, CV_32SC1);
  for (int y = 0; y < height; ++y) {
    const int32_t* src = label.ptr<int32_t>(std::min(int((y + 0.5) * sy), label.rows - 1));
    int32_t* dst = out.ptr<int32_t>(y);
    for (int x = 0; x < width; ++x) dst[x] = src[xs[x]];
  }
  return out;
}

ResizeShortestEdge::ResizeShortestEdge(std::vector<int> short_edges, int max_size, bool resize_label)
    : short_edges_(std::move(short_edges)), max_size_(max_size), resize_label_(resize_label) {
  PAT_CHECK(!short_edges_.empty(), "ResizeShortestEdge: no sizes given");
  for (int s : short_edges_) PAT_CHECK(s > 0, "ResizeShortestEdge: sizes must be positive, got ", s);
}

void ResizeShortestEdge::apply(Sample& s, Rng& rng) const {
  check_image(s, "ResizeShortestEdge");
  const int edge =
      short_edges_.size() == 1 ? short_edges_[0] : short_edges_[size_t(rng.randint(0, int64_t(short_edges_.size())))];
  const auto [h, w] = shortest_edge_size(s.image.rows, s.image.cols, edge, max_size_);
  if (h != s.image.rows || w != s.image.cols) s.image = resize_bilinear(s.image, h, w);
  if (resize_label_ && !s.label.empty() && (h != s.label.rows || w != s.label.cols))
    s.label = resize_nearest(s.label, h, w);
}

ResizeFixed::ResizeFixed(int height, int width, bool resize_label)
    : height_(height), width_(width), resize_label_(resize_label) {
  PAT_CHECK(height > 0 && width > 0, "ResizeFixed: bad size ", height, "x", width);
}

void ResizeFixed::apply(Sample& s, Rng&) const {
  check_image(s, "ResizeFixed");
  if (s.image.rows != height_ || s.image.cols != width_) s.image = resize_bilinear(s.image, height_, width_);
  if (resize_label_ && !s.label.empty() && (s.label.rows != height_ || s.label.cols != width_))
    s.label = resize_nearest(s.label, height_, width_);
}

RandomCrop::RandomCrop(int height, int width) : height_(height), width_(width) {
  PAT_CHECK(height > 0 && width > 0, "RandomCrop: bad size ", height, "x", width);
}

void RandomCrop::apply(Sample& s, Rng& rng) const {
  check_image(s, "RandomCrop");
  PAT_CHECK(s.label.empty() || s.label.size() == s.image.size(), "RandomCrop: image and label sizes differ (",
            s.image_path, ")");
  const int h = s.image.rows, w = s.image.cols;
  const int ch = std::min(height_, h), cw = std::min(width_, w);
  const int y0 = int(rng.randint(0, h - ch + 1));
  const int x0 = int(rng.randint(0, w - cw + 1));
  const cv::Rect roi(x0, y0, cw, ch);
  s.image = s.image(roi).clone();
  if (!s.label.empty()) s.label = s.label(roi).clone();
}

void RandomFlip::apply(Sample& s, Rng& rng) const {
  if (!(rng.uniform() < p_)) return;
  cv::flip(s.image, s.image, 1);
  if (!s.label.empty()) cv::flip(s.label, s.label, 1);
}

PadTo::PadTo(int height, int width, int image_value) : height_(height), width_(width), image_value_(image_value) {
  PAT_CHECK(height > 0 && width > 0, "PadTo: bad size ", height, "x", width);
}

void PadTo::apply(Sample& s, Rng&) const {
  check_image(s, "PadTo");
  const int bottom = std::max(0, height_ - s.image.rows), right = std::max(0, width_ - s.image.cols);
  if (bottom == 0 && right == 0) return;
  cv::copyMakeBorder(s.image, s.image, 0, bottom, 0, right, cv::BORDER_CONSTANT, cv::Scalar::all(image_value_));
  if (!s.label.empty()) {
    const int lb = std::max(0, height_ - s.label.rows), lr = std::max(0, width_ - s.label.cols);
    cv::copyMakeBorder(s.label, s.label, 0, lb, 0, lr, cv::BORDER_CONSTANT, cv::Scalar::all(double(s.ignore_label)));
  }
}

void color_aug_ssd(cv::Mat& rgb, Rng& rng, const ColorJitterOptions& o) {
  PAT_CHECK(rgb.type() == CV_8UC3, "color_aug_ssd: expected an RGB uint8 image");
  if (rng.randint(0, 2)) convert(rgb, 1.0, rng.uniform(-o.brightness_delta, o.brightness_delta));
  if (rng.randint(0, 2)) {
    op_contrast(rgb, rng, o);
    op_saturation(rgb, rng, o);
    op_hue(rgb, rng, o);
  } else {
    op_saturation(rgb, rng, o);
    op_hue(rgb, rng, o);
    op_contrast(rgb, rng, o);
  }
}

std::shared_ptr<Compose> make_train_transforms(const TrainTransformOptions& o) {
  PAT_CHECK(o.crop_size > 0, "train transforms: crop_size must be positive, got ", o.crop_size);
  PAT_CHECK(o.min_size >= 0, "train transforms: min_size must be >= 0, got ", o.min_size);
  std::vector<TransformPtr> t;
  const int short_side = o.min_size > 0 ? o.min_size : o.crop_size;
  t.push_back(std::make_shared<ResizeShortestEdge>(std::vector<int>{short_side}, o.max_size, true));
  t.push_back(std::make_shared<RandomCrop>(o.crop_size, o.crop_size));
  if (o.color_jitter) t.push_back(std::make_shared<ColorAugSSD>(o.color));
  if (o.flip_prob > 0) t.push_back(std::make_shared<RandomFlip>(o.flip_prob));
  t.push_back(std::make_shared<PadTo>(o.crop_size, o.crop_size, o.image_pad_value));
  return std::make_shared<Compose>(std::move(t));
}

std::shared_ptr<Compose> make_test_transforms(const TestTransformOptions& o) {
  std::vector<TransformPtr> t;
  if (o.mode == TestResize::kShortestEdge)
    t.push_back(std::make_shared<ResizeShortestEdge>(std::vector<int>{o.size}, o.max_size, o.resize_label));
  else if (o.mode == TestResize::kFixed)
    t.push_back(std::make_shared<ResizeFixed>(o.height, o.width, o.resize_label));
  return std::make_shared<Compose>(std::move(t));
}

}  // namespace pat::data
