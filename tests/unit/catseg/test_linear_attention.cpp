#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/linear_attention.h"
#include "test_support.h"

using namespace pat::model;

// out[n,l,h] = sum_s A[l,s] v[s] / (sum_s A[l,s] + eps), A[l,s] = phi(q_l) . phi(k_s), phi = elu + 1,
// evaluated one (n, h, l) at a time.
static torch::Tensor direct_linear_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                             double eps) {
  auto out = torch::zeros({q.size(0), q.size(1), q.size(2), v.size(3)}, q.options());
  auto fq = torch::elu(q) + 1, fk = torch::elu(k) + 1;
  for (int64_t n = 0; n < q.size(0); ++n)
    for (int64_t h = 0; h < q.size(2); ++h)
      for (int64_t l = 0; l < q.size(1); ++l) {
        auto a = torch::mv(fk.select(0, n).select(1, h), fq[n][l][h]);  // [S]
        out[n][l][h] = torch::mv(v.select(0, n).select(1, h).t(), a) / (a.sum() + eps);
      }
  return out;
}

TEST(LinearAttention, MatchesDirectFormula) {
  torch::manual_seed(0);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto q = torch::randn({3, 7, 2, 4}, opts), k = torch::randn({3, 9, 2, 4}, opts), v = torch::randn({3, 9, 2, 5}, opts);
  EXPECT_TENSOR_CLOSE(linear_attention(q, k, v), direct_linear_attention(q, k, v, 1e-6), 1e-10, 1e-12);
}

// Without gradients (in-place feature maps, scales folded): the same formula, on views of one q/k/v buffer as
// the layer passes them (odd length: the folded 1/L is not exact there), and the inputs are left as they were.
TEST(LinearAttention, InferencePathMatchesDirectFormula) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  auto qkv = torch::randn({3, 9, 2, 12}, torch::TensorOptions().dtype(torch::kFloat64));
  const auto saved = qkv.clone();
  auto q = qkv.narrow(-1, 0, 4), k = qkv.narrow(-1, 4, 4), v = qkv.narrow(-1, 8, 4);
  EXPECT_TENSOR_CLOSE(linear_attention(q, k, v), direct_linear_attention(q, k, v, 1e-6), 1e-10, 1e-12);
  EXPECT_TRUE(torch::equal(qkv, saved));
}

TEST(LinearAttention, EpsilonIsNotScaledBySequenceLength) {
  // With tiny feature maps the eps term dominates the denominator; the formula keeps it unscaled.
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto q = torch::full({1, 1, 1, 1}, -12.0, opts);  // phi(q) = e^-12
  auto k = torch::zeros({1, 4, 1, 1}, opts);        // phi(k) = 1
  auto v = torch::ones({1, 4, 1, 1}, opts);
  const double a = std::expm1(-12.0) + 1.0;
  const double expected = 4 * a / (4 * a + 1e-6);  // about 0.961
  EXPECT_NEAR(linear_attention(q, k, v).item<double>(), expected, 1e-9);
}

TEST(LinearAttention, LayerIsPermutationEquivariantOverTheSequence) {
  torch::manual_seed(1);
  LinearAttentionLayer layer(LinearAttentionLayerOptions{8, 4, 2});
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 6, 8}), g = torch::randn({2, 6, 4});
  auto perm = torch::randperm(6);
  auto y = layer(x, g);
  auto yp = layer(x.index_select(1, perm), g.index_select(1, perm));
  EXPECT_TENSOR_CLOSE(yp, y.index_select(1, perm), 1e-5, 1e-6);
}

TEST(LinearAttention, LayerUsesGuidanceOnlyInQueriesAndKeys) {
  LinearAttentionLayer layer(LinearAttentionLayerOptions{8, 4, 2});
  EXPECT_EQ(layer->q->weight.sizes(), (std::vector<int64_t>{8, 12}));
  EXPECT_EQ(layer->k->weight.sizes(), (std::vector<int64_t>{8, 12}));
  EXPECT_EQ(layer->v->weight.sizes(), (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(layer->named_parameters().size(), 6u);  // no output projection
}

TEST(LinearAttention, RejectsInconsistentShapes) {
  EXPECT_THROW(linear_attention(torch::zeros({1, 2, 2, 4}), torch::zeros({1, 3, 2, 4}), torch::zeros({1, 4, 2, 4})),
               pat::Error);
  EXPECT_THROW(linear_attention(torch::zeros({2, 4}), torch::zeros({2, 4}), torch::zeros({2, 4})), pat::Error);
  LinearAttentionLayer layer(LinearAttentionLayerOptions{8, 4, 2});
  EXPECT_THROW(layer(torch::zeros({2, 6, 8}), torch::zeros({2, 5, 4})), pat::Error);
  EXPECT_THROW(layer(torch::zeros({2, 6, 7}), torch::zeros({2, 6, 4})), pat::Error);
  EXPECT_THROW(LinearAttentionLayer(LinearAttentionLayerOptions{8, 4, 3}), pat::Error);
}
