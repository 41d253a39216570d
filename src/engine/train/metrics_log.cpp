#include "pat/engine/train/metrics_log.h"

#include <filesystem>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat::engine {

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  if (resume_step >= 0 && std::filesystem::exists(path)) {
    std::string kept;
    for (const auto& record : read(path)) {
      if (record.value("step", int64_t{0}) <= resume_step) kept += record.dump() + "\n";
    }
    write_file_atomic(path, kept);
  }
  out_.open(path, std::ios::app);
  PAT_CHECK(out_.good(), path, ": cannot open the metrics log for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  PAT_ASSERT(record.contains("step"), "metrics record without step");
  out_ << record.dump() << '\n';
  out_.flush();
  PAT_CHECK(out_.good(), path_, ": write failed (disk full?)");
}

std::vector<nlohmann::json> MetricsLog::read(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  PAT_CHECK(in.good(), path, ": cannot open the metrics log");
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // A torn last line (power loss mid-write) is skipped; anything else is corruption.
      PAT_CHECK(in.peek() == EOF, path, ":", number, ": not a JSON object");
    }
  }
  return records;
}

}  // namespace pat::engine
