#include <gtest/gtest.h>
#include <torch/torch.h>

#include "catseg_test_util.h"
#include "pat/core/error.h"
#include "pat/core/safetensors.h"
#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/catseg_presets.h"
#include "pat/model/catseg/guidance_upsamplers.h"
#include "test_support.h"

using namespace pat::model;
using pat::test::count_parameters;

TEST(CatSegHead, ParameterCountsMatchTheOfficialModel) {
  // CATSEG.md §1.8.
  auto b = catseg_vit_b16_384();
  EXPECT_EQ(count_parameters(*CatSegHead(b.head)), 2308961);
  EXPECT_EQ(count_parameters(*GuidanceUpsamplers(b.upsamplers)), 2359680);
  auto l = catseg_vit_l14_336();
  EXPECT_EQ(count_parameters(*CatSegHead(l.head)), 2636641);
  EXPECT_EQ(count_parameters(*GuidanceUpsamplers(l.upsamplers)), 3146112);
  CatSegHead head(b.head);
  EXPECT_EQ(count_parameters(*head->layers[0]), 677120);
  EXPECT_EQ(count_parameters(*head->layers[0]->as<AggregatorLayer>()->swin_block), 462336);
  EXPECT_EQ(count_parameters(*head->layers[0]->as<AggregatorLayer>()->attention), 214784);
}

TEST(CatSegHead, PresetsFollowTheOfficialConfigs) {
  auto b = catseg_vit_b16_384();
  EXPECT_EQ(b.hook_layers, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(b.image_size, 384);
  EXPECT_EQ(b.head.pooling_size, 2);
  EXPECT_EQ(b.head.eval_pooling_size, 1);
  EXPECT_EQ(b.head.pad_len, 256);
  EXPECT_EQ(b.head.decoder_guidance_dims,
            (std::vector<int64_t>{b.upsamplers.upsample1_dim, b.upsamplers.upsample2_dim}));
  auto l = catseg_vit_l14_336();
  EXPECT_EQ(l.hook_layers, (std::vector<int64_t>{7, 15}));
  EXPECT_EQ(l.image_size, 336);
  EXPECT_EQ(l.upsamplers.width, 1024);
  EXPECT_EQ(l.head.appearance_guidance_dim, 768);
  EXPECT_EQ(l.head.text_guidance_dim, 768);
}

TEST(CatSegHead, OfficialParameterNames) {
  CatSegHead head(catseg_vit_b16_384().head);
  auto params = head->named_parameters();
  for (const char* name :
       {"layers.0.swin_block.block_1.attn.q.weight", "layers.1.swin_block.block_2.mlp.fc1.bias",
        "layers.0.swin_block.guidance_norm.weight", "layers.0.attention.attention.k.weight",
        "layers.1.attention.MLP.2.weight", "layers.0.attention.norm2.bias", "layers.0.attention.padding_tokens",
        "layers.1.attention.padding_guidance", "conv1.weight", "guidance_projection.0.weight",
        "text_guidance_projection.0.bias", "decoder_guidance_projection.1.0.weight", "decoder1.up.weight",
        "decoder2.conv.double_conv.4.bias", "head.weight", "head.bias"})
    EXPECT_TRUE(params.contains(name)) << name;
  auto buffers = head->named_buffers();
  EXPECT_EQ(buffers.size(), 2u);
  EXPECT_TRUE(buffers.contains("layers.0.swin_block.block_2.attn_mask"));
  EXPECT_EQ(buffers["layers.0.swin_block.block_2.attn_mask"].sizes(), (std::vector<int64_t>{4, 144, 144}));
}

TEST(CatSegHead, ViTBShapesAndGuidances) {
  torch::manual_seed(0);
  auto o = catseg_vit_b16_384().head;
  o.pad_len = 0;  // shapes do not depend on it; padding 3 classes to 256 would make the test slow
  CatSegHead head(o);
  head->eval();
  torch::NoGradGuard no_grad;
  auto in = pat::test::random_head_inputs(o, 1, 3);
  auto out = head->forward_detailed(in.image, in.text, in.guidance1, in.guidance2);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{1, 3, 96, 96}));
  EXPECT_EQ(out.appearance_guidance.sizes(), (std::vector<int64_t>{1, 128, 24, 24}));
  ASSERT_EQ(out.decoder_guidance.size(), 2u);
  EXPECT_EQ(out.decoder_guidance[0].sizes(), (std::vector<int64_t>{1, 32, 48, 48}));
  EXPECT_EQ(out.decoder_guidance[1].sizes(), (std::vector<int64_t>{1, 16, 96, 96}));
  EXPECT_EQ(out.text_guidance.sizes(), (std::vector<int64_t>{1, 3, 128}));
  EXPECT_FALSE(out.selected_classes.defined());
}

