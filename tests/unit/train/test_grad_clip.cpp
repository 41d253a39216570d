// Gradient-norm clipping per group (train.clip_grad_mode: per_group) against hand-computed values, and
// the split of a model's parameters into the baseline's and PAT's.
#include "pat/engine/train/grad_clip.h"

#include <cmath>

#include <gtest/gtest.h>

#include "pat/config/config.h"
#include "pat/core/error.h"
#include "pat/model/seg_model.h"
#include "test_support.h"

namespace {

torch::Tensor with_grad(std::vector<float> grad) {
  auto p = torch::zeros({static_cast<int64_t>(grad.size())}).requires_grad_();
  p.mutable_grad() = torch::tensor(grad);
  return p;
}

}  // namespace

TEST(GradClip, PerGroupClipsEachGroupToTheMaxNorm) {
  // Group A: gradients (3, 4) and (12) -> norm 13; group B: (0.3, 0.4) -> norm 0.5.
  auto a1 = with_grad({3.0f, 4.0f}), a2 = with_grad({12.0f}), b = with_grad({0.3f, 0.4f});
  auto norms = pat::engine::clip_grad_norm_per_group({{a1, a2}, {b}}, 1.0);
  ASSERT_EQ(norms.size(), 2u);
  EXPECT_NEAR(norms[0], 13.0, 1e-5);
  EXPECT_NEAR(norms[1], 0.5, 1e-6);
  // A is scaled to norm 1 (by 1/13); B is under the limit and untouched. (One global clip would have
  // scaled B too, by 1 / sqrt(169 + 0.25).)
  EXPECT_TENSOR_CLOSE(a1.grad(), torch::tensor({3.0f / 13, 4.0f / 13}), 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(a2.grad(), torch::tensor({12.0f / 13}), 1e-5, 1e-6);
  EXPECT_TRUE(torch::equal(b.grad(), torch::tensor({0.3f, 0.4f})));
  // An empty group (PAT off) or one without gradients is skipped.
  auto none = torch::zeros({2}).requires_grad_();
  auto skipped = pat::engine::clip_grad_norm_per_group({{}, {none}}, 1.0);
  EXPECT_EQ(skipped, (std::vector<double>{0.0, 0.0}));
  EXPECT_THROW(pat::engine::clip_grad_norm_per_group({{b}}, 0.0), pat::Error);
}

TEST(GradClip, GroupsSplitByThePatPrefix) {
  auto config = pat::load_config(pat::test::data_path("engine/tiny.yaml")).model;
  pat::model::SegModel model(config);
  auto groups = pat::engine::grad_clip_groups(*model);
  int64_t pat_params = 0, trainable = 0;
  for (const auto& p : model->pat->parameters()) pat_params += p.requires_grad();
  for (const auto& p : model->parameters()) trainable += p.requires_grad();
  EXPECT_GT(pat_params, 0);
  EXPECT_EQ(static_cast<int64_t>(groups.pat.size()), pat_params);
  EXPECT_EQ(static_cast<int64_t>(groups.baseline.size()), trainable - pat_params);
  for (const auto& p : model->pat->parameters()) {
    bool found = false;
    for (const auto& q : groups.pat) found = found || q.is_same(p);
    EXPECT_TRUE(found);
  }
}
