#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/guidance_upsamplers.h"
#include "pat/model/catseg/upsampling_decoder.h"
#include "test_support.h"

using namespace pat::model;

TEST(Decoder, StageShapesAndLayers) {
  DecoderStage stage(DecoderStageOptions{128, 64, 32});
  EXPECT_EQ(stage->up->weight.sizes(), (std::vector<int64_t>{128, 96, 2, 2}));
  auto params = stage->named_parameters();
  EXPECT_TRUE(params.contains("conv.double_conv.0.weight"));
  EXPECT_FALSE(params.contains("conv.double_conv.0.bias"));   // convs without bias
  EXPECT_TRUE(params.contains("conv.double_conv.1.weight"));  // GroupNorm
  EXPECT_TRUE(params.contains("conv.double_conv.4.bias"));
  EXPECT_EQ(stage->conv->double_conv[1]->as<torch::nn::GroupNorm>()->options.num_groups(), 4);
  auto y = stage(torch::randn({6, 128, 3, 3}), torch::randn({2, 32, 6, 6}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{6, 64, 6, 6}));
  DecoderStage second(DecoderStageOptions{64, 32, 16});
  EXPECT_EQ(second->up->weight.sizes(), (std::vector<int64_t>{64, 48, 2, 2}));
  EXPECT_EQ(second->conv->double_conv[4]->as<torch::nn::GroupNorm>()->options.num_groups(), 2);
}

TEST(Decoder, GuidanceIsRepeatedPerImageOverClasses) {
  // Rows b*T + t use guidance b: changing image 1's guidance changes only rows 3..5.
  torch::manual_seed(0);
  DecoderStage stage(DecoderStageOptions{32, 16, 8});
  torch::NoGradGuard no_grad;
  auto x = torch::randn({6, 32, 2, 2}), g = torch::randn({2, 8, 4, 4});
  auto g2 = g.clone();
  g2[1] += 1.0;
  auto a = stage(x, g), b = stage(x, g2);
  EXPECT_TRUE(torch::equal(a.slice(0, 0, 3), b.slice(0, 0, 3)));
  EXPECT_FALSE(torch::allclose(a.slice(0, 3, 6), b.slice(0, 3, 6)));
}

TEST(Decoder, RejectsBadShapes) {
  DecoderStage stage(DecoderStageOptions{32, 16, 8});
  EXPECT_THROW(stage(torch::randn({6, 31, 2, 2}), torch::randn({2, 8, 4, 4})), pat::Error);
  EXPECT_THROW(stage(torch::randn({6, 32, 2, 2}), torch::randn({4, 8, 4, 4})), pat::Error);
  EXPECT_THROW(stage(torch::randn({6, 32, 2, 2}), torch::randn({2, 8, 2, 2})), pat::Error);
  EXPECT_THROW(DecoderStage(DecoderStageOptions{32, 8, 8}), pat::Error);
  EXPECT_THROW(DecoderStage(DecoderStageOptions{32, 16, 32}), pat::Error);
}

TEST(GuidanceUpsamplers, ShapesForViTB) {
  GuidanceUpsamplers up(GuidanceUpsamplersOptions{768, 256, 128});
  auto [a, b] = up(torch::randn({1, 768, 24, 24}), torch::randn({1, 768, 24, 24}));
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 256, 48, 48}));
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{1, 128, 96, 96}));
  EXPECT_EQ(up->upsample1->weight.sizes(), (std::vector<int64_t>{768, 256, 2, 2}));
  EXPECT_EQ(up->upsample2->weight.sizes(), (std::vector<int64_t>{768, 128, 4, 4}));
  EXPECT_THROW(up(torch::randn({1, 512, 24, 24}), torch::randn({1, 768, 24, 24})), pat::Error);
}
