#include "pat/engine/train/clip_pretrain_task.h"

#include <cmath>

#include "pat/clip/contrastive_loss.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/safetensors.h"
#include "pat/data/synthetic.h"
#include "pat/engine/datasets.h"
#include "pat/engine/eval/clip_zero_shot.h"
#include "pat/model/clip_setup.h"

namespace pat::engine {
namespace {

class ClipPretrainTask : public TrainTask {
 public:
  ClipPretrainTask(const Config& config, bool fresh_start) : config_(config) {
    const auto& c = config.model.clip;
    PAT_CHECK(c.arch == "custom", "pat_clip pretrain: model.clip.arch: expected custom (explicit sizes), got ", c.arch);
    PAT_CHECK(config.data.synthetic_size == c.image_size, "pat_clip pretrain: data.synthetic_size (",
              config.data.synthetic_size, ") must equal model.clip.image_size (", c.image_size, ")");
    tokenizer_ = model::make_tokenizer(c);
    model_ = clip::ClipModel(model::custom_clip_architecture(c));
    {
      torch::NoGradGuard no_grad;
      model_->logit_scale.fill_(std::log(config.pretrain.logit_scale_init));
    }
    if (fresh_start && !c.weights.empty()) clip::load_weights_into(*model_, clip::load_clip_weights(c.weights));

    data::SyntheticOptions o = synthetic_options(config, Split::kTrain);
    o.label_classes.clear();
    o.captions = true;
    train_set_ = std::make_shared<data::SyntheticDataset>(o);
    held_out_.scenes = synthetic_options(config, Split::kVal);
    held_out_.scenes.label_classes.clear();
    held_out_.scenes.captions = true;
    held_out_.scenes.num_images = config.pretrain.val_scenes;
    held_out_.num_crops = config.pretrain.val_crops;
  }

  torch::nn::Module& module() override { return *model_; }

  std::vector<model::ParamGroup> param_groups() const override {
    model::ParamGroup decay{"clip", {}, 1.0, true}, no_decay{"clip_no_decay", {}, 1.0, false};
    for (const auto& p : model_->parameters())
      if (p.requires_grad()) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
    return {decay, no_decay};
  }

  std::shared_ptr<data::Dataset> train_set() const override { return train_set_; }

  data::TransformPtr train_transform() const override {
    // Flips keep every caption true; crops could cut a named object out and colour jitter changes colours.
    if (!config_.data.flip) return nullptr;
    return std::make_shared<data::Compose>(std::vector<data::TransformPtr>{std::make_shared<data::RandomFlip>(0.5)});
  }

  TaskStep forward(const data::Batch& batch, torch::Device device) override {
    for (size_t i = 0; i < batch.captions.size(); ++i)
      PAT_CHECK(!batch.captions[i].empty(), "pat_clip pretrain: sample ", batch.names[i], " has no caption");
    const auto& a = model_->architecture();
    auto images = model::normalize_model_input(batch.images.to(device), a.image_resolution);
    auto ids = tokenizer_->tokenize_batch(batch.captions, a.context_length, /*truncate=*/true).to(device);
    auto logits = model_->forward(images, ids).to(torch::kFloat32);  // [B images, B captions]
    auto target = torch::arange(logits.size(0), torch::TensorOptions().dtype(torch::kLong).device(device));
    TaskStep step;
    step.losses["contrastive"] = clip::contrastive_loss(logits);
    step.stats["logit_scale"] = model_->logit_scale.exp().item<double>();
    step.stats["batch_acc"] = logits.argmax(1).eq(target).to(torch::kFloat32).mean().item<double>();
    return step;
  }

  /// OpenAI clamps the logit scale at 100 after each step.
  void end_step() override {
    torch::NoGradGuard no_grad;
    model_->logit_scale.clamp_max_(std::log(config_.pretrain.logit_scale_max));
  }

  bool has_validation() const override { return config_.train.eval_period > 0; }
  std::string score_key() const override { return "zero_shot_acc"; }
  std::vector<std::string> plot_keys() const override {
    return {"zero_shot_acc",     "zero_shot_colour_acc", "zero_shot_geometry_acc",
            "retrieval_i2t_R@1", "retrieval_t2i_R@1",    "dense_mIoU"};
  }

  TaskValidation validate(bool /*final_pass*/, Communicator& /*comm*/) override {
    const auto z = evaluate_clip_zero_shot(*model_, *tokenizer_, held_out_);  // small: every rank runs it whole
    TaskValidation v;
    v.score = z.accuracy;
    v.metrics = {{"zero_shot_acc", z.accuracy},
                 {"zero_shot_colour_acc", z.colour_accuracy},
                 {"zero_shot_geometry_acc", z.geometry_accuracy},
                 {"retrieval_i2t_R@1", z.image_to_text_r1},
                 {"retrieval_t2i_R@1", z.text_to_image_r1},
                 {"dense_mIoU", z.dense_miou},
                 {"dense_background_mIoU", z.dense_background_miou},
                 {"dense_object_mIoU", z.dense_object_miou}};
    v.summary = fmt::format(
        "zero-shot accuracy {:.2f} (colour right {:.2f}, geometry right {:.2f}; {} crops, {} object classes); "
        "caption retrieval R@1 image->text {:.2f}, text->image {:.2f}; dense zero-shot mIoU {:.2f} (backgrounds "
        "{:.2f}, "
        "objects {:.2f}) ({} held-out scenes)",
        z.accuracy, z.colour_accuracy, z.geometry_accuracy, z.crops, z.classes, z.image_to_text_r1, z.text_to_image_r1,
        z.dense_miou, z.dense_background_miou, z.dense_object_miou, z.scenes);
    return v;
  }

  std::string write_final(const std::string& dir) override {
    const std::string path = dir + "/clip_final.safetensors";
    write_safetensors(path, clip::clip_state_dict(*model_),
                      {{"format", "pt"}, {"producer", "pat_clip pretrain"}, {"head_width", std::to_string(config_.model.clip.head_width)}});
    return path;
  }

 private:
  const Config& config_;
  std::shared_ptr<const clip::Tokenizer> tokenizer_;
  clip::ClipModel model_{nullptr};
  std::shared_ptr<data::SyntheticDataset> train_set_;
  ClipZeroShotOptions held_out_;
};

}  // namespace

std::unique_ptr<TrainTask> make_clip_pretrain_task(const Config& config, const std::string& /*out_dir*/,
                                                   bool fresh_start, bool /*main_rank*/) {
  return std::make_unique<ClipPretrainTask>(config, fresh_start);
}

}  // namespace pat::engine
