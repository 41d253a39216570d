// Pyramid tokenizer, pixel decoder, semantic fusion, aux head, losses and the composite PyramidPat:
// shapes (tiny dims and the ViT-B/16@384 dims), gradient flow (decoupled vs coupled), zero-initialized
// residuals, inference without the training-only branches, defaults taken from the config, parameter
// count. Values against the independent Python reference are in test_pat_golden.cpp.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/pat/losses.h"
#include "pat/model/pat/pyramid_pat.h"
#include "test_support.h"

namespace {

using namespace pat::model;
namespace F = torch::nn::functional;

PyramidPatOptions tiny_options() {
  PyramidPatOptions o;
  o.tokenizer.level_channels = {6, 8, 10};
  o.tokenizer.codebook.dim = 4;
  o.tokenizer.codebook.codebook_size = 8;
  o.decoder.stage_dims = {8, 8, 8, 4};
  o.decoder.groups = 4;
  o.fusion.fused_dim = 8;
  o.fusion.guidance_dims = {6, 4, 2};
  o.aux.text_dim = 5;
  return o;
}

// L0 [B, 6, 16, 16], L1 [B, 8, 8, 8], L2 [B, 10, 4, 4]
std::vector<torch::Tensor> tiny_levels(int64_t batch = 2, bool grad = false) {
  std::vector<torch::Tensor> levels{torch::randn({batch, 6, 16, 16}), torch::randn({batch, 8, 8, 8}),
                                    torch::randn({batch, 10, 4, 4})};
  if (grad)
    for (auto& l : levels) l.requires_grad_();
  return levels;
}

torch::Tensor normalize1(const torch::Tensor& x) {
  return F::normalize(x, F::NormalizeFuncOptions().dim(1));
}

torch::nn::Conv2dImpl& conv(torch::nn::Module& m, const std::string& name) {
  return *m.named_modules()[name]->as<torch::nn::Conv2dImpl>();
}

int64_t count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(PyramidTokenizer, ShapesAndBottomUpComposition) {
  torch::manual_seed(10);
  PyramidTokenizer tok(tiny_options().tokenizer);
  tok->eval();
  auto levels = tiny_levels();
  auto out = tok->forward(levels);
  const std::vector<int64_t> sizes{16, 8, 4};
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(out.quantized[l].sizes(), (std::vector<int64_t>{2, 4, sizes[l], sizes[l]}));
    EXPECT_EQ(out.ids[l].sizes(), (std::vector<int64_t>{2, sizes[l], sizes[l]}));
    EXPECT_EQ(out.ids[l].scalar_type(), torch::kInt64);
  }
  // (The composition's values are checked against the Python reference in test_pat_golden.cpp.)
  EXPECT_EQ(*conv(*tok, "compose_l1").options.stride(), (std::array<int64_t, 2>{2, 2}));
  EXPECT_EQ(out.scalars().size(), 8u);  // perplexity and usage of 3 levels, commitment and codebook loss
  // decode(ids) gives back the codes that were selected.
  auto decoded = tok->decode(out.ids);
  for (int l = 0; l < 3; ++l) EXPECT_TENSOR_CLOSE(decoded[l], out.quantized[l], 0, 1e-5);
}

TEST(PyramidTokenizer, HooksReachEveryLevel) {
  torch::manual_seed(11);
  PyramidTokenizer tok(tiny_options().tokenizer);
  int calls = 0;
  tok->set_stats_reducer([&](std::vector<torch::Tensor>&) { ++calls; });
  tok->train();
  tok->forward(tiny_levels());
  EXPECT_EQ(calls, 3);
  EXPECT_THROW(tok->quantizer(5), pat::Error);
  EXPECT_EQ(tok->quantizer(2)->codebook_size(), 8);
}

