#pragma once
/// \file The renderer behind `SyntheticDataset` and `synthetic_object_crop`: catalogue layout, background
/// textures, shape colours and geometries, and one scene from a class list and a generator.

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pat/data/captions.h"
#include "pat/data/rng.h"

namespace pat::data::detail {

/// Catalogue layout: the backgrounds first, then the objects colour-major ("red circle", "red square", ...).
inline constexpr int kSceneBackgrounds = 8;
inline constexpr int kSceneColours = 8;
inline constexpr int kSceneGeometries = 6;
extern const char* const kSceneBackgroundNames[kSceneBackgrounds];
extern const char* const kSceneColourNames[kSceneColours];
extern const char* const kSceneGeometryNames[kSceneGeometries];

/// True when catalogue index `catalog_id` is a background kind.
inline bool is_background_id(int catalog_id) {
  return catalog_id < kSceneBackgrounds;
}

/// True for the classes of the original 22-class world (sky ... sand, red/green/blue/yellow
/// circle/square/triangle/star).
inline bool is_legacy_id(int catalog_id) {
  if (is_background_id(catalog_id)) return catalog_id < 6;
  const int object = catalog_id - kSceneBackgrounds;
  return object / kSceneGeometries < 4 && object % kSceneGeometries < 4;
}

/// Size, shapes and pixel noise of a scene.
struct SceneLayout {
  int size = 112;      ///< height and width in pixels
  int min_shapes = 1;  ///< shapes per scene, uniform in [min_shapes, max_shapes]
  int max_shapes = 4;
  double min_scale = 0.10;  ///< circumradius as a fraction of `size`, uniform in [min_scale, max_scale]
  double max_scale = 0.24;
  double placement = 0.3;  ///< centres keep `placement * radius` away from the borders
  double noise_std = 6.0;  ///< per-pixel Gaussian noise (uint8 units)
  /// Pixel noise from Box-Muller (`Rng::normal`, the 22-class world's; about 1.3 ms per 96x96 scene) instead
  /// of the quantile table (a 12-bit index per value, 5 values per 64-bit draw; about 0.05 ms).
  bool exact_noise = false;
  /// Draw a hole size for every shape, not only for rings, so that scenes that differ only in their
  /// objects' geometries draw the same numbers (SyntheticOptions::geometry_variants).
  bool hole_for_every_shape = false;
};

/// One drawn shape.
struct SceneObject {
  int cls = 0;      ///< position in the class list
  int visible = 0;  ///< pixels it still covers once later shapes are drawn
  cv::Rect box;     ///< bounding box of those pixels (empty when none)
};

/// One scene as drawn.
struct RenderedScene {
  cv::Mat image;                     ///< CV_8UC3 RGB
  cv::Mat label;                     ///< CV_32SC1, positions in the class list
  std::vector<SceneObject> objects;  ///< in drawing order (later ones occlude earlier ones)
};

/// Renders one scene over the classes `catalog_ids` (catalogue indices; at least one background), drawing
/// every random number from `r`. The draw order for classes of the first 6 backgrounds and the first
/// 4 colours x 4 geometries is the one of the original 22-class world, so scenes over such subsets stay
/// the same.
RenderedScene render_scene(const SceneLayout& layout, const std::vector<int>& catalog_ids, Rng& r);

/// A close-up (`SyntheticOptions::object_views`, `synthetic_object_crop`): a scene of the background
/// `ground_id` and one object `object_id` (catalogue indices), drawn large (circumradius 20-32 % of the size, 1.5
/// radii from the borders) with `layout`'s size and noise, cropped to the square around it with a 25 % margin on
/// each side and resized back to the size (image: bilinear, label: nearest). Label values: 0 the background, 1
/// the object.
RenderedScene render_close_up(const SceneLayout& layout, int ground_id, int object_id, Rng& r);

/// The visible content of `scene` (`visible_pixel_threshold`): backgrounds by area, objects in drawing
/// order. When nothing reaches the threshold, the largest background (else the most visible object)
/// stands in, so the content is never empty. `names` and `catalog_ids` describe the class list.
SceneContent describe_scene(const RenderedScene& scene, const std::vector<std::string>& names,
                            const std::vector<int>& catalog_ids);

}  // namespace pat::data::detail
