#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/seg_loss.h"
#include "test_support.h"

using pat::model::catseg_bce_loss;

namespace {

double softplus(double x) {
  return std::log1p(std::exp(x));
}  // BCE with target 0
double bce(double x, double y) {
  return y > 0 ? softplus(-x) : softplus(x);
}

}  // namespace

TEST(SegLoss, HandComputedWithIgnorePixels) {
  // B=1, T=2, 2x2. Labels: 0, 1 / 255, 1. The ignore pixel has target (0, 0) and counts in the mean of 8.
  auto logits = torch::tensor({{{{1.0f, -2.0f}, {0.5f, 3.0f}}, {{-1.0f, 2.0f}, {4.0f, 0.0f}}}});
  auto labels = torch::tensor({{{0, 1}, {255, 1}}}, torch::kInt64);
  double expected = bce(1.0, 1) + bce(-1.0, 0)    // pixel (0,0): class 0
                    + bce(-2.0, 0) + bce(2.0, 1)  // pixel (0,1): class 1
                    + bce(0.5, 0) + bce(4.0, 0)   // ignore pixel: all zero target
                    + bce(3.0, 0) + bce(0.0, 1);  // pixel (1,1): class 1
  expected /= 8.0;
  EXPECT_NEAR(catseg_bce_loss(logits, labels).item<double>(), expected, 1e-6);
  // A different ignore value turns 255 into an out-of-range label.
  EXPECT_THROW(catseg_bce_loss(logits, labels, 65535), pat::Error);
  auto labels16 = torch::tensor({{{0, 1}, {65535, 1}}}, torch::kInt32);
  EXPECT_NEAR(catseg_bce_loss(logits, labels16, 65535).item<double>(), expected, 1e-6);
}

TEST(SegLoss, ResizesLogitsToTheLabelSize) {
  // Constant 1x1 logits stay constant after bilinear resizing to 3x3.
  auto logits = torch::tensor({2.0f, -1.0f, 0.5f}).view({1, 3, 1, 1});
  auto labels = torch::full({1, 3, 3}, 2, torch::kInt64);
  labels[0][0][0] = 255;
  const double valid = bce(2.0, 0) + bce(-1.0, 0) + bce(0.5, 1);
  const double ignored = bce(2.0, 0) + bce(-1.0, 0) + bce(0.5, 0);
  EXPECT_NEAR(catseg_bce_loss(logits, labels).item<double>(), (8 * valid + ignored) / 27.0, 1e-6);
}

TEST(SegLoss, MatchesOneHotConstructionAndGradient) {
  // The official recipe: bilinear resize (align_corners=false), zero target [B,H,W,T], one-hot at valid
  // pixels, BCE-with-logits mean.
  torch::manual_seed(0);
  auto logits = torch::randn({2, 5, 6, 6}, torch::requires_grad());
  auto labels = torch::randint(0, 5, {2, 12, 12}, torch::kInt64);
  labels.masked_fill_(torch::rand({2, 12, 12}) < 0.2, 255);
  namespace F = torch::nn::functional;
  auto up =
      F::interpolate(
          logits,
          F::InterpolateFuncOptions().size(std::vector<int64_t>{12, 12}).mode(torch::kBilinear).align_corners(false))
          .permute({0, 2, 3, 1});
  auto valid = labels != 255;
  auto target = torch::zeros({2, 12, 12, 5});
  target.index_put_({valid}, F::one_hot(labels.index({valid}), 5).to(torch::kFloat32));
  auto expected = F::binary_cross_entropy_with_logits(up, target);
  auto grad_expected = torch::autograd::grad({expected}, {logits})[0];
  auto loss = catseg_bce_loss(logits, labels);
  auto grad = torch::autograd::grad({loss}, {logits})[0];
  EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 1e-6);
  EXPECT_TENSOR_CLOSE(grad, grad_expected, 1e-4, 1e-8);
}

TEST(SegLoss, RejectsBadInputs) {
  auto logits = torch::zeros({1, 3, 2, 2});
  EXPECT_THROW(catseg_bce_loss(logits, torch::full({1, 2, 2}, 3, torch::kInt64)), pat::Error);
  EXPECT_THROW(catseg_bce_loss(logits, torch::full({1, 2, 2}, -1, torch::kInt64)), pat::Error);
  EXPECT_THROW(catseg_bce_loss(logits, torch::zeros({1, 2, 2})), pat::Error);
  EXPECT_THROW(catseg_bce_loss(logits, torch::zeros({2, 2, 2}, torch::kInt64)), pat::Error);
  EXPECT_THROW(catseg_bce_loss(logits.view({3, 2, 2}), torch::zeros({1, 2, 2}, torch::kInt64)), pat::Error);
}
