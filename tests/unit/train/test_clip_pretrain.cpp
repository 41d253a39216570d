#include "pat/engine/train/clip_pretrain_task.h"

#include <cmath>
#include <csignal>
#include <filesystem>

#include <gtest/gtest.h>

#include "pat/clip/contrastive_loss.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/safetensors.h"
#include "pat/data/loader.h"
#include "pat/engine/datasets.h"
#include "pat/engine/eval/clip_zero_shot.h"
#include "pat/engine/train/metrics_log.h"
#include "pat/engine/train/trainer.h"
#include "pat/model/clip_setup.h"
#include "pat/model/seg_model.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

/// tests/data/engine/tiny.yaml's CLIP pretrained on a few 32-pixel scenes of the whole catalogue.
pat::Config pretrain_config(const std::string& output_dir, std::vector<std::string> overrides = {}) {
  std::vector<std::string> base = {"train.output_dir=" + output_dir, "data.synthetic_train=64", "train.batch_size=8",
                                   "train.max_iter=6", "train.eval_period=3", "train.checkpoint_period=3",
                                   "pretrain.val_scenes=8", "pretrain.val_crops=16", "model.clip.context_length=80",
                                   "data.color_jitter=false"};
  base.insert(base.end(), overrides.begin(), overrides.end());
  return pat::load_config(pat::test::data_path("engine/tiny.yaml"), base);
}

pat::engine::TrainResult pretrain(const pat::Config& config, const std::string& resume = "",
                                  std::function<void(int64_t, std::map<std::string, torch::Tensor>&)> hook = {}) {
  torch::set_num_threads(1);
  torch::manual_seed(static_cast<uint64_t>(config.runtime.seed));
  pat::engine::Trainer trainer(config, torch::kCPU, nullptr, pat::engine::make_clip_pretrain_task);
  trainer.loss_hook = std::move(hook);
  return trainer.run(resume);
}

}  // namespace

TEST(ContrastiveLoss, MatchesHandWorkedValues) {
  // Rows: CE([2,0],0) = log(1+e^-2), CE([1,1],1) = log 2; columns: CE([2,1],0) = CE([0,1],1) = log(1+e^-1).
  const auto loss = pat::clip::contrastive_loss(torch::tensor({{2.0, 0.0}, {1.0, 1.0}}));
  const double rows = (std::log1p(std::exp(-2.0)) + std::log(2.0)) / 2, cols = std::log1p(std::exp(-1.0));
  EXPECT_NEAR(loss.item<double>(), (rows + cols) / 2, 1e-6);
  // Perfectly separated pairs cost almost nothing; swapped ones a lot.
  EXPECT_LT(pat::clip::contrastive_loss(torch::eye(4) * 50).item<double>(), 1e-6);
  EXPECT_GT(pat::clip::contrastive_loss((1 - torch::eye(4)) * 50).item<double>(), 40);
  EXPECT_THROW(pat::clip::contrastive_loss(torch::zeros({2, 3})), pat::Error);
}

