#include "pat/engine/bench/model_bench.h"

#include <filesystem>
#include <string>
#include <vector>

#include "pat/core/error.h"
#include "pat/core/precision.h"
#include "pat/core/runtime.h"
#include "pat/engine/bench/measure.h"

namespace pat::engine {

Config bench_config(Config config) {
  config.model.clip.weights.clear();
  if (config.model.clip.tokenizer == "bpe" &&
      (config.model.clip.vocab.empty() || !std::filesystem::exists(config.model.clip.vocab)))
    config.model.clip.tokenizer = "byte";
  config.eval.mode = "sliding";
  return config;
}

ModelBench::ModelBench(const Config& config, const ModelBenchOptions& options)
    : config_(bench_config(config)), options_(options) {
  PAT_CHECK(options_.classes >= 1 && options_.batch >= 1 && options_.train_batch >= 1 && options_.image_height >= 1 &&
                options_.image_width >= 1,
            "bench: expected positive classes, batch sizes and image size");
  check_precision(config_.runtime.precision);
  device_ = resolve_device(config_.runtime.device);
  set_tf32(config_.runtime.tf32);
  seed_all(options_.seed);
  model_ = model::SegModel(config_.model);
  place_module(*model_, device_, config_.runtime.channels_last);
  model_->eval();
  set_classes(options_.classes);
  const int64_t size = model_->image_size();
  const auto on_device = torch::TensorOptions().device(device_);
  image_ = torch::rand({3, options_.image_height, options_.image_width}, on_device) * 255;
  view_ = torch::rand({options_.batch, 3, size, size}, on_device) * 255;
  train_images_ = torch::rand({options_.train_batch, 3, size, size}, on_device) * 255;
}

void ModelBench::set_classes(int64_t count) {
  PAT_CHECK(count >= 1, "bench: expected at least one class, got ", count);
  std::vector<std::string> names;
  for (int64_t i = 0; i < count; ++i) names.push_back("class " + std::to_string(i));
  model_->set_classes(names);
  options_.classes = count;
  const int64_t size = model_->image_size();
  train_labels_ =
      torch::randint(0, count, {options_.train_batch, size, size}, torch::TensorOptions(torch::kInt64).device(device_));
}

namespace {

/// NoGradGuard or InferenceMode for the lifetime of the object.
class NoGradScope {
 public:
  explicit NoGradScope(bool inference_mode) {
    if (inference_mode)
      inference_.emplace();
    else
      no_grad_.emplace();
  }

 private:
  c10::optional<c10::InferenceMode> inference_;
  c10::optional<torch::NoGradGuard> no_grad_;
};

}  // namespace

torch::Tensor ModelBench::forward() {
  model_->eval();
  NoGradScope guard(options_.inference_mode);
  Autocast autocast(device_, config_.runtime.precision);
  auto logits = model_->logits(view_);
  synchronize(device_);
  return logits;
}

SegPrediction ModelBench::eval_image() {
  model_->eval();
  NoGradScope guard(options_.inference_mode);
  Autocast autocast(device_, config_.runtime.precision);
  LogitsFn logits_fn = [&](const torch::Tensor& views) {
    if (options_.batched_views) return model_->logits(views);
    std::vector<torch::Tensor> per_view;
    for (int64_t v = 0; v < views.size(0); ++v) per_view.push_back(model_->logits(views.narrow(0, v, 1)));
    return torch::cat(per_view, 0);
  };
  SlidingWindowOptions o;
  o.kernel = config_.eval.kernel;
  o.overlap = config_.eval.overlap;
  o.out_res = config_.eval.out_res;
  o.class_chunk = config_.eval.class_chunk;
  o.skip_vanishing = options_.skip_vanishing;
  auto prediction = predict_sliding_window(image_, logits_fn, o, {options_.image_height, options_.image_width});
  synchronize(device_);
  return prediction;
}

double ModelBench::train_step() {
  if (!optimizer_) {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    const auto& t = config_.train;
    for (const auto& g : model_->param_groups()) {
      auto o = std::make_unique<torch::optim::AdamWOptions>(t.lr * g.lr_scale);
      o->weight_decay(g.weight_decay ? t.weight_decay : 0.0);
      groups.emplace_back(g.params, std::move(o));
    }
    PAT_CHECK(!groups.empty(), "bench: the model has nothing to train");
    optimizer_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(t.lr));
  }
  model_->train();
  optimizer_->zero_grad();
  torch::Tensor loss;
  {
    Autocast autocast(device_, config_.runtime.precision);
    loss = model_->forward(train_images_, train_labels_).loss;
  }
  loss.backward();
  optimizer_->step();
  model_->eval();
  return loss.item<double>();  // waits for the device
}

}  // namespace pat::engine
