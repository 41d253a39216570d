#include "pat/config/config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "test_support.h"

using pat::test::data_path;

namespace {

/// The message of the pat::Error thrown by `fn` ("" when nothing is thrown).
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, DefaultsMatchTheCatSegProtocol) {
  auto c = pat::default_config();
  EXPECT_EQ(c.model.clip.arch, "ViT-B-16");
  EXPECT_EQ(c.model.clip.image_size, 384);
  EXPECT_EQ(c.model.head.pad_len, 256);
  EXPECT_DOUBLE_EQ(c.train.lr, 2e-4);
  EXPECT_DOUBLE_EQ(c.train.clip_grad_norm, 0.01);
  EXPECT_EQ(c.train.max_iter, 80000);
  EXPECT_DOUBLE_EQ(c.model.clip_lr_multiplier, 0.01);
}

TEST(Config, InheritanceChildWinsAndMergesRecursively) {
  auto c = pat::load_config(data_path("config/child.yaml"));
  EXPECT_EQ(c.model.pat.codebook_size, 128);                    // child overrides base
  EXPECT_EQ(c.model.pat.levels, (std::vector<int64_t>{0, 1}));  // sibling key kept from base
  EXPECT_DOUBLE_EQ(c.train.lr, 0.001);                          // from base
  EXPECT_EQ(c.train.max_iter, 50);
  EXPECT_EQ(c.model.pat.code_dim, 64);  // untouched default
}

TEST(Config, InheritsFromAListInOrder) {
  auto c = pat::load_config(data_path("config/multi.yaml"));
  EXPECT_DOUBLE_EQ(c.train.lr, 0.5);  // the later base wins
  EXPECT_EQ(c.train.max_iter, 100);
  EXPECT_EQ(c.runtime.seed, 3);
}

TEST(Config, DetectsCycles) {
  auto message = error_of([] { pat::load_config(data_path("config/cycle_a.yaml")); });
  EXPECT_NE(message.find("_base_ cycle"), std::string::npos) << message;
}

TEST(Config, OverridesOfEachType) {
  auto c = pat::load_config(
      data_path("config/child.yaml"),
      {"model.pat.codebook_size=64", "train.lr=3e-5", "model.pat.enabled=false", "model.clip.arch=ViT-L-14-336",
       "model.clip.taps=[7,15]", "data.root=/tmp/x y", "data.synthetic_classes=[sky, red circle]"});
  EXPECT_EQ(c.model.pat.codebook_size, 64);
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-5);
  EXPECT_FALSE(c.model.pat.enabled);
  EXPECT_EQ(c.model.clip.arch, "ViT-L-14-336");
  EXPECT_EQ(c.model.clip.taps, (std::vector<int64_t>{7, 15}));
  EXPECT_EQ(c.data.root, "/tmp/x y");
  EXPECT_EQ(c.data.synthetic_classes, (std::vector<std::string>{"sky", "red circle"}));
}

TEST(Config, WrongTypeNamesFileAndKeyPath) {
  EXPECT_EQ(error_of([] { pat::load_config(data_path("config/bad_type.yaml")); }),
            data_path("config/bad_type.yaml") + ": model.pat.codebook_size: expected a positive integer, got \"abc\"");
  EXPECT_EQ(error_of([] { pat::default_config({"train.lr=-1"}); }),
            "--set train.lr=-1: train.lr: expected a positive number, got -1");
  EXPECT_EQ(error_of([] { pat::default_config({"model.pat.enabled=maybe"}); }),
            "--set model.pat.enabled=maybe: model.pat.enabled: expected true or false, got \"maybe\"");
  EXPECT_EQ(error_of([] { pat::default_config({"model.clip.taps=3"}); }),
            "--set model.clip.taps=3: model.clip.taps: expected a list of integers, got 3");
  EXPECT_EQ(
      error_of([] { pat::default_config({"model.clip.finetune=all"}); }),
      "--set model.clip.finetune=all: model.clip.finetune: expected one of attention | frozen | full, got \"all\"");
}

