#pragma once
/// \file Quantizer kind "ema": codebook updated by exponential moving averages (no gradient), with
/// Laplace-smoothed counts and dead-code restart. PAT.md "Codebook quantizer".
///
/// One training step, with n [K] the batch's assignment counts and s [K, d] the sums of the inputs
/// assigned to each code (both after the stats reducer):
///   ema_counts = decay * ema_counts + (1 - decay) * n
///   ema_sums   = decay * ema_sums   + (1 - decay) * s
///   smoothed   = (ema_counts + eps) / (sum(ema_counts) + K * eps) * sum(ema_counts)
///   codebook   = normalize(ema_sums / smoothed[:, None])          (L2 over d)
/// then codes unused for `dead_code_steps` steps are re-seeded: codebook[k] = ema_sums[k] = a random
/// current input, ema_counts[k] = 1. The output of the step uses the codebook from before the update.
/// Initial state: random unit codes, ema_sums = codebook, ema_counts = 1.
/// Buffers (checkpointed): "codebook" [K, d], "ema_counts" [K], "ema_sums" [K, d], "unused_steps" [K] int64.

#include <torch/nn/pimpl.h>

#include "pat/model/pat/quantizer.h"

namespace pat::model {

class EmaQuantizerImpl : public QuantizerImpl {
 public:
  explicit EmaQuantizerImpl(QuantizerOptions options = {});

  QuantizerOutput forward(const torch::Tensor& z) override;
  torch::Tensor codes() const override { return codebook_; }

  /// [K] float32: the Laplace-smoothed EMA counts (the divisor of ema_sums).
  torch::Tensor smoothed_counts() const;

  /// Direct access to the buffers (tests, checkpoint import, initialization from data).
  torch::Tensor& codebook() { return codebook_; }
  torch::Tensor& ema_counts() { return ema_counts_; }
  torch::Tensor& ema_sums() { return ema_sums_; }

 private:
  void update(const torch::Tensor& rows, const torch::Tensor& ids, const torch::Tensor& counts);

  torch::Tensor codebook_;
  torch::Tensor ema_counts_;
  torch::Tensor ema_sums_;
};

TORCH_MODULE(EmaQuantizer);

}  // namespace pat::model
