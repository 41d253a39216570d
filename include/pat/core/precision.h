#pragma once
/// \file Numeric modes of a run (`runtime.precision`, `runtime.tf32`, `runtime.channels_last`).

#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace pat {

/// Allows (or forbids) TF32 in CUDA matrix products and cuDNN convolutions. No effect without CUDA.
void set_tf32(bool allow);

/// Throws unless `precision` is "fp32" or "bf16" (`runtime.precision`).
void check_precision(const std::string& precision);

/// CUDA autocast for the scope of one forward pass: with precision "bf16" on a CUDA device, matrix
/// products and convolutions run in bfloat16 while norms, softmax and losses stay float32, as
/// torch.autocast does. Anything else (fp32, or the CPU, whose autocast in LibTorch 1.13 cannot run
/// LayerNorm/GroupNorm in bfloat16) changes nothing. The previous state is restored and the cast-weight
/// cache cleared when the scope ends, so an optimizer step is never served stale casts.
class Autocast {
 public:
  Autocast(torch::Device device, const std::string& precision);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;
  bool enabled() const { return enabled_; }

 private:
  bool enabled_ = false;
  bool previous_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat32;
};

/// Moves `module` to `device`; on CUDA with `channels_last`, also `to_channels_last`.
void place_module(torch::nn::Module& module, torch::Device device, bool channels_last);

/// Stores every 4-D parameter and buffer of `module` (convolution weights) channels-last, so convolutions
/// run in NHWC (faster with cuDNN and tensor cores); results are unchanged.
void to_channels_last(torch::nn::Module& module);

}  // namespace pat
