#include "pat/engine/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "pat/core/safetensors.h"
#include "pat/data/class_list.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/engine/train/metrics_log.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

pat::Config tiny_config(const std::string& output_dir, std::vector<std::string> overrides = {}) {
  overrides.push_back("train.output_dir=" + output_dir);
  return pat::load_config(pat::test::data_path("engine/tiny.yaml"), overrides);
}

std::map<int64_t, double> losses_by_step(const std::string& dir) {
  std::map<int64_t, double> losses;
  for (const auto& r : pat::engine::MetricsLog::read(dir + "/metrics.jsonl"))
    if (r.contains("loss")) losses[r["step"].get<int64_t>()] = r["loss"].get<double>();
  return losses;
}

pat::engine::TrainResult train(const pat::Config& config, const std::string& resume = "",
                               std::function<void(int64_t, std::map<std::string, torch::Tensor>&)> hook = {}) {
  torch::set_num_threads(1);
  torch::manual_seed(static_cast<uint64_t>(config.runtime.seed));
  pat::engine::Trainer trainer(config, torch::kCPU);
  trainer.loss_hook = std::move(hook);
  return trainer.run(resume);
}

}  // namespace

TEST(Trainer, ReducesTheLossAndWritesEverything) {
  pat::test::TempDir dir;
  // Two fixed scenes without augmentation: the loss must go down.
  auto config = tiny_config(
      dir.path(), {"train.max_iter=30", "data.synthetic_train=2", "data.color_jitter=false", "data.flip=false",
                   "train.schedule=constant", "train.eval_period=15", "train.checkpoint_period=15", "train.lr=0.003"});
  auto result = train(config);
  EXPECT_EQ(result.step, 30);
  EXPECT_FALSE(result.interrupted);
  auto losses = losses_by_step(dir.path());
  ASSERT_EQ(losses.size(), 30u);
  const double first = (losses[1] + losses[2] + losses[3]) / 3, last = (losses[28] + losses[29] + losses[30]) / 3;
  EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;
  for (const char* name : {"config.yaml", "classes.json", "metrics.jsonl", "model_final.pt", "model_final.safetensors",
                           "last.pt", "best.pt", "loss.png", "validation.png", "predictions/val_0.png"})
    EXPECT_TRUE(fs::exists(dir.file(name))) << name;
  // best_score / last_score are the best and the last of the validation records (steps 15 and 30).
  std::vector<double> mious;
  for (const auto& r : pat::engine::MetricsLog::read(dir.file("metrics.jsonl")))
    if (r.contains("mIoU")) mious.push_back(r["mIoU"].get<double>());
  ASSERT_EQ(mious.size(), 2u);
  EXPECT_DOUBLE_EQ(result.best_score, std::max(mious[0], mious[1]));
  EXPECT_DOUBLE_EQ(result.last_score, mious[1]);
  // The saved config reproduces the run's configuration.
  auto saved = pat::load_config(dir.file("config.yaml"));
  EXPECT_EQ(pat::to_yaml(saved), pat::to_yaml(config));
  // A new run in the same directory starts from scratch and replaces the old checkpoints.
  auto again = train(config, "", [](int64_t step, auto&) {
    if (step == 1) std::raise(SIGTERM);
  });
  EXPECT_EQ(again.step, 1);
  EXPECT_FALSE(fs::exists(dir.file("model_0000030.pt")));
  EXPECT_FALSE(fs::exists(dir.file("best.pt")));
  EXPECT_EQ(losses_by_step(dir.path()).size(), 1u);
}

TEST(Trainer, ResumeReproducesAnUninterruptedRun) {
  pat::test::TempDir full, split;
  auto reference = train(tiny_config(full.path()));
  ASSERT_EQ(reference.step, 6);
  // Same run, "killed" (SIGTERM) during step 3: step 3 finishes, its checkpoint is written, the run stops.
  auto interrupted = train(tiny_config(split.path()), "", [](int64_t step, auto&) {
    if (step == 3) std::raise(SIGTERM);
  });
  EXPECT_TRUE(interrupted.interrupted);
  EXPECT_EQ(interrupted.step, 3);
  EXPECT_FALSE(fs::exists(split.file("model_final.pt")));
  auto resumed = train(tiny_config(split.path()), "auto");
  EXPECT_EQ(resumed.step, 6);
  auto a = losses_by_step(full.path()), b = losses_by_step(split.path());
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (int64_t step = 1; step <= 6; ++step) EXPECT_EQ(a[step], b[step]) << "step " << step;
}

TEST(Trainer, NanLossStopsWithAClearError) {
  pat::test::TempDir dir;
  auto config = tiny_config(dir.path());
  try {
    train(config, "", [](int64_t step, std::map<std::string, torch::Tensor>& losses) {
      if (step == 5) losses["rec"] = torch::full({}, std::nan(""));
    });
    FAIL() << "no error";
  } catch (const pat::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step 5: loss term \"rec\" is nan"), std::string::npos) << message;
    EXPECT_NE(message.find("model_0000003.pt"), std::string::npos) << message;
  }
  EXPECT_TRUE(fs::exists(dir.file("model_0000003.pt")));
  EXPECT_FALSE(fs::exists(dir.file("model_final.pt")));
}

TEST(Trainer, UnwritableOutputIsReported) {
  auto config = tiny_config("/proc/pat-cannot-write-here");
  EXPECT_THROW(train(config), pat::Error);
}

