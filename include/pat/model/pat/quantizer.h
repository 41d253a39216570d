#pragma once
/// \file The codebook quantizer interface (faiss-style: one abstract class, one subclass per file, all
/// string-to-object construction in quantizer_factory.h). PAT.md "Codebook quantizer".
///
/// A quantizer maps an L2-normalized map z [B, d, H, W] to its nearest codes (cosine similarity, one
/// matrix product) and returns them with a straight-through gradient. Implementations: EmaQuantizer
/// ("ema", quantizer_ema.h) and LossQuantizer ("loss", quantizer_loss.h). A residual or product
/// quantizer is one more subclass (ids then [B, M, H, W] for M codebooks) plus one line in the factory.
///
/// Dead-code restart counts OPTIMIZER steps: every training-mode forward adds its (reduced) code counts to
/// the current step, and `end_step()` (the trainer calls it once after each optimizer step, so with
/// gradient accumulation several forwards make one step) ages the codes unused during the whole step and
/// re-seeds those unused for `dead_code_steps` steps from the inputs of the step's last forward, drawn
/// WITHOUT replacement (no two codes get the same input; when there are more dead codes than inputs, the
/// longest-unused ones are re-seeded, lowest index first among equals, and the rest stay dead until the
/// next step).
///
/// Distributed training: implementations pass their per-batch statistics through the optional stats
/// reducer before anything is updated, draw the inputs that re-seed dead codes from the optional
/// restart pool, and pass the chosen inputs through the optional restart sync. With a reducer that
/// all-reduces (sums), a pool that all-gathers and a sync that broadcasts from rank 0, every rank keeps
/// the same codebook, and that codebook is the one a single process with the whole batch would keep.
///
/// The nearest-code search always runs in float32 with autocast disabled: under bf16 autocast a matrix
/// product of unit vectors rounds the similarities to 8 mantissa bits and flips near-tied assignments.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "pat/model/pat/defaults.h"

namespace pat::model {

/// Options shared by every quantizer kind (fields a kind does not use are ignored by it). Defaults are the
/// config's (`model.pat.*`, defaults.h).
struct QuantizerOptions {
  /// d: channels of the input map and of every code (`model.pat.code_dim`).
  int64_t dim = pat_config_defaults().code_dim;
  /// K: number of codes (`model.pat.codebook_size`).
  int64_t codebook_size = pat_config_defaults().codebook_size;
  /// EMA decay of the code counts and sums, in [0, 1) (kind "ema"; `model.pat.ema_decay`).
  double decay = pat_config_defaults().ema_decay;
  /// A code unused for this many consecutive optimizer steps (see end_step) is re-seeded from a random
  /// input of the step; 0 disables restarts (`model.pat.dead_code_steps`).
  int64_t dead_code_steps = pat_config_defaults().dead_code_steps;
};

/// What a quantizer returns. Losses are UNWEIGHTED: the model multiplies them by its loss weights
/// (PAT.md: commitment beta = 0.25; the codebook loss of kind "loss" usually weight 1.0).
struct QuantizerOutput {
  /// [B, d, H, W], dtype of z: forward value q (the selected codes), gradient of z (straight-through:
  /// z + sg(q - z)), so d quantized / d z is the identity.
  torch::Tensor quantized;
  /// [B, H, W] int64: index of the selected code per position ([B, M, H, W] for M codebooks).
  torch::Tensor ids;
  /// Scalar float32: mean over the B*H*W positions of ||z - sg(q)||^2 (squared L2 summed over d; for
  /// unit vectors this is 2 - 2 cos). Its gradient reaches z only.
  torch::Tensor commitment_loss;
  /// Scalar float32: mean over positions of ||sg(z) - q||^2; gradient reaches the codebook only. A zero
  /// scalar for the EMA quantizer (its codebook has no gradient path).
  torch::Tensor codebook_loss;
  /// Scalar float32, no grad: exp(entropy) of this batch's code histogram (1 = one code, K = uniform).
  torch::Tensor perplexity;
  /// Scalar float32, no grad: fraction of the K codes selected by at least one position of this batch.
  torch::Tensor usage;
};

/// Applied in place to the per-batch statistics before they update the codebook (training only).
/// "ema": {counts [K] float32 (assignments per code), sums [K, d] float32 (sum of the inputs assigned
/// to each code)}; "loss": {counts [K]} (only when dead-code restart is on). Must keep shapes.
/// Under data parallelism: all-reduce (sum) each tensor.
using QuantizerStatsReducer = std::function<void(std::vector<torch::Tensor>&)>;

/// Maps this rank's inputs [N, d] to the rows dead codes are re-seeded from (training only). Under data
/// parallelism: all-gather, every rank's rows in rank order ([world·N, d]).
using QuantizerRestartPool = std::function<torch::Tensor(const torch::Tensor&)>;

/// Applied in place to the [R, d] inputs chosen to re-seed R dead codes (training only). Under data
/// parallelism: broadcast from rank 0 (R is the same on every rank once the counts are reduced).
using QuantizerRestartSync = std::function<void(torch::Tensor&)>;

/// Abstract quantizer. Codebook updates (EMA, restarts) happen only in training mode.
class QuantizerImpl : public torch::nn::Module {
 public:
  /// Validates the options (a `pat::Error` names the bad field).
  explicit QuantizerImpl(QuantizerOptions options);
  ~QuantizerImpl() override = default;

