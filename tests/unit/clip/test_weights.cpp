#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clip_fixture.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/safetensors.h"

using namespace pat::clip;
using namespace pat::clip::test;
using pat::test::TempDir;

namespace {

/// The message of the pat::Error `f` throws ("" when it does not throw).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ClipWeights, ReadsTheTorchScriptArchive) {
  auto w = load_clip_weights(fixture("tiny_clip.pt"));
  // 62 parameters (6 + 8 + 12 per block x 4), the 3 integer buffers skipped.
  EXPECT_EQ(w.size(), 62u);
  EXPECT_FALSE(w.count("input_resolution") || w.count("context_length") || w.count("vocab_size"));
  for (const auto& [name, t] : w) EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;  // fp16 ones converted
  EXPECT_EQ(w.at("visual.transformer.resblocks.0.attn.in_proj_weight").sizes(), torch::IntArrayRef({192, 64}));
  EXPECT_EQ(w.at("logit_scale").dim(), 0);
  EXPECT_EQ(w.at("visual.conv1.weight").sizes(), torch::IntArrayRef({64, 3, 8, 8}));
}

TEST(ClipWeights, SafetensorsGiveTheSameTensorsAsTheArchive) {
  auto a = load_clip_weights(fixture("tiny_clip.pt"));
  auto s = load_clip_weights(fixture("tiny_clip.safetensors"));
  ASSERT_EQ(a.size(), s.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(s.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, s.at(name))) << name;
  }
  ClipLoadOptions options;
  options.head_dim = kTinyHeadDim;
  auto model = load_clip(fixture("tiny_clip.safetensors"), options);
  torch::NoGradGuard no_grad;
  EXPECT_TENSOR_CLOSE(model->encode_image(golden("image32.npy")), golden("encode_image.npy"), 1e-4, 1e-5);
}

TEST(ClipWeights, SplitsPackedProjectionsOnLoad) {
  auto w = load_clip_weights(fixture("tiny_clip.pt"));
  auto model = tiny_model();
  auto packed = w.at("transformer.resblocks.1.attn.in_proj_weight");
  auto attn = model->transformer->block(1)->attn;
  EXPECT_TRUE(torch::equal(attn->q_proj_weight, packed.narrow(0, 0, 32)));
  EXPECT_TRUE(torch::equal(attn->k_proj_weight, packed.narrow(0, 32, 32)));
  EXPECT_TRUE(torch::equal(attn->v_proj_weight, packed.narrow(0, 64, 32)));
  EXPECT_FALSE(model->is_training());
}

TEST(ClipWeights, SplitNamesRoundTripThroughSafetensorsWithAPrefix) {
  TempDir dir;
  auto model = tiny_model();
  std::map<std::string, torch::Tensor> prefixed;
  for (const auto& [name, t] : clip_state_dict(*model)) prefixed["backbone.clip." + name] = t;
  prefixed["head.other"] = torch::zeros({2});
  pat::write_safetensors(dir.file("ckpt.safetensors"), prefixed);
  auto w = load_clip_weights(dir.file("ckpt.safetensors"), "backbone.clip.");
  EXPECT_TRUE(w.count("visual.transformer.resblocks.0.attn.q_proj_weight"));
  EXPECT_FALSE(w.count("head.other"));
  ClipModel copy(tiny_architecture());
  load_weights_into(*copy, w);
  copy->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TENSOR_CLOSE(copy->encode_text(golden("text_ids.npy")), golden("encode_text.npy"), 1e-4, 1e-5);
  EXPECT_THROW(load_clip_weights(dir.file("ckpt.safetensors"), "nothing."), pat::Error);
}

TEST(ClipWeights, MissingTensorsAreListed) {
  auto w = load_clip_weights(fixture("tiny_clip.pt"));
  w.erase("visual.ln_post.bias");
  w.erase("transformer.resblocks.0.attn.in_proj_weight");  // its q, k and v are all missing
  ClipModel model(tiny_architecture());
  auto message = error_of([&] { load_weights_into(*model, w); });
  EXPECT_NE(message.find("4 missing"), std::string::npos) << message;
  EXPECT_NE(message.find("visual.ln_post.bias"), std::string::npos) << message;
  EXPECT_NE(message.find("transformer.resblocks.0.attn.q_proj_weight"), std::string::npos) << message;
}