// ------------------------------------------------------------------------------------ golden tests
namespace {

struct Golden {
  pat::SafeTensors weights, io;
  CatSegHead head{nullptr};
  GuidanceUpsamplers upsamplers{nullptr};
};

Golden load_golden(const std::string& name, const CatSegHeadOptions& options, const GuidanceUpsamplersOptions& up) {
  Golden g;
  g.weights = pat::read_safetensors(pat::test::data_path("catseg/" + name + "_weights.safetensors"));
  g.io = pat::read_safetensors(pat::test::data_path("catseg/" + name + "_io.safetensors"));
  g.head = CatSegHead(options);
  g.upsamplers = GuidanceUpsamplers(up);
  auto problems = pat::test::load_named(*g.head, g.weights.tensors, "head.");
  auto more = pat::test::load_named(*g.upsamplers, g.weights.tensors, "upsamplers.");
  problems.insert(problems.end(), more.begin(), more.end());
  for (const auto& p : problems) ADD_FAILURE() << name << ": " << p;
  return g;
}

CatSegHeadOptions g24_options() {
  CatSegHeadOptions o;
  o.text_guidance_dim = o.appearance_guidance_dim = 16;
  o.text_guidance_proj_dim = o.appearance_guidance_proj_dim = 8;
  o.decoder_dims = {16, 16};
  o.decoder_guidance_dims = {16, 8};
  o.decoder_guidance_proj_dims = {8, 8};
  o.num_layers = 2;
  o.num_heads = 4;
  o.hidden_dim = 16;
  o.pooling_size = 2;
  o.eval_pooling_size = 1;
  o.feature_resolution = {24, 24};
  o.window_size = 12;
  o.prompt_channel = 1;
  o.pad_len = 8;
  return o;
}

CatSegHeadOptions g8x12_options() {
  auto o = g24_options();
  o.num_layers = 1;
  o.num_heads = 2;
  o.feature_resolution = {8, 12};
  o.window_size = 4;
  o.prompt_channel = 2;
  o.pad_len = 0;
  return o;
}

// Runs upsamplers + head on the stored inputs for one case and compares with the stored reference.
void check_case(Golden& g, const std::string& name, int64_t classes, bool training, bool residuals, bool subsampled) {
  SCOPED_TRACE(name);
  auto& t = g.io.tensors;
  g.head->train(training);
  torch::NoGradGuard no_grad;
  auto [guid1, guid2] = g.upsamplers(t.at("tap1"), t.at("tap2"));
  CatSegGuidanceResiduals res;
  if (residuals) {
    res.appearance = t.at("residual_appearance");
    res.decoder1 = t.at("residual_decoder1_low").repeat_interleave(2, 2).repeat_interleave(2, 3);
    res.decoder2 = t.at("residual_decoder2_low").repeat_interleave(4, 2).repeat_interleave(4, 3);
  }
  auto text = t.at("text").narrow(1, 0, classes);
  auto out = g.head->forward_detailed(t.at("dense"), text, guid1, guid2, res);
  auto logits = out.logits;
  auto sampled = subsampled ? logits.slice(2, 1, logits.size(2), 4).slice(3, 2, logits.size(3), 4) : logits;
  EXPECT_TENSOR_CLOSE(sampled, t.at(name + ".logits"), 1e-4, 1e-4);
  auto l64 = logits.to(torch::kFloat64);
  EXPECT_TENSOR_CLOSE(l64.sum({2, 3}).to(torch::kFloat32), t.at(name + ".sum"), 1e-5, 2e-2);
  EXPECT_TENSOR_CLOSE(l64.abs().sum({2, 3}).to(torch::kFloat32), t.at(name + ".abs_sum"), 1e-5, 2e-2);
  if (t.count(name + ".selected")) {
    ASSERT_TRUE(out.selected_classes.defined());
    EXPECT_TRUE(torch::equal(std::get<0>(out.selected_classes.sort(1)), t.at(name + ".selected")));
  } else {
    EXPECT_FALSE(out.selected_classes.defined());
  }
}

}  // namespace

TEST(CatSegHeadGolden, Grid24Window12WithPaddingAndPruning) {
  auto g = load_golden("g24", g24_options(), GuidanceUpsamplersOptions{8, 16, 8});
  check_case(g, "eval_t5", 5, false, false, true);       // padded 5 -> 8, pooling 1
  check_case(g, "train_t5", 5, true, false, true);       // padded, pooling 2
  check_case(g, "train_t13", 13, true, false, true);     // pruned 13 -> 8, pooling 2
  check_case(g, "eval_t13_res", 13, false, true, true);  // pruned, with guidance residuals
}

TEST(CatSegHeadGolden, Grid8x12Window4TwoPromptsNoPadding) {
  auto g = load_golden("g8x12", g8x12_options(), GuidanceUpsamplersOptions{8, 16, 8});
  check_case(g, "eval_t6", 6, false, false, false);
  check_case(g, "train_t6", 6, true, false, false);
  check_case(g, "eval_t6_res", 6, false, true, false);
}

