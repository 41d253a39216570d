#include "pat/engine/train/checkpoint.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "test_support.h"

namespace {

struct TinyImpl : torch::nn::Module {
  explicit TinyImpl(int64_t width = 4) {
    fc = register_module("fc", torch::nn::Linear(3, width));
    norm = register_module("block", torch::nn::Sequential(torch::nn::BatchNorm1d(width)));
    codes = register_buffer("codes", torch::randn({5, 2}));
  }
  torch::Tensor forward(torch::Tensor x) { return norm->forward(fc->forward(x)); }
  torch::nn::Linear fc{nullptr};
  torch::nn::Sequential norm{nullptr};
  torch::Tensor codes;
};
TORCH_MODULE(Tiny);

}  // namespace

TEST(Checkpoint, RoundTripRestoresModelOptimizerRngAndState) {
  pat::test::TempDir dir;
  torch::manual_seed(1);
  Tiny a;
  torch::optim::AdamW opt_a(a->parameters(), torch::optim::AdamWOptions(1e-2));
  for (int i = 0; i < 3; ++i) {
    opt_a.zero_grad();
    a->forward(torch::randn({8, 3})).pow(2).mean().backward();
    opt_a.step();
  }
  pat::engine::TrainState state;
  state.step = 3;
  state.epoch = 1;
  state.position = 16;
  state.best_metric = 42.5;
  state.config_yaml = "train:\n  lr: 0.01\n";
  pat::engine::save_checkpoint(dir.file("model_0000003.pt"), *a, &opt_a, state);
  auto next_random = torch::randn({3});

  torch::manual_seed(99);
  Tiny b;
  torch::optim::AdamW opt_b(b->parameters(), torch::optim::AdamWOptions(1e-2));
  auto restored = pat::engine::load_checkpoint(dir.file("model_0000003.pt"), *b, &opt_b);
  EXPECT_EQ(restored.step, 3);
  EXPECT_EQ(restored.position, 16);
  EXPECT_DOUBLE_EQ(restored.best_metric, 42.5);
  EXPECT_EQ(restored.config_yaml, state.config_yaml);
  EXPECT_TRUE(torch::equal(torch::randn({3}), next_random));  // RNG restored
  EXPECT_TRUE(torch::equal(a->fc->weight, b->fc->weight));
  EXPECT_TRUE(torch::equal(a->codes, b->codes));
  EXPECT_TRUE(torch::equal(a->named_buffers()["block.0.running_mean"], b->named_buffers()["block.0.running_mean"]));

  // One more identical step on both gives identical weights: the optimizer moments came back.
  auto x = torch::randn({8, 3});
  for (auto* pair : {&opt_a, &opt_b}) pair->zero_grad();
  a->forward(x).pow(2).mean().backward();
  b->forward(x).pow(2).mean().backward();
  opt_a.step();
  opt_b.step();
  EXPECT_TRUE(torch::allclose(a->fc->weight, b->fc->weight, 0, 0));
  EXPECT_EQ(pat::engine::find_latest_checkpoint(dir.path()), dir.file("model_0000003.pt"));
}

TEST(Checkpoint, WeightsInBothFormatsAndStrictErrors) {
  pat::test::TempDir dir;
  Tiny a, b, wide(6);
  for (const char* name : {"w.pt", "w.safetensors"}) {
    pat::engine::save_weights(dir.file(name), *a);
    pat::engine::load_weights(dir.file(name), *b);
    EXPECT_TRUE(torch::equal(a->fc->weight, b->fc->weight)) << name;
    try {
      pat::engine::load_weights(dir.file(name), *wide);
      FAIL() << "shape mismatch not reported";
    } catch (const pat::Error& e) {
      EXPECT_NE(std::string(e.what()).find("fc.weight (expected [6, 3], got [4, 3])"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(pat::engine::load_weights(dir.file("none.pt"), *b), pat::Error);
  { std::ofstream(dir.file("junk.pt")) << "not a zip"; }
  EXPECT_THROW(pat::engine::load_weights(dir.file("junk.pt"), *b), pat::Error);
  EXPECT_THROW(pat::engine::load_checkpoint(dir.file("junk.pt"), *b, nullptr), pat::Error);
}
