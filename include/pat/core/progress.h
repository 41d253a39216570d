#pragma once
/// \file Progress reporting with ETA for long work (training, evaluation, preparation, inference).
///
/// On a terminal it redraws one line on stderr (`label [#####.....] 42/100 3.1 it/s ETA 0:00:19 extra`);
/// otherwise it writes a plain log line at most every `plain_interval_s` seconds and at the end.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace pat {

/// "h:mm:ss" for a duration in seconds (negative or non-finite gives "?").
std::string format_duration(double seconds);

class Progress {
 public:
  /// `total` may be 0 when unknown (no bar, no ETA). `enabled=false` silences it entirely.
  Progress(int64_t total, std::string label, bool enabled = true, double plain_interval_s = 10.0);
  ~Progress();

  /// Advances by `n` and optionally replaces the trailing text (e.g. "loss 0.123"). Thread-safe.
  void advance(int64_t n = 1, const std::string& extra = "");
  /// Sets the absolute position (e.g. when resuming).
  void set(int64_t done, const std::string& extra = "");
  /// Draws the final state and ends the line (idempotent; the destructor calls it).
  void finish();

  int64_t done() const { return done_; }
  /// Items per second since construction (or since the last `set`).
  double rate() const;
  /// Estimated seconds left (negative when unknown).
  double eta_seconds() const;

 private:
  void draw(bool final);

  int64_t total_;
  int64_t done_ = 0;
  int64_t start_done_ = 0;
  std::string label_;
  std::string extra_;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  double plain_interval_s_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  mutable std::mutex mutex_;
};

}  // namespace pat
