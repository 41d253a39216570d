#include <algorithm>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "catseg_test_util.h"
#include "pat/core/error.h"
#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/class_pruning.h"
#include "pat/model/catseg/cost_volume.h"
#include "test_support.h"

using namespace pat::model;

TEST(CostVolume, IsCosineSimilarity) {
  torch::manual_seed(0);
  auto img = torch::randn({2, 5, 3, 4}), txt = torch::randn({2, 6, 2, 5});
  auto corr = cosine_cost_volume(img, txt);
  ASSERT_EQ(corr.sizes(), (std::vector<int64_t>{2, 2, 6, 3, 4}));
  // One element by hand: b=1, p=1, t=4, y=2, x=3.
  auto a = img[1].select(1, 2).select(1, 3), t = txt[1][4][1];
  EXPECT_NEAR(corr[1][1][4][2][3].item<float>(), (torch::dot(a, t) / (a.norm() * t.norm())).item<float>(), 1e-6);
  EXPECT_LE(corr.abs().max().item<float>(), 1.0f + 1e-6f);
  EXPECT_THROW(cosine_cost_volume(img, torch::randn({2, 6, 2, 4})), pat::Error);
}

TEST(ClassPruning, SelectsHighestMaxScoresPerImage) {
  // corr [B=2, P=2, T=5, 1, 2]; the class score is the max over prompts and pixels.
  auto corr = torch::zeros({2, 2, 5, 1, 2});
  corr[0][1][3][0][1] = 0.9;  // image 0: classes 3, 0 best
  corr[0][0][0][0][0] = 0.8;
  corr[0][0][4][0][0] = 0.1;
  corr[1][0][2][0][0] = 0.7;  // image 1: classes 2, 4 best
  corr[1][1][4][0][1] = 0.6;
  corr[1][1][1][0][0] = 0.5;
  auto scores = class_scores(corr);
  EXPECT_FLOAT_EQ(scores[0][3].item<float>(), 0.9f);
  auto selected = std::get<0>(select_top_classes(corr, 2).sort(1));
  EXPECT_TRUE(torch::equal(selected, torch::tensor({{0, 3}, {2, 4}}, torch::kInt64)));
  EXPECT_THROW(select_top_classes(corr, 6), pat::Error);
  EXPECT_THROW(select_top_classes(corr, 0), pat::Error);
}

TEST(ClassPruning, GatherAndScatter) {
  auto x = torch::arange(2 * 4 * 3, torch::kFloat32).view({2, 4, 3});
  auto idx = torch::tensor({{3, 1}, {0, 2}}, torch::kInt64);
  auto g = gather_classes(x, idx);
  EXPECT_TRUE(torch::equal(g[0][0], x[0][3]));
  EXPECT_TRUE(torch::equal(g[1][1], x[1][2]));
  auto logits = torch::randn({2, 2, 3, 3});
  auto full = scatter_classes(logits, idx, 4);
  ASSERT_EQ(full.sizes(), (std::vector<int64_t>{2, 4, 3, 3}));
  EXPECT_TRUE(torch::equal(full[0][3], logits[0][0]));
  EXPECT_TRUE(torch::equal(full[0][1], logits[0][1]));
  EXPECT_TRUE(torch::equal(full[1][2], logits[1][1]));
  EXPECT_TRUE(torch::equal(full[0][0], torch::full({3, 3}, -100.f)));
  EXPECT_TRUE(torch::equal(full[1][3], torch::full({3, 3}, -100.f)));
  EXPECT_THROW(scatter_classes(logits, idx, 1), pat::Error);
  EXPECT_THROW(gather_classes(x, idx.to(torch::kInt32)), pat::Error);
}

TEST(ClassPruning, HeadScoresOnlySelectedClassesAndOrderDoesNotMatter) {
  // T = 7 > pad_len = 4: the head keeps 4 classes per image. Running the head on the selected classes
  // (normalized text, any order: T == pad_len means neither padding nor pruning) and scattering must give
  // the same logits; the other classes are exactly -100.
  torch::manual_seed(5);
  auto options = pat::test::tiny_head_options(4);
  CatSegHead head(options);
  head->eval();
  torch::NoGradGuard no_grad;
  auto in = pat::test::random_head_inputs(options, 2, 7);
  auto out = head->forward_detailed(in.image, in.text, in.guidance1, in.guidance2);
  ASSERT_TRUE(out.selected_classes.defined());
  ASSERT_EQ(out.selected_classes.sizes(), (std::vector<int64_t>{2, 4}));
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 7, 32, 32}));
  EXPECT_EQ(out.text_guidance.size(1), 4);

  auto expected_set = select_top_classes(cosine_cost_volume(in.image, in.text), 4);
  EXPECT_TRUE(torch::equal(std::get<0>(out.selected_classes.sort(1)), std::get<0>(expected_set.sort(1))));

  auto normalized = in.text / in.text.norm(2, -1, true);
  for (int order = 0; order < 3; ++order) {
    auto idx = out.selected_classes.clone();
    if (order == 1) idx = std::get<0>(idx.sort(1));
    if (order == 2) idx = idx.index_select(1, torch::tensor({2, 0, 3, 1}, torch::kInt64));
    auto sub = head->forward(in.image, gather_classes(normalized, idx), in.guidance1, in.guidance2);
    auto full = scatter_classes(sub, idx, 7);
    EXPECT_TENSOR_CLOSE(out.logits, full, 1e-5, 1e-5);
  }
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 7; ++t) {
      const bool kept = (out.selected_classes[b] == t).any().item<bool>();
      if (!kept)
        EXPECT_TRUE(torch::equal(out.logits[b][t], torch::full({32, 32}, -100.f))) << b << " " << t;
      else
        EXPECT_GT(out.logits[b][t].max().item<float>(), -50.f);
    }
}

TEST(ClassPruning, PadLenZeroDisablesPruning) {
  torch::manual_seed(6);
  auto options = pat::test::tiny_head_options(0);
  CatSegHead head(options);
  head->eval();
  torch::NoGradGuard no_grad;
  auto in = pat::test::random_head_inputs(options, 1, 9);
  auto out = head->forward_detailed(in.image, in.text, in.guidance1, in.guidance2);
  EXPECT_FALSE(out.selected_classes.defined());
  EXPECT_GT(out.logits.min().item<float>(), -50.f);
  EXPECT_EQ(out.text_guidance.size(1), 9);
}
