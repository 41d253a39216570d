#include "pat/app/model_files.h"

#include <filesystem>
#include <system_error>

#include "pat/core/error.h"

namespace fs = std::filesystem;

namespace pat::app {
namespace {

/// The model_final of the run (a folder of runs_dir) whose model_final is newest (by modification time);
/// "" when there is none. Within a run .pt is preferred (it holds the same weights as .safetensors).
std::string newest_model_final(const std::string& runs_dir) {
  std::error_code ec;
  if (!fs::is_directory(runs_dir, ec)) return "";
  std::string best;
  fs::file_time_type best_time{};
  for (const auto& run : fs::directory_iterator(runs_dir, ec)) {
    if (!run.is_directory(ec)) continue;
    for (const char* name : {"model_final.pt", "model_final.safetensors"}) {
      const auto path = run.path() / name;
      if (!fs::is_regular_file(path, ec)) continue;
      const auto time = fs::last_write_time(path, ec);
      if (!ec && (best.empty() || time > best_time)) {
        best = path.string();
        best_time = time;
      }
      break;  // the run's .pt, or its .safetensors when there is no .pt
    }
  }
  return best;
}

}  // namespace

std::string ModelFiles::describe() const {
  std::string text = "model " + weights + (weights_defaulted ? " (newest model_final, no --weights given)" : "");
  if (config.empty()) return text + ", built-in default config";
  return text + ", config " + config + (config_defaulted ? " (written beside the weights)" : "");
}

std::string config_beside(const std::string& weights) {
  return fs::path(weights).replace_extension(".yaml").string();
}

ModelFiles resolve_model_files(std::string& weights, ConfigFlags& flags, const std::string& runs_dir) {
  ModelFiles files;
  if (weights.empty()) {
    weights = newest_model_final(runs_dir);
    PAT_CHECK(!weights.empty(), "--weights: not given and no trained model in ", runs_dir,
              "/*/model_final.pt (train one with pat_train --config configs/demo.yaml, or pass --weights FILE)");
    files.weights_defaulted = true;
  }
  if (flags.config.empty()) {
    for (const auto& beside : {config_beside(weights), (fs::path(weights).parent_path() / "config.yaml").string()}) {
      std::error_code ec;
      if (!fs::is_regular_file(beside, ec)) continue;
      flags.config = beside;
      files.config_defaulted = true;
      break;
    }
  }
  files.weights = weights;
  files.config = flags.config;
  return files;
}

}  // namespace pat::app