TEST(ClipWeights, WrongShapesAreListed) {
  auto w = load_clip_weights(fixture("tiny_clip.pt"));
  w["ln_final.weight"] = torch::ones({33});
  w["visual.transformer.resblocks.1.attn.in_proj_weight"] = torch::ones({190, 64});
  ClipModel model(tiny_architecture());
  auto message = error_of([&] { load_weights_into(*model, w); });
  EXPECT_NE(message.find("2 with the wrong shape"), std::string::npos) << message;
  EXPECT_NE(message.find("ln_final.weight [33] (model [32])"), std::string::npos) << message;
  EXPECT_NE(message.find("visual.transformer.resblocks.1.attn.in_proj_weight"), std::string::npos) << message;
  // A bigger model's weights do not fit.
  ClipModel other(ClipArchitecture::preset("tiny"));
  EXPECT_THROW(load_weights_into(*other, load_clip_weights(fixture("tiny_clip.pt"))), pat::Error);
}

TEST(ClipWeights, UnexpectedTensorsFailOnlyWhenStrict) {
  auto w = load_clip_weights(fixture("tiny_clip.pt"));
  w["visual.transformer.resblocks.7.ln_1.weight"] = torch::ones({64});
  w["transformer.resblocks.0.attn_mask"] = torch::zeros({48, 48});  // always ignored
  ClipModel model(tiny_architecture());
  auto message = error_of([&] { load_weights_into(*model, w); });
  EXPECT_NE(message.find("1 unexpected: visual.transformer.resblocks.7.ln_1.weight"), std::string::npos) << message;
  EXPECT_NO_THROW(load_weights_into(*model, w, /*strict=*/false));
}

TEST(ClipWeights, KeepsRequiresGradFlags) {
  ClipModel model(tiny_architecture());
  model->visual->proj.set_requires_grad(false);
  load_weights_into(*model, load_clip_weights(fixture("tiny_clip.pt")));
  EXPECT_FALSE(model->visual->proj.requires_grad());
  EXPECT_TRUE(model->visual->class_embedding.requires_grad());
}

TEST(ClipWeights, FileErrors) {
  TempDir dir;
  EXPECT_THROW(load_clip_weights(dir.file("missing.pt")), pat::Error);
  { std::ofstream(dir.file("text.pt")) << "this is not a model file at all"; }
  auto message = error_of([&] { load_clip_weights(dir.file("text.pt")); });
  EXPECT_NE(message.find("not a CLIP weights file"), std::string::npos) << message;
  { std::ofstream(dir.file("empty.pt")); }
  EXPECT_THROW(load_clip_weights(dir.file("empty.pt")), pat::Error);
  {
    // A zip that is not a TorchScript archive.
    std::ofstream out(dir.file("fake.pt"), std::ios::binary);
    out << std::string("PK\x03\x04", 4) << std::string(64, '\0');
  }
  message = error_of([&] { load_clip_weights(dir.file("fake.pt")); });
  EXPECT_NE(message.find("not a readable TorchScript archive"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_THROW(load_clip(dir.file("missing.safetensors")), pat::Error);
}

TEST(ClipWeights, ReducedPrecisionLoading) {
  // bfloat16 weights run on CPU too (float16 would need a GPU); LayerNorms still compute in float32.
  ClipLoadOptions options;
  options.head_dim = kTinyHeadDim;
  options.dtype = torch::kBFloat16;
  auto model = load_clip(fixture("tiny_clip.pt"), options);
  EXPECT_EQ(model->dtype(), torch::kBFloat16);
  torch::NoGradGuard no_grad;
  auto image = model->encode_image(golden("image32.npy"));
  EXPECT_EQ(image.scalar_type(), torch::kBFloat16);
  EXPECT_TENSOR_CLOSE(image.to(torch::kFloat32), golden("encode_image.npy"), 0.1, 0.1);
  auto text = model->encode_text(golden("text_ids.npy"));
  EXPECT_TENSOR_CLOSE(text.to(torch::kFloat32), golden("encode_text.npy"), 0.1, 0.1);
}
