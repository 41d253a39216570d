#include "pat/engine/train/seg_task.h"

#include <unistd.h>

#include <cmath>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/data/class_list.h"
#include "pat/engine/datasets.h"
#include "pat/engine/dist/data_parallel.h"
#include "pat/engine/eval/class_split.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/engine/train/init_weights.h"
#include "pat/vis/image.h"
#include "pat/vis/panel.h"

namespace pat::engine {
namespace {

class SegmentationTask : public TrainTask {
 public:
  SegmentationTask(const Config& config, const std::string& out_dir, bool fresh_start, bool main_rank)
      : config_(config), previews_(out_dir + "/predictions"), main_(main_rank) {
    train_set_ = make_dataset(config_, Split::kTrain);
    classes_ = train_set_->class_names();
    PAT_CHECK(static_cast<int64_t>(classes_.size()) >= train_set_->num_classes() && train_set_->num_classes() > 0,
              train_set_->name(), ": training needs a class list (data.train_class_file)");
    classes_.resize(train_set_->num_classes());
    if (main_) data::save_class_names(out_dir + "/classes.json", classes_);
    if (config_.train.eval_period > 0) {
      val_set_ = make_dataset(config_, Split::kVal);
      val_transform_ = make_test_transform(config_, *val_set_);
      val_classes_ = val_set_->class_names();
      val_classes_.resize(val_set_->num_classes());
      seen_ = seen_class_mask(config_, val_classes_);
    }

    model_ = model::SegModel(config_.model);
    // model.init_weights: name-matched start (e.g. PAT from a converted CAT-Seg); a resume overrides it.
    if (fresh_start && !config_.model.init_weights.empty()) {
      const auto report = init_weights(*model_, config_.model.init_weights);
      if (main_) PAT_LOG_INFO("{}", format_init_report(report));
    } else if (fresh_start && config_.model.clip.weights.empty() && config_.model.clip.arch != "custom" && main_) {
      PAT_LOG_WARN("model.clip.weights and model.init_weights are empty: CLIP {} starts from random weights",
                   config_.model.clip.arch);
    }
    model_->set_classes(classes_);
  }

  torch::nn::Module& module() override { return *model_; }
  std::vector<model::ParamGroup> param_groups() const override { return model_->param_groups(); }
  std::shared_ptr<data::Dataset> train_set() const override { return train_set_; }
  data::TransformPtr train_transform() const override { return make_train_transform(config_); }

  TaskStep forward(const data::Batch& batch, torch::Device device) override {
    auto output = model_->forward(batch.images.to(device), batch.labels.to(device), train_set_->ignore_label());
    return {std::move(output.losses), std::move(output.stats)};
  }

  void end_step() override { model_->end_step(); }

  void after_broadcast(Communicator& comm) override {
    if (model_->pat) sync_codebooks(comm, *model_->pat->tokenizer());
  }

  bool has_validation() const override { return val_set_ != nullptr; }
  /// With a seen/unseen split, hIoU decides best.pt (the transfer to unseen classes counts as much as the rest).
  std::string score_key() const override { return seen_.empty() ? "mIoU" : "hIoU"; }
  std::vector<std::string> plot_keys() const override {
    if (seen_.empty()) return {"mIoU"};
    return {"hIoU", "seen_mIoU", "unseen_mIoU", "mIoU"};
  }

  TaskValidation validate(bool final_pass, Communicator& comm) override {
    model_->set_classes(val_classes_);
    EvaluateOptions eo;
    eo.label = "val";
    eo.progress = ::isatty(STDERR_FILENO) != 0;
    eo.comm = &comm;
    if (final_pass && main_) {
      ensure_directory(previews_, "predictions directory");
      eo.on_prediction = [this](int64_t i, const torch::Tensor& image, const torch::Tensor& gt,
                                const torch::Tensor& pred) {
        if (i < 6)
          vis::write_png(
              previews_ + "/val_" + std::to_string(i) + ".png",
              vis::prediction_panel(image, gt, pred, static_cast<int64_t>(val_classes_.size()), val_classes_));
      };
    }
    const BenchmarkResult r = evaluate(*model_, *val_set_, val_transform_, config_.eval, eo);
    model_->set_classes(classes_);
    model_->train();
    const auto& m = r.metrics;
    TaskValidation v;
    v.score = m.miou;
    v.metrics = {{"mIoU", m.miou}, {"fwIoU", m.fwiou}, {"pACC", m.pacc}, {"mACC", m.macc}};
    v.summary = fmt::format("val mIoU {:.2f}  fwIoU {:.2f}  pACC {:.2f}  mACC {:.2f}", m.miou, m.fwiou, m.pacc, m.macc);
    if (!seen_.empty()) {
      const auto split = split_metrics(m, seen_, val_classes_);
      // NaN (a group without ground truth in the validation scenes) is written as null and never wins best.pt.
      auto value = [](double x) { return std::isnan(x) ? nlohmann::json() : nlohmann::json(x); };
      v.metrics["seen_mIoU"] = value(split.seen_miou);
      v.metrics["unseen_mIoU"] = value(split.unseen_miou);
      v.metrics["hIoU"] = value(split.hiou);
      v.score = std::isnan(split.hiou) ? -1 : split.hiou;
      v.summary += "  " + split_summary(split);
    }
    return v;
  }

  std::string write_final(const std::string& dir) override {
    save_weights(dir + "/model_final.pt", *model_);
    save_weights(dir + "/model_final.safetensors", *model_);
    return dir + "/model_final.pt";
  }

 private:
  const Config& config_;
  const std::string previews_;
  const bool main_;
  std::shared_ptr<data::Dataset> train_set_;
  std::vector<std::string> classes_;
  std::shared_ptr<data::Dataset> val_set_;
  data::TransformPtr val_transform_;
  std::vector<std::string> val_classes_;
  std::vector<bool> seen_;  // per validation class: labelled in training (empty: no split declared)
  model::SegModel model_{nullptr};
};

}  // namespace

std::unique_ptr<TrainTask> make_segmentation_task(const Config& config, const std::string& out_dir, bool fresh_start,
                                                  bool main_rank) {
  return std::make_unique<SegmentationTask>(config, out_dir, fresh_start, main_rank);
}

}  // namespace pat::engine
