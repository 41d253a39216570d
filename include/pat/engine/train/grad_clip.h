#pragma once
/// \file Gradient-norm clipping of a training step (`train.clip_grad_norm`, `train.clip_grad_mode`).
///
/// CAT-Seg clips the L2 norm of the whole model's gradient (mode "global", the default). With PAT on,
/// that norm also counts PAT's parameters, so PAT's gradients shrink the baseline's steps; mode
/// "per_group" clips the baseline's parameters (every name not under "pat.") and PAT's parameters
/// ("pat.*") as two groups, each to the same max norm.

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace pat::engine {

/// The trainable parameters of a model, split into the baseline's and PAT's ("pat." prefix).
struct GradClipGroups {
  std::vector<torch::Tensor> baseline;
  std::vector<torch::Tensor> pat;
};

/// Splits `model`'s trainable parameters (requires_grad) by name.
GradClipGroups grad_clip_groups(const torch::nn::Module& model);

/// Scales each group's gradients so that the group's L2 norm is at most `max_norm` (> 0), as
/// torch::nn::utils::clip_grad_norm_ does for one group; empty groups are skipped. Returns each group's
/// norm before clipping (0 for an empty group).
std::vector<double> clip_grad_norm_per_group(const std::vector<std::vector<torch::Tensor>>& groups, double max_norm);

}  // namespace pat::engine
