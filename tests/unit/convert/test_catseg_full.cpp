// Full-size conversions: random-weight checkpoints in the official layout at the real ViT-B/16 and
// ViT-L/14@336 shapes, generated into the build tree by tools/gen_catseg_checkpoints.py --full (CTest
// fixtures, label "convert"). ViT-B/16 also checks the converted model's logits against the Python reference.
#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/config/config.h"
#include "pat/core/safetensors.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/engine/train/init_weights.h"
#include "pat/model/catseg_checkpoint.h"
#include "pat/model/seg_model.h"
#include "test_support.h"

namespace {

const std::string kDir = PAT_CONVERT_FULL_DIR;
const std::vector<std::string> kClasses = {"cat", "sofa", "potted plant"};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Converts catseg_<which>.pth strictly; checks the implied model against the shipped config, which must
/// load the converted file strictly (as pat_eval / pat_infer do).
pat::model::CatSegConversion convert_and_check_config(const std::string& which, const std::string& config_file) {
  const auto start = std::chrono::steady_clock::now();
  auto conv = pat::model::convert_catseg_checkpoint(kDir + "/catseg_" + which + ".pth",
                                                    kDir + "/catseg_" + which + ".safetensors", /*strict=*/true);
  std::printf("%s", pat::model::format_catseg_conversion(conv).c_str());
  std::printf("%s: converted in %.1f s\n", which.c_str(), seconds_since(start));
  EXPECT_TRUE(conv.without_value.empty());
  EXPECT_TRUE(conv.import.ignored.empty());
  auto shipped = pat::load_config(std::string(PAT_TEST_DATA_DIR) + "/../../configs/" + config_file);
  EXPECT_EQ(shipped.model.clip.arch, conv.config.clip.arch);
  EXPECT_EQ(shipped.model.clip.image_size, conv.config.clip.image_size);
  EXPECT_EQ(shipped.model.clip.taps, conv.config.clip.taps);
  EXPECT_FALSE(shipped.model.pat.enabled);
  EXPECT_EQ(shipped.model.head.window_size, conv.config.head.window_size);
  EXPECT_EQ(shipped.model.head.pad_len, conv.config.head.pad_len);
  shipped.model.clip.weights.clear();
  pat::model::SegModel model(shipped.model);
  pat::engine::load_weights(kDir + "/catseg_" + which + ".safetensors", *model);  // strict
  return conv;
}

TEST(CatSegFull, VitB16ParityWithReference) {
  auto conv = convert_and_check_config("vitb16", "catseg_vitb16.yaml");
  EXPECT_EQ(conv.config.clip.arch, "ViT-B-16");
  EXPECT_EQ(conv.config.clip.image_size, 384);
  EXPECT_EQ(conv.config.clip.taps, (std::vector<int64_t>{3, 7}));
  int64_t head = 0, ups = 0;
  for (const auto& [name, t] : conv.import.tensors) {
    if (name.find("attn_mask") != std::string::npos) continue;
    if (name.rfind("head.", 0) == 0) head += t.numel();
    if (name.rfind("upsamplers.", 0) == 0) ups += t.numel();
  }
  EXPECT_EQ(head, 2308961);  // CATSEG.md §1.8
  EXPECT_EQ(ups, 2359680);

  torch::set_num_threads(2);
  auto config = conv.config;
  config.clip.tokenizer = "byte";  // the reference tokenizes byte-level (no vocabulary file in tests)
  pat::model::SegModel model(config);
  auto report = pat::engine::init_weights(*model, kDir + "/catseg_vitb16.safetensors");
  EXPECT_TRUE(report.missing.empty()) << pat::engine::format_init_report(report);
  model->set_classes(kClasses);
  model->eval();
  auto ref = pat::read_safetensors(kDir + "/catseg_vitb16_reference.safetensors").tensors;
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  auto logits = model->logits(ref.at("images"));
  const double forward_s = seconds_since(start);
  ASSERT_EQ(logits.sizes(), ref.at("logits").sizes());
  const double diff = (logits - ref.at("logits")).abs().max().item<double>();
  const double scale = ref.at("logits").abs().max().item<double>();
  std::printf("ViT-B/16 @384 parity: max |logits - reference| = %.3g (logits up to %.3g, forward %.1f s)\n", diff,
              scale, forward_s);
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(scale, 0.1);
}

TEST(CatSegFull, VitL14At336Shapes) {
  auto conv = convert_and_check_config("vitl14_336", "catseg_vitl14_336.yaml");
  EXPECT_EQ(conv.config.clip.arch, "ViT-L-14-336");
  EXPECT_EQ(conv.config.clip.image_size, 336);
  EXPECT_EQ(conv.config.clip.taps, (std::vector<int64_t>{7, 15}));
  int64_t head = 0, ups = 0;
  for (const auto& [name, t] : conv.import.tensors) {
    if (name.find("attn_mask") != std::string::npos) continue;
    if (name.rfind("head.", 0) == 0) head += t.numel();
    if (name.rfind("upsamplers.", 0) == 0) ups += t.numel();
  }
  EXPECT_EQ(head, 2636641);  // CATSEG.md §1.8
  EXPECT_EQ(ups, 3146112);
}

}  // namespace
