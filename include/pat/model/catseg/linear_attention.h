#pragma once
/// \file Linear attention ("Transformers are RNNs", feature map elu+1) and the guided attention layer of
/// CAT-Seg's class aggregation (official AttentionLayer, CATSEG.md §1.6): q and k from [x, guidance],
/// v from x, no output projection.

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace pat::model {

/// queries [N, L, H, D], keys [N, S, H, D], values [N, S, H, Dv] -> [N, L, H, Dv]:
/// Q = elu(q)+1, K = elu(k)+1, V = v/S; out = (Q . sum_s K_s (x) V_s) / (Q . sum_s K_s + eps) * S.
torch::Tensor linear_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                               double eps = 1e-6);

struct LinearAttentionLayerOptions {
  /// Token channels C (query/key/value width and output width).
  int64_t hidden_dim = 128;
  /// Guidance channels concatenated for queries and keys (0: none).
  int64_t guidance_dim = 128;
  /// Heads; head width hidden_dim / num_heads.
  int64_t num_heads = 4;
};

/// Parameters (official names): q, k [hidden+guidance -> hidden], v [hidden -> hidden].
class LinearAttentionLayerImpl : public torch::nn::Module {
 public:
  explicit LinearAttentionLayerImpl(const LinearAttentionLayerOptions& options);

  /// x: [N, L, hidden_dim]; guidance: [G, L, guidance_dim] with G dividing N (rows
  /// g * N/G .. (g+1) * N/G - 1 share guidance g; G = N is one guidance per row), or undefined when
  /// guidance_dim is 0. Returns [N, L, hidden_dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& guidance);

  LinearAttentionLayerOptions options;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr};
};
TORCH_MODULE(LinearAttentionLayer);

}  // namespace pat::model
