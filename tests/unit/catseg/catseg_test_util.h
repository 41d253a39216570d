#pragma once
/// \file Helpers shared by the CAT-Seg tests: loading named tensors into a module, counting parameters,
/// and a tiny head configuration.

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/model/catseg/catseg_head.h"

namespace pat::test {

/// Copies tensors[prefix + name] into every parameter of `module`. Returns the names that did not match
/// (parameters without a tensor as "missing: x", prefixed tensors without a parameter as "unexpected: x").
inline std::vector<std::string> load_named(torch::nn::Module& module,
                                           const std::map<std::string, torch::Tensor>& tensors,
                                           const std::string& prefix) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> problems;
  std::set<std::string> used;
  for (auto& p : module.named_parameters()) {
    auto it = tensors.find(prefix + p.key());
    if (it == tensors.end()) {
      problems.push_back("missing: " + p.key());
      continue;
    }
    if (it->second.sizes() != p.value().sizes()) {
      problems.push_back("shape: " + p.key());
      continue;
    }
    p.value().copy_(it->second);
    used.insert(it->first);
  }
  for (const auto& [name, tensor] : tensors)
    if (name.rfind(prefix, 0) == 0 && !used.count(name)) problems.push_back("unexpected: " + name);
  return problems;
}

inline int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

/// A tiny head on an 8x8 grid (window 4, shift 2) with class padding/pruning at pad_len.
inline model::CatSegHeadOptions tiny_head_options(int64_t pad_len = 4) {
  model::CatSegHeadOptions o;
  o.text_guidance_dim = 8;
  o.text_guidance_proj_dim = 8;
  o.appearance_guidance_dim = 8;
  o.appearance_guidance_proj_dim = 8;
  o.decoder_dims = {16, 16};
  o.decoder_guidance_dims = {8, 8};
  o.decoder_guidance_proj_dims = {8, 8};
  o.num_layers = 2;
  o.num_heads = 2;
  o.hidden_dim = 16;
  o.feature_resolution = {8, 8};
  o.window_size = 4;
  o.pad_len = pad_len;
  return o;
}

/// Random inputs for a head: image [B, E, h, w], text [B, T, P, E], decoder guidances at 2x and 4x.
struct HeadInputs {
  torch::Tensor image, text, guidance1, guidance2;
};

inline HeadInputs random_head_inputs(const model::CatSegHeadOptions& o, int64_t batch, int64_t classes) {
  const int64_t h = o.feature_resolution[0], w = o.feature_resolution[1];
  return {torch::randn({batch, o.appearance_guidance_dim, h, w}),
          torch::randn({batch, classes, o.prompt_channel, o.text_guidance_dim}),
          torch::randn({batch, o.decoder_guidance_dims[0], 2 * h, 2 * w}),
          torch::randn({batch, o.decoder_guidance_dims[1], 4 * h, 4 * w})};
}

}  // namespace pat::test
