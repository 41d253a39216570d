#include "pat/engine/train/clip_pretrain_task.h"

#include <algorithm>
#include <cmath>

#include "pat/clip/contrastive_loss.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/safetensors.h"
#include "pat/data/synthetic.h"
#include "pat/data/window_captions.h"
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
    class_names_ = train_set_->class_names();
    const auto objects = data::synthetic_object_classes(class_names_);
    for (const auto& name : class_names_)
      is_background_.push_back(std::find(objects.begin(), objects.end(), name) == objects.end());
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
    const int64_t b = batch.images.size(0);
    auto images = model::normalize_model_input(batch.images.to(device), a.image_resolution);
    const auto windows = draw_windows(batch);
    std::vector<std::string> texts = batch.captions;  // the images' captions, then the windows'
    for (const auto& w : windows) texts.push_back(w.window.caption);
    auto text = model_->encode_text(tokenizer_->tokenize_batch(texts, a.context_length, /*truncate=*/true).to(device));
    auto vision = windows.empty() ? clip::VisionFeatures{} : model_->visual->features(images, {}, /*embedding=*/true);
    auto image_embeds = windows.empty() ? model_->encode_image(images) : vision.embedding;
    auto logits = model_->logits(image_embeds, text.narrow(0, 0, b)).to(torch::kFloat32);  // [B images, B captions]
    TaskStep step;
    step.losses["contrastive"] = clip::contrastive_loss(logits);
    step.stats["logit_scale"] = model_->logit_scale.exp().item<double>();
    step.stats["batch_acc"] = matched_fraction(logits);
    if (!windows.empty()) {
      auto window_logits =
          model_->logits(pool_windows(vision.dense, windows), text.narrow(0, b, int64_t(windows.size())))
              .to(torch::kFloat32);  // [N windows, N captions]
      step.losses["window"] = config_.pretrain.window_loss_weight * clip::contrastive_loss(window_logits);
      step.stats["window_acc"] = matched_fraction(window_logits);
    }
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
  struct BatchWindow {
    int64_t image = 0;  // index in the batch
    data::CaptionedWindow window;
  };

  /// `pretrain.window_captions` captioned windows of each image, a function of (seed, epoch, index) as the
  /// loader's augmentations are, so a resumed run draws the same ones.
  std::vector<BatchWindow> draw_windows(const data::Batch& batch) const {
    std::vector<BatchWindow> out;
    const size_t b = size_t(batch.images.size(0));
    if (config_.pretrain.window_captions <= 0) return out;
    PAT_CHECK(batch.labels.defined() && batch.epochs.size() == b && batch.indices.size() == b,
              "pat_clip pretrain: window captions need the batch's label maps, epochs and indices");
    for (size_t i = 0; i < b; ++i) {
      auto r = data::Rng::for_sample(config_.runtime.seed ^ 0x57A1D0Full, batch.epochs[i], batch.indices[i]);
      for (auto& w : data::draw_captioned_windows(batch.labels[int64_t(i)], model_->architecture().vision_patch_size,
                                                  config_.pretrain.window_captions, class_names_, is_background_, r))
        out.push_back({int64_t(i), std::move(w)});
    }
    return out;
  }

  /// Each window's dense features averaged over its patches: dense [B, E, h, w] -> [N, E].
  static torch::Tensor pool_windows(const torch::Tensor& dense, const std::vector<BatchWindow>& windows) {
    const int64_t n = int64_t(windows.size());
    auto weights = torch::zeros({n, dense.size(2), dense.size(3)});
    std::vector<int64_t> images;
    for (int64_t k = 0; k < n; ++k) {
      const auto& w = windows[size_t(k)].window;
      weights[k].slice(0, w.top, w.top + w.size).slice(1, w.left, w.left + w.size).fill_(1.0 / double(w.size * w.size));
      images.push_back(windows[size_t(k)].image);
    }
    auto per_window = dense.flatten(2).index_select(0, torch::tensor(images).to(dense.device()));  // [N, E, h*w]
    return torch::einsum("nel,nl->ne", {per_window, weights.flatten(1).to(dense.device(), dense.scalar_type())});
  }

  /// The fraction of rows of square logits whose largest entry is on the diagonal.
  static double matched_fraction(const torch::Tensor& logits) {
    return logits.argmax(1)
        .eq(torch::arange(logits.size(0), logits.device()))
        .to(torch::kFloat32)
        .mean()
        .item<double>();
  }

  const Config& config_;
  std::shared_ptr<const clip::Tokenizer> tokenizer_;
  clip::ClipModel model_{nullptr};
  std::shared_ptr<data::SyntheticDataset> train_set_;
  ClipZeroShotOptions held_out_;
  std::vector<std::string> class_names_;  // the training scenes' classes, for the window captions
  std::vector<bool> is_background_;
};

}  // namespace

std::unique_ptr<TrainTask> make_clip_pretrain_task(const Config& config, const std::string& /*out_dir*/,
                                                   bool fresh_start, bool /*main_rank*/) {
  return std::make_unique<ClipPretrainTask>(config, fresh_start);
}

}  // namespace pat::engine