// ------------------------------------------------------------------------------- PAT extension
TEST(CatSegHead, ZeroResidualsGiveExactlyTheBaseline) {
  torch::manual_seed(7);
  auto o = pat::test::tiny_head_options(4);
  CatSegHead head(o);
  head->eval();
  torch::NoGradGuard no_grad;
  auto in = pat::test::random_head_inputs(o, 2, 3);
  auto base = head->forward_detailed(in.image, in.text, in.guidance1, in.guidance2);
  CatSegGuidanceResiduals zero{torch::zeros_like(base.appearance_guidance), torch::zeros_like(base.decoder_guidance[0]),
                               torch::zeros_like(base.decoder_guidance[1])};
  EXPECT_TRUE(torch::equal(head(in.image, in.text, in.guidance1, in.guidance2, zero), base.logits));
  EXPECT_TRUE(torch::equal(head(in.image, in.text, in.guidance1, in.guidance2), base.logits));
  // Each residual changes the result and lands in the reported guidance.
  CatSegGuidanceResiduals only_app;
  only_app.appearance = torch::ones_like(base.appearance_guidance);
  auto with = head->forward_detailed(in.image, in.text, in.guidance1, in.guidance2, only_app);
  EXPECT_TRUE(torch::equal(with.appearance_guidance, base.appearance_guidance + 1));
  EXPECT_FALSE(torch::allclose(with.logits, base.logits));
  CatSegGuidanceResiduals only_dec2;
  only_dec2.decoder2 = torch::ones_like(base.decoder_guidance[1]);
  EXPECT_FALSE(torch::allclose(head(in.image, in.text, in.guidance1, in.guidance2, only_dec2), base.logits));
}

TEST(CatSegHead, RejectsWrongInputs) {
  auto o = pat::test::tiny_head_options(4);
  CatSegHead head(o);
  auto in = pat::test::random_head_inputs(o, 2, 3);
  EXPECT_THROW(head(in.image.narrow(2, 0, 7), in.text, in.guidance1, in.guidance2), pat::Error);
  EXPECT_THROW(head(in.image, in.text.narrow(3, 0, 7), in.guidance1, in.guidance2), pat::Error);
  EXPECT_THROW(head(in.image, in.text.narrow(0, 0, 1), in.guidance1, in.guidance2), pat::Error);
  EXPECT_THROW(head(in.image, in.text, in.guidance2, in.guidance2), pat::Error);
  EXPECT_THROW(head(in.image, in.text, in.guidance1, in.guidance1), pat::Error);
  EXPECT_THROW(head(in.image, in.text.unsqueeze(0), in.guidance1, in.guidance2), pat::Error);
  CatSegGuidanceResiduals bad;
  bad.appearance = torch::zeros({2, 7, 8, 8});
  EXPECT_THROW(head(in.image, in.text, in.guidance1, in.guidance2, bad), pat::Error);
  bad = {};
  bad.decoder1 = torch::zeros({2, 8, 8, 8});
  EXPECT_THROW(head(in.image, in.text, in.guidance1, in.guidance2, bad), pat::Error);
  auto wrong = o;
  wrong.decoder_dims = {16};
  EXPECT_THROW(CatSegHead{wrong}, pat::Error);
  wrong = o;
  wrong.feature_resolution = {8, 6};
  EXPECT_THROW(CatSegHead{wrong}, pat::Error);
}

TEST(CatSegHead, GradientReachesEveryParameter) {
  torch::manual_seed(8);
  auto o = pat::test::tiny_head_options(4);
  CatSegHead head(o);
  GuidanceUpsamplers up(GuidanceUpsamplersOptions{8, 8, 8});
  head->train();
  {
    // Non-zero padding so its gradient path is not degenerate.
    torch::NoGradGuard no_grad;
    for (auto& p : head->parameters()) p.add_(0.01 * torch::randn_like(p));
  }
  auto in = pat::test::random_head_inputs(o, 2, 3);  // T = 3 < pad_len: padding is used
  auto taps = torch::randn({2, 8, 8, 8});
  auto [g1, g2] = up(taps, taps);
  auto logits = head(in.image, in.text, g1, g2);
  logits.pow(2).mean().backward();
  for (const auto& p : head->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  for (const auto& p : up->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(CatSegHead, GradientFlowsThroughPrunedClasses) {
  torch::manual_seed(9);
  auto o = pat::test::tiny_head_options(4);
  CatSegHead head(o);
  head->train();
  auto in = pat::test::random_head_inputs(o, 1, 6);
  in.image.requires_grad_(true);
  in.text.requires_grad_(true);
  head(in.image, in.text, in.guidance1, in.guidance2).sum().backward();
  EXPECT_GT(in.image.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(in.text.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(head->conv1->weight.grad().abs().sum().item<double>(), 0.0);
}
