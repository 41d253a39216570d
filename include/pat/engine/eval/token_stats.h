#pragma once
/// \file How well token ids agree with ground-truth classes: the token × class contingency table,
/// accumulated over pixels (and images), and two scores of it.
///
/// With n_tc the pixels of token t and class c, N = Σ n_tc, n_t = Σ_c n_tc, n_c = Σ_t n_tc:
///   purity = (1/N) Σ_t max_c n_tc                       (1: every token lies within one class)
///   I      = Σ_tc (n_tc / N) ln(N n_tc / (n_t n_c))    (mutual information, nats)
///   H(T)   = -Σ_t (n_t / N) ln(n_t / N),  H(C) likewise
///   NMI    = I / ((H(T) + H(C)) / 2)                    (arithmetic normalization, scikit-learn's default)
/// NMI is 1 when both labelings are a single value (nothing to tell apart) and 0 when only one is.

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace pat::engine {

class TokenClassStats {
 public:
  /// `num_tokens` K: token ids must lie in [0, K). Pixels labelled `ignore_label` (or negative) are skipped.
  explicit TokenClassStats(int64_t num_tokens, int64_t ignore_label = 255);

  /// Adds the pixels of one map: `tokens` and `labels` integer tensors of the same shape (any device).
  /// Token ids outside [0, K) are a `pat::Error`; classes are the label values (the table grows to the
  /// largest one seen).
  void add(const torch::Tensor& tokens, const torch::Tensor& labels);

  /// Pixels counted so far (labelled ones only).
  int64_t pixels() const;
  /// Distinct classes and tokens among the counted pixels.
  int64_t classes_present() const;
  int64_t tokens_present() const;

  /// The scores above; 0 when no pixel was counted.
  double purity() const;
  double nmi() const;

  /// The table [K, C] int64 (C = largest class seen + 1).
  const torch::Tensor& table() const { return table_; }

 private:
  int64_t num_tokens_;
  int64_t ignore_label_;
  torch::Tensor table_;  ///< [K, C] int64 on the CPU
};

}  // namespace pat::engine
