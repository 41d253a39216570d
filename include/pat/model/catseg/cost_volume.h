#pragma once
/// \file CAT-Seg's cost volume (CATSEG.md §1.5): cosine similarity between every dense image embedding
/// and every class text embedding.

#include <torch/types.h>

namespace pat::model {

/// image: [B, E, h, w] dense embeddings (any norm); text: [B, T, P, E] (any norm). Both are
/// L2-normalized over E, then corr[b, p, t, y, x] = <img[b, :, y, x], txt[b, t, p, :]>.
/// Returns [B, P, T, h, w] in [-1, 1].
torch::Tensor cosine_cost_volume(const torch::Tensor& image, const torch::Tensor& text);

}  // namespace pat::model
