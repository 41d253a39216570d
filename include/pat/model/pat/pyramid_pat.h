#pragma once
/// \file Everything PAT adds to CAT-Seg, as one module (PAT.md "Our design"): the pyramid tokenizer,
/// the pixel branch (decoder) and the semantic branch (fusion + optional aux head). The model feeds it
/// CAT-Seg's three maps and adds the returned residuals to CAT-Seg's projected guidances.
///
/// Wiring (ViT-B/16@384): levels = {res5 [B,128,96,96], res4 [B,256,48,48], res3 [B,512,24,24]} (finest
/// first, i.e. the REVERSE of CAT-Seg's guidance order), then
///   appearance guidance [B,128,24,24] += guidance_residuals[0]
///   decoder guidance 1  [B, 32,48,48] += guidance_residuals[1]
///   decoder guidance 2  [B, 16,96,96] += guidance_residuals[2]
/// and the loss adds L1(reconstruction, image) (pyramid_reconstruction_loss), beta * commitment,
/// (kind "loss") the codebook loss, and the aux BCE (pyramid_aux_bce_loss).
/// Submodules: "tokenizer", "decoder" (pixel_branch), "fusion" (semantic_branch), "aux_head" (aux_head).

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/aux_head.h"
#include "pat/model/pat/fusion.h"
#include "pat/model/pat/pixel_decoder.h"
#include "pat/model/pat/pyramid_tokenizer.h"

namespace pat::model {

/// Ablation switches: tokenizer.levels (single vs three levels), tokenizer.decoupled (coupled vs
/// decoupled), fusion.shared (shared vs per-level fusion), tokenizer.codebook.codebook_size (K),
/// tokenizer.quantizer (kind), decoder.full_resolution (full vs half-resolution decoder).
struct PyramidPatOptions {
  /// Levels, projections, codebooks, composition, stop-gradient. Its codebook.dim and levels are
  /// shared with the decoder and the fusion.
  PyramidTokenizerOptions tokenizer;
  /// Build and run the pixel branch (reconstruction decoder); the model builds it when
  /// `model.pat.reconstruction_weight` > 0.
  bool pixel_branch = pat_config_defaults().reconstruction_weight > 0;
  PyramidDecoderOptions decoder;
  /// Build and run the semantic branch (guidance residuals).
  bool semantic_branch = true;
  PyramidFusionOptions fusion;
  /// Build the auxiliary text head (needs semantic_branch; runs when text is passed to forward;
  /// `model.pat.aux_enabled`).
  bool aux_head = pat_config_defaults().aux_enabled;
  PyramidAuxHeadOptions aux;
};

struct PyramidPatOutput {
  /// Quantized maps, token ids, losses, codebook statistics per level.
  PyramidTokenizerOutput tokens;
  /// [B, 3, 16 H_top, 16 W_top] (half that without decoder.full_resolution); undefined without pixel_branch.
  torch::Tensor reconstruction;
  /// Coarse first, [B, guidance_dims[r], H_r, W_r] where guidance r has the size of input level
  /// (num_levels - 1 - r); empty without semantic_branch.
  std::vector<torch::Tensor> guidance_residuals;
  /// [B, T, H_top, W_top] float; undefined unless aux_head and text are given.
  torch::Tensor aux_logits;
};

class PyramidPatImpl : public torch::nn::Module {
 public:
  explicit PyramidPatImpl(PyramidPatOptions options = {});

  /// levels: one per level index, finest first, [B, C_l, H_l, W_l] (all defined when the semantic
  /// branch runs: their sizes are the guidance sizes); text: [B, T, E] class embeddings or undefined.
  /// training_outputs: false skips the pixel decoder and the aux head, whose outputs only feed training
  /// losses (inference needs the tokens and the guidance residuals alone); reconstruction and aux_logits
  /// are then undefined.
  PyramidPatOutput forward(const std::vector<torch::Tensor>& levels, const torch::Tensor& text = {},
                           bool training_outputs = true);

  /// Independent tokenization, the way back: token ids per level -> reconstruction (no grad).
  torch::Tensor reconstruct(const std::vector<torch::Tensor>& ids);

  PyramidTokenizer& tokenizer() { return tokenizer_; }
  PyramidDecoder& decoder() { return decoder_; }
  PyramidFusion& fusion() { return fusion_; }
  PyramidAuxHead& aux_head() { return aux_head_; }
  const PyramidPatOptions& options() const { return options_; }

 private:
  PyramidPatOptions options_;
  PyramidTokenizer tokenizer_{nullptr};
  PyramidDecoder decoder_{nullptr};
  PyramidFusion fusion_{nullptr};
  PyramidAuxHead aux_head_{nullptr};
};

TORCH_MODULE(PyramidPat);

}  // namespace pat::model