TEST(PyramidPat, DecoupledStopsGradientAtTheTaps) {
  torch::manual_seed(12);
  PyramidPat pat(tiny_options());
  pat->train();
  auto levels = tiny_levels(2, /*grad=*/true);
  auto out = pat->forward(levels);
  auto image = torch::randn({2, 3, 64, 64});
  auto loss = pyramid_reconstruction_loss(out.reconstruction, image) + 0.25 * out.tokens.commitment_loss;
  loss.backward();
  for (int l = 0; l < 3; ++l) EXPECT_FALSE(levels[l].grad().defined()) << "level " << l;
  auto params = pat->named_parameters();
  for (const auto& name : {"tokenizer.project_l0.weight", "tokenizer.project_l2.weight", "tokenizer.compose_l1.weight",
                           "decoder.stages.0.conv1.weight", "decoder.head.weight"}) {
    ASSERT_TRUE(params[name].grad().defined()) << name;
    EXPECT_GT(params[name].grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(PyramidPat, CoupledPassesGradientToTheInputs) {
  torch::manual_seed(13);
  auto o = tiny_options();
  o.tokenizer.decoupled = false;
  PyramidPat pat(o);
  pat->train();
  auto levels = tiny_levels(2, /*grad=*/true);
  auto out = pat->forward(levels);
  pyramid_reconstruction_loss(out.reconstruction, torch::randn({2, 3, 64, 64})).backward();
  for (int l = 0; l < 3; ++l) {
    ASSERT_TRUE(levels[l].grad().defined()) << "level " << l;
    EXPECT_GT(levels[l].grad().abs().sum().item<double>(), 0.0) << "level " << l;
  }
}

TEST(PyramidPat, SingleLevelAblation) {
  torch::manual_seed(14);
  auto o = tiny_options();
  o.tokenizer.levels = {2};
  PyramidPat pat(o);
  auto levels = tiny_levels();
  auto out = pat->forward(levels, torch::randn({2, 3, 5}));
  EXPECT_FALSE(out.tokens.quantized[0].defined());
  EXPECT_FALSE(out.tokens.quantized[1].defined());
  EXPECT_EQ(out.tokens.quantized[2].sizes(), (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_EQ(out.reconstruction.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  ASSERT_EQ(out.guidance_residuals.size(), 3u);
  EXPECT_EQ(out.guidance_residuals[2].sizes(), (std::vector<int64_t>{2, 2, 16, 16}));
  EXPECT_EQ(out.aux_logits.sizes(), (std::vector<int64_t>{2, 3, 4, 4}));
  for (const auto& item : pat->named_modules()) EXPECT_EQ(item.key().find("compose"), std::string::npos) << item.key();
  // Unused levels may be left out of the tokenizer's input.
  EXPECT_NO_THROW(pat->tokenizer()->forward({torch::Tensor(), torch::Tensor(), levels[2]}));
}

TEST(PyramidPat, UserErrors) {
  auto o = tiny_options();
  PyramidPat pat(o);
  auto levels = tiny_levels();
  EXPECT_THROW(pat->forward({levels[0], levels[1]}), pat::Error);
  EXPECT_THROW(pat->forward({levels[0], torch::randn({2, 7, 8, 8}), levels[2]}), pat::Error);
  EXPECT_THROW(pat->forward({levels[0], torch::randn({2, 8, 9, 9}), levels[2]}), pat::Error);
  EXPECT_THROW(pat->forward({levels[0], torch::randn({1, 8, 8, 8}), levels[2]}), pat::Error);
  EXPECT_THROW(pat->forward(levels, torch::randn({2, 3, 4})), pat::Error);  // text dim 5 expected
  auto bad = [&](auto edit) {
    auto b = o;
    edit(b);
    return b;
  };
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.tokenizer.levels = {1, 0}; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.tokenizer.levels = {3}; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.tokenizer.levels = {}; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.tokenizer.quantizer = "rq"; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.decoder.groups = 3; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.decoder.stage_dims = {8}; })), pat::Error);  // L0 would never join
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.fusion.guidance_dims = {6, 4}; })), pat::Error);
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.semantic_branch = false; })), pat::Error);  // aux needs it
  EXPECT_THROW(PyramidPat(bad([](auto& b) { b.aux.logit_scale = 0; })), pat::Error);
  EXPECT_THROW(pat->reconstruct({torch::Tensor(), torch::Tensor(), torch::Tensor()}), pat::Error);
}

