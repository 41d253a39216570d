#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/spatial_aggregation.h"
#include "pat/model/catseg/swin_block.h"
#include "pat/model/catseg/swin_window.h"
#include "test_support.h"

using namespace pat::model;

TEST(SwinWindow, PartitionTakesRowMajorWindows) {
  auto x = torch::arange(16, torch::kFloat32).view({1, 4, 4, 1});
  auto windows = window_partition(x, 2);
  ASSERT_EQ(windows.sizes(), (std::vector<int64_t>{4, 2, 2, 1}));
  // Window 1 is the top-right 2x2 block: values 2, 3, 6, 7.
  EXPECT_TRUE(torch::equal(windows[1].flatten(), torch::tensor({2.f, 3.f, 6.f, 7.f})));
  EXPECT_TRUE(torch::equal(windows[2].flatten(), torch::tensor({8.f, 9.f, 12.f, 13.f})));
}

TEST(SwinWindow, ReverseInvertsPartition) {
  auto x = torch::randn({2, 8, 12, 3});
  EXPECT_TRUE(torch::equal(window_reverse(window_partition(x, 4), 4, 8, 12), x));
}

TEST(SwinWindow, MaskOnTinyGridMatchesHandRegions) {
  // 4x4 grid, window 2, shift 1: regions per axis {0,1}->0, {2}->1, {3}->2.
  auto mask = shifted_window_mask(4, 4, 2, 1);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{4, 4, 4}));
  EXPECT_TRUE(torch::equal(mask[0], torch::zeros({4, 4})));  // top-left window: one region
  // Top-right window: columns 2 and 3 are different regions, rows 0 and 1 the same one.
  // Tokens (row, col) in window order: (0,2) (0,3) (1,2) (1,3) -> regions a b a b.
  auto expected_tr = torch::tensor(
      {{0.f, -100.f, 0.f, -100.f}, {-100.f, 0.f, -100.f, 0.f}, {0.f, -100.f, 0.f, -100.f}, {-100.f, 0.f, -100.f, 0.f}});
  EXPECT_TRUE(torch::equal(mask[1], expected_tr));
  // Bottom-right window: four different regions.
  auto expected_br = torch::full({4, 4}, -100.f) + 100.f * torch::eye(4);
  EXPECT_TRUE(torch::equal(mask[3], expected_br));
}

TEST(SwinWindow, MaskFor24GridWindow12Shift6) {
  auto mask = shifted_window_mask(24, 24, 12, 6);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{4, 144, 144}));
  auto zeros_in = [&](int64_t w) { return (mask[w] == 0).sum().item<int64_t>(); };
  EXPECT_EQ(zeros_in(0), 144 * 144);    // one region
  EXPECT_EQ(zeros_in(1), 2 * 72 * 72);  // two regions of 12x6
  EXPECT_EQ(zeros_in(2), 2 * 72 * 72);
  EXPECT_EQ(zeros_in(3), 4 * 36 * 36);  // four regions of 6x6
  EXPECT_EQ((mask != 0).sum().item<int64_t>(), (mask == -100).sum().item<int64_t>());
}

TEST(SwinWindow, RejectsBadShapes) {
  EXPECT_THROW(window_partition(torch::zeros({1, 5, 4, 1}), 2), pat::Error);
  EXPECT_THROW(window_partition(torch::zeros({5, 4, 1}), 2), pat::Error);
  EXPECT_THROW(window_reverse(torch::zeros({3, 2, 2, 1}), 2, 4, 4), pat::Error);
  EXPECT_THROW(shifted_window_mask(24, 24, 12, 12), pat::Error);
  EXPECT_THROW(shifted_window_mask(24, 20, 12, 6), pat::Error);
}

TEST(SwinBlock, WindowLargerThanGridFallsBackToOneUnshiftedWindow) {
  SwinBlock block(SwinBlockOptions{8, 4, {8, 8}, 2, 12, 6});
  EXPECT_EQ(block->window_size(), 8);
  EXPECT_EQ(block->shift_size(), 0);
  EXPECT_FALSE(block->attn_mask.defined());
  EXPECT_EQ(block->named_buffers().size(), 0u);
  SwinBlock shifted(SwinBlockOptions{8, 4, {24, 24}, 2, 12, 6});
  EXPECT_EQ(shifted->named_buffers().size(), 1u);
  EXPECT_TRUE(shifted->named_buffers().contains("attn_mask"));
}

