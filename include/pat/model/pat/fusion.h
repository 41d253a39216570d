#pragma once
/// \file The semantic branch (PAT.md "Semantic branch"): the quantized maps of all used levels are
/// resampled (bilinear, align_corners=false) to each guidance resolution, concatenated (finest level
/// first), fused by a 1x1 conv + ReLU, and projected by a per-resolution 1x1 conv to that guidance's
/// channel count. The projections start at zero, so an untrained PAT adds exactly nothing to CAT-Seg.
///
/// ViT-B/16 defaults: residuals [B, 128, 24, 24] (appearance guidance), [B, 32, 48, 48] and
/// [B, 16, 96, 96] (decoder guidances), added by the model to CAT-Seg's projected (post-ReLU) guidances.
/// Submodules: "fuse.<i>" Conv2d(n*d -> fused_dim, 1x1, bias), one ("fuse.0", shared) or one per
/// resolution; "project.<r>" Conv2d(fused_dim -> guidance_dims[r], 1x1, bias), one per resolution.
/// Note: bilinear (not area) also when downsampling 96 -> 24, as the design says; it reads 2x2 samples
/// per output pixel, the codes are piecewise constant so this loses little.

#include <array>
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/defaults.h"

namespace pat::model {

struct PyramidFusionOptions {
  /// Channels after the fusion conv + ReLU (`model.pat.fusion_dim`).
  int64_t fused_dim = pat_config_defaults().fusion_dim;
  /// Channels of each guidance residual, coarse first (CAT-Seg ViT-B: appearance 128, decoder 32, 16;
  /// `model.head.appearance_guidance_proj_dim`, `model.head.decoder_guidance_proj_dims`).
  std::vector<int64_t> guidance_dims = {head_config_defaults().appearance_guidance_proj_dim,
                                        head_config_defaults().decoder_guidance_proj_dims[0],
                                        head_config_defaults().decoder_guidance_proj_dims[1]};
  /// true ("shared decoding"): one fusion conv for every resolution; false: one per resolution
  /// (`model.pat.fusion`).
  bool shared = pat_config_defaults().fusion == "shared";
  /// Zero-initialize the output projections (weights and biases) so the residuals start at exactly 0.
  bool zero_init = true;
};

struct PyramidFusionOutput {
  /// One per guidance resolution, coarse first: [B, guidance_dims[r], h_r, w_r].
  std::vector<torch::Tensor> residuals;
  /// The fused maps before projection, coarse first: [B, fused_dim, h_r, w_r] (fused[0] feeds the aux head).
  std::vector<torch::Tensor> fused;
};

class PyramidFusionImpl : public torch::nn::Module {
 public:
  /// code_dim: channels of every quantized map; levels: the tokenizer's used levels (ascending).
  PyramidFusionImpl(PyramidFusionOptions options, int64_t code_dim, std::vector<int64_t> levels);

  /// quantized: per level index (as PyramidTokenizerOutput::quantized), [B, code_dim, H_l, W_l];
  /// sizes: the guidance resolutions {h, w}, coarse first, one per guidance_dims entry.
  PyramidFusionOutput forward(const std::vector<torch::Tensor>& quantized,
                              const std::vector<std::array<int64_t, 2>>& sizes);

  const PyramidFusionOptions& options() const { return options_; }

 private:
  PyramidFusionOptions options_;
  int64_t code_dim_;
  std::vector<int64_t> levels_;
  torch::nn::ModuleList fuse_;     // 1 (shared) or one per resolution
  torch::nn::ModuleList project_;  // one per resolution
};

TORCH_MODULE(PyramidFusion);

}  // namespace pat::model
