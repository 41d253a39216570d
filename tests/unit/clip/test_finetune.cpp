#include <gtest/gtest.h>

#include "clip_fixture.h"
#include "pat/clip/finetune.h"
#include "pat/core/error.h"

using namespace pat::clip;
using namespace pat::clip::test;

TEST(ClipFinetune, AttentionModeTrainsExactlyTheQAndVWeights) {
  ClipModel model(tiny_architecture());
  EXPECT_EQ(set_finetune_mode(*model, FinetuneMode::kAttention), 2 * (2 + 2));
  std::set<std::string> trainable;
  for (const auto& item : model->named_parameters())
    if (item.value().requires_grad()) trainable.insert(item.key());
  std::set<std::string> expected;
  for (const std::string tower : {"visual.transformer", "transformer"})
    for (int i = 0; i < 2; ++i)
      for (const std::string w : {"q_proj_weight", "v_proj_weight"})
        expected.insert(tower + ".resblocks." + std::to_string(i) + ".attn." + w);
  EXPECT_EQ(trainable, expected);
}

TEST(ClipFinetune, FrozenAndFull) {
  ClipModel model(tiny_architecture());
  const auto total = static_cast<int64_t>(model->parameters().size());
  EXPECT_EQ(set_finetune_mode(*model, FinetuneMode::kFrozen), 0);
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.requires_grad());
  EXPECT_EQ(set_finetune_mode(*model, FinetuneMode::kFull), total);
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(ClipFinetune, GradientsReachOnlyTrainableWeights) {
  ClipModel model(tiny_architecture());
  set_finetune_mode(*model, FinetuneMode::kAttention);
  auto f = model->encode_image_dense(torch::randn({1, 3, 32, 32}), {0});
  auto t = model->encode_text(torch::tensor({{518, 3, 4, 519}}, torch::kLong));
  (f.dense.sum() + f.taps[0].sum() + t.sum()).backward();
  auto vq = model->visual->transformer->block(0)->attn->q_proj_weight;
  auto tv = model->transformer->block(1)->attn->v_proj_weight;
  ASSERT_TRUE(vq.grad().defined());
  ASSERT_TRUE(tv.grad().defined());
  EXPECT_GT(vq.grad().abs().sum().item<double>(), 0.0);
  EXPECT_FALSE(model->transformer->block(1)->attn->k_proj_weight.grad().defined());
}

TEST(ClipFinetune, ParsesModeNames) {
  EXPECT_EQ(parse_finetune_mode("attention"), FinetuneMode::kAttention);
  EXPECT_EQ(parse_finetune_mode("frozen"), FinetuneMode::kFrozen);
  EXPECT_EQ(parse_finetune_mode("full"), FinetuneMode::kFull);
  EXPECT_EQ(to_string(FinetuneMode::kAttention), "attention");
  EXPECT_THROW(parse_finetune_mode("prompt"), pat::Error);
  // CAT-Seg's name rule, applied to names that do not exist in CLIP too.
  EXPECT_FALSE(is_trainable("visual.transformer.resblocks.0.attn.in_proj_bias", FinetuneMode::kAttention));
  EXPECT_FALSE(is_trainable("visual.transformer.resblocks.0.attn.out_proj.weight", FinetuneMode::kAttention));
  EXPECT_FALSE(is_trainable("visual.positional_embedding", FinetuneMode::kAttention));
}
