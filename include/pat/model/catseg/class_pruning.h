#pragma once
/// \file CAT-Seg's class pruning for large vocabularies (CATSEG.md §1.5): when T exceeds pad_len, each
/// image keeps the pad_len classes whose best cosine score over prompts and pixels is highest; the head
/// runs on that subset and the other classes get logit -100.

#include <cstdint>

#include <torch/types.h>

namespace pat::model {

/// Per-image class score: max over (P, h, w) of corr [B, P, T, h, w] -> [B, T].
torch::Tensor class_scores(const torch::Tensor& corr);

/// Indices [B, k] int64 of the k highest-scoring classes per image (topk, sorted=false: the order is
/// unspecified, and the head's result does not depend on it). corr: [B, P, T, h, w], 0 < k <= T.
torch::Tensor select_top_classes(const torch::Tensor& corr, int64_t k);

/// Rows of x [B, T, ...] at indices [B, k] -> [B, k, ...].
torch::Tensor gather_classes(const torch::Tensor& x, const torch::Tensor& indices);

/// Scatters logits [B, k, H, W] at class indices [B, k] into a [B, num_classes, H, W] tensor filled with
/// `fill` (CAT-Seg: -100).
torch::Tensor scatter_classes(const torch::Tensor& logits, const torch::Tensor& indices, int64_t num_classes,
                              double fill = -100.0);

}  // namespace pat::model