TEST(PyramidDecoder, FullAndHalfResolution) {
  torch::manual_seed(15);
  PyramidTokenizer tok(tiny_options().tokenizer);
  auto q = tok->forward(tiny_levels()).quantized;
  PyramidDecoderOptions o = tiny_options().decoder;
  PyramidDecoder full(o, 4, std::vector<int64_t>{0, 1, 2});
  EXPECT_EQ(full->num_stages(), 4);
  EXPECT_EQ(full->forward(q).sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  o.full_resolution = false;
  PyramidDecoder half(o, 4, std::vector<int64_t>{0, 1, 2});
  EXPECT_EQ(half->num_stages(), 3);
  EXPECT_EQ(half->forward(q).sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  // A stage with a different width gets a 1x1 shortcut, an equal one does not.
  auto names = full->named_parameters().keys();
  EXPECT_EQ(std::count(names.begin(), names.end(), "stages.1.shortcut.weight"), 1);  // 8 + 4 -> 8
  EXPECT_EQ(std::count(names.begin(), names.end(), "stages.0.shortcut.weight"), 0);  // 4 + 4 -> 8
}

TEST(PyramidFusion, ZeroInitGivesExactlyZeroResiduals) {
  torch::manual_seed(16);
  auto o = tiny_options();
  PyramidTokenizer tok(o.tokenizer);
  auto q = tok->forward(tiny_levels()).quantized;
  PyramidFusion fusion(o.fusion, 4, std::vector<int64_t>{0, 1, 2});
  auto out = fusion->forward(q, {{4, 4}, {8, 8}, {16, 16}});
  ASSERT_EQ(out.residuals.size(), 3u);
  const std::vector<int64_t> dims{6, 4, 2}, sizes{4, 8, 16};
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out.residuals[r].sizes(), (std::vector<int64_t>{2, dims[r], sizes[r], sizes[r]}));
    EXPECT_TRUE(torch::equal(out.residuals[r], torch::zeros_like(out.residuals[r])));
  }
  // ...and still learns: the projections get a gradient.
  (out.residuals[0].sum() + out.residuals[2].sum()).backward();
  EXPECT_GT(fusion->named_parameters()["project.0.weight"].grad().abs().sum().item<double>(), 0.0);
}

TEST(PyramidAuxHead, ScaleAndBiasStartAtTheOptions) {
  PyramidAuxHeadOptions o;
  o.text_dim = 5;
  o.logit_scale = 4.0;
  o.logit_bias = -1.5;
  PyramidAuxHead head(o, 3);
  EXPECT_EQ(count(*head), 3 * 5 + 5 + 2);
  auto params = head->named_parameters();
  EXPECT_NEAR(params["log_logit_scale"].item<double>(), std::log(4.0), 1e-6);
  EXPECT_NEAR(params["logit_bias"].item<double>(), -1.5, 1e-6);
  // (Its values against the Python reference: test_pat_golden.cpp.)
  o.learnable_scale = false;
  PyramidAuxHead fixed(o, 3);
  EXPECT_EQ(count(*fixed), 3 * 5 + 5);
}

TEST(PyramidLosses, ReconstructionAndAuxBceByHand) {
  // Half-resolution target: the 2x2 image [[1, 3], [5, 7]] shrinks (area) to its mean 4.
  auto image = torch::tensor({1.0f, 3.0f, 5.0f, 7.0f}).view({1, 1, 2, 2});
  EXPECT_NEAR(pyramid_reconstruction_loss(torch::full({1, 1, 1, 1}, 2.5f), image).item<double>(), 1.5, 1e-6);
  EXPECT_NEAR(pyramid_reconstruction_loss(image + 0.5, image).item<double>(), 0.5, 1e-6);
  EXPECT_THROW(pyramid_reconstruction_loss(image, torch::zeros({1, 3, 2, 2})), pat::Error);
  // Aux BCE: logits constant per class (x0 = 1, x1 = -2), labels [[0, 255], [1, 0]].
  auto logits = torch::tensor({1.0f, -2.0f}).view({1, 2, 1, 1});
  auto labels = torch::tensor({0, 255, 1, 0}, torch::kInt64).view({1, 2, 2});
  auto sp = [](double x) { return std::log1p(std::exp(x)); };  // BCE(x, y) = softplus(x) - x y
  const double total = 4 * (sp(1.0) + sp(-2.0)) - (2 * 1.0 + 1 * -2.0);
  EXPECT_NEAR(pyramid_aux_bce_loss(logits, labels).item<double>(), total / 8, 1e-6);
  EXPECT_THROW(pyramid_aux_bce_loss(logits, torch::full({1, 2, 2}, 2, torch::kInt64)), pat::Error);
}

