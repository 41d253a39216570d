#include "pat/model/pat/standalone_tokenizer.h"

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "pat/model/seg_model.h"
#include "test_support.h"

namespace {

pat::ModelConfig tiny_tokenizer_config(std::vector<std::string> overrides = {}) {
  return pat::load_config(pat::test::data_path("engine/tiny.yaml"), overrides).model;
}

std::map<std::string, torch::Tensor> tensors_of(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

}  // namespace

TEST(StandaloneTokenizer, MatchesTheFullModelsTokensAndReconstruction) {
  torch::manual_seed(3);
  pat::model::SegModel full(tiny_tokenizer_config());
  pat::model::StandaloneTokenizer alone(tiny_tokenizer_config());
  auto weights = pat::model::StandaloneTokenizerImpl::select_weights(tensors_of(*full), "test");
  auto own = tensors_of(*alone);
  ASSERT_EQ(weights.size(), own.size());  // exactly clip.visual.*, upsamplers.*, pat.*
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : own) {
      ASSERT_TRUE(weights.count(name)) << name;
      tensor.copy_(weights.at(name));
    }
  }
  full->set_classes({"sky", "grass"});
  full->eval();
  alone->eval();
  torch::NoGradGuard no_grad;
  auto images = torch::rand({2, 3, 40, 24}) * 255;  // resized to 32 x 32 by both
  auto expected = full->forward(images);
  auto got = alone->forward(images);
  ASSERT_EQ(expected.token_ids.size(), 3u);
  for (int64_t l = 0; l < 3; ++l) EXPECT_TRUE(torch::equal(got.ids[l], expected.token_ids[l])) << "level " << l;
  EXPECT_EQ(got.ids[2].sizes(), (std::vector<int64_t>{2, 4, 4}));  // 32 / patch 8
  EXPECT_EQ(got.ids[0].sizes(), (std::vector<int64_t>{2, 16, 16}));
  // SegModel skips its pixel decoder at inference: the tokenizer's reconstruction is the full model's decoder
  // applied to the (identical) token maps.
  EXPECT_FALSE(expected.reconstruction.defined());
  EXPECT_TENSOR_CLOSE(got.reconstruction, full->pat->decoder()->forward(got.quantized));
  EXPECT_TENSOR_CLOSE(got.input, expected.reconstruction_target);
  EXPECT_TENSOR_CLOSE(pat::model::StandaloneTokenizerImpl::denormalize(got.input),
                      torch::nn::functional::interpolate(images, torch::nn::functional::InterpolateFuncOptions()
                                                                     .size(std::vector<int64_t>{32, 32})
                                                                     .mode(torch::kBilinear)
                                                                     .align_corners(false)),
                      1e-5, 1e-3);
}

TEST(StandaloneTokenizer, SelectsOnlyTheTokenizersWeightsAndNeedsPat) {
  std::map<std::string, torch::Tensor> file = {{"clip.visual.conv1.weight", torch::zeros({1})},
                                               {"clip.token_embedding.weight", torch::zeros({1})},
                                               {"head.x", torch::zeros({1})},
                                               {"upsamplers.upsample1.weight", torch::zeros({1})},
                                               {"pat.tokenizer.project_l0.weight", torch::zeros({1})}};
  auto selected = pat::model::StandaloneTokenizerImpl::select_weights(file, "w.pt");
  EXPECT_EQ(selected.size(), 3u);
  EXPECT_FALSE(selected.count("head.x"));
  EXPECT_FALSE(selected.count("clip.token_embedding.weight"));
  file.erase("pat.tokenizer.project_l0.weight");
  try {
    pat::model::StandaloneTokenizerImpl::select_weights(file, "w.pt");
    FAIL() << "a file without pat.* was accepted";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("w.pt: no PAT weights"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pat::model::StandaloneTokenizer(tiny_tokenizer_config({"model.pat.enabled=false"})), pat::Error);
}
