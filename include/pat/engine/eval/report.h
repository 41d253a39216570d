#pragma once
/// \file Evaluation reports: a Markdown table and `results.json`.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pat/engine/eval/class_split.h"
#include "pat/engine/eval/metrics.h"

namespace pat::engine {

/// One benchmark's outcome.
struct BenchmarkResult {
  std::string name;                      ///< e.g. "ade150"
  SegMetrics metrics;                    ///< percent values
  std::vector<std::string> class_names;  ///< C names keying the per-class values (empty: "0", "1", ...)
  std::optional<SplitMetrics> split;     ///< seen / unseen mIoU and hIoU when the config declares the split
};

/// A Markdown table, one row per benchmark: | benchmark | mIoU | fwIoU | pACC | mACC |, two decimals,
/// "n/a" for NaN. When any result has a seen/unseen split: | seen mIoU | unseen mIoU | hIoU | too ("n/a" in
/// the rows without one).
std::string results_markdown(const std::vector<BenchmarkResult>& results);

/// {"<benchmark>": {"mIoU", "fwIoU", "pACC", "mACC", "num_pixels", "IoU": {"<class>": v, ...},
/// "ACC": {...}}, ...} in the given order; a result with a split adds "seen_mIoU", "unseen_mIoU", "hIoU",
/// "seen_classes" and "unseen_classes" (name arrays) after "num_pixels". NaN becomes null. A class name that
/// repeats gets " (<index>)" appended so no key is lost. Class-name count must match the metrics.
nlohmann::ordered_json results_to_json(const std::vector<BenchmarkResult>& results);

/// Writes `results_to_json` (indented) to `path` atomically.
void write_results_json(const std::string& path, const std::vector<BenchmarkResult>& results);

}  // namespace pat::engine
