#pragma once
/// \file Quantizer kind "loss": a codebook trained by gradient (VQ-VAE): the codebook loss
/// ||sg(z) - q||^2 moves the codes, the commitment loss ||z - sg(q)||^2 moves the encoder. PAT.md
/// "Codebook quantizer" (the alternative mode).
///
/// The parameter "codebook" [K, d] is free; the codes used are its rows L2-normalized. Dead codes (unused
/// for `dead_code_steps` optimizer steps) are re-seeded at `end_step()` from inputs of the step, as for
/// "ema" (quantizer.h); the per-forward counts go through the stats reducer only when restarts are on.
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
  void reseed(const torch::Tensor& dead, const torch::Tensor& fresh) override;

  torch::Tensor codebook_;
};

TORCH_MODULE(LossQuantizer);

}  // namespace pat::model
