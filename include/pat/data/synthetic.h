#pragma once
/// \file Procedural segmentation scenes with named classes, for the demo, for tests and for the
/// open-vocabulary protocol in miniature (captions, seen/unseen label split).
///
/// A scene is a textured background (8 kinds: sky, grass, water, road, wall, sand, snow, wood: noise,
/// stripe, brick, ripple, drift and plank textures whose colour ranges overlap, e.g. sky/water/snow,
/// sand/wall/wood, road/wall, so neither colour nor texture alone names a background) with coloured shapes
/// on top ("red circle", "cyan ring", ...: 8 colours x 6 geometries, every colour in every geometry, so colour
/// alone does not identify a class), randomly sized, placed and rotated, plus pixel noise. A ring's hole
/// shows (and is labelled as) what lies beneath. Scene `i` is a pure function of (seed, i, classes,
/// shape and noise options). Scenes over a subset of the original 22 classes (the first 6 backgrounds,
/// red/green/blue/yellow circle/square/triangle/star) are exactly the ones the 22-class world drew,
/// Box-Muller pixel noise included (about 2 ms per 96x96 scene); any other class list uses a table-driven
/// Gaussian pixel noise, 4x faster overall.

#include <cstdint>
#include <string>
#include <vector>

#include "pat/data/captions.h"
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
  /// The classes the scenes draw from (names from `synthetic_class_catalog()`); empty: all.
  /// At least one background class is required.
  std::vector<std::string> classes;
  /// The classes whose pixels are labelled, with label ids in this order (e.g. the SEEN classes); the
  /// pixels of the other scene classes get the ignore label 255. Every entry must be one of `classes`.
  /// Empty: `classes`. Scenes (images, captions) do not depend on it.
  std::vector<std::string> label_classes;
  /// Fill `Sample::caption` with a sentence naming visible classes (`make_caption`), a pure function of
  /// (seed, index) and the scene.
  bool captions = false;
  /// Scenes come in groups of this many that differ only in their objects' geometries: scene g·k + v
  /// repeats every draw of scene g·k (layout, colours, textures, noise, caption template), but for v > 0 each
  /// object class becomes another geometry of its colour among the scene classes (the v-th of a per-group
  /// random order, so up to 5 variants of a class differ). The variants are hard negatives for contrastive
  /// pretraining, whose batches are otherwise told apart by colour and background alone; the loader keeps
  /// each group in one batch (`sample_group()`). 1: every scene is drawn on its own. `num_images` must be a
  /// multiple.
  int geometry_variants = 1;
  /// Fraction of the scenes (of the groups of geometry variants) replaced by a close-up of one of their objects,
  /// the way photos frame one thing: that object alone, large (circumradius 20-32 % of the scene) on the scene's
  /// largest background, framed with a 25 % margin (`detail::render_close_up`); the caption names the object only.
  /// A ViT learns shapes from such close-ups in a few hundred contrastive steps, and not from whole scenes,
  /// where objects are small, anywhere, and among background edges. 0: none.
  double object_views = 0;
};

/// All available class names (56): the 8 backgrounds (sky, grass, water, road, wall, sand, snow, wood),
/// then the shapes colour-major: "red circle", "red square", "red triangle", "red star", "red cross",
/// "red ring", "green circle", ... for the colours red, green, blue, yellow, orange, purple, pink, cyan.
std::vector<std::string> synthetic_class_catalog();

/// The object classes ("colour geometry") among `classes` (empty: the catalogue), in their order; an
/// unknown name is a `pat::Error`.
std::vector<std::string> synthetic_object_classes(const std::vector<std::string>& classes = {});

/// An in-memory dataset of synthetic scenes (no files); ignore label 255 (the pixels of scene classes
/// that are not label classes).
class SyntheticDataset : public Dataset {
 public:
  explicit SyntheticDataset(SyntheticOptions options = {});
  std::string name() const override { return "synthetic"; }
  size_t size() const override { return size_t(options_.num_images); }
  Sample get(size_t index) const override;
  /// The label classes (`options.label_classes`, or the scene classes when it is empty).
  const std::vector<std::string>& class_names() const override { return label_classes_; }
  int64_t num_classes() const override { return int64_t(label_classes_.size()); }
  int64_t ignore_label() const override { return 255; }
  int64_t sample_group() const override { return options_.geometry_variants; }
  const SyntheticOptions& options() const { return options_; }
  /// The classes the scenes draw from (`options.classes`, or the catalogue when it is empty).
  const std::vector<std::string>& scene_classes() const { return scene_classes_; }
  /// What scene `index` visibly shows (the content its caption is made from).
  SceneContent content(size_t index) const;

 private:
  struct Scene;  // a rendered scene and its content
  Scene render(size_t index) const;
  /// For each scene class position, the position of the class that replaces it in scene `index` (itself
  /// for backgrounds, for objects without another geometry of their colour, and for a group's first scene).
  std::vector<int> variant_positions(size_t index) const;
  /// The first scene of `index`'s group of geometry variants (whose draws the group repeats).
  size_t group_start(size_t index) const { return index - index % size_t(options_.geometry_variants); }

  SyntheticOptions options_;
  std::vector<std::string> scene_classes_, label_classes_;
  std::vector<int> catalog_ids_;    // catalogue index of each scene class
  std::vector<int32_t> label_ids_;  // label id of each scene class (255: not a label class)
  bool legacy_world_ = false;       // only classes of the 22-class world: its exact (slow) pixel noise
};

/// Writes every scene in the generic layout: <root>/images/<name>.png, <root>/labels/<name>.png and
/// <root>/classes.json (files written atomically). Returns `generic_dataset_spec(root, "synthetic")`.
DatasetSpec write_synthetic_dataset(const SyntheticDataset& dataset, const std::string& root);

}  // namespace pat::data
