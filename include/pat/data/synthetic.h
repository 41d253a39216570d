#pragma once
/// \file Procedural segmentation scenes with named classes, for the demo and for tests.
///
/// A scene is a textured background (sky, grass, water, road, wall, sand: noise, stripe, brick and
/// ripple textures whose colour ranges overlap, e.g. sky/water, sand/wall, road/wall) with coloured
/// shapes on top ("red circle", "blue square", ...: every colour comes in every geometry, so colour
/// alone does not identify a class), randomly sized, placed and rotated, plus pixel noise. Scene
/// `i` is a pure function of (seed, i, options).

#include <cstdint>
#include <string>
#include <vector>

#include "pat/data/dataset.h"

namespace pat::data {

struct SyntheticOptions {
  /// Number of scenes in the dataset.
  int64_t num_images = 64;
  /// Height and width of every scene in pixels.
  int image_size = 112;
  /// Seed of the whole dataset.
  uint64_t seed = 0;
  /// Shapes per scene, uniform in [min_shapes, max_shapes].
  int min_shapes = 1;
  int max_shapes = 4;
  /// Shape size (circumradius) as a fraction of image_size, uniform in [min, max].
  double min_shape_scale = 0.10;
  double max_shape_scale = 0.24;
  /// Standard deviation of the per-pixel Gaussian noise (uint8 units).
  double noise_std = 6.0;
  /// Class subset (names from `synthetic_class_catalog()`, ids follow this order); empty: all.
  /// At least one background class is required.
  std::vector<std::string> classes;
};

/// All available class names: 6 background classes, then 16 shapes (4 colours x 4 geometries).
std::vector<std::string> synthetic_class_catalog();

/// An in-memory dataset of synthetic scenes (no files); ignore label 255 (never produced).
class SyntheticDataset : public Dataset {
 public:
  explicit SyntheticDataset(SyntheticOptions options = {});
  std::string name() const override { return "synthetic"; }
  size_t size() const override { return size_t(options_.num_images); }
  Sample get(size_t index) const override;
  const std::vector<std::string>& class_names() const override { return classes_; }
  int64_t num_classes() const override { return int64_t(classes_.size()); }
  int64_t ignore_label() const override { return 255; }
  const SyntheticOptions& options() const { return options_; }

 private:
  SyntheticOptions options_;
  std::vector<std::string> classes_;
  std::vector<int> catalog_ids_;  // catalog index of each class
};

/// Writes every scene in the generic layout: <root>/images/<name>.png, <root>/labels/<name>.png and
/// <root>/classes.json (files written atomically). Returns `generic_dataset_spec(root, "synthetic")`.
DatasetSpec write_synthetic_dataset(const SyntheticDataset& dataset, const std::string& root);

}  // namespace pat::data
