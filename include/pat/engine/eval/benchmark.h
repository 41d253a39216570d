#pragma once
/// \file `pat_eval`'s work: the benchmark layouts (ade150, ade847, pc59, pc459, voc20, voc20b, custom) scored
/// with a model under the CAT-Seg protocol, or saved prediction maps scored without one.

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

/// The dataset spec of a benchmark name ("custom" uses the generic layout under `custom_root`, else the data root).
data::DatasetSpec benchmark_spec(const std::string& name, const Config& config, const BenchmarkOptions& options);

/// Scores `model` (weights loaded, on its device) on one benchmark.
BenchmarkResult evaluate_benchmark(model::SegModelImpl& model, const std::string& name, const Config& config,
                                   const BenchmarkOptions& options);

/// Scores the prediction maps in `predictions_dir` (named by the ground truth's basenames) without a model.
BenchmarkResult score_benchmark_predictions(const std::string& predictions_dir, const std::string& name,
                                            const Config& config, const BenchmarkOptions& options);

}  // namespace pat::engine
