#include "pat/core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "pat/core/error.h"

namespace pat {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto created = std::make_shared<spdlog::logger>("pat");
    created->set_level(spdlog::level::info);
    return created;
  }();
  return *instance;
}

void configure_logging(const std::string& level, const std::string& file) {
  auto parsed = spdlog::level::from_str(level);
  PAT_CHECK(parsed != spdlog::level::off || level == "off",
            "runtime.log_level: expected one of trace, debug, info, warn, error, off, got \"", level, "\"");
  auto& log = logger();
  log.sinks().clear();
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(parsed);
  console->set_pattern("[%H:%M:%S %^%l%$] %v");
  log.sinks().push_back(console);
  log.set_level(std::min(parsed, spdlog::level::debug));
  if (!file.empty()) add_log_file(file);
}

void add_log_file(const std::string& file) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, /*truncate=*/false);
    sink->set_level(spdlog::level::debug);
    sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e %l] %v");
    logger().sinks().push_back(sink);
  } catch (const spdlog::spdlog_ex& e) {
    PAT_FAIL("log file ", file, ": cannot open (", e.what(), ")");
  }
}

}  // namespace pat
