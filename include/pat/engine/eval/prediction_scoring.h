#pragma once
/// \file `--predictions` scoring: saved prediction maps against a ground-truth folder, no model.

#include <cstdint>
#include <functional>
#include <string>

#include "pat/engine/eval/metrics.h"

namespace pat::engine {

/// Settings of a folder-against-folder scoring run.
struct PredictionScoringOptions {
  /// When >= 0, predictions >= this index become it before scoring (VOC-20b: 20, with
  /// num_classes 21). -1: predictions are scored as they are.
  int64_t background_index = -1;
  /// Which classes mIoU averages over.
  MiouFormula miou_formula = MiouFormula::kGtPresent;
  /// Called after each scored image with (done, total), e.g. to advance a `pat::Progress`.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

/// Accumulates every GT file of `gt_dir` (*.png, *.tif, *.tiff, sorted by name) against the
/// prediction of the same basename in `pred_dir` (any of .png/.tif/.tiff). Missing predictions
/// (all listed before any file is read), size mismatches, out-of-range values and an empty GT
/// folder are `pat::Error`s naming the files.
ConfusionMatrix accumulate_prediction_folder(const std::string& pred_dir, const std::string& gt_dir,
                                             int64_t num_classes, int64_t ignore_label,
                                             const PredictionScoringOptions& options = {});

/// `accumulate_prediction_folder(...).compute(options.miou_formula)`.
SegMetrics score_prediction_folder(const std::string& pred_dir, const std::string& gt_dir, int64_t num_classes,
                                   int64_t ignore_label, const PredictionScoringOptions& options = {});

}  // namespace pat::engine
