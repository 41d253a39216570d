#pragma once
/// \file Upsampling decoder stages of the CAT-Seg head (official Up / DoubleConv, CATSEG.md §1.7):
/// ConvTranspose x2 to (C_in - C_guid) channels, concatenate the guidance repeated over classes, then
/// (conv3x3 without bias -> GroupNorm(C/16) -> ReLU) twice.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace pat::model {

/// Child double_conv (official indices): 0 Conv3x3 in->out (no bias), 1 GroupNorm(out/16, out), 2 ReLU,
/// 3 Conv3x3 out->out (no bias), 4 GroupNorm(out/16, out), 5 ReLU.
class DoubleConvImpl : public torch::nn::Module {
 public:
  /// out_channels >= 16 and divisible by its GroupNorm group count out/16.
  DoubleConvImpl(int64_t in_channels, int64_t out_channels);
  /// x: [N, in, H, W] -> [N, out, H, W]
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential double_conv{nullptr};
};
TORCH_MODULE(DoubleConv);

struct DecoderStageOptions {
  /// Input channels C_in (also the channels after concatenating the guidance).
  int64_t in_channels = 128;
  /// Output channels (>= 16; GroupNorm uses out/16 groups).
  int64_t out_channels = 64;
  /// Guidance channels C_guid concatenated after the transposed convolution (< in_channels).
  int64_t guidance_channels = 32;
};

/// Children (official names): up (ConvTranspose2d in -> in - guid, k2 s2), conv (DoubleConv).
class DecoderStageImpl : public torch::nn::Module {
 public:
  explicit DecoderStageImpl(const DecoderStageOptions& options);

  /// x: [B*T, C_in, h, w] (image-major: index b*T + t); guidance: [B, C_guid, 2h, 2w].
  /// Returns [B*T, out, 2h, 2w].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& guidance);

  DecoderStageOptions options;
  torch::nn::ConvTranspose2d up{nullptr};
  DoubleConv conv{nullptr};
};
TORCH_MODULE(DecoderStage);

}  // namespace pat::model
