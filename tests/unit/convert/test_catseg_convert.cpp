// Converting official CAT-Seg checkpoints (tiny ones in the official layout, tools/gen_catseg_checkpoints.py),
// initialising models from them, and the converted model's logits against the Python reference.
#include <cstdio>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/clip/text_embedder.h"
#include "pat/config/config.h"
#include "pat/core/error.h"
#include "pat/core/safetensors.h"
#include "pat/core/torch_save.h"
#include "pat/engine/train/init_weights.h"
#include "pat/model/catseg_checkpoint.h"
#include "pat/model/seg_model.h"
#include "test_support.h"

namespace {

using pat::test::data_path;

const std::vector<std::string> kClasses = {"cat", "sofa", "potted plant"};

pat::model::CatSegImport tiny_import(const std::string& file = "convert/tiny_detectron2.pth") {
  return pat::model::map_catseg_state_dict(pat::read_torch_state_dict(data_path(file)).tensors);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CatSegConvert, MapsEveryOfficialKey) {
  auto official = pat::read_torch_state_dict(data_path("convert/tiny_detectron2.pth")).tensors;
  auto import = pat::model::map_catseg_state_dict(official);
  EXPECT_TRUE(import.ignored.empty());
  EXPECT_EQ(import.mapped.size(), official.size());
  EXPECT_TRUE(torch::equal(import.tensors.at("head.conv1.weight"),
                           official.at("sem_seg_head.predictor.transformer.conv1.weight")));
  EXPECT_TRUE(torch::equal(import.tensors.at("upsamplers.upsample2.bias"), official.at("upsample2.bias")));
  EXPECT_TRUE(
      torch::equal(import.tensors.at("clip.visual.transformer.resblocks.1.attn.k_proj_weight"),
                   official.at("sem_seg_head.predictor.clip_model.visual.transformer.resblocks.1.attn.k_proj_weight")));
  EXPECT_TRUE(import.tensors.count("head.layers.1.swin_block.block_2.attn_mask"));
}

TEST(CatSegConvert, PackedHalfPrecisionGivesTheSameTensors) {
  auto a = tiny_import();
  auto b = tiny_import("convert/tiny_packed_fp16.pth");
  // The packed file's in_proj_weight is split into q/k/v; its extra keys are ignored with reasons.
  ASSERT_EQ(b.ignored.size(), 2u);
  std::map<std::string, std::string> reasons(b.ignored.begin(), b.ignored.end());
  EXPECT_NE(reasons.at("pixel_mean").find("normalization constant"), std::string::npos);
  EXPECT_NE(reasons.at("sem_seg_head.predictor.clip_model.input_resolution").find("archive buffer"), std::string::npos);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    EXPECT_EQ(b.tensors.at(name).scalar_type(), torch::kFloat32) << name;
    const auto expected = name.find("attn_mask") == std::string::npos ? t.to(torch::kFloat16).to(torch::kFloat32) : t;
    EXPECT_TRUE(torch::equal(b.tensors.at(name), expected)) << name;
  }
}