TEST(Config, KeyFromBaseFileIsBlamedOnTheBase) {
  pat::test::TempDir dir;
  std::filesystem::copy(data_path("config/base.yaml"), dir.file("base.yaml"));
  {
    std::ofstream(dir.file("base.yaml"), std::ios::app) << "eval:\n  overlap: 2\n";
    std::ofstream(dir.file("child.yaml")) << "_base_: base.yaml\ntrain:\n  lr: 0.1\n";
  }
  EXPECT_EQ(error_of([&] { pat::load_config(dir.file("child.yaml")); }),
            dir.file("base.yaml") + ": eval.overlap: expected a number in [0, 1], got 2");
}

TEST(Config, UnknownKeysAreErrors) {
  auto message = error_of([] { pat::parse_config("model:\n  pat:\n    codebok_size: 3\n", "x.yaml"); });
  EXPECT_EQ(message.rfind("x.yaml: model.pat.codebok_size: unknown key (known keys here: enabled,", 0), 0u) << message;
  message = error_of([] { pat::default_config({"trian.lr=1"}); });
  EXPECT_EQ(message.rfind("--set trian.lr=1: trian: unknown key", 0), 0u) << message;
  EXPECT_NE(error_of([] { pat::parse_config("model: 3\n", "y.yaml"); }).find("model: expected a mapping"),
            std::string::npos);
}

TEST(Config, MissingFileAndBadYaml) {
  EXPECT_NE(error_of([] { pat::load_config("/nonexistent/pat.yaml"); }).find("/nonexistent/pat.yaml: no such file"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { pat::parse_config("model: [1, 2\n", "broken.yaml"); }).find("broken.yaml: invalid YAML at line"),
      std::string::npos);
  EXPECT_NE(error_of([] { pat::parse_config("_base_: missing.yaml\n", "z.yaml"); }).find("missing.yaml: no such file"),
            std::string::npos);
}

TEST(Config, BadOverrideSyntax) {
  EXPECT_EQ(error_of([] { pat::default_config({"train.lr"}); }), "--set train.lr: expected key.path=value");
  EXPECT_EQ(error_of([] { pat::default_config({"=3"}); }), "--set =3: expected key.path=value");
  EXPECT_NE(error_of([] { pat::default_config({"train..lr=3"}); }).find("malformed key path"), std::string::npos);
  EXPECT_NE(error_of([] { pat::default_config({"train.lr=[1,"}); }).find("cannot parse value"), std::string::npos);
}

TEST(Config, CrossFieldValidation) {
  EXPECT_NE(error_of([] { pat::default_config({"model.head.pooling_sizes=[2]"}); }).find("model.head.pooling_sizes"),
            std::string::npos);
  EXPECT_NE(error_of([] { pat::default_config({"model.pat.levels=[0,3]"}); }).find("model.pat.levels"),
            std::string::npos);
  EXPECT_EQ(error_of([] { pat::default_config({"train.adam_beta2=1"}); }),
            "defaults: train.adam_beta2: expected a value below 1, got 1");
  const auto openai = pat::default_config({"train.adam_beta2=0.98", "train.adam_eps=1e-6"});
  EXPECT_DOUBLE_EQ(openai.train.adam_beta2, 0.98);
  EXPECT_DOUBLE_EQ(openai.train.adam_eps, 1e-6);
  EXPECT_DOUBLE_EQ(pat::default_config().train.adam_beta2, 0.999);  // detectron2's AdamW
}

TEST(Config, PrintedYamlRoundTrips) {
  auto c = pat::load_config(data_path("config/child.yaml"), {"data.root=some dir", "model.clip.taps=[1,2]"});
  auto text = pat::to_yaml(c);
  auto again = pat::parse_config(text, "printed");
  EXPECT_EQ(pat::to_yaml(again), text);
  EXPECT_EQ(again.model.pat.codebook_size, 128);
  EXPECT_EQ(again.data.root, "some dir");
  EXPECT_EQ(again.model.clip.taps, (std::vector<int64_t>{1, 2}));
  EXPECT_NE(text.find("codebook_size: 128"), std::string::npos);
}

TEST(Config, ShippedConfigsLoad) {
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(PAT_TEST_DATA_DIR) + "/../../configs")) {
    if (entry.path().extension() == ".yaml") EXPECT_NO_THROW(pat::load_config(entry.path().string())) << entry.path();
  }
}
