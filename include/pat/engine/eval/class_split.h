#pragma once
/// \file The zero-shot seen / unseen class split: which evaluated classes training labelled (the SEEN
/// classes, `data.synthetic_train_classes`), and mIoU over each group with their harmonic mean (hIoU).

#include <string>
#include <vector>

#include "pat/config/config.h"
#include "pat/engine/eval/metrics.h"

namespace pat::engine {

/// mIoU over the seen and the unseen classes, in percent like SegMetrics.
struct SplitMetrics {
  double seen_miou = 0;             ///< mean IoU over the seen classes with ground truth (NaN: none has any)
  double unseen_miou = 0;           ///< mean IoU over the unseen classes with ground truth (NaN: none has any)
  double hiou = 0;                  ///< 2·S·U / (S + U); 0 when S + U = 0; NaN when S or U is NaN
  std::vector<std::string> seen;    ///< the seen classes, in evaluation order (with or without ground truth)
  std::vector<std::string> unseen;  ///< the unseen classes, in evaluation order
};

/// One flag per class of `eval_classes`: true when the name is among `data.synthetic_train_classes` (exact
/// match). Empty when the config declares no split (`data.synthetic_train_classes` empty).
std::vector<bool> seen_class_mask(const Config& config, const std::vector<std::string>& eval_classes);

/// Seen / unseen mIoU of `metrics` (per-class IoU in percent, NaN for a class without ground truth):
/// each group's mean is taken over its classes with ground truth, as mIoU does (MiouFormula::kGtPresent).
/// `seen` holds one flag per class; `class_names` one name per class, or none (names become "0", "1", ...).
/// Throws pat::Error when the sizes differ from the metrics' class count.
SplitMetrics split_metrics(const SegMetrics& metrics, const std::vector<bool>& seen,
                           const std::vector<std::string>& class_names);

/// One line for logs: "seen mIoU 40.00 (2 classes), unseen mIoU 20.00 (1 class), hIoU 26.67" ("n/a" for NaN).
std::string split_summary(const SplitMetrics& split);

}  // namespace pat::engine