TEST(CatSegConvert, ImpliedConfig) {
  auto config = pat::model::catseg_model_config(tiny_import().tensors);
  EXPECT_EQ(config.clip.arch, "custom");
  EXPECT_EQ(config.clip.vision_width, 64);
  EXPECT_EQ(config.clip.vision_layers, 3);
  EXPECT_EQ(config.clip.vision_patch, 8);
  EXPECT_EQ(config.clip.image_size, 32);
  EXPECT_EQ(config.clip.text_layers, 1);
  EXPECT_EQ(config.clip.context_length, 32);
  EXPECT_EQ(config.clip.tokenizer, "byte");
  EXPECT_EQ(config.clip.taps, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(config.head.num_layers, 2);
  EXPECT_EQ(config.head.hidden_dim, 16);
  EXPECT_EQ(config.head.window_size, 2);
  EXPECT_EQ(config.head.pad_len, 256);
  EXPECT_EQ(config.head.decoder_guidance_dims, (std::vector<int64_t>{32, 16}));
  EXPECT_EQ(config.head.decoder_guidance_proj_dims, (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(config.head.decoder_dims, (std::vector<int64_t>{16, 16}));
  EXPECT_FALSE(config.pat.enabled);
}

TEST(CatSegConvert, OfficialWindowMaskEqualsOurs) {
  auto import = tiny_import();
  pat::model::SegModel model(pat::model::catseg_model_config(import.tensors));
  int checked = 0;
  for (const auto& b : model->named_buffers(true)) {
    if (b.key().find("attn_mask") == std::string::npos) continue;
    EXPECT_TRUE(torch::equal(b.value(), import.tensors.at(b.key()))) << b.key();
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(CatSegConvert, ConvertWritesSafetensorsAndReports) {
  pat::test::TempDir dir;
  const auto out = dir.file("tiny.safetensors");
  auto conv = pat::model::convert_catseg_checkpoint(data_path("convert/tiny_detectron2.pth"), out, /*strict=*/true);
  EXPECT_TRUE(conv.without_value.empty());
  EXPECT_EQ(conv.entry, "model");
  EXPECT_EQ(conv.skipped.size(), 3u);  // iteration, optimizer, scheduler
  auto file = pat::read_safetensors(out);
  EXPECT_EQ(file.tensors.size(), conv.import.tensors.size());
  EXPECT_EQ(file.metadata.at("model.clip.taps"), "0,1");
  const auto table = pat::model::format_catseg_conversion(conv);
  EXPECT_NE(table.find("mapped -> clip.*"), std::string::npos) << table;
  EXPECT_NE(table.find("not the state dict: "), std::string::npos) << table;
  EXPECT_NE(table.find("PAT parameters without a value"), std::string::npos) << table;
}

TEST(CatSegConvert, StrictRefusesIgnoredKeys) {
  pat::test::TempDir dir;
  const auto out = dir.file("packed.safetensors");
  const auto msg = message_of(
      [&] { pat::model::convert_catseg_checkpoint(data_path("convert/tiny_packed_fp16.pth"), out, /*strict=*/true); });
  EXPECT_NE(msg.find("--strict: 2 keys ignored"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(out));
  auto conv = pat::model::convert_catseg_checkpoint(data_path("convert/tiny_packed_fp16.pth"), out, false);
  EXPECT_EQ(conv.import.ignored.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(out));
}

/// The converted tiny model's logits against the independent Python reference (float64, written as float32).
TEST(CatSegConvert, ConvertedLogitsMatchReference) {
  pat::test::TempDir dir;
  const auto out = dir.file("tiny.safetensors");
  auto conv = pat::model::convert_catseg_checkpoint(data_path("convert/tiny_detectron2.pth"), out);
  pat::model::SegModel model(conv.config);
  auto report = pat::engine::init_weights(*model, out);
  EXPECT_TRUE(report.missing.empty()) << pat::engine::format_init_report(report);
  EXPECT_TRUE(report.unexpected.empty()) << pat::engine::format_init_report(report);
  model->set_classes(kClasses);
  model->eval();
  auto ref = pat::read_safetensors(data_path("convert/tiny_reference.safetensors")).tensors;
  // Same prompts, same token ids as the reference's tokenizer.
  pat::clip::TextEmbedder embedder(model->clip,
                                   std::make_shared<pat::clip::Tokenizer>(pat::clip::Tokenizer::byte_level()));
  EXPECT_TRUE(torch::equal(embedder.prompt_tokens(kClasses).cpu(), ref.at("token_ids")));
  torch::NoGradGuard no_grad;
  auto logits = model->logits(ref.at("images"));
  ASSERT_EQ(logits.sizes(), ref.at("logits").sizes());
  const double diff = (logits - ref.at("logits")).abs().max().item<double>();
  std::printf("tiny parity: max |logits - reference| = %.3g (logits up to %.3g)\n", diff,
              ref.at("logits").abs().max().item<double>());
  EXPECT_LT(diff, 1e-4) << "max |logits - reference| = " << diff;
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.1);  // not a degenerate reference
}

TEST(CatSegConvert, InitWeightsFromTheOfficialFileDirectly) {
  auto config = pat::model::catseg_model_config(tiny_import().tensors);
  pat::model::SegModel a(config), b(config);
  pat::test::TempDir dir;
  pat::model::convert_catseg_checkpoint(data_path("convert/tiny_detectron2.pth"), dir.file("t.safetensors"));
  pat::engine::init_weights(*a, dir.file("t.safetensors"));
  auto report = pat::engine::init_weights(*b, data_path("convert/tiny_detectron2.pth"));
  EXPECT_TRUE(report.missing.empty());
  auto pa = a->named_parameters(true);
  for (const auto& p : b->named_parameters(true)) EXPECT_TRUE(torch::equal(p.value(), pa[p.key()])) << p.key();
}

TEST(CatSegConvert, InitPatFromCatSegReportsPatAsMissing) {
  auto config = pat::model::catseg_model_config(tiny_import().tensors);
  config.pat.enabled = true;
  config.pat.code_dim = 8;
  config.pat.codebook_size = 16;
  config.pat.fusion_dim = 16;
  config.pat.decoder_dims = {8, 8, 8, 8};
  pat::model::SegModel model(config);
  const auto head_before = model->head->conv1->weight.clone();
  auto report = pat::engine::init_weights(*model, data_path("convert/tiny_detectron2.pth"));
  ASSERT_FALSE(report.missing.empty());
  for (const auto& name : report.missing) EXPECT_EQ(name.rfind("pat.", 0), 0u) << name;
  size_t pat_tensors = 0;
  for (const auto& p : model->pat->named_parameters(true)) pat_tensors += p.value().defined();
  for (const auto& b : model->pat->named_buffers(true)) pat_tensors += b.value().defined();
  EXPECT_EQ(report.missing.size(), pat_tensors);
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_FALSE(torch::equal(head_before, model->head->conv1->weight));
  const auto text = pat::engine::format_init_report(report);
  EXPECT_NE(text.find("missing (kept at their initial values)"), std::string::npos) << text;
  EXPECT_NE(text.find("pat."), std::string::npos) << text;
}

TEST(CatSegConvert, InitShapeMismatchNamesKeyAndShapes) {
  auto config = pat::model::catseg_model_config(tiny_import().tensors);
  config.head.hidden_dim = 32;
  pat::model::SegModel model(config);
  const auto msg = message_of([&] { pat::engine::init_weights(*model, data_path("convert/tiny_detectron2.pth")); });
  EXPECT_NE(msg.find("has shape [16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in the model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head."), std::string::npos) << msg;
}

TEST(CatSegConvert, InitWeightsConfigField) {
  auto config = pat::parse_config("model:\n  init_weights: runs/catseg.safetensors\n", "test");
  EXPECT_EQ(config.model.init_weights, "runs/catseg.safetensors");
  EXPECT_EQ(pat::parse_config(pat::to_yaml(config), "round trip").model.init_weights, "runs/catseg.safetensors");
  EXPECT_TRUE(pat::default_config().model.init_weights.empty());
}

}  // namespace
