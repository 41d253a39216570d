#include "pat/engine/eval/report.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat::engine {
namespace {

nlohmann::ordered_json number(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

std::string results_markdown(const std::vector<BenchmarkResult>& results) {
  bool any_split = false;
  for (const auto& r : results) any_split = any_split || r.split.has_value();
  std::string out = "| benchmark | mIoU | fwIoU | pACC | mACC |";
  out += any_split ? " seen mIoU | unseen mIoU | hIoU |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
                   : "\n|---|---:|---:|---:|---:|\n";
  for (const auto& r : results) {
    const auto& m = r.metrics;
    out += "| " + r.name + " | " + format_metric(m.miou) + " | " + format_metric(m.fwiou) + " | " + format_metric(m.pacc) + " | " + format_metric(m.macc) +
           " |";
    if (any_split) {
      if (r.split)
        out += " " + format_metric(r.split->seen_miou) + " | " + format_metric(r.split->unseen_miou) + " | " + format_metric(r.split->hiou) + " |";
      else
        out += " n/a | n/a | n/a |";
    }
    out += "\n";
  }
  return out;
}

nlohmann::ordered_json results_to_json(const std::vector<BenchmarkResult>& results) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  for (const auto& r : results) {
    const auto& m = r.metrics;
    PAT_CHECK(!r.name.empty(), "results.json: a benchmark has an empty name");
    PAT_CHECK(!root.contains(r.name), "results.json: benchmark ", r.name, " appears twice");
    PAT_CHECK(m.iou.size() == m.acc.size(), "results.json: benchmark ", r.name, " has ", m.iou.size(),
              " IoU values but ", m.acc.size(), " accuracies");
    PAT_CHECK(r.class_names.empty() || r.class_names.size() == m.iou.size(), "results.json: benchmark ", r.name,
              " has ", m.iou.size(), " classes but ", r.class_names.size(), " class names");
    nlohmann::ordered_json entry;
    entry["mIoU"] = number(m.miou);
    entry["fwIoU"] = number(m.fwiou);
    entry["pACC"] = number(m.pacc);
    entry["mACC"] = number(m.macc);
    entry["num_pixels"] = m.num_pixels;
    if (r.split) {
      entry["seen_mIoU"] = number(r.split->seen_miou);
      entry["unseen_mIoU"] = number(r.split->unseen_miou);
      entry["hIoU"] = number(r.split->hiou);
      entry["seen_classes"] = r.split->seen;
      entry["unseen_classes"] = r.split->unseen;
    }
    nlohmann::ordered_json iou = nlohmann::ordered_json::object(), acc = nlohmann::ordered_json::object();
    std::set<std::string> used;
    for (size_t k = 0; k < m.iou.size(); ++k) {
      std::string key = r.class_names.empty() ? std::to_string(k) : r.class_names[k];
      if (!used.insert(key).second) {
        key += " (" + std::to_string(k) + ")";
        used.insert(key);
      }
      iou[key] = number(m.iou[k]);
      acc[key] = number(m.acc[k]);
    }
    entry["IoU"] = std::move(iou);
    entry["ACC"] = std::move(acc);
    root[r.name] = std::move(entry);
  }
  return root;
}

void write_results_json(const std::string& path, const std::vector<BenchmarkResult>& results) {
  write_file_atomic(path, results_to_json(results).dump(2) + "\n");
}

}  // namespace pat::engine
