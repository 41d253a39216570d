#include "pat/model/seg_model.h"

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "test_support.h"

namespace {

pat::ModelConfig tiny(std::vector<std::string> overrides = {}) {
  return pat::load_config(pat::test::data_path("engine/tiny.yaml"), overrides).model;
}

int64_t find_count(const std::vector<pat::model::ParamCount>& counts, const std::string& name, bool trainable) {
  for (const auto& c : counts)
    if (c.name == name) return trainable ? c.trainable : c.total;
  ADD_FAILURE() << "no row " << name;
  return -1;
}

}  // namespace

TEST(SegModel, BaselineParameterCountsMatchTheOfficialModel) {
  auto config = pat::default_config({"model.pat.enabled=false"}).model;
  pat::model::SegModel model(config);
  auto counts = model->param_counts();
  // CATSEG.md §1.8: computed from the official module shapes.
  EXPECT_EQ(find_count(counts, "total", true), 25115873);
  EXPECT_EQ(find_count(counts, "total", false), 154289378);
  EXPECT_EQ(find_count(counts, "upsamplers", false), 2359680);
  EXPECT_EQ(find_count(counts, "head", false), 2308961);
}

TEST(SegModel, PatAdditionStaysSmall) {
  pat::model::SegModel model(pat::default_config().model);
  auto counts = model->param_counts();
  const int64_t pat = find_count(counts, "pat", true);
  EXPECT_GT(pat, 0);
  EXPECT_LT(pat, 25115873 / 10);
  EXPECT_EQ(find_count(counts, "total", true), 25115873 + pat);
}

TEST(SegModel, UntrainedPatLeavesTheBaselineOutputUnchanged) {
  torch::manual_seed(0);
  pat::model::SegModel with_pat(tiny());
  pat::model::SegModel baseline(tiny({"model.pat.enabled=false"}));
  {
    torch::NoGradGuard no_grad;
    auto source = with_pat->named_parameters(true);
    for (auto& p : baseline->named_parameters(true)) p.value().copy_(source[p.key()]);
    auto buffers = with_pat->named_buffers(true);
    for (auto& b : baseline->named_buffers(true)) b.value().copy_(buffers[b.key()]);
  }
  for (auto* m : {&with_pat, &baseline}) {
    (*m)->set_classes({"sky", "red circle", "grass"});
    (*m)->eval();
  }
  auto images = torch::rand({2, 3, 32, 32}) * 255;
  torch::NoGradGuard no_grad;
  auto a = with_pat->forward(images).logits, b = baseline->forward(images).logits;
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));  // 4x the 4x4 patch grid
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(SegModel, GradientsReachExactlyTheIntendedParameters) {
  torch::manual_seed(1);
  pat::model::SegModel model(tiny());
  model->set_classes({"sky", "red circle", "grass"});
  model->train();
  auto images = torch::rand({2, 3, 32, 32}) * 255;
  auto labels = torch::randint(0, 3, {2, 32, 32}, torch::kInt64);
  auto out = model->forward(images, labels);
  for (const char* term : {"seg", "rec", "commit", "aux"}) ASSERT_TRUE(out.losses.count(term)) << term;
  // Attention fine-tuning: only Q/V projection weights of CLIP are trainable.
  for (const auto& p : model->clip->named_parameters(true)) {
    const bool qv =
        p.key().find("q_proj_weight") != std::string::npos || p.key().find("v_proj_weight") != std::string::npos;
    EXPECT_EQ(p.value().requires_grad(), qv) << p.key();
  }
  // The reconstruction loss alone trains PAT's tokenizer and decoder, never CLIP or the head.
  out.losses["rec"].backward({}, /*retain_graph=*/true);
  for (const auto& p : model->named_parameters(true)) {
    const bool has_grad = p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0;
    if (p.key().rfind("clip.", 0) == 0 || p.key().rfind("head.", 0) == 0 || p.key().rfind("upsamplers.", 0) == 0)
      EXPECT_FALSE(has_grad) << p.key();
    if (p.key().rfind("pat.decoder.", 0) == 0 && p.key().find("weight") != std::string::npos)
      EXPECT_TRUE(has_grad) << p.key();
  }
  model->zero_grad();
  // The segmentation loss reaches CLIP's Q/V weights and the head.
  out.losses["seg"].backward();
  auto params = model->named_parameters(true);
  EXPECT_TRUE(params["clip.visual.transformer.resblocks.0.attn.q_proj_weight"].grad().defined());
  EXPECT_TRUE(params["clip.transformer.resblocks.0.attn.v_proj_weight"].grad().defined());
  EXPECT_TRUE(params["head.conv1.weight"].grad().defined());
}

TEST(SegModel, ParameterGroups) {
  pat::model::SegModel model(tiny());
  int64_t clip_params = 0;
  for (const auto& g : model->param_groups()) {
    for (const auto& p : g.params) EXPECT_TRUE(p.requires_grad());
    if (g.name.rfind("clip", 0) == 0) {
      EXPECT_DOUBLE_EQ(g.lr_scale, 0.01);
      clip_params += static_cast<int64_t>(g.params.size());
    } else {
      EXPECT_DOUBLE_EQ(g.lr_scale, 1.0);
    }
  }
  EXPECT_EQ(clip_params, 2 * (3 + 1));  // q and v of 3 vision + 1 text blocks
  // Norms (by module type, e.g. the decoder's GroupNorms), padding tokens and embeddings get no weight decay.
  std::map<std::string, bool> decays;
  auto params = model->named_parameters(true);
  for (const auto& g : model->param_groups())
    for (const auto& p : g.params)
      for (const auto& item : params)
        if (item.value().is_same(p)) decays[item.key()] = g.weight_decay;
  for (const char* name : {"head.decoder1.conv.double_conv.1.weight", "head.layers.0.attention.padding_tokens",
                           "head.layers.0.swin_block.guidance_norm.weight"})
    EXPECT_FALSE(decays.at(name)) << name;
  for (const char* name :
       {"head.conv1.weight", "upsamplers.upsample1.weight", "clip.visual.transformer.resblocks.0.attn.q_proj_weight"})
    EXPECT_TRUE(decays.at(name)) << name;
}

TEST(SegModel, BadInputsAreErrors) {
  pat::model::SegModel model(tiny());
  EXPECT_THROW(model->set_classes({}), pat::Error);
  EXPECT_THROW(model->set_classes({"cat", "  "}), pat::Error);
  EXPECT_THROW(model->set_classes({"cat", "cat"}), pat::Error);
  model->set_classes({"cat"});
  EXPECT_THROW(model->forward(torch::zeros({1, 4, 32, 32})), pat::Error);
  pat::model::SegModel no_vocab(tiny({"model.clip.tokenizer=bpe", "model.clip.vocab=/nonexistent/vocab.txt.gz"}));
  EXPECT_THROW(no_vocab->set_classes({"cat"}), pat::Error);
  EXPECT_THROW(pat::model::SegModel(tiny({"model.clip.image_size=36"})), pat::Error);
}
