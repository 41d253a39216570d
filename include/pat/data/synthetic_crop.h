#pragma once
/// \file Single-object crops of synthetic scenes, for zero-shot classification (a CLIP pretrained on
/// captioned scenes names the object among the object classes).

#include <cstddef>
#include <string>

#include <opencv2/core.hpp>

#include "pat/data/synthetic.h"

namespace pat::data {

/// An image showing one object, with the object's class name.
struct LabelledCrop {
  /// RGB uint8, `CV_8UC3`, image_size x image_size.
  cv::Mat image;
  /// The object's class ("red star").
  std::string name;
};

/// Crop `index`: a scene with exactly one object, its class drawn uniformly from the object classes among
/// `options.classes` (empty: the catalogue), on one background drawn uniformly from the background classes
/// among them (every catalogue background when they name none). The object is drawn large (circumradius
/// 20-32% of image_size, centred at least 1.5 radii from the borders; the shape options do not apply); the
/// scene is cropped to the square around the object's bounding box with a 25% margin on each side (shifted
/// to stay inside the scene) and resized to options.image_size x options.image_size. A pure function of
/// (options.seed, index, options.classes, image_size, noise_std), independent of `SyntheticDataset`'s
/// scenes. Throws `pat::Error` for unknown classes and when `options.classes` has no object class.
LabelledCrop synthetic_object_crop(const SyntheticOptions& options, size_t index);

}  // namespace pat::data
