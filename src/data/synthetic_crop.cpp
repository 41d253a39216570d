#include "pat/data/synthetic_crop.h"

#include <algorithm>

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
  layout.noise_std = options.noise_std;
  LabelledCrop crop;
  crop.image = detail::render_close_up(layout, ground, object, r).image;
  crop.name = catalog[size_t(object)];
  return crop;
}

}  // namespace pat::data