TEST(Trainer, DeadCodeCountersAgeOncePerOptimizerStep) {
  // grad_accum 2: 3 optimizer steps are 6 forwards; restarts off, so the counters only grow.
  pat::test::TempDir dir;
  train(tiny_config(dir.path(), {"train.max_iter=3", "train.grad_accum=2", "train.eval_period=0",
                                 "train.checkpoint_period=3", "model.pat.dead_code_steps=0"}));
  auto weights = pat::read_safetensors(dir.file("model_final.safetensors"));
  int64_t most = 0;
  for (int l = 0; l < 3; ++l)
    most = std::max(
        most,
        weights.tensors.at("pat.tokenizer.quantize_l" + std::to_string(l) + ".unused_steps").max().item<int64_t>());
  EXPECT_EQ(most, 3);  // some code was never used: 3 steps (counting forwards would give 6)
}

TEST(Trainer, ClipGradModePerGroupClipsBaselineAndPatApart) {
  // A tight clip: in per_group mode PAT's gradients no longer share the baseline's norm budget, so the
  // two runs start equal and part after the first update.
  std::map<std::string, std::map<int64_t, double>> losses;
  for (const std::string mode : {"global", "per_group"}) {
    pat::test::TempDir dir;
    auto result = train(tiny_config(dir.path(), {"train.max_iter=2", "train.eval_period=0", "train.checkpoint_period=2",
                                                 "train.clip_grad_norm=0.01", "train.clip_grad_mode=" + mode}));
    EXPECT_EQ(result.step, 2);
    losses[mode] = losses_by_step(dir.path());
  }
  EXPECT_EQ(losses["global"][1], losses["per_group"][1]);
  EXPECT_NE(losses["global"][2], losses["per_group"][2]);
  EXPECT_THROW(tiny_config("unused", {"train.clip_grad_mode=layerwise"}), pat::Error);
}

TEST(Trainer, TrainsOnCudaWithBf16Autocast_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  pat::test::TempDir cpu_dir, gpu_dir;
  const std::vector<std::string> settings = {"train.max_iter=4", "train.eval_period=2", "train.checkpoint_period=4"};
  auto cpu_config = tiny_config(cpu_dir.path(), settings);
  auto gpu_settings = settings;
  gpu_settings.insert(gpu_settings.end(), {"runtime.device=cuda", "runtime.precision=bf16"});
  auto gpu_config = tiny_config(gpu_dir.path(), gpu_settings);
  train(cpu_config);
  torch::manual_seed(static_cast<uint64_t>(gpu_config.runtime.seed));
  pat::engine::Trainer trainer(gpu_config, torch::Device(torch::kCUDA, 0));
  auto result = trainer.run();
  EXPECT_EQ(result.step, 4);
  EXPECT_TRUE(std::isfinite(result.best_score) && result.best_score >= result.last_score) << result.best_score;
  auto cpu_losses = losses_by_step(cpu_dir.path()), gpu_losses = losses_by_step(gpu_dir.path());
  ASSERT_EQ(gpu_losses.size(), 4u);
  // Same initial model and data: the first loss agrees to bf16 accuracy.
  EXPECT_NEAR(gpu_losses[1], cpu_losses[1], 0.05 * cpu_losses[1]);
  for (const auto& [step, loss] : gpu_losses) EXPECT_TRUE(std::isfinite(loss)) << step;
  EXPECT_TRUE(fs::exists(gpu_dir.file("model_final.safetensors")));
}

TEST(Trainer, CheckpointPeriodZeroWritesNoPeriodicCheckpoints) {
  pat::test::TempDir dir;
  auto result = train(tiny_config(dir.path(), {"train.max_iter=4", "train.checkpoint_period=0"}));
  EXPECT_EQ(result.step, 4);
  int periodic = 0;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    if (entry.path().filename().string().rfind("model_0", 0) == 0) ++periodic;
  EXPECT_EQ(periodic, 0);
  // The end of the run still leaves a resumable checkpoint and the final weights.
  EXPECT_TRUE(fs::exists(dir.file("last.pt")));
  EXPECT_TRUE(fs::exists(dir.file("model_final.pt")));
  // Negative periods stay an error naming the key.
  EXPECT_THROW(tiny_config(dir.path(), {"train.checkpoint_period=-1"}), pat::Error);
}

TEST(Trainer, ValidatesSeenAndUnseenClassesWhenTheConfigDeclaresASplit) {
  pat::test::TempDir dir;
  auto result = train(tiny_config(dir.path(), {"data.synthetic_classes=[sky, grass, red circle, blue square]",
                                               "data.synthetic_train_classes=[sky, grass, red circle]"}));
  std::vector<double> hious;
  for (const auto& r : pat::engine::MetricsLog::read(dir.file("metrics.jsonl"))) {
    if (!r.contains("mIoU")) continue;
    for (const char* key : {"seen_mIoU", "unseen_mIoU", "hIoU"}) ASSERT_TRUE(r.contains(key)) << key;
    const double s = r["seen_mIoU"].get<double>(), u = r["unseen_mIoU"].is_null() ? 0 : r["unseen_mIoU"].get<double>();
    const double h = r["hIoU"].is_null() ? -1 : r["hIoU"].get<double>();
    if (h >= 0) EXPECT_NEAR(h, s + u > 0 ? 2 * s * u / (s + u) : 0, 1e-9);
    hious.push_back(h);
  }
  ASSERT_EQ(hious.size(), 2u);
  // hIoU, not mIoU, decides best.pt.
  EXPECT_DOUBLE_EQ(result.best_score, std::max(hious[0], hious[1]));
  // Training saw only the seen classes.
  EXPECT_EQ(pat::data::load_class_names(dir.file("classes.json")),
            (std::vector<std::string>{"sky", "grass", "red circle"}));
}
