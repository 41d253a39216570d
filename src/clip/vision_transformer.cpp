#include "pat/clip/vision_transformer.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::clip {

VisionTransformerImpl::VisionTransformerImpl(const VisionTransformerOptions& options) : options_(options) {
  PAT_CHECK(options.patch_size > 0 && options.image_resolution % options.patch_size == 0,
            "CLIP vision: image_resolution ", options.image_resolution, " must be a multiple of patch_size ",
            options.patch_size);
  const int64_t w = options.width, g = options.image_resolution / options.patch_size;
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, options.patch_size).stride(options.patch_size).bias(false)));
  class_embedding = register_parameter("class_embedding", torch::empty({w}));
  positional_embedding = register_parameter("positional_embedding", torch::empty({g * g + 1, w}));
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-5)));
  transformer = register_module("transformer", Transformer(TransformerOptions{w, options.layers, options.heads}));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-5)));
  proj = register_parameter("proj", torch::empty({w, options.output_dim}));
  reset_parameters();
}

void VisionTransformerImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double scale = std::pow(static_cast<double>(options_.width), -0.5);
  class_embedding.normal_(0.0, scale);
  positional_embedding.normal_(0.0, scale);
  proj.normal_(0.0, scale);
}

torch::Tensor VisionTransformerImpl::positional_embedding_for(int64_t grid_h, int64_t grid_w) const {
  const int64_t g = options_.image_resolution / options_.patch_size;
  if (grid_h == g && grid_w == g) return positional_embedding;
  const int64_t w = options_.width;
  auto cls = positional_embedding.narrow(0, 0, 1);
  auto grid = positional_embedding.narrow(0, 1, g * g).reshape({1, g, g, w}).permute({0, 3, 1, 2});
  namespace F = torch::nn::functional;
  auto resized = F::interpolate(grid.to(torch::kFloat32), F::InterpolateFuncOptions()
                                                              .size(std::vector<int64_t>{grid_h, grid_w})
                                                              .mode(torch::kBicubic)
                                                              .align_corners(false));
  resized = resized.reshape({w, grid_h * grid_w}).t().to(positional_embedding.scalar_type());
  return torch::cat({cls, resized}, 0);
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& image, int64_t& grid_h, int64_t& grid_w) {
  const int64_t p = options_.patch_size;
  PAT_CHECK(image.dim() == 4 && image.size(1) == 3, "CLIP vision: expected an image batch [B, 3, H, W], got ",
            image.sizes());
  PAT_CHECK(image.size(2) % p == 0 && image.size(3) % p == 0 && image.size(2) > 0 && image.size(3) > 0,
            "CLIP vision: image height and width must be positive multiples of the patch size ", p, ", got ",
            image.size(2), "x", image.size(3));
  grid_h = image.size(2) / p;
  grid_w = image.size(3) / p;
  auto x = conv1(image.to(conv1->weight.scalar_type()));  // [B, W, h, w]
  const int64_t b = x.size(0), w = x.size(1);
  x = x.reshape({b, w, grid_h * grid_w}).permute({0, 2, 1});  // [B, h*w, W]
  auto cls = class_embedding.to(x.scalar_type()).view({1, 1, w}).expand({b, 1, w});
  x = torch::cat({cls, x}, 1) + positional_embedding_for(grid_h, grid_w).to(x.scalar_type());
  return layer_norm_fp32(ln_pre, x);
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& image) {
  int64_t gh = 0, gw = 0;
  auto x = transformer(embed(image, gh, gw));
  return torch::matmul(layer_norm_fp32(ln_post, x.select(1, 0)), proj);
}

VisionFeatures VisionTransformerImpl::features(const torch::Tensor& image, const std::vector<int64_t>& taps,
                                               bool embedding) {
  const int64_t layers = options_.layers;
  for (int64_t t : taps)
    PAT_CHECK(t >= 0 && t < layers, "CLIP vision features: tap block ", t, " out of range [0, ", layers, ")");
  int64_t gh = 0, gw = 0;
  auto x = embed(image, gh, gw);
  const int64_t b = x.size(0);
  // [B, 1+h*w, C] -> drop CLS -> [B, C, h, w]
  auto to_map = [&](const torch::Tensor& tokens) {
    return tokens.narrow(1, 1, gh * gw).transpose(1, 2).reshape({b, tokens.size(2), gh, gw});
  };
  std::vector<torch::Tensor> outputs(static_cast<size_t>(layers));
  VisionFeatures result;
  for (int64_t i = 0; i < layers; ++i) {
    auto block = transformer->block(i);
    if (i == layers - 1 && embedding)
      result.embedding = torch::matmul(layer_norm_fp32(ln_post, block->forward(x).select(1, 0)), proj);
    x = (i == layers - 1) ? block->forward_dense(x) : block->forward(x);
    if (std::find(taps.begin(), taps.end(), i) != taps.end()) outputs[static_cast<size_t>(i)] = x;
  }
  result.dense = to_map(torch::matmul(layer_norm_fp32(ln_post, x), proj));
  for (int64_t t : taps) result.taps.push_back(to_map(outputs[static_cast<size_t>(t)]));
  return result;
}

}  // namespace pat::clip
