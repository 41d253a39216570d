#pragma once
/// \file Quantizer kind "ema": codebook updated by exponential moving averages (no gradient), with
/// dead-code restart. PAT.md "Codebook quantizer".
///
/// Every training forward, with n [K] the batch's assignment counts and s [K, d] the sums of the inputs
/// assigned to each code (both after the stats reducer):
///   ema_counts = decay * ema_counts + (1 - decay) * n
///   ema_sums   = decay * ema_sums   + (1 - decay) * s
///   codebook   = normalize(ema_sums)          (L2 over d)
/// The output of the forward uses the codebook from before the update. At `end_step()` codes unused for
/// `dead_code_steps` optimizer steps are re-seeded: codebook[k] = ema_sums[k] = an input of the step,
/// ema_counts[k] = 1 (quantizer.h).
///
/// No Laplace smoothing: the classic EMA-VQ divides ema_sums by Laplace-smoothed counts, but the codes
/// here are L2-normalized and a positive per-code divisor cancels in the normalization, so smoothing
/// (which only ever changes that divisor) cannot change any code; it was removed (docs/pat.md). The
/// counts are kept as the EMA usage statistic (and for checkpoint compatibility).
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

  /// Direct access to the buffers (tests, checkpoint import, initialization from data).
  torch::Tensor& codebook() { return codebook_; }
  torch::Tensor& ema_counts() { return ema_counts_; }
  torch::Tensor& ema_sums() { return ema_sums_; }

 private:
  void update(const torch::Tensor& rows, const torch::Tensor& ids, const torch::Tensor& counts);
  void reseed(const torch::Tensor& dead, const torch::Tensor& fresh) override;

  torch::Tensor codebook_;
  torch::Tensor ema_counts_;
  torch::Tensor ema_sums_;
};

TORCH_MODULE(EmaQuantizer);

}  // namespace pat::model
