#pragma once
/// \file `pat_eval`'s work: the benchmark layouts (ade150, ade847, pc59, pc459, voc20, voc20b, custom) or the
/// config's own validation set ("val") scored with a model under the CAT-Seg protocol, or saved prediction maps
/// scored without one. A config that declares the seen/unseen split (`data.synthetic_train_classes`) adds
/// seen / unseen mIoU and hIoU to every result (see class_split.h).

#include <string>
#include <vector>

#include "pat/config/config.h"
#include "pat/data/dataset.h"
#include "pat/engine/dist/communicator.h"
#include "pat/engine/eval/report.h"
#include "pat/model/seg_model.h"

namespace pat::engine {

struct BenchmarkOptions {
  std::string data_root;    ///< empty: data.root, then $PAT_DATASETS, then ./datasets
  std::string class_file;   ///< replaces the benchmark's class list
  std::string output_dir;   ///< prediction maps / overlays go to <output_dir>/<benchmark>/ when eval.save_predictions
  std::string custom_root;  ///< "custom": the generic layout root (images/, labels/, classes.json)
  bool progress = true;
  Communicator* comm = nullptr;  ///< several processes: images sharded, results summed (see EvaluateOptions)
};

/// The benchmark name of the config's validation dataset (`data.val_dataset`, built as training's periodic
/// validation builds it: synthetic scenes, a generic folder or a benchmark layout).
inline constexpr const char* kValBenchmark = "val";

/// The benchmark pat_eval scores when none is named: "val" when `data.val_dataset` is synthetic (it needs no
/// files), else empty (a benchmark must be named).
std::string default_benchmark(const Config& config);

/// Sets `result.split` when the config declares the seen/unseen split (`seen_class_mask` not empty); else
/// leaves the result as it is.
void attach_class_split(BenchmarkResult& result, const Config& config);

/// The dataset spec of a benchmark name ("custom" uses the generic layout under `custom_root`, else the data root).
data::DatasetSpec benchmark_spec(const std::string& name, const Config& config, const BenchmarkOptions& options);

/// Scores `model` (weights loaded, on its device) on one benchmark ("val": the config's validation dataset,
/// with `options.data_root` replacing data.root; `options.class_file` is refused there), with the split
/// metrics when the config declares the split.
BenchmarkResult evaluate_benchmark(model::SegModelImpl& model, const std::string& name, const Config& config,
                                   const BenchmarkOptions& options);

/// Scores the prediction maps in `predictions_dir` (named by the ground truth's basenames) without a model (split
/// metrics as for evaluate_benchmark; "val" is refused: it has no benchmark layout).
BenchmarkResult score_benchmark_predictions(const std::string& predictions_dir, const std::string& name,
                                            const Config& config, const BenchmarkOptions& options);

}  // namespace pat::engine
