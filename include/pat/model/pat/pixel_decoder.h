#pragma once
/// \file The pixel branch's top-down decoder (PAT.md "Pixel branch"): from the coarsest used level's
/// quantized map, each stage upsamples x2 (bilinear, align_corners=false), concatenates the used level's
/// quantized map at that scale if there is one, and runs a residual block; a 3x3 conv gives the image.
///
/// ViT-B/16@384 defaults: 24 (L2) -> 48 (+L1) -> 96 (+L0) -> 192 -> 384, output [B, 3, 384, 384]
/// (or [B, 3, 192, 192] with full_resolution = false, which drops the last stage).
/// Residual block (in -> out): conv3x3(no bias) -> GN -> ReLU -> conv3x3(no bias) -> GN, plus a 1x1 conv
/// (no bias) shortcut when in != out (identity otherwise), then ReLU.
/// Submodules: "stages" (ModuleList of residual blocks: conv1, norm1, conv2, norm2, [shortcut]), "head"
/// Conv2d(last -> out_channels, 3x3, bias).

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/defaults.h"

namespace pat::model {

struct PyramidDecoderOptions {
  /// Output channels of each x2 stage, coarse to fine; 4 stages take 24x24 to 384x384 (`model.pat.decoder_dims`).
  std::vector<int64_t> stage_dims = pat_config_defaults().decoder_dims;
  /// false: drop the last stage (output at half the input resolution, ~4x less decoder compute at the end;
  /// `model.pat.decoder_resolution`).
  bool full_resolution = pat_config_defaults().decoder_resolution == "full";
  /// GroupNorm groups in every block (must divide every stage dim used).
  int64_t groups = 8;
  /// Output channels (3: an RGB image in CLIP normalization).
  int64_t out_channels = 3;
};

class PyramidDecoderImpl : public torch::nn::Module {
 public:
  /// code_dim: channels of every quantized map; levels: the tokenizer's used levels (ascending). The
  /// decoder starts at the last (coarsest) one; used level l joins after stage (top - l - 1).
  PyramidDecoderImpl(PyramidDecoderOptions options, int64_t code_dim, std::vector<int64_t> levels);

  /// quantized: per level index (as PyramidTokenizerOutput::quantized, size > max used level),
  /// [B, code_dim, H_l, W_l]; unused entries may be undefined. Returns [B, out_channels, H, W] with
  /// H = H_top * 2^(number of stages).
  torch::Tensor forward(const std::vector<torch::Tensor>& quantized);

  /// Number of stages run (stage_dims.size(), minus one without full_resolution).
  int64_t num_stages() const { return static_cast<int64_t>(skips_.size()); }
  const PyramidDecoderOptions& options() const { return options_; }

 private:
  PyramidDecoderOptions options_;
  int64_t code_dim_;
  std::vector<int64_t> levels_;
  std::vector<int64_t> skips_;  // level joining after each stage, -1 for none
  torch::nn::ModuleList stages_;
  torch::nn::Conv2d head_{nullptr};
};

TORCH_MODULE(PyramidDecoder);

}  // namespace pat::model
