#include "pat/engine/eval/prediction_scoring.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/engine/eval/label_map_io.h"

namespace pat::engine {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kLabelExtensions = {".png", ".tif", ".tiff"};

bool is_label_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kLabelExtensions.begin(), kLabelExtensions.end(), ext) != kLabelExtensions.end();
}

std::string find_prediction(const fs::path& pred_dir, const std::string& stem) {
  for (const char* ext : {".png", ".tif", ".tiff", ".PNG", ".TIF", ".TIFF"}) {
    fs::path candidate = pred_dir / (stem + ext);
    if (fs::is_regular_file(candidate)) return candidate.string();
  }
  return {};
}

}  // namespace

ConfusionMatrix accumulate_prediction_folder(const std::string& pred_dir, const std::string& gt_dir,
                                             int64_t num_classes, int64_t ignore_label,
                                             const PredictionScoringOptions& options) {
  PAT_CHECK(fs::is_directory(gt_dir), "ground-truth folder ", gt_dir, ": no such directory");
  PAT_CHECK(fs::is_directory(pred_dir), "prediction folder ", pred_dir, ": no such directory");
  std::vector<fs::path> gt_files;
  for (const auto& entry : fs::directory_iterator(gt_dir)) {
    if (entry.is_regular_file() && is_label_file(entry.path())) gt_files.push_back(entry.path());
  }
  std::sort(gt_files.begin(), gt_files.end());
  PAT_CHECK(!gt_files.empty(), "ground-truth folder ", gt_dir, ": no .png/.tif/.tiff label files");

  std::vector<std::pair<std::string, std::string>> pairs;  // (prediction, gt)
  std::vector<std::string> missing;
  for (const auto& gt : gt_files) {
    std::string pred = find_prediction(pred_dir, gt.stem().string());
    if (pred.empty()) {
      missing.push_back(gt.stem().string());
    } else {
      pairs.emplace_back(pred, gt.string());
    }
  }
  if (!missing.empty()) {
    std::string examples;
    for (size_t i = 0; i < missing.size() && i < 3; ++i) examples += (i ? ", " : "") + missing[i];
    PAT_FAIL("prediction folder ", pred_dir, ": ", missing.size(), " of ", gt_files.size(),
             " ground-truth files have no prediction of the same basename (.png/.tif/.tiff), e.g. ", examples);
  }

  ConfusionMatrix matrix(num_classes, ignore_label);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [pred_path, gt_path] = pairs[i];
    auto pred = read_label_map(pred_path);
    auto gt = read_label_map(gt_path);
    PAT_CHECK(pred.sizes() == gt.sizes(), "prediction ", pred_path, " is ", pred.size(0), "x", pred.size(1),
              " (HxW) but its ground truth ", gt_path, " is ", gt.size(0), "x", gt.size(1));
    if (options.background_index >= 0) pred = map_voc20b_predictions(pred, options.background_index);
    try {
      matrix.update(pred, gt);
    } catch (const pat::Error& e) {
      PAT_FAIL(e.what(), " (prediction ", pred_path, ", ground truth ", gt_path, ")");
    }
    PAT_LOG_DEBUG("scored {}/{}: {}", i + 1, pairs.size(), gt_path);
    if (options.on_progress) options.on_progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(pairs.size()));
  }
  return matrix;
}

SegMetrics score_prediction_folder(const std::string& pred_dir, const std::string& gt_dir, int64_t num_classes,
                                   int64_t ignore_label, const PredictionScoringOptions& options) {
  return accumulate_prediction_folder(pred_dir, gt_dir, num_classes, ignore_label, options)
      .compute(options.miou_formula);
}

}  // namespace pat::engine
