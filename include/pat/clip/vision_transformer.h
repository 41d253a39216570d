#pragma once
/// \file CLIP's image tower (OpenAI VisionTransformer) with CAT-Seg's segmentation features: any input size
/// that is a multiple of the patch (positional grid resized bicubically), the dense last block, and the raw
/// outputs of chosen blocks (shared/design/CATSEG.md §1.2).

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/clip/residual_block.h"

namespace pat::clip {

struct VisionTransformerOptions {
  int64_t image_resolution = 224;  ///< native input side (positional grid = image_resolution / patch_size)
  int64_t patch_size = 16;         ///< patch side P
  int64_t width = 768;             ///< width W
  int64_t layers = 12;             ///< residual blocks
  int64_t heads = 12;              ///< attention heads
  int64_t output_dim = 512;        ///< embedding size E (columns of `proj`)
};

/// What `VisionTransformerImpl::features` returns.
struct VisionFeatures {
  torch::Tensor dense;  ///< [B, E, h, w]: dense last block, ln_post and proj on every patch token (unnormalized)
  std::vector<torch::Tensor> taps;  ///< per requested block, its raw output without the CLS token: [B, W, h, w]
  torch::Tensor embedding;          ///< [B, E]: the image embedding (`forward`), when asked for; else undefined
};

/// Parameters: `conv1.weight` [W,3,P,P] (no bias), `class_embedding` [W], `positional_embedding` [G²+1, W],
/// `ln_pre`, `transformer.resblocks.{i}.*`, `ln_post`, `proj` [W, E].
class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VisionTransformerOptions& options);

  /// The CLIP image embedding (unnormalized). image: [B, 3, H, W] normalized as CLIP expects, H and W
  /// multiples of the patch (the native size uses the stored positional grid; any other is resized).
  /// Returns [B, E] in the model dtype.
  torch::Tensor forward(const torch::Tensor& image);

  /// Segmentation features in one pass: blocks 0..L-2 standard, the last block in dense mode, then
  /// ln_post and proj on all tokens; `taps` are block indices in [0, layers) whose raw residual-stream
  /// outputs are returned (the last index gives the dense-mode block output, before ln_post), in the order
  /// given. image: [B, 3, H, W] with H = h·P, W = w·P. With `embedding`, the last block also runs in its
  /// standard mode and the image embedding (`forward`'s) comes along, sharing blocks 0..L-2.
  VisionFeatures features(const torch::Tensor& image, const std::vector<int64_t>& taps = {}, bool embedding = false);

  /// The positional embedding for an h x w patch grid: the stored one when h = w = G, otherwise the G x G
  /// patch part resized bicubically (align_corners=false) with the CLS entry kept first. [h·w+1, W].
  torch::Tensor positional_embedding_for(int64_t grid_h, int64_t grid_w) const;

  /// OpenAI's init: class/positional embeddings and proj ~ N(0, W^-1/2), blocks as `ClipModelImpl`.
  void reset_parameters();

  const VisionTransformerOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr};
  torch::Tensor class_embedding;       ///< [W]
  torch::Tensor positional_embedding;  ///< [G²+1, W]
  torch::nn::LayerNorm ln_pre{nullptr};
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  torch::Tensor proj;  ///< [W, E]

 private:
  /// conv1, CLS, positional embedding, ln_pre: [B, 1+h·w, W]; sets grid_h/grid_w.
  torch::Tensor embed(const torch::Tensor& image, int64_t& grid_h, int64_t& grid_w);

  VisionTransformerOptions options_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace pat::clip
