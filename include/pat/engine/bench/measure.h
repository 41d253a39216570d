#pragma once
/// \file Measurement helpers of the benchmarks: repeated timing with warm-ups, the process's resident
/// memory (current, peak, and resetting the peak), and the machine's sgemm rate through LibTorch.

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace pat::engine {

struct TimingStats {
  std::vector<double> ms;  ///< each timed repeat, in order
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
};

/// Runs `fn` `warmup` times untimed, then `repeats` (>= 1) times timed (wall clock).
TimingStats time_repeated(const std::function<void()>& fn, int warmup, int repeats);

/// Two workloads timed alternately (`warmup` untimed rounds a, b, then `repeats` timed rounds a, b), so that a
/// machine that drifts (memory being reclaimed, another job starting) slows both alike: before / after pairs.
std::pair<TimingStats, TimingStats> time_interleaved(const std::function<void()>& a, const std::function<void()>& b,
                                                     int warmup, int repeats);

/// Median of `values` (mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values);

/// The process's resident set (VmRSS) and its peak (VmHWM) in MiB, from /proc/self/status
/// (-1 where unavailable).
double current_rss_mib();
double peak_rss_mib();

/// Resets the peak (VmHWM) to the current resident set by writing "5" to /proc/self/clear_refs
/// (Linux >= 4.0). Returns false where that is not possible (the peak then covers the whole process).
bool reset_peak_rss();

/// GFLOP/s of an n x n x n float32 matrix product (torch::mm) on the CPU with the current intra-op
/// threads: the median of `repeats` timed products after one warm-up.
double sgemm_gflops(int64_t n = 1024, int repeats = 7);

}  // namespace pat::engine
