#pragma once
/// \file Sample transforms: CAT-Seg's training mapper (CATSEG.md §1.11) and the test-time resize.
///
/// Each transform is a small class with `apply(Sample&, Rng&)`; all randomness comes from the `Rng`
/// passed in, so a transform is deterministic given the generator's state. Images are RGB uint8,
/// labels int32 (see `Sample`).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "pat/data/dataset.h"
#include "pat/data/rng.h"

namespace pat::data {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(Sample& sample, Rng& rng) const = 0;
  virtual std::string name() const = 0;
};
using TransformPtr = std::shared_ptr<const Transform>;

/// Applies transforms in order.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {}
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override;
  const std::vector<TransformPtr>& transforms() const { return transforms_; }

 private:
  std::vector<TransformPtr> transforms_;
};

// ---- geometry helpers (free functions, testable alone) -------------------------------------------

/// detectron2 `ResizeShortestEdge.get_output_shape`: the short side becomes `short_edge`, then the
/// long side is capped at `max_size` (<= 0: no cap); sizes are rounded half up. Returns (h, w).
std::pair<int, int> shortest_edge_size(int height, int width, int short_edge, int max_size);

/// Bilinear resize of an RGB uint8 image with PIL's `Image.resize(BILINEAR)` semantics (what
/// detectron2 uses): a triangle filter widened by the scale when shrinking (antialiased),
/// horizontal pass then vertical, 22-bit fixed point.
cv::Mat resize_bilinear(const cv::Mat& rgb, int height, int width);

/// Nearest-neighbour resize of an int32 label map with PIL NEAREST semantics
/// (source index floor((i + 0.5) * in / out)).
cv::Mat resize_nearest(const cv::Mat& label, int height, int width);

// ---- transforms -----------------------------------------------------------------------------------

/// detectron2 `ResizeShortestEdge` ('choice' among `short_edges`): image bilinear (PIL),
/// label nearest (only when `resize_label`).
class ResizeShortestEdge : public Transform {
 public:
  ResizeShortestEdge(std::vector<int> short_edges, int max_size, bool resize_label = true);
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override { return "ResizeShortestEdge"; }

 private:
  std::vector<int> short_edges_;
  int max_size_;
  bool resize_label_;
};

/// Resize to a fixed size, ignoring the aspect ratio.
class ResizeFixed : public Transform {
 public:
  ResizeFixed(int height, int width, bool resize_label = true);
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override { return "ResizeFixed"; }

 private:
  int height_, width_;
  bool resize_label_;
};

/// detectron2 `RandomCrop("absolute")`: a crop of min(crop, size) per side at a uniform position
/// (top drawn first, then left). The label is cropped identically.
class RandomCrop : public Transform {
 public:
  RandomCrop(int height, int width);
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override { return "RandomCrop"; }

 private:
  int height_, width_;
};

/// Parameters of the SSD colour augmentation (defaults: CAT-Seg / MaskFormer).
struct ColorJitterOptions {
  /// Brightness offset drawn from U(-delta, delta), p 0.5.
  double brightness_delta = 32;
  /// Contrast factor U(low, high), p 0.5.
  double contrast_low = 0.5;
  double contrast_high = 1.5;
  /// Saturation factor U(low, high) on OpenCV HSV's S channel, p 0.5.
  double saturation_low = 0.5;
  double saturation_high = 1.5;
  /// Hue shift drawn from the integers [-delta, delta] on OpenCV HSV's H (mod 180), p 0.5.
  int hue_delta = 18;
};

/// The SSD colour augmentation (`ColorAugSSDTransform`) applied in BGR order as CAT-Seg does:
/// brightness, then either (contrast, saturation, hue) or (saturation, hue, contrast), each op with
/// p 0.5; after every op values are clipped to [0, 255] and truncated to uint8. Works in place on an
/// RGB uint8 image.
void color_aug_ssd(cv::Mat& rgb, Rng& rng, const ColorJitterOptions& options = {});

class ColorAugSSD : public Transform {
 public:
  explicit ColorAugSSD(ColorJitterOptions options = {}) : options_(options) {}
  void apply(Sample& sample, Rng& rng) const override { color_aug_ssd(sample.image, rng, options_); }
  std::string name() const override { return "ColorAugSSD"; }

 private:
  ColorJitterOptions options_;
};

/// Horizontal flip of image and label with probability `p`.
class RandomFlip : public Transform {
 public:
  explicit RandomFlip(double p = 0.5) : p_(p) {}
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override { return "RandomFlip"; }

 private:
  double p_;
};

/// Pads image and label at the bottom and right up to height x width (never crops): image with
/// `image_value`, label with the sample's `ignore_label`.
class PadTo : public Transform {
 public:
  PadTo(int height, int width, int image_value = 128);
  void apply(Sample& sample, Rng& rng) const override;
  std::string name() const override { return "PadTo"; }

 private:
  int height_, width_, image_value_;
};

// ---- pipelines -------------------------------------------------------------------------------------

/// CAT-Seg's training mapper (`mask_former_semantic`).
struct TrainTransformOptions {
  /// Square crop size.
  int crop_size = 384;
  /// Short side the image is resized to before the crop (detectron2's INPUT.MIN_SIZE_TRAIN); 0: crop_size, as
  /// CAT-Seg trains. Larger than the crop: the crop shows a part of the image at that scale.
  int min_size = 0;
  /// Cap on the long side after the shortest-edge resize.
  int max_size = 1333;
  /// SSD colour augmentation on/off.
  bool color_jitter = true;
  /// Its parameters.
  ColorJitterOptions color = {};
  /// Horizontal flip probability (0: off).
  double flip_prob = 0.5;
  /// Image padding value (labels pad with the ignore value).
  int image_pad_value = 128;
};

/// ResizeShortestEdge(min_size or crop, max) -> RandomCrop(crop) -> ColorAugSSD -> RandomFlip -> PadTo(crop).
std::shared_ptr<Compose> make_train_transforms(const TrainTransformOptions& options = {});

enum class TestResize {
  kNone,          ///< keep the image as read
  kShortestEdge,  ///< detectron2 test mapper: ResizeShortestEdge(size, max_size)
  kFixed,         ///< resize to height x width
};

/// Test-time preprocessing (CATSEG.md §2: shortest edge 640, max 2560).
struct TestTransformOptions {
  TestResize mode = TestResize::kShortestEdge;
  /// Short side for kShortestEdge.
  int size = 640;
  /// Long-side cap for kShortestEdge (<= 0: none).
  int max_size = 2560;
  /// Target for kFixed.
  int height = 640;
  int width = 640;
  /// Resize the label too. Off by default: evaluation scores at the original resolution.
  bool resize_label = false;
};

std::shared_ptr<Compose> make_test_transforms(const TestTransformOptions& options = {});

}  // namespace pat::data
