#include "pat/core/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "pat/core/error.h"

// LibTorch 2.4 replaced the CUDA-specific autocast setters by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define PAT_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace pat {
namespace {

bool cuda_autocast_enabled() {
#ifdef PAT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void set_cuda_autocast(bool enabled, torch::ScalarType dtype) {
#ifdef PAT_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(enabled);
#endif
}

torch::ScalarType cuda_autocast_dtype() {
#ifdef PAT_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

}  // namespace

void check_precision(const std::string& precision) {
  PAT_CHECK(precision == "fp32" || precision == "bf16", "runtime.precision: expected fp32 or bf16, got \"", precision,
            "\"");
}

void set_tf32(bool allow) {
  at::globalContext().setAllowTF32CuBLAS(allow);
  at::globalContext().setAllowTF32CuDNN(allow);
}

Autocast::Autocast(torch::Device device, const std::string& precision) {
  check_precision(precision);
  if (precision != "bf16" || !device.is_cuda()) return;
  enabled_ = true;
  previous_ = cuda_autocast_enabled();
  previous_dtype_ = cuda_autocast_dtype();
  set_cuda_autocast(true, torch::kBFloat16);
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cuda_autocast(previous_, previous_dtype_);
}

void place_module(torch::nn::Module& module, torch::Device device, bool channels_last) {
  module.to(device);
  if (device.is_cuda() && channels_last) to_channels_last(module);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace pat