TEST(ClipPretrain, TrainsValidatesAndWritesAClipThatTheSegmentationModelLoads) {
  pat::test::TempDir dir;
  const auto config = pretrain_config(dir.path(), {"data.synthetic_geometry_variants=2"});
  std::vector<double> losses;
  const auto result = pretrain(config, "", [&](int64_t, std::map<std::string, torch::Tensor>& terms) {
    ASSERT_EQ(terms.size(), 1u);
    losses.push_back(terms.at("contrastive").item<double>());
  });
  EXPECT_EQ(result.step, 6);
  ASSERT_EQ(losses.size(), 6u);
  for (double l : losses) EXPECT_TRUE(std::isfinite(l) && l > 0) << l;
  // Validation records at steps 3 and 6 with the three figures; best.pt follows the zero-shot accuracy.
  std::vector<double> accuracies;
  for (const auto& r : pat::engine::MetricsLog::read(dir.file("metrics.jsonl"))) {
    if (r.contains("logit_scale")) EXPECT_LE(r["logit_scale"].get<double>(), 100.0 + 1e-3);
    if (!r.contains("zero_shot_acc")) continue;
    accuracies.push_back(r["zero_shot_acc"].get<double>());
    for (const char* key : {"retrieval_i2t_R@1", "retrieval_t2i_R@1", "zero_shot_colour_acc", "zero_shot_geometry_acc",
                            "dense_mIoU", "dense_background_mIoU", "dense_object_mIoU"}) {
      ASSERT_TRUE(r.contains(key)) << key;
      EXPECT_GE(r[key].get<double>(), 0.0);
      EXPECT_LE(r[key].get<double>(), 100.0);
    }
    // A right class has the right colour and the right geometry.
    EXPECT_GE(r["zero_shot_colour_acc"].get<double>(), accuracies.back());
    EXPECT_GE(r["zero_shot_geometry_acc"].get<double>(), accuracies.back());
    // The mIoU over all classes averages those of the backgrounds and the objects.
    const double dense = r["dense_mIoU"].get<double>(), grounds = r["dense_background_mIoU"].get<double>(),
                 objects = r["dense_object_mIoU"].get<double>();
    EXPECT_GE(dense, std::min(grounds, objects) - 1e-9);
    EXPECT_LE(dense, std::max(grounds, objects) + 1e-9);
  }
  ASSERT_EQ(accuracies.size(), 2u);
  EXPECT_DOUBLE_EQ(result.best_score, std::max(accuracies[0], accuracies[1]));
  for (const char* name : {"config.yaml", "metrics.jsonl", "last.pt", "best.pt", "loss.png", "validation.png"})
    EXPECT_TRUE(fs::exists(dir.file(name))) << name;
  ASSERT_EQ(result.final_weights, dir.file("clip_final.safetensors"));

  // model.clip.weights takes the file as it is: every CLIP tensor arrives unchanged.
  auto seg_config = pat::load_config(pat::test::data_path("engine/tiny.yaml"),
                                     {"model.clip.weights=" + result.final_weights, "model.clip.context_length=80"});
  pat::model::SegModel model(seg_config.model);
  const auto written = pat::clip::load_clip_weights(result.final_weights);
  EXPECT_EQ(written.size(), pat::clip::clip_state_dict(*model->clip).size());
  for (const auto& [name, value] : pat::clip::clip_state_dict(*model->clip)) {
    ASSERT_TRUE(written.count(name)) << name;
    EXPECT_TRUE(torch::equal(value, written.at(name))) << name;
  }
}

TEST(ClipPretrain, WindowCaptionsTrainTheDenseFeaturesThroughAWindowLoss) {
  pat::test::TempDir dir;
  const auto config = pretrain_config(dir.path(), {"pretrain.window_captions=2", "pretrain.window_loss_weight=0.5",
                                                   "train.max_iter=3", "train.eval_period=0"});
  std::vector<double> window_losses;
  const auto result = pretrain(config, "", [&](int64_t, std::map<std::string, torch::Tensor>& terms) {
    ASSERT_EQ(terms.size(), 2u);
    ASSERT_TRUE(terms.count("contrastive") && terms.count("window"));
    window_losses.push_back(terms.at("window").item<double>());
  });
  EXPECT_EQ(result.step, 3);
  ASSERT_EQ(window_losses.size(), 3u);
  // 16 windows (8 images x 2) of uniform logits would cost 0.5 * log 16; a real loss lies near it, not at 0.
  for (double l : window_losses) {
    EXPECT_TRUE(std::isfinite(l)) << l;
    EXPECT_GT(l, 0.25 * std::log(16.0));
    EXPECT_LT(l, 1.0 * std::log(16.0));
  }
  bool logged = false;
  for (const auto& r : pat::engine::MetricsLog::read(dir.file("metrics.jsonl")))
    logged |= r.contains("window_acc") && r["window_acc"].get<double>() >= 0 && r["window_acc"].get<double>() <= 1;
  EXPECT_TRUE(logged);

  // The window loss alone reaches the dense last block's value path, which the image loss never trains
  // through its patch tokens, and the text tower.
  auto task = pat::engine::make_clip_pretrain_task(config, dir.path(), true, true);
  auto batch = pat::data::collate({task->train_set()->get(0), task->train_set()->get(1)});
  EXPECT_THROW(task->forward(batch, torch::kCPU), pat::Error);  // no epochs: the loader's batches carry them
  batch.epochs = {0, 0};
  auto step = task->forward(batch, torch::kCPU);
  step.losses.at("window").backward();
  const auto parameters = task->module().named_parameters();
  for (const char* name : {"visual.transformer.resblocks.2.attn.v_proj_weight", "text_projection"}) {
    ASSERT_TRUE(parameters.contains(name)) << name;
    const auto grad = parameters[name].grad();
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << name;
  }
}

