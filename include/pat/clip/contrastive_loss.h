#pragma once
/// \file CLIP's training objective (Radford et al. 2021): symmetric InfoNCE over a batch of matching
/// image-text pairs.

#include <torch/types.h>

namespace pat::clip {

/// `logits_per_image` [B, B]: row i scores image i against every text, the pair (i, i) matches. Returns
/// (cross_entropy(logits, arange(B)) + cross_entropy(logits^T, arange(B))) / 2, computed in float32.
torch::Tensor contrastive_loss(const torch::Tensor& logits_per_image);

}  // namespace pat::clip
