#include "pat/data/synthetic.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "data/detail/synthetic_scene.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/data/class_list.h"
#include "pat/data/image_io.h"
#include "pat/data/rng.h"

namespace fs = std::filesystem;

namespace pat::data {
namespace {

detail::SceneLayout layout_of(const SyntheticOptions& o) {
  detail::SceneLayout layout;
  layout.size = o.image_size;
  layout.min_shapes = o.min_shapes;
  layout.max_shapes = o.max_shapes;
  layout.min_scale = o.min_shape_scale;
  layout.max_scale = o.max_shape_scale;
  layout.noise_std = o.noise_std;
  return layout;
}

/// Replaces every class position `c` of `scene` (label pixels, objects) by `to[c]`.
void relabel(detail::RenderedScene& scene, const std::vector<int>& to) {
  for (auto& o : scene.objects) o.cls = to[size_t(o.cls)];
  for (int y = 0; y < scene.label.rows; ++y) {
    int32_t* row = scene.label.ptr<int32_t>(y);
    for (int x = 0; x < scene.label.cols; ++x) row[x] = to[size_t(row[x])];
  }
}

}  // namespace

std::vector<std::string> synthetic_class_catalog() {
  std::vector<std::string> names(std::begin(detail::kSceneBackgroundNames), std::end(detail::kSceneBackgroundNames));
  for (const char* c : detail::kSceneColourNames)
    for (const char* g : detail::kSceneGeometryNames) names.push_back(std::string(c) + " " + g);
  return names;
}

std::vector<std::string> synthetic_object_classes(const std::vector<std::string>& classes) {
  const auto catalog = synthetic_class_catalog();
  std::vector<std::string> objects;
  for (const auto& name : classes.empty() ? catalog : classes) {
    const auto it = std::find(catalog.begin(), catalog.end(), name);
    PAT_CHECK(it != catalog.end(), "synthetic: unknown class '", name, "' (see synthetic_class_catalog())");
    if (!detail::is_background_id(int(it - catalog.begin()))) objects.push_back(name);
  }
  return objects;
}

struct SyntheticDataset::Scene {
  cv::Mat image;  // CV_8UC3
  cv::Mat label;  // positions in scene_classes_
  SceneContent content;
};

SyntheticDataset::SyntheticDataset(SyntheticOptions options) : options_(std::move(options)) {
  PAT_CHECK(options_.num_images >= 1, "synthetic: num_images must be >= 1, got ", options_.num_images);
  PAT_CHECK(options_.image_size >= 16, "synthetic: image_size must be >= 16, got ", options_.image_size);
  PAT_CHECK(options_.min_shapes >= 0 && options_.max_shapes >= options_.min_shapes,
            "synthetic: need 0 <= min_shapes <= max_shapes, got ", options_.min_shapes, ", ", options_.max_shapes);
  PAT_CHECK(options_.min_shape_scale > 0 && options_.max_shape_scale >= options_.min_shape_scale,
            "synthetic: bad shape scale range");
  PAT_CHECK(options_.noise_std >= 0, "synthetic: noise_std must be >= 0");
  const int g = options_.geometry_variants;
  PAT_CHECK(g >= 1 && g <= 6, "synthetic: geometry_variants must be in [1, 6], got ", g);
  PAT_CHECK(options_.num_images % g == 0, "synthetic: scenes come in groups of ", g,
            " geometry variants; num_images must be a multiple, got ", options_.num_images);
  PAT_CHECK(options_.object_views >= 0 && options_.object_views <= 1, "synthetic: object_views must be in [0, 1], got ",
            options_.object_views);
  const auto catalog = synthetic_class_catalog();
  scene_classes_ = options_.classes.empty() ? catalog : options_.classes;
  validate_class_names(scene_classes_, "synthetic classes");
  bool has_background = false;
  for (const auto& c : scene_classes_) {
    auto it = std::find(catalog.begin(), catalog.end(), c);
    PAT_CHECK(it != catalog.end(), "synthetic: unknown class '", c, "' (see synthetic_class_catalog())");
    catalog_ids_.push_back(int(it - catalog.begin()));
    has_background = has_background || detail::is_background_id(catalog_ids_.back());
  }
  PAT_CHECK(has_background, "synthetic: the class subset needs at least one background class (sky, grass, ...)");
  legacy_world_ = std::all_of(catalog_ids_.begin(), catalog_ids_.end(), detail::is_legacy_id);

  label_classes_ = options_.label_classes.empty() ? scene_classes_ : options_.label_classes;
  validate_class_names(label_classes_, "synthetic label classes");
  label_ids_.assign(scene_classes_.size(), 255);
  for (size_t i = 0; i < label_classes_.size(); ++i) {
    auto it = std::find(scene_classes_.begin(), scene_classes_.end(), label_classes_[i]);
    PAT_CHECK(it != scene_classes_.end(), "synthetic: label class '", label_classes_[i],
              "' is not one of the scene classes (synthetic classes)");
    label_ids_[size_t(it - scene_classes_.begin())] = int32_t(i);
  }
}

std::vector<int> SyntheticDataset::variant_positions(size_t index) const {
  std::vector<int> out(catalog_ids_.size());
  std::iota(out.begin(), out.end(), 0);
  const size_t g = size_t(options_.geometry_variants), variant = index % g;
  if (variant == 0) return out;
  Rng r(mix64(options_.seed ^ 0x7817215ull) ^ mix64(index / g));  // one order per group and class
  auto colour = [](int id) {
    return detail::is_background_id(id) ? -1 : (id - detail::kSceneBackgrounds) / detail::kSceneGeometries;
  };
  for (size_t i = 0; i < catalog_ids_.size(); ++i) {
    if (colour(catalog_ids_[i]) < 0) continue;
    std::vector<int> others;  // the other geometries of this colour among the scene classes
    for (size_t j = 0; j < catalog_ids_.size(); ++j)
      if (j != i && colour(catalog_ids_[j]) == colour(catalog_ids_[i])) others.push_back(int(j));
    r.shuffle(others);
    if (!others.empty()) out[i] = others[(variant - 1) % others.size()];
  }
  return out;
}

SyntheticDataset::Scene SyntheticDataset::render(size_t index) const {
  PAT_CHECK(index < size(), "synthetic: index ", index, " out of range (size ", size(), ")");
  // A geometry variant repeats the draws of its group's first scene with other object classes.
  const size_t draws = group_start(index);
  const std::vector<int> variant = variant_positions(index);
  std::vector<int> drawn_ids(catalog_ids_.size());
  for (size_t i = 0; i < variant.size(); ++i) drawn_ids[i] = catalog_ids_[size_t(variant[i])];
  Rng r(mix64(options_.seed) ^ mix64(0xC0FFEEull + draws));
  detail::SceneLayout layout = layout_of(options_);
  layout.exact_noise = legacy_world_;
  layout.hole_for_every_shape = options_.geometry_variants > 1;
  detail::RenderedScene rendered = detail::render_scene(layout, drawn_ids, r);
  if (draws != index) relabel(rendered, variant);  // the positions drawn are those of the first scene's classes
  int framed = -1;                  // the class position of the object a close-up shows
  if (options_.object_views > 0) {  // its own generator: the whole group shares the decision and the draws
    Rng v(mix64(options_.seed ^ 0xF2A3E5ull) ^ mix64(draws));
    if (v.uniform() < options_.object_views && !rendered.objects.empty()) {
      // One of the scene's objects, alone and large on the scene's largest background, framed close.
      framed = rendered.objects[size_t(v.randint(0, int64_t(rendered.objects.size())))].cls;
      std::vector<int64_t> area(scene_classes_.size(), 0);
      for (int y = 0; y < rendered.label.rows; ++y)
        for (int x = 0; x < rendered.label.cols; ++x) ++area[size_t(rendered.label.at<int32_t>(y, x))];
      int ground = -1;
      for (size_t i = 0; i < area.size(); ++i)
        if (detail::is_background_id(catalog_ids_[i]) && (ground < 0 || area[i] > area[size_t(ground)]))
          ground = int(i);
      rendered = detail::render_close_up(layout, catalog_ids_[size_t(ground)], catalog_ids_[size_t(framed)], v);
      relabel(rendered, {ground, framed});
    }
  }
  Scene scene;
  scene.content = framed >= 0 ? SceneContent{{}, {scene_classes_[size_t(framed)]}}  // a close-up names its object
                              : detail::describe_scene(rendered, scene_classes_, catalog_ids_);
  scene.image = rendered.image;
  scene.label = rendered.label;
  return scene;
}

SceneContent SyntheticDataset::content(size_t index) const {
  return render(index).content;
}

Sample SyntheticDataset::get(size_t index) const {
  Scene scene = render(index);
  if (!options_.label_classes.empty()) {
    for (int y = 0; y < scene.label.rows; ++y) {
      int32_t* row = scene.label.ptr<int32_t>(y);
      for (int x = 0; x < scene.label.cols; ++x) row[x] = label_ids_[size_t(row[x])];
    }
  }
  Sample s;
  s.image = scene.image;
  s.label = scene.label;
  s.ignore_label = 255;
  s.index = int64_t(index);
  char name[32];
  std::snprintf(name, sizeof(name), "synth_%06zu", index);
  s.name = name;
  s.original_height = s.original_width = options_.image_size;
  if (options_.captions) {  // its own generator: captions leave the scene's draws alone; variants share it
    Rng r(mix64(options_.seed ^ 0xCA9710115ull) ^ mix64(0x5CE7E0ull + group_start(index)));
    s.caption = make_caption(scene.content, r);
  }
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
