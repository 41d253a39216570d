#pragma once
/// \file PAT's independent tokenizer (PAT.md "Independent tokenization"): CLIP's image tower with its block
/// taps, CAT-Seg's guidance upsamplers (levels 0 and 1 are their outputs) and PyramidPat's tokenizer and
/// pixel decoder, without the CAT-Seg head and the text tower. An image in, per-level token ids, code maps
/// and the reconstruction out.
///
/// Submodules carry SegModel's checkpoint names, so a run's weights load as they are: `clip.visual.*`,
/// `upsamplers.*`, `pat.*` (the whole PyramidPat, the semantic branch included, so that any `pat.*` of a
/// SegModel fits; that branch does not run here).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/clip/vision_transformer.h"
#include "pat/config/config.h"
#include "pat/model/catseg/guidance_upsamplers.h"
#include "pat/model/pat/pyramid_pat.h"

namespace pat::model {

struct StandaloneTokenizerOutput {
  /// [B, 3, S, S] the model input: the images resized to S = model.clip.image_size, CLIP-normalized.
  torch::Tensor input;
  /// Per level index, finest first (undefined for unused levels): [B, h_l, w_l] int64 token ids in [0, K).
  std::vector<torch::Tensor> ids;
  /// Per level index: [B, d, h_l, w_l] the selected codes.
  std::vector<torch::Tensor> quantized;
  /// Per level index: [B, d, h_l, w_l] the L2-normalized maps that were quantized (after composition).
  std::vector<torch::Tensor> projected;
  /// [B, 3, S, S] (S/2 with decoder_resolution half) CLIP-normalized; undefined without the pixel branch
  /// (pat.reconstruction_weight 0).
  torch::Tensor reconstruction;
};

class StandaloneTokenizerImpl : public torch::nn::Module {
 public:
  /// Builds the parts exactly as SegModel builds them from `config` (random init; CLIP from
  /// `clip.weights` when set). A config with `pat.enabled: false` is a `pat::Error`.
  explicit StandaloneTokenizerImpl(const ModelConfig& config);

  /// images: [B, 3, H, W] RGB 0..255 (any real dtype), resized to S x S bilinearly as SegModel does.
  /// Run it in eval mode: in training mode the EMA codebooks would update.
  StandaloneTokenizerOutput forward(const torch::Tensor& images);

  /// The names of the weights this module reads from a SegModel file: `clip.visual.*`, `upsamplers.*`,
  /// `pat.*`. Returns that subset of `tensors`; a subset without any `pat.*` is a `pat::Error` that
  /// names `what` (the tokenizer needs a model trained with PAT).
  static std::map<std::string, torch::Tensor> select_weights(const std::map<std::string, torch::Tensor>& tensors,
                                                             const std::string& what);

  /// [.., 3, H, W] CLIP-normalized -> RGB 0..255 (not clamped).
  static torch::Tensor denormalize(const torch::Tensor& normalized);

  /// Levels tokenized (indices, finest first) and K, the codes per level.
  const std::vector<int64_t>& levels() const { return config_.pat.levels; }
  int64_t codebook_size() const { return config_.pat.codebook_size; }
  int64_t image_size() const { return config_.clip.image_size; }
  bool has_reconstruction() const { return has_reconstruction_; }

  clip::VisionTransformer visual{nullptr};  ///< registered as "clip.visual"
  GuidanceUpsamplers upsamplers{nullptr};
  PyramidPat pat{nullptr};

 private:
  ModelConfig config_;
  bool has_reconstruction_ = false;
};
TORCH_MODULE(StandaloneTokenizer);

}  // namespace pat::model
