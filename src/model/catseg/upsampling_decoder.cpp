#include "pat/model/catseg/upsampling_decoder.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/fast_paths.h"
#include "pat/model/catseg/patch_upsample.h"

namespace pat::model {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

DoubleConvImpl::DoubleConvImpl(int64_t in_channels, int64_t out_channels) {
  const int64_t groups = out_channels / 16;
  PAT_CHECK(in_channels > 0 && groups > 0 && out_channels % groups == 0,
            "DoubleConv: expected at least 16 output channels divisible by out/16 GroupNorm groups, got ",
            out_channels);
  double_conv = register_module(
      "double_conv", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 3).padding(1).bias(false)),
                                    nn::GroupNorm(groups, out_channels), nn::ReLU(),
                                    nn::Conv2d(nn::Conv2dOptions(out_channels, out_channels, 3).padding(1).bias(false)),
                                    nn::GroupNorm(groups, out_channels), nn::ReLU()));
}

torch::Tensor DoubleConvImpl::forward(const torch::Tensor& x) {
  return double_conv->forward(x);
}

DecoderStageImpl::DecoderStageImpl(const DecoderStageOptions& options_) : options(options_) {
  PAT_CHECK(options.guidance_channels > 0 && options.guidance_channels < options.in_channels,
            "DecoderStage: expected 0 < guidance_channels < in_channels, got ", options.guidance_channels, " and ",
            options.in_channels);
  up = register_module(
      "up", nn::ConvTranspose2d(
                nn::ConvTranspose2dOptions(options.in_channels, options.in_channels - options.guidance_channels, 2)
                    .stride(2)));
  conv = register_module("conv", DoubleConv(options.in_channels, options.out_channels));
}

torch::Tensor DecoderStageImpl::forward(const torch::Tensor& x, const torch::Tensor& guidance) {
  PAT_CHECK(x.dim() == 4 && x.size(1) == options.in_channels, "DecoderStage: expected [B*T, ", options.in_channels,
            ", h, w], got ", x.sizes());
  auto y = patch_upsample(up, x);
  PAT_CHECK(guidance.defined() && guidance.dim() == 4 && guidance.size(1) == options.guidance_channels &&
                guidance.size(2) == y.size(2) && guidance.size(3) == y.size(3) && guidance.size(0) > 0 &&
                y.size(0) % guidance.size(0) == 0,
            "DecoderStage: expected guidance [B, ", options.guidance_channels, ", ", y.size(2), ", ", y.size(3),
            "] with B dividing ", y.size(0), ", got ", guidance.defined() ? guidance.sizes() : torch::IntArrayRef{});
  const int64_t b = guidance.size(0), t = y.size(0) / b;
  if (!catseg_fast_paths().factored_guidance) {
    auto repeated = guidance.unsqueeze(1)
                        .expand({b, t, guidance.size(1), guidance.size(2), guidance.size(3)})
                        .reshape({b * t, guidance.size(1), guidance.size(2), guidance.size(3)});
    return conv(torch::cat({y, repeated}, 1));
  }
  // conv(cat(y, g)) = conv_y(y) + conv_g(g): the guidance's share once per image, added to every class.
  auto& layers = conv->double_conv;
  const auto& weight = layers[0]->as<nn::Conv2d>()->weight;
  const int64_t cy = y.size(1);
  const auto conv_options = F::Conv2dFuncOptions().padding(1);
  auto a = F::conv2d(y, weight.narrow(1, 0, cy), conv_options);
  auto g = F::conv2d(guidance, weight.narrow(1, cy, options.guidance_channels), conv_options).unsqueeze(1);
  auto per_image = a.view({b, t, a.size(1), a.size(2), a.size(3)});
  if (torch::GradMode::is_enabled())
    a = (per_image + g).reshape(a.sizes());
  else
    per_image.add_(g);
  for (auto it = layers->begin() + 1; it != layers->end(); ++it) a = it->forward(a);
  return a;
}

}  // namespace pat::model
