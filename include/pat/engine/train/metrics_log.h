#pragma once
/// \file `metrics.jsonl`: one JSON object per line (`{"step": 20, "loss": 0.71, ...}`), appended and
/// flushed line by line so an interrupted run loses nothing.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pat::engine {

class MetricsLog {
 public:
  /// Opens `path` for appending. With `resume_step >= 0`, lines whose step is greater than it are dropped
  /// first (they belong to work after the checkpoint being resumed), so the log matches the resumed run.
  explicit MetricsLog(const std::string& path, int64_t resume_step = -1);

  /// Appends one record (must hold "step").
  void write(const nlohmann::json& record);

  /// All records of a metrics file (for plots and tests).
  static std::vector<nlohmann::json> read(const std::string& path);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace pat::engine
