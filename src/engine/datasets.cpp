#include "pat/engine/datasets.h"

#include "pat/core/error.h"
#include "pat/data/class_list.h"

namespace pat::engine {

std::shared_ptr<data::Dataset> make_dataset(const Config& config, Split split) {
  const auto& d = config.data;
  const bool train = split == Split::kTrain;
  const std::string& name = train ? d.train_dataset : d.val_dataset;
  const std::string key = train ? "data.train_dataset" : "data.val_dataset";
  PAT_CHECK(!name.empty(), key, ": expected a dataset name, got nothing");
  if (name == "synthetic") return std::make_shared<data::SyntheticDataset>(synthetic_options(config, split));
  data::DatasetSpec spec;
  if (name == "generic") {
    spec.name = train ? "generic-train" : "generic-val";
    spec.data_root = data::resolve_data_root(d.root);
    spec.image_dir = train ? d.train_images : d.val_images;
    spec.label_dir = train ? d.train_labels : d.val_labels;
    PAT_CHECK(!spec.image_dir.empty() && !spec.label_dir.empty(), key, ": generic datasets need data.",
              train ? "train" : "val", "_images and data.", train ? "train" : "val", "_labels");
    spec.image_ext = "";
    spec.ignore_label = d.ignore_label;
  } else {
    spec = data::builtin_dataset_spec(name, d.root);
  }
  const std::string& class_file = train || d.val_class_file.empty() ? d.train_class_file : d.val_class_file;
  if (!class_file.empty()) spec.class_file = class_file;
  return data::open_dataset(spec);
}

data::SyntheticOptions synthetic_options(const Config& config, Split split) {
  const auto& d = config.data;
  const bool train = split == Split::kTrain;
  data::SyntheticOptions o;
  o.num_images = train ? d.synthetic_train : d.synthetic_val;
  o.image_size = static_cast<int>(d.synthetic_size);
  o.classes = d.synthetic_classes;
  o.label_classes = train ? d.synthetic_train_classes : d.synthetic_val_classes;
  o.min_shapes = static_cast<int>(d.synthetic_min_shapes);
  o.max_shapes = static_cast<int>(d.synthetic_max_shapes);
  o.min_shape_scale = d.synthetic_min_shape_scale;
  o.max_shape_scale = d.synthetic_max_shape_scale;
  o.geometry_variants = train ? static_cast<int>(d.synthetic_geometry_variants) : 1;
  o.object_views = train ? d.synthetic_object_views : 0.0;
  // Validation scenes come from a different seed than the training scenes.
  o.seed = static_cast<uint64_t>(config.runtime.seed) * 2 + (train ? 0 : 1);
  return o;
}

data::TransformPtr make_train_transform(const Config& config) {
  data::TrainTransformOptions o;
  o.crop_size = static_cast<int>(config.data.crop_size);
  o.min_size = static_cast<int>(config.data.train_min_size);
  o.color_jitter = config.data.color_jitter;
  o.flip_prob = config.data.flip ? 0.5 : 0.0;
  return data::make_train_transforms(o);
}

data::TransformPtr make_test_transform(const Config& config, const data::Dataset& dataset) {
  if (dataset.name() == "synthetic") return nullptr;
  data::TestTransformOptions o;
  o.size = static_cast<int>(config.eval.test_size);
  return data::make_test_transforms(o);
}

}  // namespace pat::engine
