#include "pat/engine/bench/measure.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include <torch/cuda.h>
#include <torch/torch.h>
#ifdef PAT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "pat/core/error.h"

namespace pat::engine {
namespace {

/// A field of /proc/self/status in MiB (-1 when missing).
double status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return -1;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

namespace {

double elapsed_ms(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void summarize(TimingStats& stats) {
  stats.median_ms = median(stats.ms);
  stats.min_ms = *std::min_element(stats.ms.begin(), stats.ms.end());
  stats.max_ms = *std::max_element(stats.ms.begin(), stats.ms.end());
}

}  // namespace

TimingStats time_repeated(const std::function<void()>& fn, int warmup, int repeats) {
  PAT_CHECK(repeats >= 1 && warmup >= 0, "time_repeated: expected repeats >= 1 and warmup >= 0, got ", repeats, " and ",
            warmup);
  for (int i = 0; i < warmup; ++i) fn();
  TimingStats stats;
  for (int i = 0; i < repeats; ++i) stats.ms.push_back(elapsed_ms(fn));
  summarize(stats);
  return stats;
}

std::pair<TimingStats, TimingStats> time_interleaved(const std::function<void()>& a, const std::function<void()>& b,
                                                     int warmup, int repeats) {
  PAT_CHECK(repeats >= 1 && warmup >= 0, "time_interleaved: expected repeats >= 1 and warmup >= 0, got ", repeats,
            " and ", warmup);
  for (int i = 0; i < warmup; ++i) a(), b();
  std::pair<TimingStats, TimingStats> stats;
  for (int i = 0; i < repeats; ++i) {
    stats.first.ms.push_back(elapsed_ms(a));
    stats.second.ms.push_back(elapsed_ms(b));
  }
  summarize(stats.first);
  summarize(stats.second);
  return stats;
}

double current_rss_mib() {
  return status_mib("VmRSS");
}

double peak_rss_mib() {
  return status_mib("VmHWM");
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return out.good();
}

double cuda_peak_mib(torch::Device device) {
#ifdef PAT_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);  // [0]: all pools
  }
#endif
  return -1;
}

void reset_cuda_peak(torch::Device device) {
#ifdef PAT_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

double gemm_gflops(int64_t n, torch::Device device, torch::ScalarType dtype, int repeats) {
  PAT_CHECK(n >= 1, "gemm_gflops: expected n >= 1, got ", n);
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options), c = torch::empty({n, n}, options);
  const auto stats = time_repeated(
      [&] {
        torch::mm_out(c, a, b);
        synchronize(device);
      },
      1, repeats);
  return 2.0 * static_cast<double>(n) * n * n / (stats.median_ms * 1e-3) * 1e-9;
}

double sgemm_gflops(int64_t n, int repeats) {
  return gemm_gflops(n, torch::kCPU, torch::kFloat32, repeats);
}

}  // namespace pat::engine
