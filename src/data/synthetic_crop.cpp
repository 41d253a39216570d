#include "pat/data/synthetic_crop.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "data/detail/synthetic_scene.h"
#include "pat/core/error.h"
#include "pat/data/rng.h"

namespace pat::data {

LabelledCrop synthetic_object_crop(const SyntheticOptions& options, size_t index) {
  const int S = options.image_size;
  PAT_CHECK(S >= 16, "synthetic_object_crop: image_size must be >= 16, got ", S);
  PAT_CHECK(options.noise_std >= 0, "synthetic_object_crop: noise_std must be >= 0");
  const auto catalog = synthetic_class_catalog();
  const std::vector<std::string>& classes = options.classes.empty() ? catalog : options.classes;
  std::vector<int> grounds, objects;  // catalogue indices
  for (const auto& c : classes) {
    auto it = std::find(catalog.begin(), catalog.end(), c);
    PAT_CHECK(it != catalog.end(), "synthetic_object_crop: unknown class '", c, "' (see synthetic_class_catalog())");
    const int id = int(it - catalog.begin());
    (detail::is_background_id(id) ? grounds : objects).push_back(id);
  }
  PAT_CHECK(!objects.empty(), "synthetic_object_crop: the classes name no object class (e.g. 'red circle')");
  if (grounds.empty())
    for (int i = 0; i < detail::kSceneBackgrounds; ++i) grounds.push_back(i);

  Rng r(mix64(options.seed ^ 0xC809C809ull) ^ mix64(0x0B7EC7ull + index));
  const int object = objects[size_t(r.randint(0, int64_t(objects.size())))];
  const int ground = grounds[size_t(r.randint(0, int64_t(grounds.size())))];
  detail::SceneLayout layout;
  layout.size = S;
  layout.min_shapes = layout.max_shapes = 1;
  layout.min_scale = 0.20;
  layout.max_scale = 0.32;
  layout.placement = 1.5;  // the crop's margin stays inside the scene
  layout.noise_std = options.noise_std;
  const detail::RenderedScene scene = detail::render_scene(layout, {ground, object}, r);
  PAT_ASSERT(scene.objects.size() == 1 && scene.objects[0].visible > 0, "synthetic_object_crop: no object drawn");

  const cv::Rect box = scene.objects[0].box;
  // The square around the box with a 25% margin on each side, shifted inside the scene where it fits.
  const int side = std::min(S, int(std::lround(1.5 * std::max(box.width, box.height))));
  auto start = [&](int lo, int extent) { return std::clamp(lo + extent / 2 - side / 2, 0, S - side); };
  const cv::Rect square(start(box.x, box.width), start(box.y, box.height), side, side);
  LabelledCrop crop;
  const cv::Mat window = scene.image(square);
  cv::resize(window, crop.image, cv::Size(S, S), 0, 0, window.cols > S ? cv::INTER_AREA : cv::INTER_LINEAR);
  crop.name = catalog[size_t(object)];
  return crop;
}

}  // namespace pat::data
