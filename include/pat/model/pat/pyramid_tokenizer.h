#pragma once
/// \file Feature Pyramid Tokenization, the "independent tokenizer" (PAT.md "Pyramid", "Codebook quantizer",
/// "Bottom-up composition"): per level a 1x1 projection to d, L2-normalized, and one quantizer; levels
/// are quantized finest first and each quantized map, downsampled by a strided conv, is added to the
/// next used level's projection before that level is quantized.
///
/// Levels are indexed finest first and each is 2x coarser than the previous one. ViT-B/16@384 (CAT-Seg's
/// maps): L0 [B, 128, 96, 96] (block 7 through ConvT x4), L1 [B, 256, 48, 48] (block 3 through ConvT x2),
/// L2 [B, 512, 24, 24] (the dense CLIP embedding).
///
/// Submodules (checkpoint names), for each used level l: "project_l<l>" Conv2d(C_l -> d, 1x1, bias),
/// "quantize_l<l>" (the quantizer; EMA buffers), and for each used level after the first
/// "compose_l<l>" Conv2d(d -> d, kernel 2s-1, stride s, padding s-1, bias) with s = 2^(l - previous used).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/quantizer.h"

namespace pat::model {

struct PyramidTokenizerOptions {
  /// Input channels of every pyramid level, finest first (ViT-B/16: L0 128, L1 256, L2 512; ViT-L: 128, 256, 768).
  std::vector<int64_t> level_channels = {128, 256, 512};
  /// Levels tokenized, strictly ascending indices into level_channels; {2} is the single-level ablation
  /// (`model.pat.levels`).
  std::vector<int64_t> levels = pat_config_defaults().levels;
  /// Quantizer kind, see make_quantizer: "ema" | "loss" (`model.pat.quantizer`).
  std::string quantizer = pat_config_defaults().quantizer;
  /// Codebook options, the same for every level; `codebook.dim` is d, the projection width,
  /// `codebook.codebook_size` is K.
  QuantizerOptions codebook;
  /// true ("decoupled"): stop-gradient on the input levels, nothing reaches CLIP / CAT-Seg's
  /// upsamplers through PAT. false ("coupled"): gradients flow into the inputs (`model.pat.decoupled`).
  bool decoupled = pat_config_defaults().decoupled;
  /// Bottom-up composition (add the previous used level's downsampled quantized map before quantizing;
  /// `model.pat.compose`). false: every level is quantized from its own projection alone.
  bool compose = pat_config_defaults().compose;
};

struct PyramidTokenizerOutput {
  /// Per level index (size = level_channels.size(); undefined for unused levels):
  /// [B, d, H_l, W_l] straight-through quantized maps.
  std::vector<torch::Tensor> quantized;
  /// [B, H_l, W_l] int64 token ids.
  std::vector<torch::Tensor> ids;
  /// [B, d, H_l, W_l] the L2-normalized maps that were quantized (after composition).
  std::vector<torch::Tensor> projected;
  /// Scalars (no grad): per-level perplexity and fraction of codes used in this batch.
  std::vector<torch::Tensor> perplexity;
  std::vector<torch::Tensor> usage;
  /// Scalars: SUM over used levels of the unweighted per-level losses (see QuantizerOutput).
  torch::Tensor commitment_loss;
  torch::Tensor codebook_loss;

  /// "l<l>.perplexity", "l<l>.usage", "commitment_loss", "codebook_loss" as doubles (synchronizes the device).
  std::map<std::string, double> scalars() const;
};

class PyramidTokenizerImpl : public torch::nn::Module {
 public:
  explicit PyramidTokenizerImpl(PyramidTokenizerOptions options = {});

  /// levels: one tensor per level index (size = level_channels.size()), [B, C_l, H_l, W_l] floating;
  /// entries of unused levels may be undefined. H_l is ceil(H_{l-1} / 2) (checked when composing).
  PyramidTokenizerOutput forward(const std::vector<torch::Tensor>& levels);

  /// Token maps back to code maps: ids per level ([B, H_l, W_l] int64, undefined for unused levels) ->
  /// [B, d, H_l, W_l] (no grad). Feeding these to PyramidDecoder reconstructs an image from tokens.
  std::vector<torch::Tensor> decode(const std::vector<torch::Tensor>& ids) const;

  /// The quantizer of a used level (to install distributed hooks or inspect codebooks).
  Quantizer quantizer(int64_t level) const;

  /// Installs the same hooks on every level's quantizer (see quantizer.h).
  void set_stats_reducer(const QuantizerStatsReducer& reducer);
  void set_restart_sync(const QuantizerRestartSync& sync);

  /// Ends one optimizer step on every level's quantizer (dead-code restart, QuantizerImpl::end_step).
  void end_step();

  const PyramidTokenizerOptions& options() const { return options_; }
  int64_t code_dim() const { return options_.codebook.dim; }
  int64_t num_levels() const { return static_cast<int64_t>(options_.level_channels.size()); }

 private:
  PyramidTokenizerOptions options_;
  std::map<int64_t, torch::nn::Conv2d> project_;
  std::map<int64_t, Quantizer> quantize_;
  std::map<int64_t, torch::nn::Conv2d> compose_;
};

TORCH_MODULE(PyramidTokenizer);

/// Checks a used-level list against the number of levels (strictly ascending, in range, non-empty);
/// `where` names the option in the error.
void pyramid_check_levels(const std::vector<int64_t>& levels, int64_t num_levels, const std::string& where);

}  // namespace pat::model
