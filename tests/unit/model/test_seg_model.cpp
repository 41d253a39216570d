#include "pat/model/seg_model.h"

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "test_support.h"

namespace {

pat::ModelConfig tiny(std::vector<std::string> overrides = {}) {
  return pat::load_config(pat::test::data_path("engine/tiny.yaml"), overrides).model;
}

/// The part of the model a parameter belongs to, for the gradient tests.
std::string part_of(const std::string& name) {
  if (name.rfind("clip.visual.", 0) == 0) return "clip.visual";
  if (name.rfind("clip.", 0) == 0) return "clip.text";
  for (const char* part : {"pat.tokenizer.", "pat.decoder.", "pat.fusion.fuse.", "pat.fusion.project.", "pat.aux_head.",
                           "upsamplers.", "head."})
    if (name.rfind(part, 0) == 0) return std::string(part).substr(0, std::string(part).size() - 1);
  return name;
}

/// The parts whose parameters get a non-zero gradient from `loss` alone.
std::set<std::string> parts_reached(pat::model::SegModel& model, const torch::Tensor& loss) {
  model->zero_grad();
  loss.backward({}, /*retain_graph=*/true);
  std::set<std::string> parts;
  for (const auto& p : model->named_parameters(true))
    if (p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) parts.insert(part_of(p.key()));
  return parts;
}

using Parts = std::set<std::string>;

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

TEST(SegModel, EveryLossTermReachesExactlyItsParameters) {
  // The text tower trains (finetune: full), so a leak through the class embeddings would show.
  for (bool decoupled : {true, false}) {
    torch::manual_seed(2);
    pat::model::SegModel model(
        tiny({"model.clip.finetune=full", std::string("model.pat.decoupled=") + (decoupled ? "true" : "false")}));
    model->set_classes({"sky", "red circle", "grass"});
    model->train();
    auto images = torch::rand({2, 3, 32, 32}) * 255;
    auto labels = torch::randint(0, 3, {2, 32, 32}, torch::kInt64);
    auto out = model->forward(images, labels);
    ASSERT_EQ(out.losses.size(), 4u);
    // The fusion's output projections start at zero: at initialization the segmentation loss reaches
    // them but nothing behind them.
    EXPECT_EQ(parts_reached(model, out.losses.at("seg")),
              (Parts{"clip.visual", "clip.text", "upsamplers", "head", "pat.fusion.project"}))
        << "decoupled " << decoupled;
    const Parts inside_pat_aux{"pat.aux_head", "pat.fusion.fuse", "pat.tokenizer"};
    Parts aux = inside_pat_aux;
    if (!decoupled) aux.insert({"clip.visual", "clip.text", "upsamplers"});
    EXPECT_EQ(parts_reached(model, out.losses.at("aux")), aux) << "decoupled " << decoupled;
    Parts rec{"pat.tokenizer", "pat.decoder"};
    if (!decoupled) rec.insert({"clip.visual", "upsamplers"});
    EXPECT_EQ(parts_reached(model, out.losses.at("rec")), rec) << "decoupled " << decoupled;
    Parts commit{"pat.tokenizer"};
    if (!decoupled) commit.insert({"clip.visual", "upsamplers"});
    EXPECT_EQ(parts_reached(model, out.losses.at("commit")), commit) << "decoupled " << decoupled;
  }
}

TEST(SegModel, EvalAndLogitsSkipThePixelDecoderAndTheAuxHead) {
  torch::manual_seed(3);
  pat::model::SegModel model(tiny());
  model->set_classes({"sky", "red circle", "grass"});
  auto images = torch::rand({2, 3, 32, 32}) * 255;
  auto labels = torch::randint(0, 3, {2, 32, 32}, torch::kInt64);
  model->train();
  auto trained = model->forward(images, labels);
  EXPECT_TRUE(trained.reconstruction.defined());
  EXPECT_TRUE(trained.aux_logits.defined());
  EXPECT_TRUE(trained.losses.count("rec") && trained.losses.count("aux"));
  model->eval();
  torch::NoGradGuard no_grad;
  auto evaluated = model->forward(images, labels);
  EXPECT_FALSE(evaluated.reconstruction.defined());
  EXPECT_FALSE(evaluated.aux_logits.defined());
  EXPECT_EQ(evaluated.losses.count("rec") + evaluated.losses.count("aux"), 0u);
  EXPECT_EQ(evaluated.token_ids.size(), 3u);
  EXPECT_TRUE(torch::equal(model->logits(images), evaluated.logits));
}

TEST(SegModel, PatConfigFieldsReachTheModules) {
  torch::manual_seed(4);
  pat::model::SegModel model(tiny({"model.pat.compose=false", "model.pat.aux_logit_scale=3",
                                   "model.pat.aux_logit_bias=-2", "model.pat.dead_code_steps=7"}));
  const auto& o = model->pat->options();
  EXPECT_FALSE(o.tokenizer.compose);
  EXPECT_EQ(o.tokenizer.codebook.dead_code_steps, 7);
  auto params = model->named_parameters(true);
  for (const auto& p : params) EXPECT_EQ(p.key().find("compose"), std::string::npos) << p.key();
  EXPECT_NEAR(params["pat.aux_head.log_logit_scale"].item<double>(), std::log(3.0), 1e-6);
  EXPECT_NEAR(params["pat.aux_head.logit_bias"].item<double>(), -2.0, 1e-6);
  // The codebook-loss weight multiplies the "loss" quantizer's codebook term.
  auto images = torch::rand({1, 3, 32, 32}) * 255;
  auto labels = torch::randint(0, 3, {1, 32, 32}, torch::kInt64);
  std::vector<double> terms;
  for (const char* weight : {"1", "2.5"}) {
    torch::manual_seed(5);
    pat::model::SegModel m(tiny({"model.pat.quantizer=loss", std::string("model.pat.codebook_weight=") + weight}));
    m->set_classes({"sky", "grass", "water"});
    m->eval();
    torch::NoGradGuard no_grad;
    terms.push_back(m->forward(images, labels).losses.at("codebook").item<double>());
  }
  EXPECT_GT(terms[0], 0.0);
  EXPECT_NEAR(terms[1], 2.5 * terms[0], 1e-6 * terms[0]);
  // Bad values are config errors.
  EXPECT_THROW(tiny({"model.pat.aux_logit_scale=0"}), pat::Error);
  EXPECT_THROW(tiny({"model.pat.codebook_weight=-1"}), pat::Error);
  EXPECT_THROW(tiny({"model.pat.compose=maybe"}), pat::Error);
}

TEST(SegModel, EndStepAgesTheCodebooksOncePerOptimizerStep) {
  torch::manual_seed(6);
  pat::model::SegModel model(tiny({"model.pat.dead_code_steps=0"}));
  model->set_classes({"sky", "red circle", "grass"});
  model->train();
  auto images = torch::rand({1, 3, 32, 32}) * 255;
  auto& q = *model->pat->tokenizer()->quantizer(2);
  for (int micro = 0; micro < 3; ++micro) model->forward(images);
  EXPECT_EQ(q.unused_steps().max().item<int64_t>(), 0);
  model->end_step();
  // L2 is 4x4 = 16 positions for 16 codes: some code went unused, and it has aged by exactly one step.
  EXPECT_EQ(q.unused_steps().max().item<int64_t>(), 1);
}
