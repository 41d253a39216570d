#pragma once
/// \file Measurement helpers of the benchmarks: repeated timing with warm-ups, the process's resident
/// memory (current, peak, and resetting the peak), the GPU's peak allocation, and the machine's matrix-product
/// rate through LibTorch.

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <torch/types.h>

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

/// Peak of the memory LibTorch's CUDA allocator handed out on `device` since the last reset, in MiB; -1 on
/// the CPU or in a build without CUDA.
double cuda_peak_mib(torch::Device device);
void reset_cuda_peak(torch::Device device);

/// Waits for the work queued on `device` (CUDA); nothing on the CPU.
void synchronize(torch::Device device);

/// GFLOP/s of an n x n x n matrix product (torch::mm) of `dtype` on `device` (the CPU with its current
/// intra-op threads; on CUDA with the TF32 setting in effect): the median of `repeats` timed products
/// after one warm-up.
double gemm_gflops(int64_t n, torch::Device device, torch::ScalarType dtype, int repeats = 7);

/// gemm_gflops of float32 on the CPU: the sgemm rate.
double sgemm_gflops(int64_t n = 1024, int repeats = 7);

}  // namespace pat::engine
