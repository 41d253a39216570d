#pragma once
/// \file Quantizer kind "loss": a codebook trained by gradient (VQ-VAE): the codebook loss
/// ||sg(z) - q||^2 moves the codes, the commitment loss ||z - sg(q)||^2 moves the encoder. PAT.md
/// "Codebook quantizer" (the alternative mode).
///
/// The parameter "codebook" [K, d] is free; the codes used are its rows L2-normalized. Dead codes (unused
/// for `dead_code_steps` training steps) are re-seeded from random current inputs, as for "ema".
/// Parameter "codebook" [K, d]; buffer "unused_steps" [K] int64.

#include <torch/nn/pimpl.h>

#include "pat/model/pat/quantizer.h"

namespace pat::model {

class LossQuantizerImpl : public QuantizerImpl {
 public:
  explicit LossQuantizerImpl(QuantizerOptions options = {});

  QuantizerOutput forward(const torch::Tensor& z) override;
  torch::Tensor codes() const override;

  /// The raw (unnormalized) codebook parameter [K, d].
  torch::Tensor& codebook() { return codebook_; }

 private:
  torch::Tensor codebook_;
};

TORCH_MODULE(LossQuantizer);

}  // namespace pat::model