  /// z: [B, d, H, W] floating, L2-normalized over d (the caller normalizes).
  virtual QuantizerOutput forward(const torch::Tensor& z) = 0;

  /// [K, d] float32: the L2-normalized codes the next forward will use (no grad).
  virtual torch::Tensor codes() const = 0;

  /// ids [B, H, W] int64 -> codes [B, d, H, W] float32 (token maps back to features; no grad).
  virtual torch::Tensor decode(const torch::Tensor& ids) const;

  const QuantizerOptions& options() const { return options_; }
  int64_t dim() const { return options_.dim; }
  int64_t codebook_size() const { return options_.codebook_size; }

  /// Installs (or, with an empty function, removes) the distributed statistics hook.
  void set_stats_reducer(QuantizerStatsReducer reducer) { stats_reducer_ = std::move(reducer); }
  /// Installs (or removes) the distributed restart hooks.
  void set_restart_pool(QuantizerRestartPool pool) { restart_pool_ = std::move(pool); }
  void set_restart_sync(QuantizerRestartSync sync) { restart_sync_ = std::move(sync); }

  /// [K] int64: consecutive optimizer steps each code has gone unused (buffer "unused_steps").
  const torch::Tensor& unused_steps() const { return unused_steps_; }

  /// Ends one optimizer step: codes selected by no training forward since the previous call age by one
  /// step, the others reset to 0, and codes unused for `dead_code_steps` steps are re-seeded (module
  /// docs). Nothing happens when no training forward ran since the previous call. Under data parallelism
  /// every rank must call it at the same step (it runs the restart pool and sync collectives).
  void end_step();

 protected:
  /// Checks z and returns its rows [B*H*W, d] in `codes`' dtype.
  torch::Tensor rows_of(const torch::Tensor& z) const;
  /// Applies the stats reducer (if any) and checks it kept the shapes.
  void reduce_stats(std::vector<torch::Tensor>& stats) const;
  /// Adds one training forward's counts [K] (already reduced) to the current step and keeps its rows
  /// [N, d] (detached) as the step's restart candidates.
  void record_step(const torch::Tensor& counts, const torch::Tensor& rows);
  /// Overwrites dead codes `dead` [R] int64 with the L2-normalized inputs `fresh` [R, d] (no grad).
  virtual void reseed(const torch::Tensor& dead, const torch::Tensor& fresh) = 0;
  /// Fills the statistics and the straight-through output shared by every kind.
  QuantizerOutput make_output(const torch::Tensor& z, const torch::Tensor& rows, const torch::Tensor& ids,
                              const torch::Tensor& selected, const torch::Tensor& counts) const;

  QuantizerOptions options_;
  torch::Tensor unused_steps_;
  torch::Tensor step_counts_;   // [K] counts of the training forwards of the current step (undefined: none)
  torch::Tensor restart_rows_;  // [N, d] inputs of the step's last training forward
  QuantizerStatsReducer stats_reducer_;
  QuantizerRestartPool restart_pool_;
  QuantizerRestartSync restart_sync_;
};

TORCH_MODULE(Quantizer);

/// ids [N] of the nearest code (max cosine similarity, one matrix product) for rows [N, d] and
/// codes [K, d], both L2-normalized. Computed in float32 with autocast off, whatever the input dtypes.
torch::Tensor quantizer_nearest(const torch::Tensor& rows, const torch::Tensor& codes);

/// Perplexity exp(-sum p log p) of counts [K] (p = counts / sum; 0 log 0 = 0): scalar float32.
torch::Tensor quantizer_perplexity(const torch::Tensor& counts);

/// Fraction of entries of counts [K] that are > 0: scalar float32.
torch::Tensor quantizer_usage(const torch::Tensor& counts);

}  // namespace pat::model