TEST(ClipZeroShot, DenseCheckScoresCatSegFeaturesAgainstTheSceneLabels) {
  // With the image projection zeroed, every dense feature is 0 and every class ties: each pixel takes the first
  // scene class (sky). Its IoU is then its share of the pixels; every other class present scores 0.
  const auto config = pretrain_config("unused", {"model.clip.image_size=32"});
  pat::clip::ClipModel model(pat::model::custom_clip_architecture(config.model.clip));
  {
    torch::NoGradGuard no_grad;
    model->visual->proj.zero_();
  }
  pat::engine::ClipZeroShotOptions options;
  options.scenes.num_images = 6;
  options.scenes.image_size = 32;
  options.scenes.seed = 3;
  options.num_crops = 4;
  const auto result = pat::engine::evaluate_clip_zero_shot(*model, pat::clip::Tokenizer::byte_level(), options);

  const pat::data::SyntheticDataset scenes(options.scenes);
  const auto& classes = scenes.class_names();
  ASSERT_EQ(classes[0], "sky");
  std::vector<int64_t> area(classes.size(), 0);
  for (size_t i = 0; i < scenes.size(); ++i) {
    const auto label = scenes.get(i).label;
    for (int y = 0; y < label.rows; ++y)
      for (int x = 0; x < label.cols; ++x) ++area[size_t(label.at<int32_t>(y, x))];
  }
  int64_t total = 0, present = 0, grounds = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    total += area[c];
    present += area[c] > 0;
    grounds += area[c] > 0 && c < 8;  // the catalogue's 8 backgrounds come first
  }
  ASSERT_GT(area[0], 0) << "no sky in the scenes: pick another seed";
  const double sky = 100.0 * double(area[0]) / double(total);
  EXPECT_NEAR(result.dense_miou, sky / double(present), 1e-6);
  EXPECT_NEAR(result.dense_background_miou, sky / double(grounds), 1e-6);
  EXPECT_NEAR(result.dense_object_miou, 0.0, 1e-9);
  EXPECT_EQ(result.scenes, 6);
}

TEST(ClipPretrain, ResumeReproducesAnUninterruptedRun) {
  pat::test::TempDir full, split;
  auto reference = pretrain(pretrain_config(full.path(), {"train.eval_period=0"}));
  auto interrupted = pretrain(pretrain_config(split.path(), {"train.eval_period=0"}), "", [](int64_t step, auto&) {
    if (step == 3) std::raise(SIGTERM);
  });
  ASSERT_TRUE(interrupted.interrupted);
  EXPECT_FALSE(fs::exists(split.file("clip_final.safetensors")));
  auto resumed = pretrain(pretrain_config(split.path(), {"train.eval_period=0"}), "auto");
  ASSERT_EQ(resumed.step, 6);
  const auto a = pat::read_safetensors(reference.final_weights).tensors;
  const auto b = pat::read_safetensors(resumed.final_weights).tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, value] : a) EXPECT_TRUE(torch::equal(value, b.at(name))) << name;
}

TEST(ClipPretrain, LogitScaleStartsAtTheConfiguredValueAndIsClamped) {
  pat::test::TempDir dir;
  const auto config = pretrain_config(dir.path(), {"pretrain.logit_scale_init=20", "pretrain.logit_scale_max=50"});
  auto task = pat::engine::make_clip_pretrain_task(config, dir.path(), true, true);
  torch::Tensor scale;
  for (const auto& p : task->module().named_parameters())
    if (p.key() == "logit_scale") scale = p.value();
  ASSERT_TRUE(scale.defined());
  EXPECT_NEAR(scale.exp().item<double>(), 20.0, 1e-4);
  {
    torch::NoGradGuard no_grad;
    scale.fill_(std::log(500.0));
  }
  task->end_step();
  EXPECT_NEAR(scale.exp().item<double>(), 50.0, 1e-3);
}

TEST(ClipPretrain, RejectsConfigsItCannotTrain) {
  pat::test::TempDir dir;
  EXPECT_THROW(pat::engine::make_clip_pretrain_task(pretrain_config(dir.path(), {"model.clip.arch=ViT-B-16"}),
                                                    dir.path(), true, true),
               pat::Error);
  EXPECT_THROW(pat::engine::make_clip_pretrain_task(pretrain_config(dir.path(), {"data.synthetic_size=48"}), dir.path(),
                                                    true, true),
               pat::Error);
  EXPECT_THROW(pat::load_config(pat::test::data_path("engine/tiny.yaml"),
                                {"pretrain.logit_scale_init=200", "pretrain.logit_scale_max=100"}),
               pat::Error);
}