TEST(PyramidPat, VitB16At384Shapes) {
  torch::manual_seed(19);
  PyramidPat pat;  // defaults: ViT-B/16@384
  pat->eval();
  torch::NoGradGuard g;
  std::vector<torch::Tensor> levels{torch::randn({1, 128, 96, 96}), torch::randn({1, 256, 48, 48}),
                                    torch::randn({1, 512, 24, 24})};
  auto out = pat->forward(levels, torch::randn({1, 171, 512}));
  const std::vector<int64_t> sizes{96, 48, 24};
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(out.tokens.quantized[l].sizes(), (std::vector<int64_t>{1, 64, sizes[l], sizes[l]}));
    EXPECT_EQ(out.tokens.ids[l].sizes(), (std::vector<int64_t>{1, sizes[l], sizes[l]}));
  }
  EXPECT_EQ(out.reconstruction.sizes(), (std::vector<int64_t>{1, 3, 384, 384}));
  const std::vector<std::vector<int64_t>> guidance{{1, 128, 24, 24}, {1, 32, 48, 48}, {1, 16, 96, 96}};
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out.guidance_residuals[r].sizes(), guidance[r]);
    EXPECT_TRUE(torch::equal(out.guidance_residuals[r], torch::zeros(guidance[r])));  // CAT-Seg unchanged
  }
  EXPECT_EQ(out.aux_logits.sizes(), (std::vector<int64_t>{1, 171, 24, 24}));
  // Half-resolution decoder and the way back from token ids.
  PyramidDecoderOptions half;
  half.full_resolution = false;
  EXPECT_EQ(PyramidDecoder(half, 64, std::vector<int64_t>{0, 1, 2})->forward(out.tokens.quantized).sizes(),
            (std::vector<int64_t>{1, 3, 192, 192}));
  EXPECT_TENSOR_CLOSE(pat->reconstruct(out.tokens.ids), out.reconstruction, 1e-4, 1e-4);
}

TEST(PyramidPat, ParameterCountVitB) {
  PyramidPat pat;
  // tokenizer: 1x1 projections (C*64 + 64) + two 3x3 stride-2 compose convs (64*64*9 + 64); EMA codebooks are buffers
  const int64_t tokenizer = (128 + 256 + 512) * 64 + 3 * 64 + 2 * (64 * 64 * 9 + 64);
  // decoder blocks: conv3x3 in->out, conv3x3 out->out (no bias), 2 GN (2*out each), 1x1 shortcut if in != out;
  // the config's widths {64, 32, 16, 16}: 64 + L1's 64 -> 64, 64 + L0's 64 -> 32, 32 -> 16, 16 -> 16
  auto block = [](int64_t in, int64_t out) {
    return in * out * 9 + out * out * 9 + 4 * out + (in != out ? in * out : 0);
  };
  const int64_t decoder = block(128, 64) + block(128, 32) + block(32, 16) + block(16, 16) + (16 * 3 * 9 + 3);
  // fusion: 1x1 (3*64 -> 128) + projections 128 -> 128 / 32 / 16
  const int64_t fusion = (192 * 128 + 128) + (128 * 128 + 128) + (128 * 32 + 32) + (128 * 16 + 16);
  const int64_t aux = 128 * 512 + 512 + 2;
  EXPECT_EQ(count(*pat->tokenizer()), tokenizer);
  EXPECT_EQ(count(*pat->decoder()), decoder);
  EXPECT_EQ(count(*pat->fusion()), fusion);
  EXPECT_EQ(count(*pat->aux_head()), aux);
  EXPECT_EQ(count(*pat), 426789);
  EXPECT_LT(count(*pat), 2511587);  // < 10% of CAT-Seg ViT-B's 25,115,873 trainable parameters
  PyramidPatOptions loss;
  loss.tokenizer.quantizer = "loss";
  EXPECT_EQ(count(*PyramidPat(loss)), 426789 + 3 * 512 * 64);
}

