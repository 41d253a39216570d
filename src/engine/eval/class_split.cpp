#include "pat/engine/eval/class_split.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "pat/core/error.h"

namespace pat::engine {
namespace {

/// Mean of the finite values (NaN when there is none).
double mean_of_present(const std::vector<double>& values) {
  double sum = 0;
  int64_t count = 0;
  for (double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++count;
    }
  return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / double(count);
}

std::string class_count_text(size_t n) {
  return std::to_string(n) + (n == 1 ? " class" : " classes");
}

}  // namespace

std::vector<bool> seen_class_mask(const Config& config, const std::vector<std::string>& eval_classes) {
  const auto& train = config.data.synthetic_train_classes;
  if (train.empty()) return {};
  const std::set<std::string> seen(train.begin(), train.end());
  std::vector<bool> mask;
  mask.reserve(eval_classes.size());
  for (const auto& name : eval_classes) mask.push_back(seen.count(name) > 0);
  return mask;
}

SplitMetrics split_metrics(const SegMetrics& metrics, const std::vector<bool>& seen,
                           const std::vector<std::string>& class_names) {
  const size_t n = metrics.iou.size();
  PAT_CHECK(seen.size() == n, "seen/unseen split: ", seen.size(), " seen flags for ", n, " evaluated classes");
  PAT_CHECK(class_names.empty() || class_names.size() == n, "seen/unseen split: ", class_names.size(),
            " class names for ", n, " evaluated classes");
  SplitMetrics out;
  std::vector<double> seen_iou, unseen_iou;
  for (size_t k = 0; k < n; ++k) {
    const std::string name = class_names.empty() ? std::to_string(k) : class_names[k];
    (seen[k] ? out.seen : out.unseen).push_back(name);
    (seen[k] ? seen_iou : unseen_iou).push_back(metrics.iou[k]);
  }
  out.seen_miou = mean_of_present(seen_iou);
  out.unseen_miou = mean_of_present(unseen_iou);
  const double s = out.seen_miou, u = out.unseen_miou;
  if (std::isnan(s) || std::isnan(u))
    out.hiou = std::numeric_limits<double>::quiet_NaN();
  else
    out.hiou = s + u == 0 ? 0.0 : 2 * s * u / (s + u);
  return out;
}

std::string split_summary(const SplitMetrics& split) {
  return "seen mIoU " + format_metric(split.seen_miou) + " (" + class_count_text(split.seen.size()) +
         "), unseen mIoU " + format_metric(split.unseen_miou) + " (" + class_count_text(split.unseen.size()) +
         "), hIoU " + format_metric(split.hiou);
}

}  // namespace pat::engine