TEST(ClipPretrain, SyntheticScenesFollowTheDataConfig) {
  pat::test::TempDir dir;
  const auto config = pretrain_config(
      dir.path(), {"data.synthetic_min_shapes=2", "data.synthetic_max_shapes=3", "data.synthetic_min_shape_scale=0.2",
                   "data.synthetic_max_shape_scale=0.3", "data.synthetic_geometry_variants=4",
                   "data.synthetic_object_views=0.5", "runtime.seed=5"});
  const auto train = pat::engine::synthetic_options(config, pat::engine::Split::kTrain);
  const auto val = pat::engine::synthetic_options(config, pat::engine::Split::kVal);
  EXPECT_EQ(train.min_shapes, 2);
  EXPECT_EQ(train.max_shapes, 3);
  EXPECT_DOUBLE_EQ(train.min_shape_scale, 0.2);
  EXPECT_DOUBLE_EQ(train.max_shape_scale, 0.3);
  EXPECT_EQ(train.geometry_variants, 4);
  EXPECT_EQ(val.geometry_variants, 1);  // validation scenes are drawn one by one
  EXPECT_DOUBLE_EQ(train.object_views, 0.5);
  EXPECT_DOUBLE_EQ(val.object_views, 0.0);  // validation scores whole scenes
  EXPECT_EQ(val.max_shapes, 3);
  EXPECT_EQ(train.seed, 10u);
  EXPECT_EQ(val.seed, 11u);
  // The pretraining batch (8) holds whole groups of 4; a group of 3 does not divide 64 scenes.
  EXPECT_NO_THROW(pretrain(config));
  pat::test::TempDir other;
  try {
    pretrain(pretrain_config(other.path(), {"data.synthetic_geometry_variants=3"}));
    ADD_FAILURE() << "64 scenes in groups of 3 were accepted";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pat::load_config(pat::test::data_path("engine/tiny.yaml"), {"data.synthetic_min_shape_scale=-1"}),
               pat::Error);
}

TEST(ClipPretrain, ShippedClipsMatchTheirConfigs) {
  // The repository's pretrained CLIPs are what their configs train, and the demo's CLIP sizes are the file's.
  const std::string configs = pat::test::data_path("../../configs");
  for (const auto& [config_file, weights_file] : {std::pair{"clip_synthetic.yaml", "clip_synthetic.safetensors"},
                                                  std::pair{"demo.yaml", "clip_scenes3.safetensors"},
                                                  std::pair{"clip_closeups.yaml", "clip_closeups.safetensors"},
                                                  std::pair{"clip_windows.yaml", "clip_windows.safetensors"},
                                                  std::pair{"clip_scale.yaml", "clip_scale.safetensors"},
                                                  std::pair{"clip_crops.yaml", "clip_crops.safetensors"},
                                                  std::pair{"clip_scenes.yaml", "clip_scenes.safetensors"},
                                                  std::pair{"clip_scenes2.yaml", "clip_scenes2.safetensors"},
                                                  std::pair{"clip_scenes3.yaml", "clip_scenes3.safetensors"}}) {
    const auto config = pat::load_config(configs + "/" + config_file);
    const auto weights = pat::clip::load_clip_weights(configs + "/pretrained/" + weights_file);
    EXPECT_EQ(pat::clip::infer_clip_architecture(weights, config.model.clip.head_width),
              pat::model::custom_clip_architecture(config.model.clip))
        << config_file << " / " << weights_file;
  }
  // The pairs above are the files the configs read: the demo's CLIP, and the starting point each stage continues.
  for (const auto& [config_file, weights_file] :
       {std::pair{"demo.yaml", "clip_scenes3"}, std::pair{"clip_scenes3.yaml", "clip_scenes2"},
        std::pair{"clip_scenes2.yaml", "clip_scenes"}, std::pair{"clip_scenes.yaml", "clip_crops"},
        std::pair{"clip_crops.yaml", "clip_scale"}, std::pair{"clip_scale.yaml", "clip_windows"}})
    EXPECT_EQ(pat::load_config(configs + "/" + config_file).model.clip.weights,
              std::string("configs/pretrained/") + weights_file + ".safetensors")
        << config_file;
}