TEST(PyramidPat, InferenceSkipsTheDecoderAndTheAuxHead) {
  torch::manual_seed(20);
  PyramidPat pat(tiny_options());
  pat->eval();
  torch::NoGradGuard g;
  auto levels = tiny_levels();
  auto text = torch::randn({2, 3, 5});
  auto full = pat->forward(levels, text);
  ASSERT_TRUE(full.reconstruction.defined());
  ASSERT_TRUE(full.aux_logits.defined());
  auto lean = pat->forward(levels, text, /*training_outputs=*/false);
  EXPECT_FALSE(lean.reconstruction.defined());
  EXPECT_FALSE(lean.aux_logits.defined());
  ASSERT_EQ(lean.guidance_residuals.size(), 3u);
  for (int r = 0; r < 3; ++r) EXPECT_TRUE(torch::equal(lean.guidance_residuals[r], full.guidance_residuals[r]));
  for (int l = 0; l < 3; ++l) EXPECT_TRUE(torch::equal(lean.tokens.ids[l], full.tokens.ids[l]));
}

TEST(PyramidTokenizer, ComposeOffQuantizesEachLevelFromItsOwnProjection) {
  torch::manual_seed(21);
  auto o = tiny_options().tokenizer;
  o.compose = false;
  PyramidTokenizer tok(o);
  tok->eval();
  for (const auto& item : tok->named_parameters()) EXPECT_EQ(item.key().find("compose"), std::string::npos);
  auto levels = tiny_levels();
  auto out = tok->forward(levels);
  torch::NoGradGuard g;
  auto params = tok->named_parameters();
  for (int l = 0; l < 3; ++l) {
    const std::string p = "project_l" + std::to_string(l);
    auto expected = normalize1(torch::conv2d(levels[l], params[p + ".weight"], params[p + ".bias"]));
    EXPECT_TENSOR_CLOSE(out.projected[l], expected, 1e-5, 1e-6) << "level " << l;
  }
}

TEST(PatDefaults, OptionStructsTakeTheConfigDefaults) {
  const pat::PatConfig c;
  const pat::HeadConfig h;
  QuantizerOptions q;
  EXPECT_EQ(q.dim, c.code_dim);
  EXPECT_EQ(q.codebook_size, c.codebook_size);
  EXPECT_EQ(q.decay, c.ema_decay);
  EXPECT_EQ(q.dead_code_steps, c.dead_code_steps);
  PyramidTokenizerOptions t;
  EXPECT_EQ(t.levels, c.levels);
  EXPECT_EQ(t.quantizer, c.quantizer);
  EXPECT_EQ(t.decoupled, c.decoupled);
  EXPECT_EQ(t.compose, c.compose);
  PyramidDecoderOptions d;
  EXPECT_EQ(d.stage_dims, c.decoder_dims);
  EXPECT_EQ(d.full_resolution, c.decoder_resolution == "full");
  PyramidFusionOptions f;
  EXPECT_EQ(f.fused_dim, c.fusion_dim);
  EXPECT_EQ(f.shared, c.fusion == "shared");
  EXPECT_EQ(f.guidance_dims, (std::vector<int64_t>{h.appearance_guidance_proj_dim, h.decoder_guidance_proj_dims[0],
                                                   h.decoder_guidance_proj_dims[1]}));
  PyramidAuxHeadOptions a;
  EXPECT_EQ(a.logit_scale, c.aux_logit_scale);
  EXPECT_EQ(a.logit_bias, c.aux_logit_bias);
  PyramidPatOptions p;
  EXPECT_EQ(p.aux_head, c.aux_enabled);
  EXPECT_EQ(p.pixel_branch, c.reconstruction_weight > 0);
}
