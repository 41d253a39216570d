#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clip_fixture.h"
#include "pat/clip/attention.h"
#include "pat/clip/model.h"
#include "pat/core/error.h"

using namespace pat::clip;
using namespace pat::clip::test;

namespace {
constexpr double kRtol = 1e-4, kAtol = 1e-5;
}

TEST(ClipModel, EncodeImageMatchesReference) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  EXPECT_TENSOR_CLOSE(model->encode_image(golden("image32.npy")), golden("encode_image.npy"), kRtol, kAtol);
}

TEST(ClipModel, EncodeImageAtOtherResolutionInterpolatesPositions) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  EXPECT_TENSOR_CLOSE(model->encode_image(golden("image48.npy")), golden("encode_image48.npy"), kRtol, kAtol);
}

TEST(ClipModel, EncodeTextMatchesReference) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto ids = golden("text_ids.npy");
  EXPECT_TENSOR_CLOSE(model->encode_text(ids), golden("encode_text.npy"), kRtol, kAtol);
  // int32 ids (what clip.tokenize returns) give the same result.
  EXPECT_TENSOR_CLOSE(model->encode_text(ids.to(torch::kInt32)), golden("encode_text.npy"), kRtol, kAtol);
  // Padding after the end token does not matter: the first two rows fit in 16 positions.
  EXPECT_TENSOR_CLOSE(model->encode_text(ids.narrow(0, 0, 2).narrow(1, 0, 16)),
                      golden("encode_text.npy").narrow(0, 0, 2), kRtol, kAtol);
}

TEST(ClipModel, ForwardGivesScaledCosineLogits) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  EXPECT_TENSOR_CLOSE(model->forward(golden("image32.npy"), golden("text_ids.npy")), golden("logits.npy"), kRtol, 1e-4);
}

TEST(ClipModel, DenseFeaturesAndTapsAtNativeResolution) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto f = model->encode_image_dense(golden("image32.npy"), {0});
  EXPECT_EQ(f.dense.sizes(), torch::IntArrayRef({2, 32, 4, 4}));
  EXPECT_TENSOR_CLOSE(f.dense, golden("dense32.npy"), kRtol, kAtol);
  ASSERT_EQ(f.taps.size(), 1u);
  EXPECT_TENSOR_CLOSE(f.taps[0], golden("tap32_0.npy"), kRtol, kAtol);
}

TEST(ClipModel, DenseFeaturesAndTapsAtInterpolatedResolution) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto f = model->encode_image_dense(golden("image48.npy"), {1, 0});  // taps come back in the order asked
  EXPECT_EQ(f.dense.sizes(), torch::IntArrayRef({1, 32, 6, 6}));
  EXPECT_TENSOR_CLOSE(f.dense, golden("dense48.npy"), kRtol, kAtol);
  ASSERT_EQ(f.taps.size(), 2u);
  EXPECT_EQ(f.taps[0].sizes(), torch::IntArrayRef({1, 64, 6, 6}));
  EXPECT_TENSOR_CLOSE(f.taps[0], golden("tap48_1.npy"), kRtol, kAtol);
  EXPECT_TENSOR_CLOSE(f.taps[1], golden("tap48_0.npy"), kRtol, kAtol);
}

TEST(ClipModel, DenseFeaturesCanBringTheImageEmbeddingAlongInOnePass) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto f = model->visual->features(golden("image32.npy"), {0}, /*embedding=*/true);
  EXPECT_TENSOR_CLOSE(f.embedding, golden("encode_image.npy"), kRtol, kAtol);
  EXPECT_TENSOR_CLOSE(f.dense, golden("dense32.npy"), kRtol, kAtol);
  ASSERT_EQ(f.taps.size(), 1u);
  EXPECT_TENSOR_CLOSE(f.taps[0], golden("tap32_0.npy"), kRtol, kAtol);
  EXPECT_FALSE(model->encode_image_dense(golden("image32.npy")).embedding.defined());
}

TEST(ClipModel, DenseFeaturesOnANonSquareInput) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto image = golden("image48.npy").narrow(3, 0, 40);
  auto f = model->encode_image_dense(image, {0});
  EXPECT_EQ(f.dense.sizes(), torch::IntArrayRef({1, 32, 6, 5}));
  EXPECT_TENSOR_CLOSE(f.dense, golden("dense48x40.npy"), kRtol, kAtol);
  EXPECT_TENSOR_CLOSE(f.taps[0], golden("tap48x40_0.npy"), kRtol, kAtol);
}

TEST(ClipModel, PositionalGridInterpolation) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  EXPECT_TENSOR_CLOSE(model->visual->positional_embedding_for(6, 6), golden("pos48.npy"), kRtol, kAtol);
  EXPECT_TENSOR_CLOSE(model->visual->positional_embedding_for(6, 5), golden("pos48x40.npy"), kRtol, kAtol);
  EXPECT_TRUE(torch::equal(model->visual->positional_embedding_for(4, 4), model->visual->positional_embedding));
}

TEST(ClipModel, RejectsBadInputs) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  EXPECT_THROW(model->encode_image(torch::zeros({1, 3, 30, 32})), pat::Error);  // not a multiple of the patch
  EXPECT_THROW(model->encode_image(torch::zeros({3, 32, 32})), pat::Error);
  EXPECT_THROW(model->encode_image_dense(torch::zeros({1, 3, 32, 32}), {2}), pat::Error);  // no block 2
  EXPECT_THROW(model->encode_text(torch::zeros({1, 49}, torch::kLong)), pat::Error);       // longer than the context
  EXPECT_THROW(model->encode_text(torch::full({1, 4}, 520, torch::kLong)), pat::Error);    // id outside the vocabulary
  EXPECT_THROW(model->encode_text(torch::zeros({1, 4})), pat::Error);                      // float ids
}