// Perturbs the token at (0, 0) and returns the [H, W] map of which output tokens changed.
static torch::Tensor influence_of_origin(SwinBlock& block, int64_t h, int64_t w) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, h * w, 8});
  auto g = torch::randn({1, h * w, 4});
  auto x2 = x.clone();
  x2[0][0] += torch::randn({8});  // not a constant shift, which LayerNorm would erase
  auto diff = (block(x2, g) - block(x, g)).abs().amax(-1).view({h, w});
  return diff > 1e-6;
}

TEST(SwinBlock, UnshiftedWindowsAreIndependent) {
  torch::manual_seed(0);
  SwinBlock block(SwinBlockOptions{8, 4, {24, 24}, 2, 12, 0});
  auto changed = influence_of_origin(block, 24, 24);
  auto expected = torch::zeros({24, 24}, torch::kBool);
  expected.slice(0, 0, 12).slice(1, 0, 12).fill_(true);
  EXPECT_TRUE(torch::equal(changed, expected));
}

TEST(SwinBlock, ShiftedWindowSeesOnlyItsRegion) {
  // Shift 6: token (0,0) sits at (18,18) of the rolled map, window (1,1), region (2,2) = rolled rows and
  // columns 18..23 = original rows and columns 0..5. Only those tokens may change.
  torch::manual_seed(1);
  SwinBlock block(SwinBlockOptions{8, 4, {24, 24}, 2, 12, 6});
  auto changed = influence_of_origin(block, 24, 24);
  auto expected = torch::zeros({24, 24}, torch::kBool);
  expected.slice(0, 0, 6).slice(1, 0, 6).fill_(true);
  EXPECT_TRUE(torch::equal(changed, expected));
}

TEST(SwinBlock, RejectsWrongInputs) {
  SwinBlock block(SwinBlockOptions{8, 4, {24, 24}, 2, 12, 6});
  EXPECT_THROW(block(torch::zeros({1, 575, 8}), torch::zeros({1, 575, 4})), pat::Error);
  EXPECT_THROW(block(torch::zeros({1, 576, 8}), torch::zeros({1, 576, 3})), pat::Error);
  EXPECT_THROW(block(torch::zeros({1, 576, 8}), torch::Tensor()), pat::Error);
  EXPECT_THROW(SwinBlock(SwinBlockOptions{8, 4, {24, 20}, 2, 12, 6}), pat::Error);
  EXPECT_THROW(SwinBlock(SwinBlockOptions{8, 4, {24, 24}, 3, 12, 6}), pat::Error);
}

TEST(SpatialAggregation, SharesOneGuidanceNormAndKeepsShape) {
  SpatialAggregation agg(SpatialAggregationOptions{8, 4, {24, 24}, 2, 12});
  auto params = agg->named_parameters();
  EXPECT_TRUE(params.contains("guidance_norm.weight"));
  EXPECT_TRUE(params.contains("block_1.attn.q.weight"));
  EXPECT_TRUE(params.contains("block_2.mlp.fc2.bias"));
  EXPECT_EQ(agg->block_2->shift_size(), 6);
  auto y = agg(torch::randn({2, 8, 3, 24, 24}), torch::randn({2, 4, 24, 24}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 8, 3, 24, 24}));
  EXPECT_THROW(agg(torch::randn({2, 8, 3, 24, 24}), torch::randn({1, 4, 24, 24})), pat::Error);
}

TEST(SpatialAggregation, ClassesAreProcessedIndependently) {
  // Each class map goes through the Swin blocks on its own: class 1's output ignores class 0's input.
  torch::manual_seed(2);
  SpatialAggregation agg(SpatialAggregationOptions{8, 4, {12, 12}, 2, 6});
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 8, 2, 12, 12});
  auto g = torch::randn({1, 4, 12, 12});
  auto x2 = x.clone();
  x2.select(2, 0).add_(1.0);
  auto a = agg(x, g), b = agg(x2, g);
  EXPECT_TRUE(torch::equal(a.select(2, 1), b.select(2, 1)));
  EXPECT_FALSE(torch::allclose(a.select(2, 0), b.select(2, 0)));
}
