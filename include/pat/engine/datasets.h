#pragma once
/// \file Datasets and transforms from the `data:` config: the benchmark layouts, generic folders and the
/// synthetic scenes.

#include <memory>
#include <string>

#include "pat/config/config.h"
#include "pat/data/dataset.h"
#include "pat/data/synthetic.h"
#include "pat/data/transforms.h"

namespace pat::engine {

enum class Split { kTrain, kVal };

/// The dataset named by `data.train_dataset` / `data.val_dataset`: "synthetic", "generic" (folders from
/// `data.<split>_images` / `_labels`) or a benchmark layout name (data root from `data.root`). The class
/// file of the config, when set, replaces the layout's. Seeds come from `runtime.seed`.
std::shared_ptr<data::Dataset> make_dataset(const Config& config, Split split);

/// The synthetic scenes of `split` from `data.synthetic_*` (geometry variants in training only); seed
/// 2 * runtime.seed for training, + 1 for validation.
data::SyntheticOptions synthetic_options(const Config& config, Split split);

/// CAT-Seg's training pipeline (shortest edge to the crop, random crop, SSD color jitter, flip, pad).
data::TransformPtr make_train_transform(const Config& config);

/// The test mapper: shortest edge to `eval.test_size` (labels kept at their original size); synthetic
/// scenes are used as they are.
data::TransformPtr make_test_transform(const Config& config, const data::Dataset& dataset);

}  // namespace pat::engine
