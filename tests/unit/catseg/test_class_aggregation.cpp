#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/class_aggregation.h"
#include "test_support.h"

using namespace pat::model;

namespace {

// Zeroes the value projection and the last MLP layer, so the layer's update delta is 0.
void zero_delta(ClassAggregation& layer) {
  torch::NoGradGuard no_grad;
  layer->attention->v->weight.zero_();
  layer->attention->v->bias.zero_();
  for (auto& p : layer->MLP[2]->parameters()) p.zero_();
}

}  // namespace

TEST(ClassAggregation, PaddingParametersAreZeroInitAndOptional) {
  ClassAggregation padded(ClassAggregationOptions{8, 4, 2, 2, 1, 16});
  EXPECT_TRUE(torch::equal(padded->padding_tokens, torch::zeros({1, 1, 8})));
  EXPECT_TRUE(torch::equal(padded->padding_guidance, torch::zeros({1, 1, 4})));
  ClassAggregation plain(ClassAggregationOptions{8, 4, 2, 2, 1, 0});
  EXPECT_FALSE(plain->named_parameters().contains("padding_tokens"));
  EXPECT_FALSE(plain->named_parameters().contains("padding_guidance"));
  EXPECT_EQ(padded->named_parameters().size(), plain->named_parameters().size() + 2);
}

TEST(ClassAggregation, PoolingFollowsTrainingModeUnlessOverridden) {
  ClassAggregation layer(ClassAggregationOptions{8, 4, 2, 2, 1, 0});
  EXPECT_EQ(layer->current_pooling_size(), 2);
  layer->eval();
  EXPECT_EQ(layer->current_pooling_size(), 1);
  ClassAggregation always2(ClassAggregationOptions{8, 4, 2, 2, 2, 0});
  always2->eval();
  EXPECT_EQ(always2->current_pooling_size(), 2);
}

TEST(ClassAggregation, ResidualAddsUpsampledPooledInput) {
  // With delta = 0 the official residual gives x + up(pool(x)): 2x without pooling.
  torch::manual_seed(0);
  ClassAggregation layer(ClassAggregationOptions{8, 4, 2, 2, 1, 0});
  zero_delta(layer);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 8, 3, 6, 6}), g = torch::randn({2, 3, 4});
  layer->eval();
  EXPECT_TENSOR_CLOSE(layer(x, g), 2 * x, 1e-6, 1e-6);
  layer->train();
  auto per_class = x.permute({0, 2, 1, 3, 4}).reshape({6, 8, 6, 6});
  auto pooled = torch::avg_pool2d(per_class, {2, 2});
  namespace F = torch::nn::functional;
  auto up = F::interpolate(
      pooled, F::InterpolateFuncOptions().size(std::vector<int64_t>{6, 6}).mode(torch::kBilinear).align_corners(true));
  auto expected = x + up.view({2, 3, 8, 6, 6}).permute({0, 2, 1, 3, 4});
  EXPECT_TENSOR_CLOSE(layer(x, g), expected, 1e-6, 1e-6);
}

TEST(ClassAggregation, PaddingEqualsAppendingLearnedClasses) {
  // Padding T=5 to 8 with learned tokens equals an unpadded layer run on 3 extra classes whose maps are
  // the padding token everywhere and whose guidance is the padding guidance; the first 5 outputs agree.
  torch::manual_seed(3);
  ClassAggregation padded(ClassAggregationOptions{8, 4, 2, 2, 1, 8});
  ClassAggregation plain(ClassAggregationOptions{8, 4, 2, 2, 1, 0});
  {
    torch::NoGradGuard no_grad;
    padded->padding_tokens.copy_(torch::randn({1, 1, 8}));
    padded->padding_guidance.copy_(torch::randn({1, 1, 4}));
    auto src = padded->named_parameters();
    for (auto& p : plain->named_parameters()) p.value().copy_(src[p.key()]);
  }
  padded->eval();
  plain->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 8, 5, 4, 4}), g = torch::randn({2, 5, 4});
  auto extra_x = padded->padding_tokens.view({1, 8, 1, 1, 1}).expand({2, 8, 3, 4, 4});
  auto extra_g = padded->padding_guidance.expand({2, 3, 4});
  auto reference = plain(torch::cat({x, extra_x}, 2), torch::cat({g, extra_g}, 1)).narrow(2, 0, 5);
  auto out = padded(x, g);
  EXPECT_EQ(out.sizes(), x.sizes());
  EXPECT_TENSOR_CLOSE(out, reference, 1e-5, 1e-6);
  // The padding matters: without it (pad_len 0) the result differs.
  EXPECT_FALSE(torch::allclose(plain(x, g), out, 1e-4, 1e-5));
}

TEST(ClassAggregation, NoPaddingWhenClassesReachPadLen) {
  torch::manual_seed(4);
  ClassAggregation layer(ClassAggregationOptions{8, 4, 2, 2, 1, 4});
  layer->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 8, 4, 4, 4}), g = torch::randn({1, 4, 4});
  auto before = layer(x, g);
  layer->padding_tokens.fill_(5.0);
  layer->padding_guidance.fill_(-5.0);
  EXPECT_TRUE(torch::equal(layer(x, g), before));
}

TEST(ClassAggregation, RejectsWrongShapes) {
  ClassAggregation layer(ClassAggregationOptions{8, 4, 2, 2, 1, 8});
  EXPECT_THROW(layer(torch::zeros({1, 8, 3, 4, 4}), torch::zeros({1, 2, 4})), pat::Error);
  EXPECT_THROW(layer(torch::zeros({1, 7, 3, 4, 4}), torch::zeros({1, 3, 4})), pat::Error);
  EXPECT_THROW(layer(torch::zeros({1, 8, 3, 4, 4}), torch::Tensor()), pat::Error);
  EXPECT_THROW(ClassAggregation(ClassAggregationOptions{8, 4, 2, 0, 1, 8}), pat::Error);
  EXPECT_THROW(ClassAggregation(ClassAggregationOptions{8, 4, 2, 2, 1, -1}), pat::Error);
}