TEST(ClipModel, ParameterNamesAreOpenAIsWithSplitProjections) {
  ClipModel model(tiny_architecture());
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  for (const char* name : {"positional_embedding",
                           "text_projection",
                           "logit_scale",
                           "token_embedding.weight",
                           "ln_final.weight",
                           "ln_final.bias",
                           "transformer.resblocks.1.attn.q_proj_weight",
                           "transformer.resblocks.1.attn.k_proj_weight",
                           "transformer.resblocks.1.attn.v_proj_weight",
                           "transformer.resblocks.1.attn.in_proj_bias",
                           "transformer.resblocks.1.attn.out_proj.weight",
                           "transformer.resblocks.1.attn.out_proj.bias",
                           "transformer.resblocks.0.ln_1.weight",
                           "transformer.resblocks.0.ln_2.bias",
                           "transformer.resblocks.0.mlp.c_fc.weight",
                           "transformer.resblocks.0.mlp.c_proj.bias",
                           "visual.conv1.weight",
                           "visual.class_embedding",
                           "visual.positional_embedding",
                           "visual.ln_pre.weight",
                           "visual.ln_post.bias",
                           "visual.proj",
                           "visual.transformer.resblocks.1.attn.q_proj_weight"})
    EXPECT_TRUE(names.count(name)) << name;
  EXPECT_FALSE(names.count("visual.conv1.bias"));
  // 6 text-level + 8 vision-level tensors + 14 per block (12 OpenAI tensors with in_proj split in 3).
  EXPECT_EQ(names.size(), 6u + 8u + 14u * 4u);
  EXPECT_TRUE(model->buffers().empty());  // the causal mask is rebuilt, never stored
}

TEST(ClipModel, RandomInitIsOpenAIStyle) {
  torch::manual_seed(0);
  ClipModel model(ClipArchitecture::preset("tiny"));
  EXPECT_NEAR(model->logit_scale.item<double>(), std::log(1 / 0.07), 1e-6);
  EXPECT_NEAR(model->token_embedding->weight.std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(model->positional_embedding.std().item<double>(), 0.01, 0.002);
  EXPECT_EQ(model->transformer->block(0)->attn->in_proj_bias.abs().sum().item<double>(), 0.0);
  auto q = model->transformer->block(0)->attn->q_proj_weight;
  EXPECT_NEAR(q.std().item<double>(), 1.0 / 8.0, 0.02);  // width 64 -> 64^-0.5
  // A from-scratch forward pass runs and gives finite values.
  torch::NoGradGuard no_grad;
  auto img = model->encode_image(torch::randn({2, 3, 32, 32}));
  auto txt = model->encode_text(torch::tensor({{49406, 320, 49407}}, torch::kLong));
  EXPECT_EQ(img.sizes(), torch::IntArrayRef({2, 64}));
  EXPECT_EQ(txt.sizes(), torch::IntArrayRef({1, 64}));
  EXPECT_TRUE(torch::isfinite(img).all().item<bool>() && torch::isfinite(txt).all().item<bool>());
}

// Without gradients on the CPU (LibTorch 1.x: one task per image and head) the same as with them, with and without
// the causal mask, under NoGradGuard and InferenceMode.
TEST(ClipModel, AttentionWithoutGradientsMatchesWithGradients) {
  torch::manual_seed(3);
  Attention attention(AttentionOptions{32, 4});
  const auto x = torch::randn({3, 10, 32});
  for (const auto& mask : {torch::Tensor(), ClipModelImpl::causal_mask(10)}) {
    SCOPED_TRACE(mask.defined() ? "causal" : "plain");
    const auto expected = attention(x, mask);  // gradients recorded
    ASSERT_TRUE(expected.requires_grad());
    {
      torch::NoGradGuard no_grad;
      EXPECT_TENSOR_CLOSE(attention(x, mask), expected.detach(), 1e-5, 1e-6);
    }
    c10::InferenceMode inference;
    EXPECT_TENSOR_CLOSE(attention(x, mask), expected.detach(), 1e-5, 1e-6);
  }
}

TEST(ClipModel, CausalMask) {
  auto m = ClipModelImpl::causal_mask(3);
  EXPECT_EQ(m[0][0].item<float>(), 0.0f);
  EXPECT_EQ(m[2][1].item<float>(), 0.0f);
  EXPECT_TRUE(std::isinf(m[0][1].item<float>()) && m[0][1].item<float>() < 0);
  EXPECT_TRUE(std::isinf(m[1][2].item<float>()));
}

TEST(ClipModel, HalfPrecisionWeightsStayCloseOnCpuLayerNorms) {
  // The LayerNorm helper runs in float32 whatever the input dtype and casts back.
  torch::nn::LayerNorm ln(torch::nn::LayerNormOptions({8}));
  auto x = torch::randn({2, 8}).to(torch::kBFloat16);
  auto y = layer_norm_fp32(ln, x);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TENSOR_CLOSE(y.to(torch::kFloat32), ln(x.to(torch::kFloat32)), 1e-2, 1e-2);
}
