#include "pat/core/runtime.h"

#include <atomic>
#include <thread>

#include <ATen/Parallel.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <torch/torch.h>
#include <torch/version.h>

#include "pat/core/error.h"

namespace pat {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  PAT_CHECK(spec.rfind("cuda", 0) == 0, "runtime.device: expected auto, cpu, cuda or cuda:N, got \"", spec, "\"");
  int index = 0;
  if (spec.size() > 4) {
    PAT_CHECK(spec[4] == ':' && spec.size() > 5 && spec.find_first_not_of("0123456789", 5) == std::string::npos,
              "runtime.device: expected auto, cpu, cuda or cuda:N, got \"", spec, "\"");
    index = std::stoi(spec.substr(5));
  }
  PAT_CHECK(torch::cuda::is_available(), "runtime.device: \"", spec,
            "\" asked for, but this LibTorch build or machine has no CUDA device");
  PAT_CHECK(index < static_cast<int>(torch::cuda::device_count()), "runtime.device: \"", spec,
            "\" asked for, but only ", torch::cuda::device_count(), " CUDA device(s) exist");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int set_threads(int threads) {
  PAT_CHECK(threads >= 0, "runtime.threads: expected 0 (all cores) or a positive count, got ", threads);
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
#ifdef _OPENMP
  // The same count for the OpenMP runtime PAT's own loops were compiled against: official LibTorch builds bring
  // a copy of libgomp of their own, and a loop of PAT's would otherwise take that runtime's default (every core).
  omp_set_num_threads(threads);
#endif
  return torch::get_num_threads();
}

int parallel_for_threads() {
  std::atomic<int> chunks{0};  // with one chunk per thread over a range of one item per thread
  at::parallel_for(0, at::get_num_threads(), 1, [&](int64_t, int64_t) { ++chunks; });
  return chunks.load();
}

void seed_all(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace pat
