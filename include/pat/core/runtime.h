#pragma once
/// \file Process-wide runtime settings: device choice, CPU threads, seeding.

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace pat {

/// Resolves "auto" | "cpu" | "cuda" | "cuda:N" to a device. "auto" is CUDA when available, else CPU.
/// Asking for CUDA on a build or machine without it is an error.
torch::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op thread count; 0 means all hardware threads. Returns the count in effect.
int set_threads(int threads);

/// How many threads at::parallel_for runs PAT's own loops on at the current thread count: 1 when the library was
/// compiled without OpenMP (at::parallel_for is inline code that then runs serially).
int parallel_for_threads();

/// Seeds LibTorch's CPU (and CUDA, when present) generators.
void seed_all(uint64_t seed);

/// The LibTorch version this binary was built against, e.g. "1.13.1".
std::string torch_version();

}  // namespace pat
