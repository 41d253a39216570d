#include "pat/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "pat/core/log.h"

namespace pat {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

Progress::Progress(int64_t total, std::string label, bool enabled, double plain_interval_s)
    : total_(total),
      label_(std::move(label)),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) != 0),
      plain_interval_s_(plain_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(int64_t n, const std::string& extra) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (!extra.empty()) extra_ = extra;
  draw(false);
}

void Progress::set(int64_t done, const std::string& extra) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = done;
  start_done_ = done;
  start_ = std::chrono::steady_clock::now();
  if (!extra.empty()) extra_ = extra;
  draw(false);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

double Progress::rate() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? static_cast<double>(done_ - start_done_) / elapsed : 0.0;
}

double Progress::eta_seconds() const {
  if (total_ <= 0) return -1;
  double r = rate();
  return r > 0 ? static_cast<double>(total_ - done_) / r : -1;
}

void Progress::draw(bool final) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!final && since < (tty_ ? 0.1 : plain_interval_s_)) return;
  last_draw_ = now;
  char stats[160];
  double r = rate();
  if (total_ > 0) {
    std::snprintf(stats, sizeof(stats), "%lld/%lld %.2f it/s %s %s", static_cast<long long>(done_),
                  static_cast<long long>(total_), r, final ? "took" : "ETA",
                  format_duration(final ? std::chrono::duration<double>(now - start_).count() : eta_seconds()).c_str());
  } else {
    std::snprintf(stats, sizeof(stats), "%lld %.2f it/s", static_cast<long long>(done_), r);
  }
  if (tty_) {
    std::string bar;
    if (total_ > 0) {
      const int width = 28;
      int filled = static_cast<int>(width * std::min<double>(1.0, static_cast<double>(done_) / total_));
      bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    }
    std::fprintf(stderr, "\r\033[2K%s %s%s %s", label_.c_str(), bar.c_str(), stats, extra_.c_str());
    if (final) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  } else {
    PAT_LOG_INFO("{} {} {}", label_, stats, extra_);
  }
}

}  // namespace pat
