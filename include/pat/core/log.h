#pragma once
/// \file The library's one logger. The library installs no sinks: tools call `configure_logging`.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace pat {

/// The shared "pat" logger (created on first use with no sinks, so a library user sees nothing
/// unless they configure it).
spdlog::logger& logger();

/// Console (stderr) sink at `level` ("trace", "debug", "info", "warn", "error", "off"), plus an
/// optional file sink at debug level. Called by tools, never by library code.
void configure_logging(const std::string& level, const std::string& file = "");

/// Adds a file sink to the already configured logger (e.g. `<output>/log.txt`).
void add_log_file(const std::string& file);

}  // namespace pat

#define PAT_LOG_TRACE(...) SPDLOG_LOGGER_CALL(&::pat::logger(), spdlog::level::trace, __VA_ARGS__)
#define PAT_LOG_DEBUG(...) SPDLOG_LOGGER_CALL(&::pat::logger(), spdlog::level::debug, __VA_ARGS__)
#define PAT_LOG_INFO(...) SPDLOG_LOGGER_CALL(&::pat::logger(), spdlog::level::info, __VA_ARGS__)
#define PAT_LOG_WARN(...) SPDLOG_LOGGER_CALL(&::pat::logger(), spdlog::level::warn, __VA_ARGS__)
#define PAT_LOG_ERROR(...) SPDLOG_LOGGER_CALL(&::pat::logger(), spdlog::level::err, __VA_ARGS__)
